/**
 * smtpd/commands/data.ts: DATA and BDAT and what happens at the end of the
 * message (smtpd.c data_cmd, bdat_cmd, common_pre_message_handling,
 * receive_data_message, common_post_message_handling).
 *
 * - Our Received: header goes first, then the client's lines, dot-unstuffed
 *   (DATA) or as sent (BDAT), one cleanup record per line; lines longer
 *   than line_length_limit go in continued pieces.
 * - message_size_limit counts line bytes + 2 per line; past the limit the
 *   rest is read and dropped, then "552 5.3.4 Error: message file too big".
 * - End of DATA is "." on a line of its own. With smtpd_forbid_bare_newline
 *   (normalize/yes/reject) that line must end in CRLF and follow a line
 *   that ended in CRLF ("\n.\r\n" and ".\n" do not end the message: the
 *   SMTP smuggling defence); "reject" also refuses any bare LF with
 *   "550 5.5.2 HOST Error: bare <LF> received" after the message.
 * RFC 5321 §4.1.1.4, RFC 3030 (CHUNKING/BDAT).
 */
import { type CleanupSession, CleanupStat } from '../../cleanup/types.js';
import type { Milters } from '../../milter/milters.js';
import { Rec } from '../../queue/record.js';
import { checkMilterReply, miltersActive } from '../milter.js';
import type { SmtpdSession } from '../session.js';
import { BARE_LF_REPLY_REJECT, BARE_LF_WANT_STD_EOD, EHLO } from '../settings.js';
import { AFTER_BDAT, AFTER_DATA, AFTER_EOM, BDAT_ERROR, BDAT_OK, FLAG_SMTPUTF8, MailError } from '../state.js';
import { allDigits, printable } from '../text.js';
import type { SmtpToken } from '../syntax.js';
import { quote822Local } from '../tok822.js';

/** DSN_NOTIFY_NEVER (dsn_mask.h). */
const DSN_NOTIFY_NEVER = 1;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let zoneFormat: Intl.DateTimeFormat | undefined;
let zoneCache: { hour: number; name: string } | undefined;

/** strftime("%Z"): the local time zone abbreviation, cached per hour. */
function zoneName(d: Date, sign: string, hours: string): string {
  const hour = Math.floor(d.getTime() / 3_600_000);
  if (zoneCache?.hour === hour) return zoneCache.name;
  let name = 'UTC';
  try {
    zoneFormat ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
    name = zoneFormat.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  } catch {
    /* keep UTC */
  }
  // glibc prints a numeric abbreviation where the zone has no name.
  if (/^GMT[+-]/.test(name)) name = `${sign}${hours}`;
  zoneCache = { hour, name };
  return name;
}

/** mail_date(): "Mon,  3 Nov 2026 16:54:08 +0000 (UTC)" in local time. */
export function mailDate(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, ' ');
  return (
    `${DAYS[d.getDay()]}, ${day} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ` +
    `${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)} (${zoneName(d, sign, p2(Math.floor(abs / 60)))})`
  );
}

/** Write one content line to cleanup (and count nothing). */
function out(s: SmtpdSession, line: string, continued = false): void {
  s.state.cleanup?.writeLine(Buffer.from(line, 'latin1'), continued);
}

/** The milter DATA event; a reject is logged and returned as the reply. */
async function milterData(s: SmtpdSession): Promise<string | undefined> {
  const milters = miltersActive(s);
  const merr = milters ? await milters.dataEvent() : undefined;
  return merr !== undefined ? checkMilterReply(s, merr) : undefined;
}

/** common_pre_message_handling(): our Received: header. */
function preMessage(s: SmtpdSession): void {
  const st = s.state;
  const set = s.settings;
  // Hand the filters to cleanup for the content (milter_send).
  const c = st.cleanup as (CleanupSession & { setMilters?(m: Milters): void }) | undefined;
  const milters = miltersActive(s);
  if (c && milters) c.setMilters?.(milters);
  // Access-map and milter HOLD/DISCARD decided so far go with the envelope; PREPEND
  // headers go above our Received: header (smtpd.c data_cmd()).
  if (st.savedFlags) st.cleanup?.setExtraFlags?.(st.savedFlags);
  for (const h of st.prepend) out(s, h);
  const withProto = st.flags & FLAG_SMTPUTF8 ? 'UTF8SMTP' : st.protocol;
  out(s, `Received: from ${st.heloName ?? st.name} (${st.name} [${st.rfcAddr}])`);
  let rfc3848Sess = '';
  if (st.tlsActive && st.tlsInfo && set.tlsReceivedHeader) {
    const t = st.tlsInfo;
    out(s, `\t(using ${t.protocol} with cipher ${t.cipher} (${t.bits}/${t.algBits} bits))`);
    out(s, set.tlsAskCcert ? '\t(Client did not present a certificate)' : '\t(No client certificate requested)');
  }
  if (st.tlsActive && st.protocol === 'ESMTP') rfc3848Sess = 'S';
  let rfc3848Auth = '';
  if (st.saslUsername !== undefined) {
    if (set.cfg.bool('smtpd_sasl_authenticated_header')) out(s, `\t(Authenticated sender: ${st.saslUsername})`);
    if (st.protocol === 'ESMTP') rfc3848Auth = 'A';
  }
  const id = st.cleanup ? ` id ${st.queueId}` : '';
  const by = `\tby ${set.myhostname} (${set.mailName}) with ${withProto}${rfc3848Sess}${rfc3848Auth}${id}`;
  if (st.rcptCount === 1 && st.recipient !== undefined) {
    out(s, by);
    out(s, `\tfor <${quote822Local(st.recipient)}>; ${mailDate(st.arrivalTime)}`);
  } else {
    out(s, `${by};`);
    out(s, `\t${mailDate(st.arrivalTime)}`);
  }
}

/** Accept one content record unless the message is already doomed. */
function record(s: SmtpdSession, line: string, continued: boolean): void {
  const st = s.state;
  if (st.err !== CleanupStat.OK) return;
  const limit = s.settings.messageSizeLimit;
  if (limit > 0 && limit - st.actSize < line.length + 2) {
    st.err = CleanupStat.SIZE;
    s.log.warn(`${st.queueId ?? 'NOQUEUE'}: queue file size limit exceeded`);
    return;
  }
  st.actSize += line.length + 2;
  out(s, line, continued);
}

export async function dataCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (st.processingBdat()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: DATA after BDAT');
    return -1;
  }
  if (st.rcptCount === 0) {
    if (!st.inMailTransaction()) {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply('503 5.5.1 Error: need RCPT command');
    } else {
      await s.reply('554 5.5.1 Error: no valid recipients');
    }
    return -1;
  }
  if (argv.length !== 1) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.5.4 Syntax: DATA');
    return -1;
  }
  const err = (await s.checks.data(st)) ?? (await milterData(s));
  if (err !== undefined) {
    await s.reply(err);
    return -1;
  }
  preMessage(s);
  await s.reply('354 End data with <CR><LF>.<CR><LF>');
  st.where = AFTER_DATA;
  await receiveData(s);
  return postMessage(s);
}

/** receive_data_message(). */
async function receiveData(s: SmtpdSession): Promise<void> {
  const st = s.state;
  const stream = s.stream;
  const limit = s.settings.lineLengthLimit;
  let first = true;
  let prevCont = false;
  let prevBareLf = 0;
  for (;; prevBareLf = stream.gotBareLf) {
    const r = await stream.getLine(limit);
    const cont = r.last !== 10;
    const wasCont = prevCont;
    prevCont = cont;
    if (stream.gotBareLf & BARE_LF_REPLY_REJECT) st.err |= CleanupStat.BARE_LF;
    let line = r.line;
    if (first) {
      if (line.replace(/^>*/, '').startsWith('From ')) {
        if (st.err === CleanupStat.OK) out(s, `X-Mailbox-Line: ${line}`, cont);
        continue;
      }
      first = false;
      if (line.length > 0 && (line[0] === ' ' || line[0] === '\t') && st.err === CleanupStat.OK) out(s, '');
    }
    if (!wasCont && line[0] === '.') {
      if (line.length === 1 && stream.detectBareLf & BARE_LF_WANT_STD_EOD && (stream.gotBareLf || prevBareLf)) continue;
      line = line.slice(1);
      if (line.length === 0) break;
    }
    record(s, line, cont);
  }
  st.where = AFTER_EOM;
}

/** cleanup_stat_detail() replies. */
const DETAIL: Array<[number, number, string, string]> = [
  [CleanupStat.DEFER, 451, '4.7.1', 'service unavailable'],
  [CleanupStat.PROXY, 451, '4.3.0', 'queue file write error'],
  [CleanupStat.BAD, 451, '4.3.0', 'internal protocol error'],
  [CleanupStat.RCPT, 550, '5.1.0', 'no recipients specified'],
  [CleanupStat.HOPS, 554, '5.4.0', 'too many hops'],
  [CleanupStat.SIZE, 552, '5.3.4', 'message file too big'],
  [CleanupStat.CONT, 550, '5.7.1', 'message content rejected'],
  [CleanupStat.WRITE, 451, '4.3.0', 'queue file write error'],
  [CleanupStat.NOPERM, 550, '5.7.1', 'service denied'],
];

function detail(bit: number): [number, string, string] {
  const d = DETAIL.find((x) => x[0] === bit) ?? DETAIL[2];
  return [d[1], d[2], d[3]];
}

const isSmtpReject = (s: string): boolean => /^[45][0-9][0-9]($|[ -])/.test(s);

/**
 * The access-map actions delegated to cleanup, in the extracted segment
 * (smtpd.c common_post_message_handling()): FILTER, REDIRECT, each BCC
 * recipient with NOTIFY=NEVER, then the HOLD/DISCARD flags.
 */
function flushSavedActions(s: SmtpdSession, c: CleanupSession): void {
  const st = s.state;
  if (!c.addExtracted) return;
  if (st.savedFilter !== undefined) c.addExtracted(Rec.FILT, st.savedFilter);
  if (st.savedRedirect !== undefined) c.addExtracted(Rec.RDR, st.savedRedirect);
  for (const r of st.savedBcc) {
    c.addExtracted(Rec.RCPT, r);
    c.addExtracted(Rec.ATTR, `notify_flags=${DSN_NOTIFY_NEVER}`);
  }
  if (st.savedFlags) c.addExtracted(Rec.FLGS, String(st.savedFlags));
}

/** common_post_message_handling(): end-of-data checks, commit, and the reply. */
async function postMessage(s: SmtpdSession): Promise<number> {
  const st = s.state;
  const set = s.settings;
  if (st.err === CleanupStat.OK) {
    const err = await s.checks.eod(st);
    if (err !== undefined) {
      await s.reply(err);
      const c = st.cleanup;
      st.cleanup = undefined;
      await c?.abort().catch(() => undefined);
      return -1;
    }
  }
  let why: string | undefined;
  const c = st.cleanup;
  st.cleanup = undefined;
  if (st.err === CleanupStat.OK && c) {
    flushSavedActions(s, c);
    try {
      const res = await c.finish();
      st.err = res.status;
      why = res.reason;
    } catch (e) {
      s.log.warn(`${st.queueId}: cleanup failed: ${(e as Error).message}`);
      st.err = CleanupStat.WRITE;
    }
    if (why !== undefined) why = isSmtpReject(why) ? printable(why, ' ', true, '\r\n') : printable(why, ' ');
  } else {
    await c?.abort().catch(() => undefined);
  }
  const e = st.err;
  if (e === CleanupStat.OK) {
    st.errorCount = 0;
    st.errorMask = 0;
    st.junkCmds = 0;
    await s.reply(
      st.processingBdat() ? `250 2.0.0 Ok: ${st.actSize} bytes queued as ${st.queueId}` : `250 2.0.0 Ok: queued as ${st.queueId}`,
    );
  } else if (e & CleanupStat.BARE_LF) {
    st.errorMask |= MailError.PROTOCOL;
    s.logWhatsup('reject', 'bare <LF> received');
    await s.reply(`${set.bareLfCode} 5.5.2 ${set.myhostname} Error: bare <LF> received`);
  } else if (why !== undefined && isSmtpReject(why)) {
    st.errorMask |= MailError.POLICY;
    await s.reply(why);
  } else if (e & CleanupStat.DEFER) {
    st.errorMask |= MailError.POLICY;
    const [code, dsn, text] = detail(CleanupStat.DEFER);
    await s.reply(why ? `${code} ${why}` : `${code} ${dsn} Error: ${text}`);
  } else if (e & CleanupStat.BAD) {
    st.errorMask |= MailError.SOFTWARE;
    const [code, dsn] = detail(CleanupStat.BAD);
    await s.reply(`${code} ${dsn} Error: internal error ${e}`);
  } else if (e & CleanupStat.SIZE) {
    st.errorMask |= MailError.BOUNCE;
    const [code, dsn, text] = detail(CleanupStat.SIZE);
    await s.reply(`${code} ${dsn} Error: ${text}`);
  } else if (e & CleanupStat.HOPS) {
    st.errorMask |= MailError.BOUNCE;
    const [code, dsn, text] = detail(CleanupStat.HOPS);
    await s.reply(`${code} ${dsn} Error: ${text}`);
  } else if (e & CleanupStat.CONT) {
    st.errorMask |= MailError.POLICY;
    const [code, dsn, text] = detail(CleanupStat.CONT);
    await s.reply(why ? `${code} ${why}` : `${code} ${dsn} Error: ${text}`);
  } else if (e & CleanupStat.WRITE) {
    st.errorMask |= MailError.RESOURCE;
    const [code, dsn, text] = detail(CleanupStat.WRITE);
    await s.reply(`${code} ${dsn} Error: ${text}`);
  } else {
    st.errorMask |= MailError.SOFTWARE;
    const [code, dsn] = detail(CleanupStat.BAD);
    await s.reply(`${code} ${dsn} Error: internal error ${e}`);
  }
  s.chatReset();
  await s.mailReset();
  s.rcptReset();
  return e;
}

/** skip_bdat(): read and drop a chunk, reply, and remember the error until BDAT LAST/RSET. */
async function skipBdat(s: SmtpdSession, size: number, last: boolean, reply: string): Promise<number> {
  for await (const _ of s.stream.readBytes(size)) {
    /* drop */
  }
  await s.reply(reply);
  if (last) await s.mailReset();
  else s.state.bdatState = BDAT_ERROR;
  return -1;
}

/** Splits BDAT payload into lines the way bdat_cmd feeds smtp_get_noexcept(). */
class BdatLines {
  buf = '';
  prevCont = false;
  constructor(
    private readonly s: SmtpdSession,
    private readonly limit: number,
  ) {}

  /** One fragment; `atEnd` when it ends the final chunk. */
  feed(frag: string, atEnd: boolean): void {
    const st = this.s.state;
    const detect = this.s.stream.detectBareLf;
    let pos = 0;
    let feof = false;
    do {
      const canRead = this.limit - this.buf.length > 0 ? this.limit - this.buf.length : 1;
      const seg = frag.slice(pos, pos + canRead);
      const nl = seg.indexOf('\n');
      const take = nl >= 0 ? nl + 1 : seg.length;
      this.buf += seg.slice(0, take);
      pos += take;
      if (nl < 0 && take < canRead) feof = true;
      let last = take > 0 ? this.buf.charCodeAt(this.buf.length - 1) : -1;
      if (last === 13) {
        if (pos < frag.length) {
          if (frag[pos] === '\n') {
            this.buf += '\n';
            pos++;
            last = 10;
          }
        } else {
          feof = true;
        }
      }
      let gotBareLf = 0;
      let cont: boolean;
      if (last === 10) {
        let end = this.buf.length - 1;
        if (detect) {
          if (end === 0 || this.buf[end - 1] !== '\r') gotBareLf = detect;
          else end--;
        } else {
          while (end > 0 && this.buf[end - 1] === '\r') end--;
        }
        this.buf = this.buf.slice(0, end);
        cont = false;
      } else if (this.buf.length > this.limit) {
        pos--;
        this.buf = this.buf.slice(0, -1);
        cont = true;
      } else if (!feof) {
        cont = true;
      } else if (this.buf.length > 0 && atEnd) {
        cont = false;
      } else {
        break;
      }
      if (gotBareLf & BARE_LF_REPLY_REJECT) st.err |= CleanupStat.BARE_LF;
      record(this.s, this.buf, cont);
      this.prevCont = cont;
      this.buf = '';
    } while (!feof);
    this.s.bdatPending = this.buf.length;
  }
}

export async function bdatCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  const set = s.settings;
  if (st.ehloDiscardMask & EHLO.CHUNKING) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('521 5.5.1 Error: command not implemented');
    return -1;
  }
  const last = argv.length === 3;
  if (
    argv.length < 2 ||
    argv.length > 3 ||
    !allDigits(argv[1].str) ||
    BigInt(argv[1].str) > 0x7fffffffffffffffn ||
    (last && argv[2].str.toUpperCase() !== 'LAST')
  ) {
    st.errorMask |= MailError.PROTOCOL;
    const raw = argv.map((a) => a.str).join(' ');
    s.log.warn(
      `${st.queueId ?? 'NOQUEUE'}: malformed BDAT command syntax from ${st.namaddr}: ${printable(raw, '?', set.smtputf8Enable).slice(0, 100)}`,
    );
    await s.reply('521 5.5.4 Syntax: BDAT count [LAST]');
    return -1;
  }
  const size = Number(argv[1].str);
  if (size === 0 && !last) {
    s.log.warn(`${st.queueId ?? 'NOQUEUE'}: null BDAT request from ${st.namaddr}`);
    return skipBdat(s, size, last, '551 5.7.1 Null BDAT request');
  }
  if (st.bdatState === BDAT_ERROR) return skipBdat(s, size, last, `551 5.0.0 Discarded ${size} bytes after earlier error`);
  if (!st.processingBdat()) {
    if (st.rcptCount === 0) {
      if (!st.inMailTransaction()) {
        st.errorMask |= MailError.PROTOCOL;
        return skipBdat(s, size, last, '503 5.5.1 Error: need RCPT command');
      }
      return skipBdat(s, size, last, '554 5.5.1 Error: no valid recipients');
    }
    const err = (await s.checks.data(st)) ?? (await milterData(s));
    if (err !== undefined) return skipBdat(s, size, last, err);
  }
  const limit = set.messageSizeLimit;
  if (limit > 0 && st.actSize > limit - size) {
    st.errorMask |= MailError.POLICY;
    s.log.warn(`${st.queueId ?? 'NOQUEUE'}: BDAT request from ${st.namaddr} exceeds message size limit`);
    return skipBdat(s, size, last, '552 5.3.4 Chunk exceeds message size limit');
  }
  if (!st.processingBdat()) {
    preMessage(s);
    s.bdatLines = new BdatLines(s, set.lineLengthLimit);
  }
  st.bdatState = BDAT_OK;
  st.where = AFTER_BDAT;
  const lines = s.bdatLines as BdatLines;
  let done = 0;
  if (size === 0) lines.feed('', last);
  for await (const chunk of s.stream.readBytes(size, 4096)) {
    done += chunk.length;
    lines.feed(chunk.toString('latin1'), last && done === size);
  }
  if (last) {
    st.where = AFTER_EOM;
    s.bdatPending = 0;
    return postMessage(s);
  }
  if (st.err !== CleanupStat.OK) {
    await postMessage(s);
    st.bdatState = BDAT_ERROR;
    return -1;
  }
  await s.reply(`250 2.0.0 Ok: ${size} bytes`);
  return 0;
}
