/**
 * imap/commands/basic.ts: CAPABILITY, NOOP, CHECK, LOGOUT, ID (RFC 2971),
 * ENABLE (RFC 5161: CONDSTORE, QRESYNC, UTF8=ACCEPT) and NAMESPACE
 * (RFC 2342) after login.
 */
import { postLoginCapability } from '../capability.js';
import { quoted } from '../mime/quote.js';
import type { ImapSession } from '../session.js';
import { atomArg } from '../util.js';
import { BadCommand, type Cmd } from './types.js';

export async function cmdCapability(s: ImapSession): Promise<string> {
  s.out.line(`* CAPABILITY ${postLoginCapability(s.settings, s.user)}`);
  return 'OK Capability completed.';
}

export async function cmdNoop(): Promise<string> {
  return 'OK NOOP completed.';
}

export async function cmdCheck(): Promise<string> {
  return 'OK Check completed.';
}

export async function cmdLogout(s: ImapSession): Promise<string> {
  s.out.line('* BYE Logging out');
  s.logoutRequested = true;
  return 'OK Logout completed.';
}

export async function cmdId(s: ImapSession, c: Cmd): Promise<string> {
  const a = c.args[0];
  if (!a || (a.type !== 'nil' && a.type !== 'list') || c.args.length > 1) throw new BadCommand('Invalid ID parameters');
  s.out.line('* ID ("name" "Dovecot")');
  return 'OK ID completed.';
}

const ENABLE_KNOWN = ['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT'];

export async function cmdEnable(s: ImapSession, c: Cmd): Promise<string> {
  if (c.args.length === 0) throw new BadCommand('Missing arguments.');
  const added: string[] = [];
  for (const a of c.args) {
    const name = atomArg(a)?.toUpperCase();
    if (name === undefined) throw new BadCommand('Invalid arguments.');
    if (!ENABLE_KNOWN.includes(name) || s.enabled.has(name)) continue;
    s.enabled.add(name);
    added.push(name);
    if (name === 'QRESYNC' && !s.enabled.has('CONDSTORE')) s.enabled.add('CONDSTORE');
  }
  s.out.line(added.length ? `* ENABLED ${added.join(' ')}` : '* ENABLED');
  return 'OK Enabled.';
}

export async function cmdNamespace(s: ImapSession): Promise<string> {
  const groups: Record<string, string[]> = { private: [], shared: [], public: [] };
  for (const ns of s.user.namespaces) {
    if (ns.settings.hidden || ns.settings.list === 'no') continue;
    const sep = ns.storage.separator;
    const entry = `(${quoted(ns.settings.prefix)} ${sep === '' ? 'NIL' : quoted(sep)})`;
    const g = groups[ns.settings.type === 'shared' ? 'shared' : ns.settings.type === 'public' ? 'public' : 'private'];
    g?.push(entry);
  }
  const fmt = (l: string[] | undefined) => (l?.length ? `(${l.join('')})` : 'NIL');
  s.out.line(`* NAMESPACE ${fmt(groups.private)} ${fmt(groups.shared)} ${fmt(groups.public)}`);
  return 'OK Namespace completed.';
}
