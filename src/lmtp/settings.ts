/**
 * lmtp/settings.ts: the settings an LMTP connection uses, read through the
 * typed settings view for `protocol lmtp` (lmtp-settings.c, lda-settings.c):
 * hostname (default: the host's FQDN), login_greeting, lmtp_* switches,
 * recipient_delimiter, lda_mailbox_autocreate/autosubscribe,
 * quota_full_tempfail, login_trusted_networks, ssl (for STARTTLS), and the
 * `service lmtp` listeners.
 */
import { hostname as osHostname } from 'node:os';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ParsedConfig } from '../../compat/dovecot/conf-parser.js';
import { type DovecotSettings, settingsView } from '../../compat/dovecot/settings-view.js';

export interface LmtpSettings {
  hostname: string;
  loginGreeting: string;
  saveToDetailMailbox: boolean;
  rcptCheckQuota: boolean;
  addReceivedHeader: boolean;
  hdrDeliveryAddress: 'final' | 'none' | 'original';
  recipientDelimiter: string;
  ldaMailboxAutocreate: boolean;
  ldaMailboxAutosubscribe: boolean;
  quotaFullTempfail: boolean;
  trustedNetworks: string[];
  ssl: boolean;
  /** The TLS context for STARTTLS (ssl != no and a certificate and key are configured). */
  tlsContext?: SecureContext;
  baseDir: string;
  authSocketPath: string;
  lmtpProxy: boolean;
  userConcurrencyLimit: number;
  /** The raw view, for the mail user. */
  view: DovecotSettings;
}

export interface LmtpListener {
  kind: 'inet' | 'unix';
  name: string;
  address?: string;
  port?: number;
  path?: string;
  mode?: number;
}

/** The host's name as Dovecot's my_hostdomain(): the FQDN when the resolver knows it. */
export function defaultHostname(): string {
  return osHostname();
}

/** ssl_cert/ssl_key as read by the config parser ("<file" values are the file's text). */
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

export function lmtpSettings(view: DovecotSettings): LmtpSettings {
  const s = (n: string, d = '') => view.get(n) ?? d;
  const ctx = tlsContext(view);
  const hdr = s('lmtp_hdr_delivery_address', 'final');
  const baseDir = s('base_dir', '/run/dovecot');
  const auth = s('auth_socket_path', 'auth-userdb');
  return {
    hostname: s('hostname') || defaultHostname(),
    loginGreeting: s('login_greeting', 'Dovecot (Debian) ready.'),
    saveToDetailMailbox: view.bool('lmtp_save_to_detail_mailbox'),
    rcptCheckQuota: view.bool('lmtp_rcpt_check_quota'),
    addReceivedHeader: view.bool('lmtp_add_received_header'),
    hdrDeliveryAddress: hdr === 'none' || hdr === 'original' ? hdr : 'final',
    recipientDelimiter: s('recipient_delimiter', '+'),
    ldaMailboxAutocreate: view.bool('lda_mailbox_autocreate'),
    ldaMailboxAutosubscribe: view.bool('lda_mailbox_autosubscribe'),
    quotaFullTempfail: view.bool('quota_full_tempfail'),
    trustedNetworks: s('login_trusted_networks')
      .split(/[\s,]+/)
      .filter(Boolean),
    ssl: s('ssl', 'yes') !== 'no',
    ...(ctx ? { tlsContext: ctx } : {}),
    baseDir,
    authSocketPath: auth.startsWith('/') ? auth : `${baseDir.replace(/\/+$/, '')}/${auth}`,
    lmtpProxy: view.bool('lmtp_proxy'),
    userConcurrencyLimit: view.uint('lmtp_user_concurrency_limit'),
    view,
  };
}

/** The listeners of `service lmtp` (the built-in default is unix_listener lmtp). */
export function lmtpListeners(cfg: ParsedConfig): LmtpListener[] {
  const view = settingsView(cfg);
  const baseDir = (view.get('base_dir') ?? '/run/dovecot').replace(/\/+$/, '');
  const svc = view.sections('service').find((s) => s.name === 'lmtp');
  if (!svc) return [{ kind: 'unix', name: 'lmtp', path: `${baseDir}/lmtp`, mode: 0o666 }];
  const out: LmtpListener[] = [];
  for (const l of svc.scope.sections) {
    const k = (n: string) => l.scope.keys.get(n)?.value;
    if (l.type === 'unix_listener') {
      const path = l.name.startsWith('/') ? l.name : `${baseDir}/${l.name}`;
      out.push({ kind: 'unix', name: l.name, path, mode: Number.parseInt(k('mode') ?? '0666', 8) });
    } else if (l.type === 'inet_listener') {
      const port = Number(k('port') ?? '0');
      if (port === 0) continue;
      out.push({ kind: 'inet', name: l.name, port, address: k('address') || view.get('listen') || '*' });
    }
  }
  if (!svc.scope.sections.some((l) => l.type === 'unix_listener' && l.name === 'lmtp')) {
    out.unshift({ kind: 'unix', name: 'lmtp', path: `${baseDir}/lmtp`, mode: 0o666 });
  }
  return out;
}
