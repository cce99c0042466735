/**
 * cleanup/milter.ts: the message content goes through the mail filters at
 * the end of the message (cleanup_milter.c cleanup_milter_inspect,
 * cleanup_milter_apply, cleanup_milter_eval): headers, end of headers, body
 * and end of message, and the filter's verdict becomes cleanup status
 * (4xx -> DEFER, 5xx -> CONT with the filter's reply as the SMTP reply,
 * H -> hold, D -> discard) with the "milter-reject: END-OF-MESSAGE" log line.
 *
 * The content is the message as cleanup wrote it (after header_checks and
 * address rewriting), minus our own Received: header (state.autoHdrs) and
 * the header/body separator, as Postfix shows it to filters.
 */
import type { Milters, MilterEdits } from '../milter/milters.js';
import type { CleanupState } from './state.js';
import { cleanupStrerror } from './strerror.js';
import { CleanupFlag, CleanupStat } from './types.js';

/** CLEANUP_MILTER_OK(). */
export function cleanupMilterOk(state: CleanupState): boolean {
  return (state.flags & CleanupFlag.MILTER) !== 0 && state.errs === 0 && (state.flags & CleanupFlag.DISCARD) === 0;
}

/** cleanup_milter_eval(): the macros cleanup knows. */
export function cleanupMilterEval(state: CleanupState, milters: Milters): (name: string) => string | undefined {
  const a = (n: string) => state.attrs.get(n);
  return (name) => {
    switch (name) {
      case '{daemon_name}':
        return milters.settings.daemonName;
      case '{v}':
        return milters.settings.macroV;
      case '{_}': {
        const client = a('client_name') ?? 'localhost';
        const rev = a('reverse_client_name') ?? client;
        return `${rev} [${a('client_address') ?? '127.0.0.1'}]${client.toLowerCase() !== rev.toLowerCase() ? ' (may be forged)' : ''}`;
      }
      case '{j}':
        return state.cfg.myhostname;
      case '{client_addr}':
        return a('client_address') ?? '127.0.0.1';
      case '{client_name}':
        return a('client_name') ?? 'localhost';
      case '{client_port}': {
        const p = a('client_port');
        return p && p !== 'unknown' ? p : '0';
      }
      case '{client_ptr}':
        return a('reverse_client_name') ?? a('client_name') ?? 'localhost';
      case '{daemon_addr}':
        return a('server_address') ?? (a('client_name') === undefined ? '127.0.0.1' : undefined);
      case '{daemon_port}': {
        const p = a('server_port');
        return p && p !== 'unknown' ? p : '0';
      }
      case '{i}':
        return state.queueId;
      case '{auth_type}':
        return a('sasl_method');
      case '{auth_authen}':
        return a('sasl_username');
      case '{auth_author}':
        return a('sasl_sender');
      default:
        return undefined;
    }
  };
}

/** cleanup_milter_apply(): a filter's final answer to the message. */
export function cleanupMilterApply(state: CleanupState, event: string, resp: string): string | undefined {
  if (state.flags & CleanupFlag.DISCARD || state.errs & CleanupStat.CONT) return undefined;
  if (!state.outOk()) return undefined;
  let action: string;
  let text: string;
  let ret: string | undefined;
  const setReply = () => {
    // printable(reason, '_')
    state.reason = resp.slice(4).replace(/[^\x20-\x7e]/g, '_');
    state.smtpReply = resp;
    ret = state.reason;
  };
  switch (resp[0]) {
    case 'H':
      if (state.flags & CleanupFlag.HOLD) return undefined;
      state.flags |= CleanupFlag.HOLD;
      action = 'milter-hold';
      text = 'milter triggers HOLD action';
      break;
    case 'D':
      state.flags |= CleanupFlag.DISCARD;
      action = 'milter-discard';
      text = 'milter triggers DISCARD action';
      break;
    case 'S':
      // Postfix sets CLEANUP_STAT_CONT in the flags word here (sic).
      state.flags |= CleanupStat.CONT;
      action = 'milter-reject';
      text = cleanupStrerror(CleanupStat.CONT);
      break;
    case '4':
      setReply();
      state.errs |= CleanupStat.DEFER;
      action = 'milter-reject';
      text = resp.slice(4);
      break;
    case '5':
      setReply();
      state.errs |= CleanupStat.CONT;
      action = 'milter-reject';
      text = resp.slice(4);
      break;
    default:
      throw new Error(`cleanup_milter_apply: unexpected mail filter reply: ${resp}`);
  }
  // info_log_address_format = external (the default): quoted local parts.
  const q = (x: string) => (x !== '' ? quoteLocal(x) : x);
  let line = `${state.queueId}: ${action}: ${event} from ${state.attrs.get('client_name') ?? 'localhost'}[${state.attrs.get('client_address') ?? '127.0.0.1'}]: ${text};`;
  if (state.sender !== undefined) line += ` from=<${q(state.sender)}>`;
  if (state.recip !== undefined) line += ` to=<${q(state.recip)}>`;
  const proto = state.attrs.get('log_protocol_name');
  if (proto !== undefined) line += ` proto=${proto}`;
  const helo = state.attrs.get('log_helo_name');
  if (helo !== undefined) line += ` helo=<${helo}>`;
  state.log.info(line);
  return ret;
}

/** quote_822_local() for log lines: quote a local part that needs it. */
function quoteLocal(addr: string): string {
  const at = addr.lastIndexOf('@');
  const local = at >= 0 ? addr.slice(0, at) : addr;
  if (!/[\s()<>@,;:\\".[\]]/.test(local) || /^[^\s()<>@,;:\\"[\]]+(\.[^\s()<>@,;:\\"[\]]+)*$/.test(local)) return addr;
  return `"${local.replace(/(["\\])/g, '\\$1')}"${at >= 0 ? addr.slice(at) : ''}`;
}

/** cleanup_milter_inspect(): run the message through the filters. */
export async function cleanupMilterInspect(state: CleanupState, milters: Milters, edits: MilterEdits): Promise<void> {
  milters.lookup = cleanupMilterEval(state, milters);
  const content = state.milterContent ?? [];
  const resp = await milters.message(content, state.autoHdrs, edits);
  if (resp !== undefined) cleanupMilterApply(state, 'END-OF-MESSAGE', resp);
}
