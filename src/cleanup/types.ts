// The contract between a mail source (smtpd, pickup, sendmail/postdrop via
// pickup) and cleanup, after Postfix's cleanup(8) client interface
// (src/global/cleanup_user.h, cleanup_strerror.c). The source opens a
// session when the first MAIL FROM is accepted (that is when Postfix
// allocates the queue ID and smtpd logs "ID: client=..."), feeds envelope
// and content, and gets the final status that decides the end-of-DATA reply.

/** CLEANUP_FLAG_* (cleanup_user.h): what cleanup may do to this message. */
export const CleanupFlag = {
  NONE: 0,
  BOUNCE: 1 << 0,
  FILTER: 1 << 1, // header/body checks
  HOLD: 1 << 2,
  DISCARD: 1 << 3,
  BCC_OK: 1 << 4,
  MAP_OK: 1 << 5, // canonical/virtual mapping
  MILTER: 1 << 6,
  SMTP_REPLY: 1 << 7,
  SMTPUTF8: 1 << 8,
  AUTOUTF8: 1 << 9,
} as const;

/** CLEANUP_STAT_* (cleanup_user.h): bit mask, 0 = queued. */
export const CleanupStat = {
  OK: 0,
  BAD: 1 << 0,
  WRITE: 1 << 1,
  SIZE: 1 << 2,
  CONT: 1 << 3,
  HOPS: 1 << 4,
  RCPT: 1 << 6,
  PROXY: 1 << 7,
  DEFER: 1 << 8,
  NOPERM: 1 << 9,
  BARE_LF: 1 << 16,
} as const;

export interface RecipientOptions {
  /** DSN ORCPT= as "type;address" (RFC 3461), already decoded. */
  orcpt?: string;
  /** DSN NOTIFY= bits as Postfix's DSN_NOTIFY_* (dsn_mask.h). */
  notify?: number;
}

export interface CleanupResult {
  /** CleanupStat bits; 0 means the message is safely queued (fsynced). */
  status: number;
  /** Text for a rejection (e.g. header_checks REJECT text), if any. */
  reason?: string;
}

export interface CleanupSession {
  /** Queue ID assigned at open (short or long form per enable_long_queue_ids). */
  readonly queueId: string;
  /**
   * Named attributes Postfix writes as REC_TYPE_ATTR records (client_name,
   * client_address, client_port, helo_name, protocol_name, sasl_method,
   * sasl_username, log_ident, rewrite_context, envelope_id, ret_flags, ...).
   */
  setAttribute(name: string, value: string): void;
  /** Envelope sender; "" for the null sender. Once, before recipients. */
  setSender(address: string): void;
  addRecipient(address: string, options?: RecipientOptions): void;
  /**
   * One line of message content (headers then body), without its line
   * terminator, as the client sent it after dot-unstuffing. Bytes are
   * passed through unchanged. A line longer than line_length_limit arrives
   * in pieces: every piece but the last has continued = true (Postfix's
   * REC_TYPE_CONT records).
   */
  writeLine(line: Buffer, continued?: boolean): void;
  /**
   * CLEANUP_FLAG_HOLD / CLEANUP_FLAG_DISCARD decided by the client (an "f"
   * record): with the envelope before the first content line, in the
   * extracted segment after it.
   */
  setExtraFlags?(flags: number): void;
  /** A record for the extracted segment after X (FILTER "L", REDIRECT ">", BCC "R" + "A"). */
  addExtracted?(type: number, data: string): void;
  /** Ends the content; resolves when the queue file is complete and fsynced (or rejected). */
  finish(): Promise<CleanupResult>;
  /** Drops the message (RSET, QUIT or lost connection before the end). */
  abort(): Promise<void>;
}

/** What smtpd (or pickup) needs to open sessions. */
export interface CleanupService {
  open(flags: number): Promise<CleanupSession>;
}
