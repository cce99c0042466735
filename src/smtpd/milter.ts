/**
 * smtpd/milter.ts: smtpd's side of the Milter protocol (smtpd.c
 * setup_milters, check_milter_reply, milter_argv; smtpd_milter.c
 * smtpd_milter_eval): which filters a session talks to, the Sendmail macro
 * values smtpd knows, and how a filter's answer becomes an SMTP reply and
 * a log line ("milter-reject: RCPT from ...").
 *
 * The stage hooks in session.ts and commands/ call these; the message
 * content goes to the filters from cleanup (see src/cleanup/milter.ts).
 */
import { Milters, readMilterSettings } from '../milter/milters.js';
import { CleanupFlag } from '../cleanup/types.js';
import type { SmtpdSession } from './session.js';
import { MailError, whatsup } from './state.js';
import type { SmtpToken } from './syntax.js';
// quote_821_local() and quote_822_local() differ only for addresses no MTA accepts in MAIL/RCPT.
import { quote822Local as quote821Local } from './tok822.js';

/** Milter-triggered DISCARD skips all further milter events for the message (MILTER_SKIP_FLAGS). */
export const MILTER_SKIP_FLAGS = CleanupFlag.DISCARD;

/** setup_milters(): the session's filter chain from smtpd_milters, or undefined. */
export function setupMilters(s: SmtpdSession): Milters | undefined {
  const cfg = s.settings.cfg;
  const names = cfg.get('smtpd_milters');
  if (!names.trim() || names.trim().toUpperCase() === 'DISABLE') return undefined;
  if (/no_milters/i.test(cfg.get('receive_override_options'))) return undefined;
  let milters: Milters;
  try {
    milters = new Milters(names, readMilterSettings(cfg), s.log);
  } catch (e) {
    s.log.warn(`${(e as Error).message}`);
    return undefined;
  }
  if (milters.empty) return undefined;
  const resolved = new Map<string, { recipient: string; nexthop: string; transport: string }>();
  const st = s.state;
  const resolve = (addr: string) => resolved.get(addr);
  milters.lookup = (name) => {
    switch (name) {
      case '{daemon_name}':
        return milters.settings.daemonName;
      case '{v}':
        return milters.settings.macroV;
      case '{_}':
        return `${st.reverseName} [${st.addr}]${st.name.toLowerCase() !== st.reverseName.toLowerCase() ? ' (may be forged)' : ''}`;
      case '{j}':
        return s.settings.myhostname;
      case '{client_addr}':
        return st.rfcAddr;
      case '{client_port}':
        return st.port !== 'unknown' ? st.port : '0';
      case '{client_connections}':
        return String(s.clientConnections);
      case '{client_name}':
        return st.name;
      case '{client_ptr}':
        return st.reverseName;
      case '{client_resolve}':
        return st.nameStatus === 2 ? 'OK' : st.nameStatus === 4 ? 'TEMP' : 'FAIL';
      case '{daemon_addr}':
        return st.destAddr;
      case '{daemon_port}':
        return st.destPort;
      case '{tls_version}':
        return st.tlsActive ? st.tlsInfo?.protocol : undefined;
      case '{cipher}':
        return st.tlsActive ? st.tlsInfo?.cipher : undefined;
      case '{cipher_bits}':
        return st.tlsActive && st.tlsInfo ? String(st.tlsInfo.bits) : undefined;
      case '{i}':
        return st.queueId;
      case '{auth_type}':
        return st.saslMethod || undefined;
      case '{auth_authen}':
        return st.saslUsername || undefined;
      case '{auth_author}':
        return st.saslSender || undefined;
      case '{mail_addr}': {
        if (st.sender === undefined) return undefined;
        if (st.sender === '') return '';
        const r = resolve(st.sender);
        return r ? (r.recipient ? quote821Local(r.recipient) : '') : undefined;
      }
      case '{mail_host}':
        return st.sender === undefined ? undefined : resolve(st.sender)?.nexthop;
      case '{mail_mailer}':
        return st.sender === undefined ? undefined : resolve(st.sender)?.transport;
      case '{rcpt_addr}': {
        if (st.recipient === undefined) return undefined;
        if (st.recipient === '') return '';
        if (s.milterRejectText !== undefined) {
          // "554 5.7.1 <user@example.com>: Relay access denied" -> the text after the status.
          const rest = s.milterRejectText.slice(4);
          const sp = rest.indexOf(' ');
          if (sp < 0) return undefined;
          const t = rest.slice(sp + 1);
          const sp2 = t.indexOf(' ');
          return sp2 < 0 ? t : t.slice(sp2 + 1);
        }
        const r = resolve(st.recipient);
        return r ? (r.recipient ? quote821Local(r.recipient) : '') : undefined;
      }
      case '{rcpt_host}': {
        if (st.recipient === undefined) return undefined;
        if (s.milterRejectText !== undefined) {
          const rest = s.milterRejectText.slice(4);
          const sp = rest.indexOf(' ');
          return sp < 0 ? rest : rest.slice(0, sp);
        }
        return resolve(st.recipient)?.nexthop;
      }
      case '{rcpt_mailer}':
        if (st.recipient === undefined) return undefined;
        if (s.milterRejectText !== undefined) return 'error';
        return resolve(st.recipient)?.transport;
      default:
        return undefined;
    }
  };
  // smtpd_resolve_addr() is asynchronous here: resolve before the event that needs it.
  s.milterResolve = async (addr: string) => {
    if (resolved.has(addr)) return;
    try {
      const r = await s.settings.resolver.resolve(addr);
      resolved.set(addr, { recipient: r.recipient, nexthop: r.nexthop, transport: r.transport });
    } catch {
      /* no value: the macro is not sent */
    }
  };
  return milters;
}

/** check_milter_reply(): log the milter's decision and turn it into the reply to send (or undefined). */
export function checkMilterReply(s: SmtpdSession, reply: string): string | undefined {
  const st = s.state;
  let action: string;
  let out: string | undefined = reply;
  let text: string | undefined;
  switch (reply[0]) {
    case 'H':
      st.savedFlags |= CleanupFlag.HOLD;
      action = 'milter-hold';
      out = undefined;
      text = 'milter triggers HOLD action';
      break;
    case 'D':
      st.savedFlags |= CleanupFlag.DISCARD;
      action = 'milter-discard';
      out = undefined;
      text = 'milter triggers DISCARD action';
      break;
    case 'S':
      st.errorMask |= MailError.POLICY;
      action = 'milter-reject';
      out = '421 4.7.0 Server closing connection';
      break;
    case '4':
    case '5':
      st.errorMask |= MailError.POLICY;
      action = 'milter-reject';
      break;
    default:
      st.errorMask |= MailError.SOFTWARE;
      action = 'reject';
      out = '421 4.3.5 Server configuration error';
      break;
  }
  s.log.info(`${st.queueId ?? 'NOQUEUE'}: ${action}: ${st.where} from ${st.namaddr}: ${out ?? text};${whatsup(st, s.settings.infoLogExternal)}`);
  return out;
}

/** milter_argv(): the command arguments after "MAIL FROM:" / "RCPT TO:". */
export function milterArgs(argv: readonly SmtpToken[], from: number): string[] {
  return argv.slice(from).map((a) => a.str);
}

/** May milter events be sent now (no milter-triggered DISCARD pending)? */
export function miltersActive(s: SmtpdSession): Milters | undefined {
  return s.milters && (s.state.savedFlags & MILTER_SKIP_FLAGS) === 0 ? s.milters : undefined;
}
