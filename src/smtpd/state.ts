/**
 * smtpd/state.ts: per-connection state of the SMTP server (smtpd.h
 * SMTPD_STATE, smtpd_state.c): the client as seen and as overridden by
 * XCLIENT/XFORWARD, the HELO name, the mail transaction, the counters that
 * drive error limits and the restriction engine's bookkeeping.
 */
import type { CleanupSession } from '../cleanup/types.js';
import { quote822Local } from './tok822.js';

export const FLAG_HANGUP = 1 << 0;
export const FLAG_ILL_PIPELINING = 1 << 1;
export const FLAG_AUTH_USED = 1 << 2;
export const FLAG_SMTPUTF8 = 1 << 3;
/** Flags that survive mail_reset(). */
export const MASK_MAIL_KEEP = ~FLAG_SMTPUTF8;

/** MAIL_ERROR_* (mail_error.h): classes of trouble, for notify_classes. */
export const MailError = {
  POLICY: 1 << 0,
  PROTOCOL: 1 << 1,
  BOUNCE: 1 << 2,
  SOFTWARE: 1 << 3,
  RESOURCE: 1 << 4,
  DATA: 1 << 6,
} as const;

export const AFTER_CONNECT = 'CONNECT';
export const AFTER_DATA = 'DATA content';
export const AFTER_BDAT = 'BDAT content';
export const AFTER_EOM = 'END-OF-MESSAGE';

export const BDAT_NONE = 0;
export const BDAT_OK = 1;
export const BDAT_ERROR = 2;

/** defer_if_permit / defer_if_reject memory (SMTPD_DEFER). */
export interface SmtpdDefer {
  active: boolean;
  errorClass: number;
  code: number;
  dsn: string;
  reason: string;
}

export const newDefer = (): SmtpdDefer => ({ active: false, errorClass: 0, code: 0, dsn: '', reason: '' });

/** XFORWARD attributes (smtpd_xforward.c). */
export interface XforwardState {
  flags: number;
  name?: string;
  addr?: string;
  rfcAddr?: string;
  port?: string;
  namaddr?: string;
  helo?: string;
  protocol?: string;
  ident?: string;
  domain?: string;
}

export const XF_NAME = 1 << 0;
export const XF_ADDR = 1 << 1;
export const XF_PROTO = 1 << 2;
export const XF_HELO = 1 << 3;
export const XF_IDENT = 1 << 4;
export const XF_DOMAIN = 1 << 5;
export const XF_PORT = 1 << 6;
export const XF_CLIENT_MASK = XF_NAME | XF_ADDR | XF_PROTO | XF_HELO | XF_PORT;

export class SmtpdState {
  /** Client host name (verified), "unknown" when none. */
  name = 'unknown';
  reverseName = 'unknown';
  /** name_status/reverse_name_status: 2xx OK, 4xx temporary, 5xx permanent (SMTPD_PEER_CODE_*). */
  nameStatus = 5;
  reverseNameStatus = 5;
  addr = 'unknown';
  rfcAddr = 'unknown';
  addrFamily = 0;
  port = 'unknown';
  destAddr = 'unknown';
  destPort = 'unknown';
  namaddr = 'unknown[unknown]';
  service = 'smtp';
  protocol = 'SMTP';
  heloName: string | undefined;
  where = AFTER_CONNECT;
  flags = 0;
  reason: string | undefined;

  // counters
  errorCount = 0;
  errorMask = 0;
  junkCmds = 0;
  rcptCount = 0;
  rcptOvershoot = 0;

  // transaction
  sender: string | undefined;
  recipient: string | undefined;
  etrnName: string | undefined;
  queueId: string | undefined;
  cleanup: CleanupSession | undefined;
  /** CLEANUP_STAT_* bits collected while receiving content. */
  err = 0;
  msgSize = 0;
  actSize = 0;
  encoding: string | undefined;
  dsnEnvid: string | undefined;
  dsnRet = 0;
  verpDelims: string | undefined;
  arrivalTime = new Date();
  rewriteContext = 'remote';
  bdatState = BDAT_NONE;
  accessDenied: string | undefined;
  ehloDiscardMask = 0;
  saslUsername: string | undefined;
  saslMethod: string | undefined;
  saslSender: string | undefined;
  tlsActive = false;
  tlsInfo: { protocol: string; cipher: string; bits: number; algBits: number } | undefined;
  xforward: XforwardState = { flags: 0 };
  xclientAllowed = false;
  xforwardAllowed = false;

  // restriction engine bookkeeping (smtpd_check.c)
  recursion = 0;
  warnIfReject = 0;
  deferIfPermit = newDefer();
  deferIfReject = newDefer();
  deferIfPermitClient = false;
  deferIfPermitHelo = false;
  deferIfPermitSender = false;
  discard = false;
  senderRcptmapChecked = false;
  recipientRcptmapChecked = false;
  /** The last reply formatted by the restriction engine (error_text). */
  errorText = '';
  /** Restriction side effects kept for cleanup: CLEANUP_FLAG_HOLD/DISCARD bits, FILTER, REDIRECT, BCC, PREPEND. */
  savedFlags = 0;
  savedFilter: string | undefined;
  savedRedirect: string | undefined;
  savedBcc: string[] = [];
  prepend: string[] = [];

  clientPortLogging = false;

  buildNamaddr(): void {
    this.namaddr = `${this.name}[${this.addr}]${this.clientPortLogging ? `:${this.port}` : ''}`;
  }

  inMailTransaction(): boolean {
    return this.sender !== undefined;
  }

  processingBdat(): boolean {
    return this.bdatState !== BDAT_NONE;
  }
}

/** info_log_addr_form_*(): external (quoted) form unless info_log_address_format = internal. */
export function logAddr(addr: string, external: boolean): string {
  // The null sender stays empty: from=<>, never from=<"">.
  return external && addr !== '' ? quote822Local(addr) : addr;
}

/** smtpd_whatsup() / log_whatsup() tail: " from=<...> to=<...> proto=... helo=<...>". */
export function whatsup(state: SmtpdState, external: boolean): string {
  let out = '';
  if (state.sender !== undefined) out += ` from=<${logAddr(state.sender, external)}>`;
  if (state.recipient !== undefined) out += ` to=<${logAddr(state.recipient, external)}>`;
  if (state.protocol) out += ` proto=${state.protocol}`;
  if (state.heloName !== undefined) out += ` helo=<${state.heloName}>`;
  return out;
}
