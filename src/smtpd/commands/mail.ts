/**
 * smtpd/commands/mail.ts: MAIL and RCPT (smtpd.c mail_cmd, rcpt_cmd,
 * extract_addr, mail_open_stream).
 *
 * ESMTP parameters, with Postfix's parsing and replies:
 *   MAIL: BODY=7BIT|8BITMIME (RFC 6152), SIZE=n (RFC 1870), SMTPUTF8
 *         (RFC 6531), AUTH=addr (RFC 4954), RET=FULL|HDRS and ENVID=xtext
 *         (RFC 3461), XVERP[=xy] for smtpd_authorized_verp_clients.
 *   RCPT: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY and ORCPT=type;xtext (RFC 3461).
 * The queue file (a cleanup session) is opened at the first accepted RCPT
 * (smtpd_delay_open_until_valid_rcpt) and logged as "ID: client=...".
 */
import { CleanupFlag } from '../../cleanup/types.js';
import type { SmtpdSession } from '../session.js';
import { EHLO } from '../settings.js';
import { FLAG_SMTPUTF8, MailError, XF_CLIENT_MASK, XF_DOMAIN } from '../state.js';
import { extractAddrSyntax, type SmtpToken, TOK_ERROR } from '../syntax.js';
import { checkMilterReply, milterArgs, miltersActive } from '../milter.js';
import { allAscii, allDigits, allPrint, printable, strcaseeq, uxtextUnquote, xtextUnquote } from '../text.js';

const DSN_NOTIFY: Record<string, number> = { NEVER: 1, SUCCESS: 2, FAILURE: 4, DELAY: 8 };

/** dsn_notify_mask(): 0 when malformed (unknown words are logged). */
export function dsnNotifyMask(s: SmtpdSession, value: string): number {
  let mask = 0;
  for (const w of value.split(/[\s,]+/)) {
    if (w === '') continue;
    const bit = DSN_NOTIFY[w.toUpperCase()];
    if (bit === undefined) {
      s.log.warn(`unknown DSN NOTIFY command value "${w}" in "${value}"`);
      return 0;
    }
    mask |= bit;
  }
  const ok = mask === 1 || (mask !== 0 && (mask & 1) === 0);
  return ok ? mask : 0;
}

/**
 * extract_addr(): the address inside a MAIL/RCPT/VRFY argument, internal
 * form; undefined after logging "Illegal address syntax" (the caller replies).
 */
export async function extractAddr(
  s: SmtpdSession,
  arg: SmtpToken,
  allowEmpty: boolean,
  strict: boolean,
  smtputf8: boolean,
): Promise<string | undefined> {
  const st = s.state;
  const { addr, syntaxError } = extractAddrSyntax(arg.str, strict);
  const illegal = () => {
    s.log.warn(
      `Illegal address syntax from ${st.namaddr} in ${st.where} command: ${printable(arg.str, '?', s.settings.smtputf8Enable)}`,
    );
    return undefined;
  };
  if (syntaxError) return illegal();
  if ((addr === '' && !allowEmpty) || (strict && addr[0] === '@')) return illegal();
  if ((await s.checks.addr(addr, smtputf8)) !== 0) return illegal();
  return addr;
}

export async function mailCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  const set = s.settings;
  st.flags &= ~FLAG_SMTPUTF8;
  st.encoding = undefined;
  st.dsnRet = 0;
  if (set.heloRequired && st.heloName === undefined) {
    st.errorMask |= MailError.POLICY;
    await s.reply('503 5.5.1 Error: send HELO/EHLO first');
    return -1;
  }
  if (st.inMailTransaction()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: nested MAIL command');
    return -1;
  }
  if (st.processingBdat()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: MAIL after BDAT');
    return -1;
  }
  if (argv.length < 3 || argv[1].str.toLowerCase() !== 'from:') {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.5.4 Syntax: MAIL FROM:<address>');
    return -1;
  }
  if (argv[2].tok === TOK_ERROR) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.1.7 Bad sender address syntax');
    return -1;
  }
  const utf8Ok = set.smtputf8Enable && (st.ehloDiscardMask & EHLO.SMTPUTF8) === 0;
  if (utf8Ok && argv.slice(3).some((a) => strcaseeq(a.str, 'SMTPUTF8'))) st.flags |= FLAG_SMTPUTF8;
  const addr = await extractAddr(s, argv[2], true, set.strictRfc821, (st.flags & FLAG_SMTPUTF8) !== 0);
  if (addr === undefined) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.1.7 Bad sender address syntax');
    return -1;
  }
  let verp: string | undefined;
  let envid: string | undefined;
  for (let n = 3; n < argv.length; n++) {
    const arg = argv[n].str;
    const up = arg.toUpperCase();
    if (up === 'BODY=8BITMIME') {
      st.encoding = '8bit';
    } else if (up === 'BODY=7BIT') {
      st.encoding = '7bit';
    } else if (up.startsWith('SIZE=')) {
      if (!allDigits(arg.slice(5))) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Bad message size syntax');
        return -1;
      }
      const size = BigInt(arg.slice(5));
      if (size > 0x7fffffffffffffffn) {
        st.errorMask |= MailError.POLICY;
        await s.reply('552 5.3.4 Message size exceeds file system imposed limit');
        return -1;
      }
      st.msgSize = Number(size);
    } else if (utf8Ok && up === 'SMTPUTF8') {
      /* handled above */
    } else if (up.startsWith('AUTH=')) {
      if (st.saslSender !== undefined) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('503 5.5.4 Error: multiple AUTH= options');
        return -1;
      }
      const v = arg.slice(5);
      if (v !== '<>') st.saslSender = printable(v, '?', set.smtputf8Enable);
    } else if (
      up.startsWith('XVERP') &&
      (arg.length === 5 || arg[5] === '=') &&
      (await set.verpClients.match(st.name, st.addr).catch(() => false))
    ) {
      if (arg.length === 5) {
        verp = set.verpDelims;
      } else {
        verp = arg.slice(6);
        if (verp.length !== 2 || !set.verpFilter.includes(verp[0]) || !set.verpFilter.includes(verp[1])) {
          st.errorMask |= MailError.PROTOCOL;
          await s.reply(`501 5.5.4 Error: XVERP needs two characters from ${set.verpFilter}`);
          return -1;
        }
      }
    } else if (up.startsWith('RET=')) {
      if (st.ehloDiscardMask & EHLO.DSN) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.7.1 DSN support is disabled');
        return -1;
      }
      const v = arg.slice(4).toUpperCase();
      const code = v === 'FULL' ? 1 : v === 'HDRS' ? 2 : 0;
      if (st.dsnRet || code === 0) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Bad RET parameter syntax');
        return -1;
      }
      st.dsnRet = code;
    } else if (up.startsWith('ENVID=')) {
      if (st.ehloDiscardMask & EHLO.DSN) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.7.1 DSN support is disabled');
        return -1;
      }
      const v = envid === undefined ? xtextUnquote(arg.slice(6)) : undefined;
      if (v === undefined || !allPrint(v)) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Bad ENVID parameter syntax');
        return -1;
      }
      envid = v;
    } else {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply(`555 5.5.4 Unsupported option: ${arg}`);
      return -1;
    }
  }
  // smtpd_check_size() with the new sender shown in the reject log.
  const savedSender = st.sender;
  st.sender = addr;
  const sizeErr = s.checks.size(st, st.msgSize);
  st.sender = savedSender;
  if (sizeErr !== undefined) {
    await s.reply(sizeErr);
    return -1;
  }
  if (verp !== undefined && addr === '') {
    await s.reply('503 5.5.4 Error: XVERP requires non-null sender');
    return -1;
  }
  if (!set.delayReject) {
    const err = await s.checks.mail(st, addr);
    if (err !== undefined) {
      await s.mailReset();
      await s.reply(err);
      return -1;
    }
  }
  const milters = miltersActive(s);
  if (milters) {
    // The filter sees the new sender in its macros and in the reject log line.
    s.milterNeedAbort = true;
    const saved = st.sender;
    st.sender = addr;
    await s.milterResolve(addr);
    let merr = await milters.mailEvent(milterArgs(argv, 2));
    if (merr !== undefined) merr = checkMilterReply(s, merr);
    st.sender = saved;
    if (merr !== undefined) {
      await s.mailReset();
      await s.reply(merr);
      return -1;
    }
  }
  const rwErr = await s.checks.rewrite(st);
  if (rwErr !== undefined) {
    await s.mailReset();
    await s.reply(rwErr);
    return -1;
  }
  if (set.strictSmtputf8 && !(st.flags & FLAG_SMTPUTF8) && addr !== '' && !allAscii(addr)) {
    await s.reply('553 5.6.7 Must declare SMTPUTF8 to send unicode address');
    return -1;
  }
  st.arrivalTime = new Date();
  st.sender = addr;
  st.verpDelims = verp;
  st.dsnEnvid = envid;
  if (!set.delayOpen && (await openStream(s)) < 0) {
    await s.mailReset();
    return -1;
  }
  await s.reply('250 2.1.0 Ok');
  return 0;
}

/** mail_open_stream(): open the cleanup session, send envelope attributes, log "ID: client=". */
export async function openStream(s: SmtpdSession): Promise<number> {
  const st = s.state;
  const set = s.settings;
  let flags = CleanupFlag.FILTER | CleanupFlag.MILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK;
  const transp = set.receiveOverride.toLowerCase();
  if (/no_address_mappings/.test(transp)) flags &= ~(CleanupFlag.BCC_OK | CleanupFlag.MAP_OK);
  if (/no_header_body_checks/.test(transp)) flags &= ~CleanupFlag.FILTER;
  // Without smtpd_milters, cleanup must not run non_smtpd_milters on SMTP mail (smtpd.c setup_milters).
  if (!s.milters) flags &= ~CleanupFlag.MILTER;
  flags |= CleanupFlag.SMTP_REPLY;
  if (st.flags & FLAG_SMTPUTF8) flags |= CleanupFlag.SMTPUTF8;
  try {
    const c = await s.cleanupService.open(flags);
    st.cleanup = c;
    st.queueId = c.queueId;
  } catch (err) {
    s.log.warn(`unable to connect to the public cleanup service: ${(err as Error).message}`);
    await s.reply('451 4.3.0 Error: queue file write error');
    return -1;
  }
  const c = st.cleanup;
  const xf = st.xforward;
  const fwd = (xf.flags & XF_CLIENT_MASK) !== 0;
  const attr = (n: string, v: string | undefined) => {
    if (v !== undefined) c.setAttribute(n, v);
  };
  attr('log_ident', xf.ident ?? st.queueId);
  attr('rewrite_context', xf.flags & XF_DOMAIN ? xf.domain : st.rewriteContext);
  attr('sasl_method', st.saslMethod);
  attr('sasl_username', st.saslUsername);
  attr('sasl_sender', st.saslSender);
  attr('envelope_id', st.dsnEnvid);
  if (st.dsnRet) attr('ret_flags', String(st.dsnRet));
  c.setSender(st.sender ?? '');
  attr('encoding', st.encoding);
  attr('log_client_name', fwd ? xf.name : st.name);
  attr('log_client_address', fwd ? xf.rfcAddr : st.rfcAddr);
  attr('log_client_port', fwd ? xf.port : st.port);
  attr('log_message_origin', fwd ? xf.namaddr : st.namaddr);
  attr('log_helo_name', fwd ? xf.helo : st.heloName);
  attr('log_protocol_name', fwd ? xf.protocol : st.protocol);
  attr('client_name', st.name);
  attr('reverse_client_name', st.reverseName);
  attr('client_address', st.addr);
  attr('client_port', st.port);
  attr('server_address', st.destAddr);
  attr('server_port', st.destPort);
  attr('helo_name', st.heloName);
  attr('protocol_name', st.protocol);
  attr('client_address_type', String(st.addrFamily));
  let line = `${st.queueId}: client=${st.namaddr}`;
  if (st.saslMethod) line += `, sasl_method=${st.saslMethod}`;
  if (st.saslUsername) line += `, sasl_username=${st.saslUsername}`;
  if (st.saslSender) line += `, sasl_sender=${st.saslSender}`;
  if (xf.ident !== undefined) line += `, orig_queue_id=${xf.ident}`;
  if (fwd) line += `, orig_client=${xf.namaddr}`;
  s.log.info(line);
  return 0;
}

export async function rcptCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  const set = s.settings;
  if (!st.inMailTransaction()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: need MAIL command');
    return -1;
  }
  if (st.processingBdat()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: RCPT after BDAT');
    return -1;
  }
  if (argv.length < 3 || argv[1].str.toLowerCase() !== 'to:') {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.5.4 Syntax: RCPT TO:<address>');
    return -1;
  }
  if (argv[2].tok === TOK_ERROR) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.1.3 Bad recipient address syntax');
    return -1;
  }
  const addr = await extractAddr(s, argv[2], false, set.strictRfc821, (st.flags & FLAG_SMTPUTF8) !== 0);
  if (addr === undefined) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.1.3 Bad recipient address syntax');
    return -1;
  }
  let notify = 0;
  let orcpt: string | undefined;
  for (let n = 3; n < argv.length; n++) {
    const arg = argv[n].str;
    const up = arg.toUpperCase();
    if (up.startsWith('NOTIFY=')) {
      if (st.ehloDiscardMask & EHLO.DSN) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.7.1 DSN support is disabled');
        return -1;
      }
      if (notify || (notify = dsnNotifyMask(s, arg.slice(7))) === 0) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Error: Bad NOTIFY parameter syntax');
        return -1;
      }
    } else if (up.startsWith('ORCPT=')) {
      if (st.ehloDiscardMask & EHLO.DSN) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.7.1 DSN support is disabled');
        return -1;
      }
      const v = arg.slice(6);
      const semi = v.indexOf(';');
      const type = semi >= 0 ? v.slice(0, semi) : '';
      const decoded =
        orcpt !== undefined || semi < 0 || type === ''
          ? undefined
          : type.toLowerCase() === 'utf-8'
            ? uxtextUnquote(v.slice(semi + 1))
            : xtextUnquote(v.slice(semi + 1));
      if (decoded === undefined) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Error: Bad ORCPT parameter syntax');
        return -1;
      }
      orcpt = `${type};${decoded}`;
    } else {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply(`555 5.5.4 Unsupported option: ${arg}`);
      return -1;
    }
  }
  if (set.recipientLimit && st.rcptCount >= set.recipientLimit) {
    await s.reply('452 4.5.3 Error: too many recipients');
    if (st.rcptOvershoot++ < set.recipientOvershootLimit) return 0;
    st.errorMask |= MailError.POLICY;
    return -1;
  }
  if (set.strictSmtputf8 && !(st.flags & FLAG_SMTPUTF8) && addr !== '' && !allAscii(addr)) {
    await s.reply('553 5.6.7 Must declare SMTPUTF8 to send unicode address');
    return -1;
  }
  let err = await s.checks.rcpt(st, addr);
  const milters = miltersActive(s);
  if (milters) {
    // Filters that asked for rejected recipients (SMFIP_RCPT_REJ) hear those too.
    const saved = st.recipient;
    st.recipient = addr;
    s.milterRejectText = err;
    if (err === undefined) await s.milterResolve(addr);
    const merr = await milters.rcptEvent(milterArgs(argv, 2), err !== undefined);
    if (err === undefined && merr !== undefined) err = checkMilterReply(s, merr);
    s.milterRejectText = undefined;
    st.recipient = saved;
  }
  if (err !== undefined) {
    await s.reply(err);
    return -1;
  }
  if (!st.cleanup && (await openStream(s)) < 0) return -1;
  st.rcptCount++;
  if (st.recipient === undefined) st.recipient = addr;
  if (orcpt === undefined) {
    let raw = argv[2].str;
    if (raw[0] === '<' && raw[raw.length - 1] === '>') raw = raw.slice(1, -1);
    orcpt = `rfc822;${raw}`;
  }
  st.cleanup!.addRecipient(addr, notify ? { orcpt, notify } : { orcpt });
  await s.reply('250 2.1.5 Ok');
  return 0;
}
