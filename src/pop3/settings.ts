/**
 * pop3/settings.ts: the settings a POP3 connection uses (pop3-settings.c,
 * login-settings.c, ssl settings), read through the typed settings view
 * with `protocol pop3`, and the inet listeners of `service pop3-login`.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ParsedConfig } from '../../compat/dovecot/conf-parser.js';
import { type DovecotSettings, settingsView } from '../../compat/dovecot/settings-view.js';

export type DeleteType = 'expunge' | 'flag';

export interface Pop3Settings {
  loginGreeting: string;
  disablePlaintextAuth: boolean;
  /** ssl = no | yes | required */
  ssl: 'no' | 'yes' | 'required';
  tlsContext?: SecureContext;
  trustedNetworks: string[];
  loginLogFormatElements: string;
  loginLogFormat: string;
  mailLogPrefix: string;
  authVerbose: boolean;
  maxUseripConnections: number;
  uidlFormat: string;
  saveUidl: boolean;
  reuseXuidl: boolean;
  noFlagUpdates: boolean;
  lockSession: boolean;
  fastSizeLookups: boolean;
  enableLast: boolean;
  deletedFlag: string;
  deleteType: DeleteType;
  uidlDuplicates: 'allow' | 'rename';
  logoutFormat: string;
  workarounds: { outlookNoNuls: boolean; oeNsEoh: boolean };
  baseDir: string;
  /** Where logins authenticate (service auth `login/login`). */
  authClientPath: string;
  /** Where the userdb is asked (auth_socket_path, default auth-userdb). */
  authUserdbPath: string;
  view: DovecotSettings;
}

export interface Pop3Listener {
  name: string;
  address: string;
  port: number;
  ssl: boolean;
}

/** The certificate and key (ssl_cert/ssl_key hold the file text after `<file` expansion). */
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

/** Thrown for settings the real pop3 process refuses to start with (its words). */
export class Pop3ConfigError extends Error {}

export function pop3Settings(view: DovecotSettings): Pop3Settings {
  const s = (n: string, d = '') => view.get(n) ?? d;
  const baseDir = s('base_dir', '/run/dovecot').replace(/\/+$/, '');
  const auth = s('auth_socket_path', 'auth-userdb');
  const deletedFlag = s('pop3_deleted_flag');
  const dt = s('pop3_delete_type', 'default');
  // pop3-settings.c pop3_settings_verify
  let deleteType: DeleteType;
  if (dt === 'default') deleteType = deletedFlag === '' ? 'expunge' : 'flag';
  else if (dt === 'expunge') deleteType = 'expunge';
  else if (dt === 'flag') {
    if (deletedFlag === '') throw new Pop3ConfigError('pop3_delete_type=flag, but pop3_deleted_flag not set');
    deleteType = 'flag';
  } else throw new Pop3ConfigError(`pop3_delete_type: Unknown value '${dt}'`);
  const wa = { outlookNoNuls: false, oeNsEoh: false };
  for (const w of s('pop3_client_workarounds').split(/[\s,]+/).filter(Boolean)) {
    if (w === 'outlook-no-nuls') wa.outlookNoNuls = true;
    else if (w === 'oe-ns-eoh') wa.oeNsEoh = true;
    else throw new Pop3ConfigError(`pop3_client_workarounds: Unknown workaround: ${w}`);
  }
  const ssl = s('ssl', 'yes');
  const ctx = tlsContext(view);
  return {
    loginGreeting: s('login_greeting', 'Dovecot (Debian) ready.'),
    disablePlaintextAuth: view.bool('disable_plaintext_auth'),
    ssl: ssl === 'no' || ssl === 'required' ? ssl : 'yes',
    ...(ctx ? { tlsContext: ctx } : {}),
    trustedNetworks: s('login_trusted_networks').split(/[\s,]+/).filter(Boolean),
    loginLogFormatElements: s('login_log_format_elements', 'user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>'),
    loginLogFormat: s('login_log_format', '%$: %s'),
    mailLogPrefix: s('mail_log_prefix', '%s(%u)<%{pid}><%{session}>: '),
    authVerbose: view.bool('auth_verbose'),
    maxUseripConnections: view.uint('mail_max_userip_connections'),
    uidlFormat: s('pop3_uidl_format', '%08Xu%08Xv'),
    saveUidl: view.bool('pop3_save_uidl'),
    reuseXuidl: view.bool('pop3_reuse_xuidl'),
    noFlagUpdates: view.bool('pop3_no_flag_updates'),
    lockSession: view.bool('pop3_lock_session'),
    fastSizeLookups: view.bool('pop3_fast_size_lookups'),
    enableLast: view.bool('pop3_enable_last'),
    deletedFlag,
    deleteType,
    uidlDuplicates: s('pop3_uidl_duplicates', 'allow') === 'rename' ? 'rename' : 'allow',
    logoutFormat: s('pop3_logout_format', 'top=%t/%p, retr=%r/%b, del=%d/%m, size=%s'),
    workarounds: wa,
    baseDir,
    authClientPath: `${baseDir}/login/login`,
    authUserdbPath: auth.startsWith('/') ? auth : `${baseDir}/${auth}`,
    view,
  };
}

/** The inet listeners of `service pop3-login` (built-in: pop3 on 110, pop3s on 995 with ssl). */
export function pop3Listeners(cfg: ParsedConfig): Pop3Listener[] {
  const view = settingsView(cfg);
  const listen = view.get('listen') || '*, ::';
  const defaults: Pop3Listener[] = [
    { name: 'pop3', address: '', port: 110, ssl: false },
    { name: 'pop3s', address: '', port: 995, ssl: true },
  ];
  const svc = view.sections('service').find((s) => s.name === 'pop3-login');
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
  const out: Pop3Listener[] = [];
  for (const d of defaults) {
    if (d.port === 0) continue;
    for (const a of (d.address || listen).split(/[\s,]+/).filter(Boolean)) out.push({ ...d, address: a });
  }
  return out;
}
