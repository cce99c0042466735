/**
 * imap/settings.ts: the settings an IMAP connection uses (imap-settings.c,
 * login-settings.c, the ssl settings), read through the typed settings
 * view with `protocol imap`, and the inet listeners of `service imap-login`
 * (imap on 143, imaps on 993 with ssl).
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ParsedConfig } from '../../compat/dovecot/conf-parser.js';
import { type DovecotSettings, settingsView } from '../../compat/dovecot/settings-view.js';

export interface ImapSettings {
  loginGreeting: string;
  disablePlaintextAuth: boolean;
  ssl: 'no' | 'yes' | 'required';
  tlsContext?: SecureContext;
  trustedNetworks: string[];
  loginLogFormatElements: string;
  loginLogFormat: string;
  mailLogPrefix: string;
  /** imap_max_line_length in bytes. */
  maxLineLength: number;
  /** imap_capability ("" = default, "+X" = default plus X, else the exact list). */
  capability: string;
  literalMinus: boolean;
  logoutFormat: string;
  /** imap_idle_notify_interval in seconds ("* OK Still here"). */
  idleNotifyInterval: number;
  maxUseripConnections: number;
  /** mail_plugins includes imap_quota: QUOTA capability and commands. */
  quota: boolean;
  baseDir: string;
  authClientPath: string;
  authUserdbPath: string;
  view: DovecotSettings;
}

export interface ImapListener {
  name: string;
  address: string;
  port: number;
  ssl: boolean;
}

function tlsContext(view: DovecotSettings): SecureContext | undefined {
  if ((view.get('ssl') ?? 'yes') === 'no') return undefined;
  const cert = view.get('ssl_cert') ?? '';
  const key = view.get('ssl_key') ?? '';
  if (!cert.includes('-----BEGIN') || !key.includes('-----BEGIN')) return undefined;
  try {
    const pass = view.get('ssl_key_password');
    return createSecureContext({ cert, key, ...(pass ? { passphrase: pass } : {}), minVersion: 'TLSv1.2' });
  } catch {
    return undefined;
  }
}

export function imapSettings(view: DovecotSettings): ImapSettings {
  const s = (n: string, d = '') => view.get(n) ?? d;
  const baseDir = s('base_dir', '/run/dovecot').replace(/\/+$/, '');
  const auth = s('auth_socket_path', 'auth-userdb');
  const ssl = s('ssl', 'yes');
  const ctx = tlsContext(view);
  const maxLine = Number(view.size('imap_max_line_length') || 65536n);
  return {
    loginGreeting: s('login_greeting', 'Dovecot (Debian) ready.'),
    disablePlaintextAuth: view.bool('disable_plaintext_auth'),
    ssl: ssl === 'no' || ssl === 'required' ? ssl : 'yes',
    ...(ctx ? { tlsContext: ctx } : {}),
    trustedNetworks: s('login_trusted_networks').split(/[\s,]+/).filter(Boolean),
    loginLogFormatElements: s('login_log_format_elements', 'user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>'),
    loginLogFormat: s('login_log_format', '%$: %s'),
    mailLogPrefix: s('mail_log_prefix', '%s(%u)<%{pid}><%{session}>: '),
    maxLineLength: maxLine > 0 ? maxLine : 65536,
    capability: s('imap_capability'),
    literalMinus: view.bool('imap_literal_minus'),
    logoutFormat: s(
      'imap_logout_format',
      'in=%i out=%o deleted=%{deleted} expunged=%{expunged} trashed=%{trashed} hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}',
    ),
    idleNotifyInterval: view.seconds('imap_idle_notify_interval') || 120,
    maxUseripConnections: view.uint('mail_max_userip_connections'),
    quota: /\bimap_quota\b/.test(s('mail_plugins')),
    baseDir,
    authClientPath: `${baseDir}/login/login`,
    authUserdbPath: auth.startsWith('/') ? auth : `${baseDir}/${auth}`,
    view,
  };
}

/** The inet listeners of `service imap-login` (built-in: imap on 143, imaps on 993 with ssl). */
export function imapListeners(cfg: ParsedConfig): ImapListener[] {
  const view = settingsView(cfg);
  const listen = view.get('listen') || '*, ::';
  const defaults: ImapListener[] = [
    { name: 'imap', address: '', port: 143, ssl: false },
    { name: 'imaps', address: '', port: 993, ssl: true },
  ];
  const svc = view.sections('service').find((x) => x.name === 'imap-login');
  for (const l of svc?.scope.sections ?? []) {
    if (l.type !== 'inet_listener') continue;
    const k = (n: string) => l.scope.keys.get(n)?.value;
    let d = defaults.find((x) => x.name === l.name);
    if (!d) {
      d = { name: l.name, address: '', port: 0, ssl: false };
      defaults.push(d);
    }
    if (k('port') !== undefined) d.port = Number(k('port'));
    if (k('address') !== undefined) d.address = k('address') as string;
    if (k('ssl') !== undefined) d.ssl = k('ssl') === 'yes';
  }
  const out: ImapListener[] = [];
  for (const d of defaults) {
    if (d.port === 0) continue;
    for (const a of (d.address || listen).split(/[\s,]+/).filter(Boolean)) out.push({ ...d, address: a });
  }
  return out;
}
