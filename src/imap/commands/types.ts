/**
 * imap/commands/types.ts: what a command handler gets and returns. A
 * handler writes its untagged replies and returns the tagged text
 * ("OK Fetch completed."); BadCommand becomes "BAD Error in IMAP command
 * <NAME>: <text>", NoReply a tagged NO (imap-commands-util.c).
 */
import type { ImapArg } from '../args.js';

export interface Cmd {
  tag: string;
  /** Upper-case name, "UID FETCH" for UID commands. */
  name: string;
  uid: boolean;
  args: ImapArg[];
}

export class BadCommand extends Error {}

/** A tagged reply other than OK that ends the command (text includes NO/BAD and any code). */
export class TaggedReply extends Error {}

/** The mailbox flags of a command family: does it renumber, does it need a selected mailbox. */
export interface CommandSpec {
  /** needs SELECTED state */
  selected?: boolean;
  /** uses sequence numbers: no EXPUNGE replies may be sent after it (RFC 3501 §7.4.1) */
  usesSeqs?: boolean;
  /** arguments may hold literal8 (APPEND, RFC 3516) */
  literal8?: boolean;
  /** mailbox-not-found answers carry [NONEXISTENT] (COMMAND_FLAG_USE_NONEXISTENT) */
  nonexistent?: boolean;
}
