/**
 * lmtp/headers.ts: what Dovecot's LMTP prepends to a delivered message
 * (lmtp-local.c lmtp_local_add_headers, smtp-server-transaction.c
 * smtp_server_transaction_write_trace_record):
 *
 *   Return-Path: <sender>
 *   Delivered-To: rcpt                 (one recipient only; lmtp_hdr_delivery_address)
 *   Received: from <helo> ([<ip>])     ("unknown" without a valid LHLO; no IP on unix sockets)
 *   \tby <hostname> with LMTP[S][A]
 *   \tid <transaction id>
 *   \t(envelope-from <sender>)
 *   \tfor <rcpt>; <RFC 2822 date>      ("for" with one recipient only)
 */
import { encodeAddress, type SmtpAddress } from './address.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** message_date_create(): "Sun, 22 Nov 2026 16:57:04 +0000" in local time. */
export function messageDate(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${DAYS[d.getDay()]}, ${p2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

export interface TraceInput {
  mailFrom: SmtpAddress;
  /** Recipients accepted in this transaction, in order. */
  rcpts: Array<{ path: SmtpAddress; orcpt?: SmtpAddress }>;
  hdrDeliveryAddress: 'final' | 'none' | 'original';
  addReceived: boolean;
  heloDomain?: string;
  remoteIp?: string;
  hostname: string;
  /** LMTP, LMTPS (TLS), LMTPA … */
  protocol: string;
  /** "TLSv1.3 with cipher … (256/256 bits)" after STARTTLS */
  security?: string;
  transactionId: string;
  timestamp: Date;
}

export function addedHeaders(t: TraceInput): string {
  let s = `Return-Path: <${encodeAddress(t.mailFrom)}>\r\n`;
  // Delivered-To (lmtp_local_add_headers): "original" is the ORCPT= address only
  // Received "for" (write_trace_record): "original" falls back to the path
  let deliveredTo: string | undefined;
  let rcptTo: string | undefined;
  if (t.rcpts.length === 1) {
    const r = t.rcpts[0] as { path: SmtpAddress; orcpt?: SmtpAddress };
    if (t.hdrDeliveryAddress === 'final') deliveredTo = rcptTo = encodeAddress(r.path);
    else if (t.hdrDeliveryAddress === 'original') {
      if (r.orcpt) deliveredTo = encodeAddress(r.orcpt);
      rcptTo = encodeAddress(r.orcpt ?? r.path);
    }
  }
  if (deliveredTo !== undefined) s += `Delivered-To: ${deliveredTo}\r\n`;
  if (t.addReceived) {
    s += `Received: from ${t.heloDomain ?? 'unknown'}`;
    if (t.remoteIp) s += ` ([${t.remoteIp}])`;
    if (t.security) s += `\r\n\t(using ${t.security})`;
    s += `\r\n\tby ${t.hostname} with ${t.protocol}`;
    s += `\r\n\tid ${t.transactionId}`;
    s += `\r\n\t(envelope-from <${encodeAddress(t.mailFrom)}>)`;
    if (rcptTo !== undefined) s += `\r\n\tfor <${rcptTo}>`;
    s += `; ${messageDate(t.timestamp)}\r\n`;
  }
  return s;
}

/** The Message-ID header's value for log lines ("unspecified" without one). */
export function messageIdForLog(data: Buffer): string {
  const end = data.indexOf('\r\n\r\n') >= 0 ? data.indexOf('\r\n\r\n') : data.indexOf('\n\n');
  const head = data.subarray(0, end < 0 ? Math.min(data.length, 65536) : end).toString('latin1');
  const m = /^message-id:[ \t]*((?:.|\r?\n[ \t])*)/im.exec(head);
  if (!m) return 'unspecified';
  const v = (m[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim();
  const id = /<[^>]*>/.exec(v)?.[0] ?? v;
  return id.length > 80 ? `${id.slice(0, 77)}...` : id;
}
