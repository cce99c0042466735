/**
 * storage/errors.ts: typed storage errors (Dovecot's enum mail_error) and the
 * fixed texts Dovecot puts in them (lib-storage/mail-error.h MAIL_ERRSTR_*).
 * Protocol layers map `kind` to their reply once (IMAP [NONEXISTENT],
 * LMTP 552 5.2.2, doveadm exit codes); the message text is the one
 * Dovecot shows users.
 */

export type MailErrorKind =
  /** Temporary failure (lock timeout, I/O); retry later. MAIL_ERROR_TEMP */
  | 'temp'
  /** Invalid parameters, e.g. a bad mailbox name. MAIL_ERROR_PARAMS */
  | 'params'
  /** No permission. MAIL_ERROR_PERM */
  | 'perm'
  /** Over quota. MAIL_ERROR_NOQUOTA */
  | 'noquota'
  /** Mailbox or message does not exist. MAIL_ERROR_NOTFOUND */
  | 'notfound'
  /** Already exists. MAIL_ERROR_EXISTS */
  | 'exists'
  /** Message was expunged. MAIL_ERROR_EXPUNGED */
  | 'expunged'
  /** Operation not possible (e.g. deleting INBOX). MAIL_ERROR_NOTPOSSIBLE */
  | 'notpossible'
  /** Mailbox in use / locked. MAIL_ERROR_INUSE */
  | 'inuse'
  /** Message too large, too many keywords and similar limits. MAIL_ERROR_LIMIT */
  | 'limit'
  /** Unexpected internal failure (logged in detail). */
  | 'internal';

export class MailError extends Error {
  constructor(
    readonly kind: MailErrorKind,
    message: string,
    /** The detailed text for the log (Dovecot's "internal error"). */
    readonly internal?: string,
  ) {
    super(message);
  }
}

/** MAIL_ERRSTR_NO_QUOTA / DEFAULT_QUOTA_EXCEEDED_MSG */
export const ERRSTR_NO_QUOTA = 'Quota exceeded (mailbox for user is full)';
/** MAIL_ERRSTR_LOCK_TIMEOUT */
export const ERRSTR_LOCK_TIMEOUT = 'Timeout while waiting for lock';
/** MAIL_ERRSTR_NO_PERMISSION */
export const ERRSTR_NO_PERMISSION = 'Permission denied';
/** MAIL_ERRSTR_MAILBOX_NOT_FOUND: "Mailbox doesn't exist: %s" */
export const mailboxNotFound = (vname: string): string => `Mailbox doesn't exist: ${sanitize(vname, 80)}`;

/** str_sanitize(): control characters become '?', long strings are cut with "...". */
export function sanitize(s: string, max: number): string {
  let out = s.replace(/[\x00-\x1f\x7f]/g, '?');
  if (out.length > max) out = `${out.slice(0, Math.max(0, max - 3))}...`;
  return out;
}

/** "Internal error occurred. Refer to server log for more information. [YYYY-MM-DD HH:MM:SS]" */
export function internalErrorText(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
  return `Internal error occurred. Refer to server log for more information. [${stamp}]`;
}

/** A MailError of kind 'internal' whose user text is Dovecot's generic one. */
export function criticalError(detail: string): MailError {
  return new MailError('internal', internalErrorText(), detail);
}

/** Errno-carrying errors from node:fs. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** ENOSPC / EDQUOT are "quota" in Dovecot (ENOQUOTA()). */
export function isNoQuotaErrno(e: unknown): boolean {
  const c = errnoCode(e);
  return c === 'ENOSPC' || c === 'EDQUOT';
}
