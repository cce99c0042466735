/**
 * auth/settings.ts: the auth service's view of dovecot.conf (auth-settings.c):
 * the global auth_* settings with their catalogue defaults, the passdb and
 * userdb blocks in file order, and the unix listeners of `service auth`
 * (the built-in auth-client, auth-login, auth-master, auth-userdb,
 * login/login, token-login/tokenlogin merged with the admin's blocks).
 */
import type { ParsedConfig, Scope } from '../../compat/dovecot/conf-parser.js';
import { catalogue } from '../../compat/dovecot/settings/catalogue.js';

export type DbRule = 'return' | 'return-ok' | 'return-fail' | 'continue' | 'continue-ok' | 'continue-fail';

export interface PassdbSettings {
  name: string;
  driver: string;
  args: string;
  defaultFields: string;
  overrideFields: string;
  mechanisms: string;
  usernameFilter: string;
  skip: 'never' | 'authenticated' | 'unauthenticated';
  resultSuccess: DbRule;
  resultFailure: DbRule;
  resultInternalfail: DbRule;
  deny: boolean;
  pass: boolean;
  master: boolean;
  authVerbose: 'default' | 'yes' | 'no';
}

export interface UserdbSettings {
  name: string;
  driver: string;
  args: string;
  defaultFields: string;
  overrideFields: string;
  skip: 'never' | 'found' | 'notfound';
  resultSuccess: DbRule;
  resultFailure: DbRule;
  resultInternalfail: DbRule;
  authVerbose: 'default' | 'yes' | 'no';
}

export interface ListenerSettings {
  /** As written (relative to base_dir unless absolute). */
  name: string;
  /** Absolute path. */
  path: string;
  mode: number;
  user: string;
  group: string;
}

export interface AuthSettings {
  baseDir: string;
  mechanisms: string[];
  realms: string[];
  defaultRealm: string;
  usernameFormat: string;
  usernameChars: string;
  usernameTranslation: string;
  masterUserSeparator: string;
  anonymousUsername: string;
  /** Seconds. */
  failureDelay: number;
  cacheSize: number;
  cacheTtl: number;
  cacheNegativeTtl: number;
  verbose: boolean;
  verbosePasswords: string;
  debug: boolean;
  debugPasswords: boolean;
  sslRequireClientCert: boolean;
  sslUsernameFromCert: boolean;
  disablePlaintextAuth: boolean;
  defaultInternalUser: string;
  defaultInternalGroup: string;
  passdbs: PassdbSettings[];
  userdbs: UserdbSettings[];
  listeners: ListenerSettings[];
  /** Every global key (normalised value), for drivers that need more. */
  global: (key: string) => string;
}

/** "2 secs", "1 hours", "0" (doveconf's normalised form) -> seconds. */
export function parseTimeSecs(v: string): number {
  const m = /^\s*([0-9]+)\s*([a-z]*)\s*$/i.exec(v);
  if (!m) return 0;
  const n = Number(m[1]);
  const u = m[2]!.toLowerCase();
  if (u === '' || /^s/.test(u)) return n;
  if (/^ms|^msec|^milli/.test(u)) return Math.floor(n / 1000);
  if (/^m/.test(u)) return n * 60;
  if (/^h/.test(u)) return n * 3600;
  if (/^d/.test(u)) return n * 86400;
  if (/^w/.test(u)) return n * 604800;
  return n;
}

/** "10 M", "0", "1024 B" -> bytes. */
export function parseSizeBytes(v: string): number {
  const m = /^\s*([0-9]+)\s*([bkmgt]?)/i.exec(v);
  if (!m) return 0;
  const mul: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Number(m[1]) * (mul[m[2]!.toLowerCase()] ?? 1);
}

function sectionValue(scope: Scope, type: string, key: string): string {
  const e = scope.keys.get(key);
  if (e) return e.value;
  return catalogue().keyDef(type, key)?.[2] ?? '';
}

/** The built-in listeners of `service auth`, as doveconf -a lists them. */
function defaultListeners(): Array<{ name: string; keys: Map<string, string> }> {
  const svc = catalogue().services.find((s) => s.name === 'auth');
  return (svc?.listeners ?? []).filter((l) => l.type === 'unix_listener').map((l) => ({ name: l.name, keys: new Map(l.keys) }));
}

export function authSettings(cfg: ParsedConfig): AuthSettings {
  const cat = catalogue();
  const global = (key: string): string => cfg.root.keys.get(key)?.value ?? cat.globals.get(key)?.[2] ?? '';
  const expandRef = (v: string): string => v.replace(/\$([a-z_]+)/g, (m, name: string) => (cat.globals.has(name) ? global(name) : m));
  const baseDir = global('base_dir');
  const passdbs: PassdbSettings[] = [];
  const userdbs: UserdbSettings[] = [];
  for (const sec of cfg.root.sections) {
    const v = (k: string) => sectionValue(sec.scope, sec.type, k);
    if (sec.type === 'passdb') {
      passdbs.push({
        name: v('name'),
        driver: v('driver'),
        args: v('args'),
        defaultFields: v('default_fields'),
        overrideFields: v('override_fields'),
        mechanisms: v('mechanisms'),
        usernameFilter: v('username_filter'),
        skip: v('skip') as PassdbSettings['skip'],
        resultSuccess: v('result_success') as DbRule,
        resultFailure: v('result_failure') as DbRule,
        resultInternalfail: v('result_internalfail') as DbRule,
        deny: v('deny') === 'yes',
        pass: v('pass') === 'yes',
        master: v('master') === 'yes',
        authVerbose: v('auth_verbose') as PassdbSettings['authVerbose'],
      });
    } else if (sec.type === 'userdb') {
      userdbs.push({
        name: v('name'),
        driver: v('driver'),
        args: v('args'),
        defaultFields: v('default_fields'),
        overrideFields: v('override_fields'),
        skip: v('skip') as UserdbSettings['skip'],
        resultSuccess: v('result_success') as DbRule,
        resultFailure: v('result_failure') as DbRule,
        resultInternalfail: v('result_internalfail') as DbRule,
        authVerbose: v('auth_verbose') as UserdbSettings['authVerbose'],
      });
    }
  }
  // service auth { unix_listener NAME { mode user group } }: the admin's blocks merge into the defaults by name.
  const listeners = defaultListeners();
  const svc = cfg.root.sections.find((s) => s.type === 'service' && s.name === 'auth');
  for (const l of svc?.scope.sections ?? []) {
    if (l.type !== 'unix_listener') continue;
    let entry = listeners.find((x) => x.name === l.name);
    if (!entry) {
      entry = { name: l.name, keys: new Map([['mode', '0600'], ['user', ''], ['group', '']]) };
      listeners.push(entry);
    }
    for (const e of l.scope.keys.values()) entry.keys.set(e.key, e.value);
  }
  const debugPasswords = global('auth_debug_passwords') === 'yes';
  const debug = debugPasswords || global('auth_debug') === 'yes';
  return {
    baseDir,
    mechanisms: global('auth_mechanisms').split(/[ ]+/).filter(Boolean),
    realms: global('auth_realms').split(/[ ]+/).filter(Boolean),
    defaultRealm: global('auth_default_realm'),
    usernameFormat: global('auth_username_format'),
    usernameChars: global('auth_username_chars'),
    usernameTranslation: global('auth_username_translation'),
    masterUserSeparator: global('auth_master_user_separator'),
    anonymousUsername: global('auth_anonymous_username'),
    failureDelay: parseTimeSecs(global('auth_failure_delay')),
    cacheSize: parseSizeBytes(global('auth_cache_size')),
    cacheTtl: parseTimeSecs(global('auth_cache_ttl')),
    cacheNegativeTtl: parseTimeSecs(global('auth_cache_negative_ttl')),
    verbose: debug || global('auth_verbose') === 'yes',
    verbosePasswords: global('auth_verbose_passwords'),
    debug,
    debugPasswords,
    sslRequireClientCert: global('auth_ssl_require_client_cert') === 'yes',
    sslUsernameFromCert: global('auth_ssl_username_from_cert') === 'yes',
    disablePlaintextAuth: global('disable_plaintext_auth') === 'yes',
    defaultInternalUser: global('default_internal_user'),
    defaultInternalGroup: global('default_internal_group'),
    passdbs,
    userdbs,
    listeners: listeners.map((l) => ({
      name: l.name,
      path: l.name.startsWith('/') ? l.name : `${baseDir.replace(/\/+$/, '')}/${l.name}`,
      mode: Number.parseInt(l.keys.get('mode') ?? '0600', 8),
      user: expandRef(l.keys.get('user') ?? ''),
      group: expandRef(l.keys.get('group') ?? ''),
    })),
    global,
  };
}

/**
 * Can a login process offer a plaintext mechanism on this connection?
 * (login-common/sasl-server.c: the auth service itself never enforces
 * disable_plaintext_auth; the login process checks it and the `secured` flag.)
 */
export function plaintextAuthAllowed(set: Pick<AuthSettings, 'disablePlaintextAuth'>, secured: boolean): boolean {
  return secured || !set.disablePlaintextAuth;
}
