/**
 * smtpd/commands/misc.ts: RSET, NOOP, VRFY, ETRN, QUIT and AUTH
 * (smtpd.c rset_cmd, noop_cmd, vrfy_cmd, etrn_cmd, quit_cmd;
 * smtpd_sasl_proto.c smtpd_sasl_auth_cmd).
 */
import type { SmtpdSession } from '../session.js';
import { EHLO } from '../settings.js';
import { FLAG_SMTPUTF8, MailError } from '../state.js';
import type { SmtpToken } from '../syntax.js';
import { allAscii, strcaseeq } from '../text.js';
import { validHostname, validMailhostLiteral } from '../valid.js';
import { collapseArgs } from './hello.js';
import { extractAddr } from './mail.js';

export async function rsetCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  if (argv.length !== 1) {
    s.state.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.5.4 Syntax: RSET');
    return -1;
  }
  s.chatReset();
  await s.mailReset();
  s.rcptReset();
  await s.reply('250 2.0.0 Ok');
  return 0;
}

export async function noopCmd(s: SmtpdSession): Promise<number> {
  await s.reply('250 2.0.0 Ok');
  return 0;
}

/** VRFY: 252 with the argument as given, after recipient restrictions (or 502 when disabled). */
export async function vrfyCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  const set = s.settings;
  if (set.disableVrfy) {
    st.errorMask |= MailError.POLICY;
    await s.reply('502 5.5.1 VRFY command is disabled');
    return -1;
  }
  let argc = argv.length;
  let smtputf8 = false;
  if (set.smtputf8Enable && (st.ehloDiscardMask & EHLO.SMTPUTF8) === 0 && argc > 1 && strcaseeq(argv[argc - 1].str, 'SMTPUTF8')) {
    argc--;
    smtputf8 = true;
  }
  if (argc < 2) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply(`501 5.5.4 Syntax: VRFY address${set.smtputf8Enable ? ' [SMTPUTF8]' : ''}`);
    return -1;
  }
  const arg: SmtpToken = argc > 2 ? { str: collapseArgs(argv.slice(0, argc), 1), tok: 0 } : argv[1];
  const addr = await extractAddr(s, arg, false, false, smtputf8);
  if (addr === undefined) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.1.3 Bad recipient address syntax');
    return -1;
  }
  if (!smtputf8 && set.strictSmtputf8 && addr !== '' && !allAscii(addr)) {
    await s.mailReset();
    await s.reply('553 5.6.7 Must declare SMTPUTF8 to send unicode address');
    return -1;
  }
  const saved = st.flags;
  if (smtputf8) st.flags |= FLAG_SMTPUTF8;
  const err = await s.checks.rcpt(st, addr);
  st.flags = saved;
  if (err !== undefined) {
    await s.reply(err);
    return -1;
  }
  await s.reply(`252 2.0.0 ${arg.str}`);
  return 0;
}

/**
 * ETRN (RFC 1985): Postfix asks its flush(8) service, which only serves
 * fast_flush_domains; other sites get "459 <site>: service unavailable".
 */
export async function etrnCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (s.settings.heloRequired && st.heloName === undefined) {
    st.errorMask |= MailError.POLICY;
    await s.reply('503 Error: send HELO/EHLO first');
    return -1;
  }
  if (st.inMailTransaction()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 Error: MAIL transaction in progress');
    return -1;
  }
  if (argv.length !== 2) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('500 Syntax: ETRN domain');
    return -1;
  }
  let site = argv[1].str;
  if (site[0] === '@' || site[0] === '#') site = site.slice(1);
  if (!validHostname(site) && !validMailhostLiteral(site)) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 Error: invalid parameter syntax');
    return -1;
  }
  const err = await s.checks.etrn(st, site);
  if (err !== undefined) {
    await s.reply(err);
    return -1;
  }
  let allowed = false;
  try {
    allowed = await s.settings.fastFlushDomains.match(site);
  } catch {
    s.log.warn('unable to talk to fast flush service');
    await s.reply('458 Unable to queue messages');
    return -1;
  }
  if (!allowed) {
    s.log.warn(`reject: ETRN ${site.slice(0, 100)}... from ${st.namaddr}`);
    await s.reply(`459 <${site}>: service unavailable`);
    return -1;
  }
  s.onEtrn?.(site);
  await s.reply('250 Queuing started');
  return 0;
}

export async function quitCmd(s: SmtpdSession): Promise<number> {
  await s.reply('221 2.0.0 Bye');
  s.stream.flush();
  return 0;
}

export async function authCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (s.settings.heloRequired && st.heloName === undefined) {
    st.errorMask |= MailError.POLICY;
    await s.reply('503 5.5.1 Error: send HELO/EHLO first');
    return -1;
  }
  if (!s.auth?.active(s) || st.ehloDiscardMask & EHLO.AUTH) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: authentication not enabled');
    return -1;
  }
  if (st.inMailTransaction()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: MAIL transaction in progress');
    return -1;
  }
  return s.auth.command(s, argv);
}
