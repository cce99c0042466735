/**
 * imap/mime: the message library behind FETCH (no I/O, no storage).
 *
 *   const root = parseMessage(raw);                 // once per message, linear in size
 *   envelope(root, raw)            -> Buffer  "(date subject from ... message-id)"
 *   bodyStructure(root, raw, true) -> Buffer  BODYSTRUCTURE; false gives BODY
 *   fetchSection(raw, root, { part: [1, 2], text: 'MIME' })  -> Buffer  BODY[1.2.MIME]
 *   fetchBinaryContent(raw, root, { part: [2] }) -> { data, literal8 }  BINARY[2]; throws BinaryError
 *                                           (err.response is "NO [UNKNOWN-CTE] ..." / "NO [PARSE] ...")
 *   binarySize(raw, root, [2])     -> number  BINARY.SIZE[2]
 *   snippet(raw, root)             -> string  SNIPPET/PREVIEW text (JS string, 200 chars max)
 *   bodySizes(raw, root).virtual   -> RFC822.SIZE; headerSizes() likewise
 *
 * Results that carry header text are Buffers: 8-bit header bytes are sent
 * as IMAP literals ({n}\r\n...) exactly as Dovecot does, so never turn them
 * into a JS string with utf8. fetchSection/fetchBinary give the literal
 * content only (the caller writes {n}\r\n or ~{n} for BINARY).
 * The raw message may use LF or CRLF line ends; output always uses CRLF.
 * Parse once and keep `root` for all items of one FETCH (it is immutable).
 */
export { type Address, parseAddressList } from './address.js';
export { bodyStructure } from './bodystructure.js';
export { classifyCte, decodeBase64, decodeCharset, decodeHeaderValue, decodeQp, toCrlf } from './decode.js';
export { type Envelope, envelope, envelopeData } from './envelope.js';
export {
  type HeaderField,
  MAX_NESTED_PARTS,
  MAX_TOTAL_PARTS,
  type MimePart,
  type Sizes,
  bodySizes,
  fieldValue,
  fieldsNamed,
  headerSizes,
  parseMessage,
} from './parser.js';
export { astring, forHumans, imapString, literal, nstring, quoted } from './quote.js';
export {
  type BinaryContent,
  BinaryError,
  type SectionSpec,
  type SectionText,
  binarySize,
  fetchBinary,
  fetchBinaryContent,
  fetchSection,
  findPart,
  headerBytes,
} from './section.js';
export { SNIPPET_MAX_CHARS, htmlToText, partText, snippet } from './snippet.js';

import { type MimePart, bodySizes, headerSizes } from './parser.js';

/** RFC822.SIZE: the message size with CRLF line ends. */
export function messageSize(raw: Buffer, root: MimePart): number {
  return headerSizes(raw, root).virtual + bodySizes(raw, root).virtual;
}
