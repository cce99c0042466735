/**
 * bounce/notice.ts: the text of a delivery status notification, line by
 * line, as bounce(8) writes it to cleanup (bounce_notify_util.c,
 * bounce_template.c, post_mail.c). RFC 3464 multipart/report:
 *
 *   Received: by HOST (Postfix)\n\tid NEWID; DATE     (post_mail)
 *   Date: DATE
 *   From: / Subject: / To:                          (template; cleanup qualifies)
 *   Auto-Submitted: auto-replied | auto-generated   (postmaster copy)
 *   MIME-Version: 1.0
 *   Content-Type: multipart/report; report-type=delivery-status;
 *   \tboundary="ORIGID.EPOCH/HOST"
 *   Content-Transfer-Encoding: 8bit
 *   <blank> This is a MIME-encapsulated message. <blank>
 *   --boundary  text/plain notification: template text, then per recipient
 *               "<rcpt> (expanded from <orig>): reason", wrapped at 79 columns
 *   --boundary  message/delivery-status: Reporting-MTA, X-Postfix-Queue-ID,
 *               X-Postfix-Sender, Arrival-Date; per recipient Final-Recipient,
 *               Original-Recipient, Action, Status, Remote-MTA,
 *               Diagnostic-Code, Will-Retry-Until (delay notices)
 *   --boundary  message/rfc822 (or text/rfc822-headers): Return-Path and
 *               the original content
 *   --boundary--
 *
 * The original message is read from its queue file (SIZE, T and S records
 * and the content records).
 */
import { mailDate } from '../queue/dates.js';
import { logicalRecords, readQueueBytes } from '../queue/reader.js';
import { parseSize, Rec, REC_EOF, REC_ERROR } from '../queue/record.js';
import { quote822Local } from '../maps/address.js';
import type { PostfixConfig } from '../../compat/postfix/config.js';
import type { LogEntry } from './log.js';
import { type BounceTemplate, expandTemplate } from './templates.js';

export type NoticeLine = [type: number, data: string];

/** line_wrap(): break at blanks so lines fit `len` columns, continuation lines indented. */
export function lineWrap(str: string, len: number, indent: number): Array<{ text: string; indent: number }> {
  const out: Array<{ text: string; indent: number }> = [];
  let currIndent = indent < 0 ? -indent : 0;
  let currLen = indent < 0 ? len + indent : len;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  let startLine = 0;
  let word: number | undefined = 0;
  while (word !== undefined) {
    let nextSpace: number = word;
    while (nextSpace < str.length && str[nextSpace] !== ' ' && str[nextSpace] !== '\t') nextSpace++;
    if (word > startLine && nextSpace - startLine > currLen) {
      let lineLen = word - startLine;
      while (lineLen > 0 && isSpace(str[startLine + lineLen - 1])) lineLen--;
      out.push({ text: str.slice(startLine, startLine + lineLen), indent: currIndent });
      while (word < str.length && isSpace(str[word])) word++;
      if (startLine === 0) {
        currIndent += indent;
        currLen -= indent;
      }
      startLine = word;
    }
    word = nextSpace < str.length ? nextSpace + 1 : undefined;
  }
  let lineLen = str.length - startLine;
  while (lineLen > 0 && isSpace(str[startLine + lineLen - 1])) lineLen--;
  out.push({ text: str.slice(startLine, startLine + lineLen), indent: currIndent });
  return out;
}

/** What bounce_mail_alloc() learns from the original queue file. */
export interface OriginalMessage {
  messageSize: number;
  arrivalTime: number;
  /** quote_822_local(sender), MAILER-DAEMON for the null sender; '' when no S record. */
  sender: string;
  /** Content records (N/L), in order; undefined when the file is unavailable. */
  content: NoticeLine[] | undefined;
}

/** Read the original message (best effort, as bounce(8) does). */
export async function readOriginal(path: string, mailDaemon = 'MAILER-DAEMON'): Promise<OriginalMessage> {
  const res: OriginalMessage = { messageSize: 0, arrivalTime: 0, sender: '', content: undefined };
  let buf: Buffer;
  try {
    buf = (await readQueueBytes(path, { ignoreMode: true })).buf;
  } catch {
    return res;
  }
  let inContent = false;
  const content: NoticeLine[] = [];
  for (const r of logicalRecords(buf)) {
    if (r.type === REC_EOF || r.type === REC_ERROR) break;
    if (inContent) {
      if (r.type === Rec.NORM || r.type === Rec.CONT) {
        content.push([r.type, r.data]);
        continue;
      }
      inContent = false;
    }
    switch (r.type) {
      case Rec.SIZE: {
        const s = parseSize(r.data);
        if (s && res.messageSize === 0) res.messageSize = Math.max(0, s.contentSize);
        break;
      }
      case Rec.TIME:
        if (res.arrivalTime === 0) res.arrivalTime = Math.max(0, Number.parseInt(r.data, 10) || 0);
        break;
      case Rec.FROM:
        res.sender = quote822Local(r.data !== '' ? r.data : mailDaemon);
        break;
      case Rec.MESG:
        inContent = true;
        res.content = content;
        break;
      default:
        break;
    }
  }
  return res;
}

export interface NoticeOptions {
  template: BounceTemplate;
  cfg: PostfixConfig;
  /** The original message's queue ID and what was read from its file. */
  queueId: string;
  original: OriginalMessage;
  /** Where the notice goes (the To: header). */
  rcpt: string;
  postmasterCopy: boolean;
  /** Boilerplate text (not in postmaster copies). */
  boilerplate: boolean;
  entries: LogEntry[];
  /** DSN_RET_HDRS (2) or DSN_RET_FULL (1). */
  ret: number;
  /** event_time() for the boundary, and post_mail's Date. */
  now: number;
  newQueueId: string;
  dsnEnvid: string;
  /** SMTPUTF8 flags of the original (SMTPUTF8_FLAG_REQUESTED = 1). */
  smtputf8: number;
  /** "7bit", "8bit" or "" (encoding attribute of the original). */
  encoding: string;
}

const isFailure = (t: BounceTemplate) => t.cls === 'failure';
const isDelay = (t: BounceTemplate) => t.cls === 'delay';

/** The notice's records (all N; original content keeps its N/L types). */
export function buildNotice(o: NoticeOptions): NoticeLine[] {
  const out: NoticeLine[] = [];
  const put = (s: string) => out.push([Rec.NORM, s]);
  const cfg = o.cfg;
  const myhostname = cfg.get('myhostname');
  const mailName = (cfg.get('mail_name') || 'Postfix').replace(/[ \t\r\n()<>@,;:\\".[\]]/g, '-');
  const smtputf8Enable = cfg.bool('smtputf8_enable');
  let mimeEncoding: string | undefined;
  if (smtputf8Enable) mimeEncoding = '8bit';
  else if (o.encoding === '8bit') mimeEncoding = '8bit';
  else if (o.encoding === '7bit') mimeEncoding = '7bit';
  else mimeEncoding = undefined;
  const not7bit = mimeEncoding !== undefined && mimeEncoding.toLowerCase() !== '7bit';
  const boundary = `${o.queueId}.${Math.floor(o.now)}/${myhostname}`;
  const date = mailDate(Math.floor(o.now));
  const tp = o.template;

  // post_mail_init()
  put(`Received: by ${myhostname} (${cfg.get('mail_name') || 'Postfix'})`);
  put(`\tid ${o.newQueueId}; ${date}`);
  put(`Date: ${date}`);
  // bounce_header()
  const hfromStd = (cfg.get('header_from_format') || 'standard').toLowerCase() !== 'obsolete';
  put(`From: ${hfromStd ? tp.from : tp.from.replace(/^(.*?)\s*<(.*)>$/, '$2 ($1)')}`);
  put(`Subject: ${tp.postmasterSubject !== undefined && o.postmasterCopy ? tp.postmasterSubject : tp.subject}`);
  put(`To: ${quote822Local(o.rcpt)}`);
  put(`Auto-Submitted: ${o.postmasterCopy ? 'auto-generated' : 'auto-replied'}`);
  put('MIME-Version: 1.0');
  put('Content-Type: multipart/report; report-type=delivery-status;');
  put(`\tboundary="${boundary}"`);
  if (mimeEncoding) put(`Content-Transfer-Encoding: ${mimeEncoding.toLowerCase() === '7bit' ? (tp.charset.toLowerCase() === 'us-ascii' ? '7bit' : '8bit') : mimeEncoding}`);
  put('');
  put('This is a MIME-encapsulated message.');
  put('');
  put(`--${boundary}`);
  put('Content-Description: Notification');
  put(`Content-Type: text/plain; charset=${tp.charset.toLowerCase() !== 'us-ascii' ? tp.charset : not7bit ? 'utf-8' : 'us-ascii'}`);
  if (not7bit) put(`Content-Transfer-Encoding: ${mimeEncoding}`);
  put('');
  if (o.boilerplate) for (const l of expandTemplate(tp, cfg)) put(l);

  const wrap = (s: string) => {
    for (const w of lineWrap(s, 79, 4)) put(`${' '.repeat(w.indent)}${w.text}`);
  };
  // bounce_diagnostic_log()
  if (o.entries.length === 0 && isFailure(tp)) {
    put('');
    put('\t--- Delivery report unavailable ---');
  }
  for (const e of o.entries) {
    put('');
    if (e.rcpt.origAddr !== '') wrap(`<${e.rcpt.address}> (expanded from <${e.rcpt.origAddr}>): ${e.dsn.reason}`);
    else wrap(`<${e.rcpt.address}>: ${e.dsn.reason}`);
  }
  // bounce_header_dsn()
  const utf8Requested = (o.smtputf8 & 1) !== 0;
  put('');
  put(`--${boundary}`);
  put('Content-Description: Delivery report');
  put(`Content-Type: message/${utf8Requested ? 'global-' : ''}delivery-status`);
  if (not7bit && utf8Requested) put(`Content-Transfer-Encoding: ${mimeEncoding}`);
  put('');
  put(`Reporting-MTA: dns; ${myhostname}`);
  if (o.dsnEnvid !== '') put(`Original-Envelope-Id: ${o.dsnEnvid}`);
  put(`X-${mailName}-Queue-ID: ${o.queueId}`);
  const isUtf8Addr = (a: string) => a !== '' && /[^\x00-\x7f]/.test(a);
  if (o.original.sender !== '') {
    put(`X-${mailName}-Sender: ${o.smtputf8 && isUtf8Addr(o.original.sender) ? 'utf-8' : 'rfc822'}; ${o.original.sender}`);
  }
  if (o.original.arrivalTime > 0) put(`Arrival-Date: ${mailDate(o.original.arrivalTime)}`);
  // bounce_diagnostic_dsn()
  for (const e of o.entries) {
    put('');
    put(`Final-Recipient: ${o.smtputf8 && isUtf8Addr(e.rcpt.address) ? 'utf-8' : 'rfc822'}; ${e.rcpt.address}`);
    if (e.rcpt.dsnOrcpt !== '') put(`Original-Recipient: ${e.rcpt.dsnOrcpt}`);
    else if (e.rcpt.origAddr !== '') {
      put(`Original-Recipient: ${o.smtputf8 && isUtf8Addr(e.rcpt.origAddr) ? 'utf-8' : 'rfc822'}; ${e.rcpt.origAddr}`);
    }
    put(`Action: ${isFailure(tp) ? 'failed' : e.dsn.action}`);
    put(`Status: ${e.dsn.status}`);
    if (e.dsn.mtype !== '' && e.dsn.mname !== '') wrap(`Remote-MTA: ${e.dsn.mtype}; ${e.dsn.mname}`);
    if (e.dsn.dtype !== '' && e.dsn.dtext !== '') wrap(`Diagnostic-Code: ${e.dsn.dtype}; ${e.dsn.dtext}`);
    else wrap(`Diagnostic-Code: X-${mailName}; ${e.dsn.reason}`);
    if (isDelay(tp)) put(`Will-Retry-Until: ${mailDate(o.original.arrivalTime + cfg.time('maximal_queue_lifetime'))}`);
  }
  // bounce_original()
  let headersOnly = o.ret === 2;
  const limit = cfg.int('bounce_size_limit');
  if (limit > 0 && o.original.content !== undefined && (o.original.messageSize <= 0 || o.original.messageSize > limit)) {
    headersOnly = true;
  }
  const undelivered = isFailure(tp) || isDelay(tp);
  put('');
  put(`--${boundary}`);
  put(`Content-Description: ${undelivered ? 'Undelivered ' : ''}${headersOnly ? 'Message Headers' : 'Message'}`);
  if (utf8Requested) put(`Content-Type: message/${headersOnly ? 'global-headers' : 'global'}`);
  else put(`Content-Type: ${headersOnly ? 'text/rfc822-headers' : 'message/rfc822'}`);
  if (not7bit) put(`Content-Transfer-Encoding: ${mimeEncoding}`);
  put('');
  if (o.original.content === undefined) {
    put('\t--- Undelivered message unavailable ---');
    return out;
  }
  put(`Return-Path: <${o.original.sender}>`);
  const isHeader = (s: string) => s[0] === ' ' || s[0] === '\t' || /^[\x21-\x39\x3b-\x7e]+[ \t]*:/.test(s);
  for (const [type, data] of o.original.content) {
    // Postfix tests every record, also the rest of a continued (L) line.
    if (headersOnly && !isHeader(data)) break;
    out.push([type, data]);
  }
  put('');
  put(`--${boundary}--`);
  return out;
}
