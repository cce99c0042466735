/**
 * compat/dovecot/old-settings.ts: the settings Dovecot 2.3 still accepts from
 * older configs, rewritten on the fly with a warning, as its
 * src/config/old-set-parser.c does:
 *
 *   doveconf: Warning: NOTE: You can get a new clean config file with: doveconf -Pn > dovecot-new.conf
 *   doveconf: Warning: Obsolete setting in FILE:LINE: ssl_protocols has been replaced by ssl_min_protocol
 *
 * Covered: renamed and removed settings, ssl_protocols → ssl_min_protocol,
 * ssl_*_file → ssl_* = <file, protocols with imaps/pop3s/managesieve,
 * imap_client_workarounds values, sieve settings moved into plugin { },
 * the 1.x login_* / mail_* / auth_* process settings moved into service { },
 * and the renamed sections `protocol managesieve` and `service dns_client`.
 * Not covered: the 1.x `auth { }` section and `listen = host:port` forms.
 */

/** What the parser offers the rewriter at the current position. */
export interface OldSettingsHost {
  /** "Obsolete setting in FILE:LINE: TEXT" (the NOTE line comes first, once). */
  obsolete(text: string): void;
  /** i_error(): "doveconf: Error: TEXT". */
  error(text: string): void;
  /** Apply `key = value` where the old line stood. */
  set(key: string, value: string): void;
  /** Apply `key = <path`. */
  setFile(key: string, path: string): void;
  /** Apply `service NAME { [LISTENER_TYPE LISTENER {] key = value }` at the top level. */
  setService(service: string, key: string, value: string, listener?: [string, string]): void;
  /** Apply `plugin { key = value }` at the top level. */
  setPlugin(key: string, value: string): void;
  /** Protocol of the filter the line is in (undefined at the top level). */
  protocol: string | undefined;
}

const REMOVED = new Set([
  'login_dir',
  'dbox_rotate_min_size',
  'dbox_rotate_days',
  'director_consistent_hashing',
  'mail_log_max_lines_per_sec',
  'maildir_copy_preserve_filename',
]);

const TLS_VERSIONS = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2'];

/** ssl_protocols_to_min_protocol(): the lowest version left enabled. */
function minProtocol(value: string): { min: string } | { error: string } {
  const state = TLS_VERSIONS.map(() => 0);
  let explicitEnable = false;
  for (const word of value.split(/[ ,]+/).filter(Boolean)) {
    const enable = !word.startsWith('!');
    const name = enable ? word : word.slice(1);
    const i = TLS_VERSIONS.indexOf(name);
    if (i < 0) return { error: `Unrecognized protocol '${name}'` };
    state[i] = enable ? 1 : -1;
    if (enable) explicitEnable = true;
  }
  const i = state.findIndex((s) => (explicitEnable ? s > 0 : s === 0));
  return i < 0 ? { error: 'All protocols disabled' } : { min: TLS_VERSIONS[i]! };
}

/** Which of imap/pop3/sieve a line in this filter applies to (config_filter_match against each). */
function protocolsOf(host: OldSettingsHost): string[] {
  const p = host.protocol;
  const all = ['imap', 'pop3', 'sieve'];
  if (p === undefined) return all;
  return all.filter((x) => (p.startsWith('!') ? x !== p.slice(1) : x === p));
}

const LOGIN_SETS: Record<string, [string, (v: string) => string]> = {
  login_chroot: ['chroot', (v) => (v === 'no' ? '' : 'login')],
  login_user: ['user', (v) => v],
  login_executable: ['executable', (v) => v],
  login_process_size: ['vsz_limit', (v) => `${v} M`],
  login_process_per_connection: ['service_count', (v) => (v === 'no' ? '0' : '1')],
  login_processes_count: ['process_min_avail', (v) => v],
  login_max_processes_count: ['process_limit', (v) => v],
  login_max_connections: ['client_limit', (v) => v],
};

const MAIL_SETS: Record<string, [string, (v: string) => string]> = {
  max_mail_processes: ['process_limit', (v) => v],
  mail_executable: ['executable', (v) => v],
  mail_process_size: ['vsz_limit', (v) => `${v} M`],
  mail_drop_priv_before_exec: ['drop_priv_before_exec', (v) => v],
};

const AUTH_SETS: Record<string, [string, (v: string) => string]> = {
  auth_executable: ['executable', (v) => v],
  auth_process_size: ['vsz_limit', (v) => `${v} M`],
  auth_user: ['user', (v) => v],
  auth_chroot: ['chroot', (v) => v],
};

/** The service names a protocol's login and mail processes have. */
const LOGIN_SERVICE: Record<string, string> = { imap: 'imap-login', pop3: 'pop3-login', sieve: 'managesieve-login' };
const MAIL_SERVICE: Record<string, string> = { imap: 'imap', pop3: 'pop3', sieve: 'managesieve' };

/** old_settings_handle_proto(): process settings that moved into service { }. */
function handleProto(host: OldSettingsHost, key: string, value: string): boolean {
  const login = LOGIN_SETS[key];
  const mail = MAIL_SETS[key];
  if (login || mail) {
    const [newKey, conv] = (login ?? mail)!;
    host.obsolete(`${key} has been replaced by service { ${newKey} }`);
    // managesieve-login/managesieve exist only with Pigeonhole: Dovecot ignores the failure.
    for (const p of protocolsOf(host)) {
      if (p === 'sieve') continue;
      host.setService((login ? LOGIN_SERVICE : MAIL_SERVICE)[p]!, newKey, conv(value));
    }
    return true;
  }
  const auth = AUTH_SETS[key];
  if (auth) {
    host.obsolete(`${key} has been replaced by service auth { ${auth[0]} }`);
    host.setService('auth', auth[0], auth[1](value));
    return true;
  }
  if (key === 'auth_cache_size' && /^[0-9]+$/.test(value) && Number(value) > 0 && Number(value) < 1024) {
    host.obsolete(`auth_cache_size value no longer defaults to megabytes. Use ${value}M`);
    host.set(key, `${value}M`);
    return true;
  }
  if (key === 'auth_count') {
    host.obsolete(value === 'count' ? 'auth_count has been removed' : 'auth_count has been removed, and its value must be 1');
    return true;
  }
  return false;
}

/** protocols: imaps/pop3s dropped (with a listener port 0 when the plain one is missing), managesieve renamed. */
function handleProtocols(host: OldSettingsHost, value: string): void {
  const words = value.split(' ').filter(Boolean);
  const has = (w: string) => words.includes(w);
  const haveImaps = has('imaps');
  const havePop3s = has('pop3s');
  const out: string[] = [];
  for (const w of words) {
    if (w === 'imaps' || w === 'pop3s') continue;
    if (w === 'managesieve') {
      host.obsolete('protocols=managesieve has been renamed to protocols=sieve');
      out.push('sieve');
    } else out.push(w);
  }
  let result = out.join(' ');
  if (haveImaps && !has('imap')) {
    host.obsolete(
      "'imaps' protocol can no longer be specified (use protocols=imap). to disable non-ssl imap, use service imap-login { inet_listener imap { port=0 } }",
    );
    result += ' imap';
    host.setService('imap-login', 'port', '0', ['inet_listener', 'imap']);
  } else if (haveImaps) host.obsolete("'imaps' protocol is no longer necessary, remove it");
  if (havePop3s && !has('pop3')) {
    host.obsolete(
      "'pop3s' protocol can no longer be specified (use protocols=pop3). to disable non-ssl pop3, use service pop3-login { inet_listener pop3 { port=0 } }",
    );
    result += ' pop3';
    host.setService('pop3-login', 'port', '0', ['inet_listener', 'pop3']);
  } else if (havePop3s) host.obsolete("'pop3s' protocol is no longer necessary, remove it");
  host.set('protocols', result.startsWith(' ') ? result.slice(1) : result);
}

/** old_settings_handle_root(). */
function handleRoot(host: OldSettingsHost, key: string, value: string): boolean {
  if (key === 'protocols') {
    handleProtocols(host, value);
    return true;
  }
  if (key === 'ssl_cert_file' || key === 'ssl_key_file' || key === 'ssl_ca_file') {
    if (value === '') return true;
    const newKey = key.slice(0, key.lastIndexOf('_'));
    host.obsolete(`${key} has been replaced by ${newKey} = <file`);
    host.setFile(newKey, value);
    return true;
  }
  if (key === 'ssl_disable') {
    const v = value.toLowerCase() === 'yes' ? 'no' : value.toLowerCase() === 'no' ? 'yes' : value;
    return rename(host, key, 'ssl', v);
  }
  if (key === 'ssl_parameters_regenerate' || key === 'ssl_dh_parameters_length') {
    host.obsolete(`${key} is no longer needed`);
    return true;
  }
  if (key === 'ssl_protocols') {
    host.obsolete(`${key} has been replaced by ssl_min_protocol`);
    const r = minProtocol(value);
    if ('error' in r) host.error(`Could not find a minimum ssl_min_protocol setting from ssl_protocols = ${value}: ${r.error}`);
    else host.set('ssl_min_protocol', r.min);
    return true;
  }
  if (key === 'sieve' || key === 'sieve_storage') {
    host.obsolete(key === 'sieve_storage' ? 'sieve_storage has been moved into plugin { sieve_dir }' : `${key} has been moved into plugin {} section`);
    host.setPlugin(key, value);
    return true;
  }
  if (key === 'fsync_disable') {
    const v = value.toLowerCase() === 'yes' ? 'never' : value.toLowerCase() === 'no' ? 'optimized' : value;
    return rename(host, key, 'mail_fsync', v);
  }
  if (key === 'dbox_rotate_size') return rename(host, key, 'mdbox_rotate_size', value);
  if (key.startsWith('mail_cache_compress_')) return rename(host, key, `mail_cache_purge_${key.slice(20)}`, value);
  if (key === 'imap_client_workarounds') {
    const words = value.split(/[ ,]+/).filter(Boolean);
    const kept = words.map((w) => {
      if (w === 'outlook-idle') {
        host.obsolete('imap_client_workarounds=outlook-idle is no longer necessary');
        return '';
      }
      if (w === 'netscape-eoh') {
        host.obsolete('imap_client_workarounds=netscape-eoh is no longer supported');
        return '';
      }
      return w;
    });
    // Dovecot joins the emptied words back in, blanks and all.
    host.set(key, kept.join(' '));
    return true;
  }
  if (REMOVED.has(key)) {
    host.obsolete(`${key} has been removed`);
    return true;
  }
  return false;
}

function rename(host: OldSettingsHost, oldKey: string, key: string, value: string): boolean {
  host.obsolete(`${oldKey} has been renamed to ${key}`);
  host.set(key, value);
  return true;
}

/**
 * A `key = value` line at the top level or inside a filter (old_settings_handle,
 * CONFIG_LINE_TYPE_KEYVALUE with no section path). Returns true when the line
 * was consumed.
 */
export function handleOldKeyValue(host: OldSettingsHost, key: string, value: string): boolean {
  return handleProto(host, key, value) || handleRoot(host, key, value);
}

/** A section start at the top level: the renamed section, or undefined. */
export function renameOldSection(type: string, name: string, obsolete: (text: string) => void): [string, string] | undefined {
  if (type === 'protocol' && name === 'managesieve') {
    obsolete('protocol managesieve {} has been replaced by protocol sieve { }');
    return ['protocol', 'sieve'];
  }
  if (type === 'service' && name === 'dns_client') {
    obsolete('service dns_client {} has been replaced by service dns-client { }');
    return ['service', 'dns-client'];
  }
  return undefined;
}
