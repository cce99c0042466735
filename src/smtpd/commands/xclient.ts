/**
 * smtpd/commands/xclient.ts: XCLIENT and XFORWARD (smtpd.c xclient_cmd,
 * xforward_cmd; Postfix XCLIENT_README / XFORWARD_README), allowed only for
 * smtpd_authorized_xclient_hosts / smtpd_authorized_xforward_hosts.
 *
 * XCLIENT replaces the client attributes and restarts the session: the
 * server greets again with its 220 banner, as after a new connection.
 * XFORWARD only records attributes for logging and the queue file.
 */
import { formatIpv6, ipv6Groups } from '../../../compat/postfix/host.js';
import { PEER_CODE_OK, PEER_CODE_PERM, PEER_CODE_TEMP } from '../peer.js';
import { SessionJump, type SmtpdSession } from '../session.js';
import {
  MailError,
  XF_ADDR,
  XF_DOMAIN,
  XF_HELO,
  XF_IDENT,
  XF_NAME,
  XF_PORT,
  XF_PROTO,
} from '../state.js';
import type { SmtpToken } from '../syntax.js';
import { allDigits, neuter, printable, xtextUnquote } from '../text.js';
import { VALID_HOSTNAME_LEN, validHostname, validIpv4, validIpv6, validMailhostAddr } from '../valid.js';
import { NEUTER_CHARACTERS } from './hello.js';

const XF_INIT = 1 << 7;

/** normalize_mailhost_addr(): [bare, mailhost form, family] or undefined. */
export function normalizeMailhostAddr(s: string, ipv4: boolean, ipv6: boolean): [string, string, number] | undefined {
  const valid = validMailhostAddr(s);
  if (valid === undefined) return undefined;
  if (valid.includes(':')) {
    if (!validIpv6(valid)) return undefined;
    const text = formatIpv6(ipv6Groups(valid));
    const groups = ipv6Groups(valid);
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    if (mapped && ipv4) {
      const v4 = `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
      return [v4, v4, 2];
    }
    if (!ipv6) return undefined;
    return [text, `IPv6:${text}`, 10];
  }
  if (!validIpv4(valid) || !ipv4) return undefined;
  const norm = valid
    .split('.')
    .map((x) => String(Number(x)))
    .join('.');
  return [norm, norm, 2];
}

function attrValue(s: SmtpdSession, raw: string): string {
  const v = xtextUnquote(raw);
  return printable(v ?? raw, '?', s.settings.smtputf8Enable);
}

async function commonChecks(s: SmtpdSession, argv: SmtpToken[], cmd: string, allowed: boolean): Promise<boolean> {
  const st = s.state;
  if (st.inMailTransaction()) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('503 5.5.1 Error: MAIL transaction in progress');
    return false;
  }
  if (argv.length < 2) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply(`501 5.5.4 Syntax: ${cmd} attribute=value...`);
    return false;
  }
  if (!allowed) {
    st.errorMask |= MailError.POLICY;
    await s.reply('550 5.7.0 Error: insufficient authorization');
    return false;
  }
  return true;
}

function splitAttr(t: SmtpToken): [string, string] | undefined {
  const eq = t.str.indexOf('=');
  if (eq < 0 || eq + 1 >= t.str.length) return undefined;
  return [t.str.slice(0, eq), t.str.slice(eq + 1)];
}

export async function xclientCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (!(await commonChecks(s, argv, 'XCLIENT', st.xclientAllowed))) return -1;
  const protos = s.settings.cfg.get('inet_protocols').toLowerCase();
  const v4 = /all|ipv4/.test(protos);
  const v6 = /all|ipv6/.test(protos);
  let gotHelo = false;
  let gotProto = false;
  let sawLogin = false;
  const bad = async (what: string, v: string) => {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply(`501 5.5.4 Bad ${what} syntax: ${v}`);
    return -1;
  };
  for (const t of argv.slice(1)) {
    const kv = splitAttr(t);
    if (!kv) {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply('501 5.5.4 Error: attribute=value expected');
      return -1;
    }
    const [name, raw] = kv;
    if (raw.length > 255) {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply('501 5.5.4 Error: attribute value too long');
      return -1;
    }
    let v = attrValue(s, raw);
    const key = name.toUpperCase();
    if (key === 'NAME' || key === 'REVERSE_NAME') {
      const status = v === '[UNAVAILABLE]' ? PEER_CODE_PERM : v === '[TEMPUNAVAIL]' ? PEER_CODE_TEMP : PEER_CODE_OK;
      if (status !== PEER_CODE_OK) v = 'unknown';
      else if (!validHostname(v)) return bad(name, v);
      if (key === 'NAME') {
        st.nameStatus = status;
        st.name = v;
        if (status === PEER_CODE_OK) {
          st.reverseName = v;
          st.reverseNameStatus = status;
        }
      } else {
        st.reverseNameStatus = status;
        st.reverseName = v;
      }
    } else if (key === 'ADDR') {
      if (v === '[UNAVAILABLE]') {
        st.addr = st.rfcAddr = 'unknown';
      } else {
        v = neuter(v, NEUTER_CHARACTERS, '?');
        const n = normalizeMailhostAddr(v, v4, v6);
        if (!n) return bad(name, v);
        [st.addr, st.rfcAddr, st.addrFamily] = n;
      }
    } else if (key === 'PORT' || key === 'DESTPORT') {
      if (v === '[UNAVAILABLE]') v = 'unknown';
      else if (!allDigits(v) || v.length > 5) return bad(name, v);
      if (key === 'PORT') st.port = v;
      else st.destPort = v;
    } else if (key === 'HELO') {
      if (v === '[UNAVAILABLE]') {
        st.heloName = undefined;
      } else {
        if (v.length > VALID_HOSTNAME_LEN) return bad(name, v);
        st.heloName = neuter(v, NEUTER_CHARACTERS, '?');
      }
      gotHelo = true;
    } else if (key === 'PROTO') {
      const up = v.toUpperCase();
      if (up !== 'SMTP' && up !== 'ESMTP') return bad(name, v);
      st.protocol = up;
      gotProto = true;
    } else if (key === 'LOGIN') {
      if (v !== '[UNAVAILABLE]') {
        st.saslUsername = v;
        st.saslMethod = 'XCLIENT';
        sawLogin = true;
      }
    } else if (key === 'DESTADDR') {
      if (v === '[UNAVAILABLE]') {
        st.destAddr = 'unknown';
      } else {
        v = neuter(v, NEUTER_CHARACTERS, '?');
        const n = normalizeMailhostAddr(v, v4, v6);
        if (!n) return bad(name, v);
        st.destAddr = n[0];
      }
    } else {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply(`501 5.5.4 Bad XCLIENT attribute name: ${name}`);
      return -1;
    }
  }
  st.buildNamaddr();
  await s.evalClientLists();
  if (!sawLogin) {
    st.saslUsername = undefined;
    st.saslMethod = undefined;
  }
  if (!gotHelo) s.heloReset();
  if (!gotProto && st.protocol.toUpperCase() !== 'SMTP') st.protocol = 'SMTP';
  s.chatReset();
  await s.mailReset();
  s.rcptReset();
  throw new SessionJump('restart');
}

export async function xforwardCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (!(await commonChecks(s, argv, 'XFORWARD', st.xforwardAllowed))) return -1;
  const xf = st.xforward;
  if (xf.flags === 0) {
    Object.assign(xf, {
      flags: XF_INIT,
      name: 'unknown',
      addr: 'unknown',
      port: 'unknown',
      namaddr: 'unknown',
      rfcAddr: 'unknown',
      protocol: 'unknown',
    });
  }
  const protos = s.settings.cfg.get('inet_protocols').toLowerCase();
  let updated = 0;
  const bad = async (what: string, v: string) => {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply(`501 5.5.4 Bad ${what} syntax: ${v}`);
    return -1;
  };
  for (const t of argv.slice(1)) {
    const kv = splitAttr(t);
    if (!kv) {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply('501 5.5.4 Error: attribute=value expected');
      return -1;
    }
    const [name, raw] = kv;
    if (raw.length > 255) {
      st.errorMask |= MailError.PROTOCOL;
      await s.reply('501 5.5.4 Error: attribute value too long');
      return -1;
    }
    let v = attrValue(s, raw);
    const unavailable = v === '[UNAVAILABLE]';
    switch (name.toUpperCase()) {
      case 'NAME':
        if (unavailable) v = 'unknown';
        else {
          v = neuter(v, NEUTER_CHARACTERS, '?');
          if (!validHostname(v)) return bad(name, v);
        }
        xf.name = v;
        updated |= XF_NAME;
        break;
      case 'ADDR':
        if (unavailable) {
          xf.addr = 'unknown';
        } else {
          v = neuter(v, NEUTER_CHARACTERS, '?');
          const n = normalizeMailhostAddr(v, /all|ipv4/.test(protos), /all|ipv6/.test(protos));
          if (!n) return bad(name, v);
          [xf.addr, xf.rfcAddr] = n;
        }
        updated |= XF_ADDR;
        break;
      case 'PORT':
        if (unavailable) v = 'unknown';
        else if (!allDigits(v) || v.length > 5) return bad(name, v);
        xf.port = v;
        updated |= XF_PORT;
        break;
      case 'HELO':
        xf.helo = unavailable ? undefined : neuter(v, NEUTER_CHARACTERS, '?');
        updated |= XF_HELO;
        break;
      case 'PROTO':
        if (unavailable) v = 'unknown';
        else {
          if (v.length > 64) return bad(name, v);
          v = neuter(v, NEUTER_CHARACTERS, '?');
        }
        xf.protocol = v;
        updated |= XF_PROTO;
        break;
      case 'IDENT':
        xf.ident = unavailable ? undefined : neuter(v, NEUTER_CHARACTERS, '?');
        updated |= XF_IDENT;
        break;
      case 'SOURCE': {
        const d = unavailable ? 'LOCAL' : v.toUpperCase();
        if (d !== 'LOCAL' && d !== 'REMOTE') return bad(name, v);
        xf.domain = d === 'LOCAL' ? 'local' : 'remote';
        updated |= XF_DOMAIN;
        break;
      }
      default:
        st.errorMask |= MailError.PROTOCOL;
        await s.reply(`501 5.5.4 Bad XFORWARD attribute name: ${name}`);
        return -1;
    }
  }
  xf.flags |= updated;
  if (updated & (XF_NAME | XF_ADDR | XF_PORT)) {
    xf.namaddr =
      xf.addr && xf.addr !== 'unknown'
        ? `${xf.name}[${xf.addr}]${s.settings.clientPortLogging ? `:${xf.port}` : ''}`
        : xf.name;
  }
  await s.reply('250 2.0.0 Ok');
  return 0;
}
