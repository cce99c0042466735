/**
 * smtpd/commands/hello.ts: HELO and EHLO (smtpd.c helo_cmd, ehlo_cmd).
 * RFC 5321 §4.1.1.1; EHLO keywords in Postfix's order, minus
 * smtpd_discard_ehlo_keywords; SIZE shows message_size_limit (bare SIZE
 * when unlimited); XCLIENT/XFORWARD only for authorized clients.
 */
import type { SmtpdSession } from '../session.js';
import { EHLO, strEhloMask } from '../settings.js';
import { MailError } from '../state.js';
import type { SmtpToken } from '../syntax.js';
import { neuter, printable } from '../text.js';
import { checkMilterReply, miltersActive } from '../milter.js';

/** Characters Postfix replaces in HELO names before logging them (NEUTER_CHARACTERS). */
export const NEUTER_CHARACTERS = ' <>()\\";@';

/** collapse_args(): argv[1..] joined by single spaces. */
export function collapseArgs(argv: SmtpToken[], from: number): string {
  return argv
    .slice(from)
    .map((t) => t.str)
    .join(' ');
}

async function helloCommon(s: SmtpdSession, argv: SmtpToken[], ehlo: boolean): Promise<number | string> {
  const st = s.state;
  if (argv.length < 2) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply(ehlo ? '501 Syntax: EHLO hostname' : '501 Syntax: HELO hostname');
    return -1;
  }
  const arg = argv.length > 2 ? collapseArgs(argv, 1) : argv[1].str;
  if (!s.settings.delayReject) {
    const err = await s.checks.helo(st, arg);
    if (err !== undefined) {
      await s.reply(err);
      return -1;
    }
  }
  // Milter HELO event: a 421 answers now; other rejects persist in the filter and answer MAIL FROM.
  const milters = miltersActive(s);
  let merr: string | undefined;
  if (milters && (merr = await milters.heloEvent(arg)) !== undefined) {
    const saved = st.heloName;
    st.heloName = arg;
    merr = checkMilterReply(s, merr);
    st.heloName = saved;
    if (merr?.startsWith('421')) {
      await s.reply(merr);
      return -1;
    }
  }
  s.milterHeloReply = merr;
  if (st.heloName !== undefined) s.heloReset();
  s.chatReset();
  await s.mailReset();
  s.rcptReset();
  st.heloName = neuter(printable(arg, '?', s.settings.smtputf8Enable), NEUTER_CHARACTERS, '?');
  return arg;
}

export async function heloCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const r = await helloCommon(s, argv, false);
  if (typeof r === 'number') return r;
  const proto = s.state.protocol.toUpperCase();
  if (proto !== 'ESMTP' && proto !== 'SMTP') s.state.protocol = 'SMTP';
  await s.reply(`250 ${s.settings.myhostname}`);
  return 0;
}

export async function ehloCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const r = await helloCommon(s, argv, true);
  if (typeof r === 'number') return r;
  const st = s.state;
  const set = s.settings;
  if (st.protocol.toUpperCase() !== 'ESMTP') st.protocol = 'ESMTP';
  // Sendmail compatibility: after a milter 5xx, announce ENHANCEDSTATUSCODES only.
  const discard = s.milterHeloReply?.[0] === '5' ? st.ehloDiscardMask | ~EHLO.ENHANCEDSTATUSCODES : st.ehloDiscardMask;
  if ((discard & EHLO.ENHANCEDSTATUSCODES) === 0 && discard && !(discard & EHLO.SILENT)) {
    s.log.info(`discarding EHLO keywords: ${strEhloMask(discard)}`);
  }
  const words: string[] = [set.myhostname];
  const on = (bit: number) => (discard & bit) === 0;
  if (on(EHLO.PIPELINING)) words.push('PIPELINING');
  if (on(EHLO.SIZE)) words.push(set.messageSizeLimit > 0 ? `SIZE ${set.messageSizeLimit}` : 'SIZE');
  if (on(EHLO.VRFY) && !set.disableVrfy) words.push('VRFY');
  if (on(EHLO.ETRN)) words.push('ETRN');
  if (on(EHLO.STARTTLS) && set.useTls && !st.tlsActive) words.push('STARTTLS');
  if (on(EHLO.AUTH) && s.auth?.active(s)) {
    const mechs = s.auth.mechanisms(s);
    words.push(`AUTH ${mechs}`);
    if (set.cfg.bool('broken_sasl_auth_clients')) words.push(`AUTH=${mechs}`);
  }
  if (on(EHLO.VERP) && (await set.verpClients.match(st.name, st.addr).catch(() => false))) words.push('XVERP');
  if (on(EHLO.XCLIENT) && st.xclientAllowed) {
    words.push('XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT');
  }
  if (on(EHLO.XFORWARD) && st.xforwardAllowed) words.push('XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT');
  if (on(EHLO.ENHANCEDSTATUSCODES)) words.push('ENHANCEDSTATUSCODES');
  if (on(EHLO['8BITMIME'])) words.push('8BITMIME');
  if (on(EHLO.DSN)) words.push('DSN');
  if (set.smtputf8Enable && on(EHLO.SMTPUTF8)) words.push('SMTPUTF8');
  if (on(EHLO.CHUNKING)) words.push('CHUNKING');
  for (let i = 0; i < words.length; i++) {
    await s.reply(`250${i + 1 < words.length ? '-' : ' '}${words[i]}`);
  }
  return 0;
}
