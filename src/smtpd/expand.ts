/**
 * smtpd/expand.ts: the $names smtpd lets reply templates use
 * (smtpd_expand.c): server_name, client, client_address, client_port,
 * client_name, reverse_client_name, helo_name, sender, sender_name,
 * sender_domain, recipient, recipient_name, recipient_domain, localtime.
 * Never main.cf parameters: a reply must not reveal configuration. Looked-up
 * values pass smtpd_expansion_filter (other characters become '_').
 */
import type { MacroLookup } from '../../compat/postfix/expand.js';
import type { SmtpdState } from './state.js';

function addrPart(addr: string | undefined, suffix: string): string | undefined {
  if (addr === undefined) return '';
  const at = addr.lastIndexOf('@');
  if (suffix === '') return addr === '' ? '<>' : addr;
  if (suffix === '_name') return addr === '' ? '<>' : at < 0 ? addr : addr.slice(0, at);
  if (suffix === '_domain') return addr === '' || at < 0 ? '' : addr.slice(at + 1);
  return undefined;
}

/** "Mon Nov 23 22:13:46" as Postfix's localtime macro prints it (asctime without the year). */
function localtime(d = new Date()): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function smtpdExpandLookup(state: SmtpdState, myhostname: string): MacroLookup {
  return (name) => {
    switch (name) {
      case 'server_name':
        return myhostname;
      case 'client':
        return state.namaddr;
      case 'client_port':
        return state.port;
      case 'client_address':
        return state.addr;
      case 'client_name':
        return state.name;
      case 'reverse_client_name':
        return state.reverseName;
      case 'helo_name':
        return state.heloName ?? '';
      case 'localtime':
        return localtime();
      default:
        if (name.startsWith('sender')) return addrPart(state.sender, name.slice(6));
        if (name.startsWith('recipient')) return addrPart(state.recipient, name.slice(9));
        return undefined;
    }
  };
}

/** The smtpd_expansion_filter value (with \t, \\ and octal \40 escapes) as a set of allowed characters. */
export function parseExpandFilter(value: string): Set<string> {
  const allowed = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    let c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      const rest = value.slice(i + 1);
      const oct = /^[0-7]{1,3}/.exec(rest);
      if (oct) {
        c = String.fromCharCode(Number.parseInt(oct[0], 8));
        i += oct[0].length;
      } else {
        const e = rest[0]!;
        c = ({ t: '\t', n: '\n', r: '\r', f: '\f', v: '\v', b: '\b', a: '\x07' } as Record<string, string>)[e] ?? e;
        i++;
      }
    }
    allowed.add(c);
  }
  return allowed;
}

export function applyExpandFilter(text: string, allowed: Set<string>): string {
  let out = '';
  for (const c of text) out += allowed.has(c) ? c : '_';
  return out;
}
