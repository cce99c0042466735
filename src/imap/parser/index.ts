/**
 * imap/parser: the IMAP command reader (input.ts: lines and literal bytes;
 * command.ts: literals, limits, tokenizer; seqset.ts: sequence sets;
 * mailbox-name.ts: mUTF-7 mailbox names).
 */
export { ArgCursor, type LiteralDecision, ParseError, type Piece, type ReadResult, literalAtEnd, readCommand, validCommandName, validTag } from './command.js';
export { ImapInput, TOO_LONG } from './input.js';
export { decodeMailboxName, encodeMailboxName } from './mailbox-name.js';
export { type SeqRange, type SeqSet, formatSeqSet, parseSeqSet, resolveSeqs, resolveUids } from './seqset.js';
