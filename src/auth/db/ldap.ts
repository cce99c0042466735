/**
 * auth/db/ldap.ts: the LDAP directory behind `passdb/userdb { driver = ldap
 * args = /etc/dovecot/dovecot-ldap.conf.ext }` (Dovecot 2.3 db-ldap.c):
 * the settings file (uris/hosts, dn/dnpass, base, scope, deref, the
 * *_attrs/*_filter pairs, auth_bind, tls), one shared connection per file,
 * the attribute map (`ldapAttr=field`, `=field=template`,
 * `ldapAttr=field=%{ldap:other}` …) and the search that fills it.
 *
 * The protocol client is the `ldapts` package (pure TypeScript; its 8.x line
 * supports Node 20). Searches run on one connection bound as `dn`; user
 * binds for `auth_bind = yes` run one at a time on a second connection, so
 * they never change the identity the searches run under.
 */
import { readFileSync } from 'node:fs';
import { Client, type Entry } from 'ldapts';
import type { VarFunc } from '../../../compat/dovecot/var-expand.js';
import { AuthConfigError } from '../drivers.js';
import type { AuthRequest } from '../request.js';
import { readSettingsFile, SettingsFileError } from './settings-file.js';

export interface LdapSettings {
  hosts: string | undefined;
  uris: string | undefined;
  dn: string | undefined;
  dnpass: string | undefined;
  auth_bind: boolean;
  auth_bind_userdn: string | undefined;
  tls: boolean;
  sasl_bind: boolean;
  sasl_mech: string | undefined;
  sasl_realm: string | undefined;
  sasl_authz_id: string | undefined;
  tls_ca_cert_file: string | undefined;
  tls_ca_cert_dir: string | undefined;
  tls_cert_file: string | undefined;
  tls_key_file: string | undefined;
  tls_cipher_suite: string | undefined;
  tls_require_cert: string | undefined;
  deref: string;
  scope: string;
  base: string | undefined;
  ldap_version: number;
  debug_level: string;
  ldaprc_path: string;
  user_attrs: string;
  user_filter: string;
  pass_attrs: string;
  pass_filter: string;
  iterate_attrs: string;
  iterate_filter: string;
  default_pass_scheme: string;
  userdb_warning_disable: boolean;
  blocking: boolean;
}

/** db-ldap.c default_ldap_settings. */
export const LDAP_DEFAULTS: LdapSettings = {
  hosts: undefined,
  uris: undefined,
  dn: undefined,
  dnpass: undefined,
  auth_bind: false,
  auth_bind_userdn: undefined,
  tls: false,
  sasl_bind: false,
  sasl_mech: undefined,
  sasl_realm: undefined,
  sasl_authz_id: undefined,
  tls_ca_cert_file: undefined,
  tls_ca_cert_dir: undefined,
  tls_cert_file: undefined,
  tls_key_file: undefined,
  tls_cipher_suite: undefined,
  tls_require_cert: undefined,
  deref: 'never',
  scope: 'subtree',
  base: undefined,
  ldap_version: 3,
  debug_level: '0',
  ldaprc_path: '',
  user_attrs: 'homeDirectory=home,uidNumber=uid,gidNumber=gid',
  user_filter: '(&(objectClass=posixAccount)(uid=%u))',
  pass_attrs: 'uid=user,userPassword=password',
  pass_filter: '(&(objectClass=posixAccount)(uid=%u))',
  iterate_attrs: 'uid=user',
  iterate_filter: '(objectClass=posixAccount)',
  default_pass_scheme: 'crypt',
  userdb_warning_disable: false,
  blocking: false,
};

const BOOL_KEYS = new Set(['auth_bind', 'tls', 'sasl_bind', 'userdb_warning_disable', 'blocking']);

const SCOPES: Record<string, 'base' | 'one' | 'sub'> = { base: 'base', onelevel: 'one', subtree: 'sub' };
const DEREFS: Record<string, 'never' | 'search' | 'find' | 'always'> = { never: 'never', searching: 'search', finding: 'find', always: 'always' };
const TLS_REQUIRE_CERT = ['never', 'hard', 'demand', 'allow', 'try'];

/** Characters ldap_escape() writes as \XX in filters and DNs (db-ldap.c LDAP_ESCAPE_CHARS, plus 8-bit bytes). */
const LDAP_ESCAPE_CHARS = '*,\\#+<>;"()= ';

export function ldapEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 0x80 || LDAP_ESCAPE_CHARS.includes(String.fromCharCode(b))) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** One entry of pass_attrs / user_attrs / iterate_attrs (struct ldap_field). */
export interface LdapField {
  /** Field name ("" for a skipped !ldapAttr); may hold %variables. */
  name: string;
  /** Template, or undefined to use the attribute's values as they are. */
  template: string | undefined;
  /** LDAP attribute ("" for a static =field=value entry). */
  ldapAttr: string;
  /** `@name=ldapAttr`: the value is a DN to look further fields up in (not supported: logged). */
  valueIsDn: boolean;
  skip: boolean;
}

/**
 * db_ldap_set_attrs: parse an attrs list; returns the fields and the LDAP
 * attribute names to request. `skipName` drops that field (passdb with
 * auth_bind drops "password").
 */
export function parseLdapAttrs(list: string, skipName: string | undefined, logError: (msg: string) => void): { fields: LdapField[]; attrNames: string[] } {
  const fields: LdapField[] = [];
  const attrNames: string[] = [];
  if (list === '') return { fields, attrNames };
  for (const raw of list.split(',').filter((s) => s.replace(/ /g, '') !== '')) {
    const data = raw.replace(/^ +/, '');
    const eq = data.indexOf('=');
    let ldapAttr: string;
    let name: string;
    if (eq < 0) ldapAttr = name = data;
    else if (data[0] === '@') {
      ldapAttr = '';
      name = data;
    } else {
      ldapAttr = data.slice(0, eq);
      name = data.slice(eq + 1);
    }
    let template: string | undefined;
    const t = name.indexOf('=');
    if (t < 0) {
      if (ldapAttr === '') template = '';
    } else {
      template = name.slice(t + 1);
      name = name.slice(0, t);
      // attr=name=prefix without %variables means attr=name=prefix%$ (backwards compatibility).
      if (!template.includes('%')) template += '%$';
    }
    if (name === '') {
      logError(`Invalid attrs entry: ${data}`);
      continue;
    }
    if (skipName !== undefined && skipName === name) continue;
    let valueIsDn = false;
    let skip = false;
    if (name[0] === '@') {
      name = name.slice(1);
      valueIsDn = true;
    } else if (name[0] === '!' && eq < 0) {
      name = '';
      ldapAttr = ldapAttr.slice(1);
      skip = true;
    }
    fields.push({ name, template, ldapAttr, valueIsDn, skip });
    if (ldapAttr !== '' && !ldapAttr.includes('@')) attrNames.push(ldapAttr);
    // %{ldap:attr} inside a template asks for that attribute too.
    if (template) for (const m of template.matchAll(/%\{ldap(?:_ptr)?:([^:}]+)(?::[^}]*)?\}/g)) attrNames.push(m[1]!);
  }
  return { fields, attrNames: [...new Set(attrNames)] };
}

/** ldap_err2string() texts for the result codes a lookup can meet. */
const LDAP_ERR_TEXT: Record<number, string> = {
  1: 'Operations error',
  2: 'Protocol error',
  3: 'Time limit exceeded',
  4: 'Size limit exceeded',
  8: 'Strong(er) authentication required',
  11: 'Administrative limit exceeded',
  32: 'No such object',
  34: 'Invalid DN syntax',
  48: 'Inappropriate authentication',
  49: 'Invalid credentials',
  50: 'Insufficient access',
  51: 'Server is busy',
  52: 'Server is unavailable',
  53: 'Server is unwilling to perform',
  80: 'Internal (implementation specific) error',
};

function ldapErrorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'number' && LDAP_ERR_TEXT[code]) return LDAP_ERR_TEXT[code]!;
  if (typeof code === 'string' && /^E(CONNREFUSED|HOSTUNREACH|CONNRESET|TIMEDOUT|NOTFOUND)/.test(code)) return "Can't contact LDAP server";
  return (e as Error).message ?? String(e);
}

export type LdapBindResult = 'ok' | 'invalid_credentials' | 'no_such_object' | { error: string };

/** The values of one returned entry, attribute names folded (strcase hash). */
export class LdapEntry {
  readonly attrs = new Map<string, string[]>();
  readonly used = new Set<string>();
  constructor(readonly dn: string, entry: Entry) {
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'dn') continue;
      const list = Array.isArray(v) ? v : [v];
      this.attrs.set(k.toLowerCase(), list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x))));
    }
  }
  values(attr: string): string[] | undefined {
    const v = this.attrs.get(attr.toLowerCase());
    if (v) this.used.add(attr.toLowerCase());
    return v;
  }
}

export class LdapDb {
  readonly set: LdapSettings;
  readonly urls: string[];
  readonly scope: 'base' | 'one' | 'sub';
  readonly deref: 'never' | 'search' | 'find' | 'always';
  userdbUsed = false;
  refcount = 1;
  private search_: Client | undefined;
  private searchBound: Promise<void> | undefined;
  private bindClient: Client | undefined;
  private bindQueue: Promise<unknown> = Promise.resolve();
  private log: (msg: string) => void = () => {};

  constructor(readonly configPath: string) {
    if (configPath === '') throw new AuthConfigError('LDAP: Configuration file path not given');
    const set: LdapSettings = { ...LDAP_DEFAULTS };
    try {
      readSettingsFile(configPath, (key, value) => {
        if (!Object.hasOwn(LDAP_DEFAULTS, key)) return `Unknown setting: ${key}`;
        const rec = set as unknown as Record<string, unknown>;
        if (BOOL_KEYS.has(key)) {
          const v = value.toLowerCase();
          if (!['yes', 'no', 'y', 'n', '1', '0'].includes(v)) return `Invalid boolean: ${value}`;
          rec[key] = v === 'yes' || v === 'y' || v === '1';
        } else if (key === 'ldap_version') {
          if (!/^\d+$/.test(value)) return `Invalid number: ${value}`;
          rec[key] = Number(value);
        } else rec[key] = value;
        return undefined;
      });
    } catch (e) {
      if (e instanceof SettingsFileError) throw new AuthConfigError(`ldap ${configPath}: ${e.message}`);
      throw e;
    }
    this.set = set;
    const fatal = (msg: string) => new AuthConfigError(`LDAP ${configPath}: ${msg}`);
    if (set.base === undefined) throw fatal('No base given');
    if (set.uris === undefined && set.hosts === undefined) throw fatal('No uris or hosts set');
    if (set.sasl_bind) throw fatal('sasl_bind=yes but no SASL support compiled in');
    if (set.ldap_version < 3 && set.tls) throw fatal('tls=yes requires ldap_version=3');
    if (set.tls_require_cert !== undefined && !TLS_REQUIRE_CERT.includes(set.tls_require_cert.toLowerCase())) {
      throw fatal(`Unknown tls_require_cert value '${set.tls_require_cert}'`);
    }
    const deref = DEREFS[set.deref.toLowerCase()];
    if (!deref) throw fatal(`Unknown deref option '${set.deref}'`);
    const scope = SCOPES[set.scope.toLowerCase()];
    if (!scope) throw fatal(`Unknown scope option '${set.scope}'`);
    this.deref = deref;
    this.scope = scope;
    this.urls =
      set.uris !== undefined
        ? set.uris.split(/[ \t]+/).filter(Boolean)
        : set
            .hosts!.split(/[ \t]+/)
            .filter(Boolean)
            .map((h) => `ldap://${h}`);
  }

  /** Remember where connection errors go (the auth log, "ldap(PATH): " prefix). */
  connect(log: (msg: string) => void): void {
    this.log = (msg) => log(`ldap(${this.configPath}): ${msg}`);
  }

  private tlsOptions(): import('node:tls').ConnectionOptions {
    const s = this.set;
    const o: import('node:tls').ConnectionOptions = {};
    if (s.tls_ca_cert_file) o.ca = readFileSync(s.tls_ca_cert_file);
    if (s.tls_cert_file) o.cert = readFileSync(s.tls_cert_file);
    if (s.tls_key_file) o.key = readFileSync(s.tls_key_file);
    if (s.tls_cipher_suite) o.ciphers = s.tls_cipher_suite;
    const req = (s.tls_require_cert ?? 'demand').toLowerCase();
    o.rejectUnauthorized = req === 'demand' || req === 'hard';
    return o;
  }

  /** A connected client (first URL that answers), with StartTLS when tls = yes. */
  private async open(): Promise<Client> {
    let lastError: unknown;
    for (const url of this.urls) {
      const client = new Client({ url, connectTimeout: 5000, timeout: 30000, strictDN: false, tlsOptions: url.startsWith('ldaps:') ? this.tlsOptions() : undefined });
      try {
        if (this.set.tls) await client.startTLS(this.tlsOptions());
        return client;
      } catch (e) {
        lastError = e;
        await client.unbind().catch(() => {});
      }
    }
    throw lastError ?? new Error('no LDAP server');
  }

  /** The search connection, bound as `dn` (anonymous when unset). */
  private async searchClient(): Promise<Client> {
    if (this.search_ && this.searchBound) {
      await this.searchBound;
      return this.search_;
    }
    const pending = (async () => {
      const client = await this.open();
      try {
        if (this.set.dn !== undefined) await client.bind(this.set.dn, this.set.dnpass ?? '');
      } catch (e) {
        await client.unbind().catch(() => {});
        this.log(`binding failed (dn ${this.set.dn ?? 'anonymous'}): ${ldapErrorText(e)}`);
        throw e;
      }
      this.search_ = client;
    })();
    this.searchBound = pending;
    try {
      await pending;
    } catch (e) {
      this.searchBound = undefined;
      this.search_ = undefined;
      throw e;
    }
    return this.search_!;
  }

  private async dropSearchClient(): Promise<void> {
    const c = this.search_;
    this.search_ = undefined;
    this.searchBound = undefined;
    await c?.unbind().catch(() => {});
  }

  /**
   * Search `base` with `filter` (both already expanded and escaped). A
   * missing base is no entries (LDAP_NO_SUCH_OBJECT); any other failure
   * logs Dovecot's words and throws. A lost connection is retried once.
   */
  async search(req: AuthRequest, base: string, filter: string, attributes: string[]): Promise<LdapEntry[]> {
    for (let attempt = 0; ; attempt++) {
      let client: Client;
      try {
        client = await this.searchClient();
      } catch (e) {
        if (this.search_ === undefined && attempt === 0 && !('code' in (e as object) && typeof (e as { code: unknown }).code === 'number')) {
          this.log(`Can't connect to server: ${ldapErrorText(e)}`);
        }
        throw e;
      }
      try {
        const res = await client.search(base, { scope: this.scope, filter, attributes: attributes.length ? attributes : ['*'], derefAliases: this.deref });
        return res.searchEntries.map((e) => new LdapEntry(e.dn, e));
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 32) return [];
        if (typeof code !== 'number' && attempt === 0) {
          this.log('Connection lost to LDAP server, reconnecting');
          await this.dropSearchClient();
          continue;
        }
        req.logError('db', `ldap_search(base=${base} filter=${filter}) failed: ${ldapErrorText(e)}`);
        throw e;
      }
    }
  }

  /** Bind as `dn` with `password` (auth_bind), on the bind connection, one at a time. */
  bindUser(dn: string, password: string): Promise<LdapBindResult> {
    const run = async (): Promise<LdapBindResult> => {
      for (let attempt = 0; ; attempt++) {
        try {
          this.bindClient ??= await this.open();
          await this.bindClient.bind(dn, password);
          return 'ok';
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (code === 49) return 'invalid_credentials';
          if (code === 32) return 'no_such_object';
          const c = this.bindClient;
          this.bindClient = undefined;
          await c?.unbind().catch(() => {});
          if (typeof code !== 'number' && attempt === 0) continue;
          return { error: ldapErrorText(e) };
        }
      }
    };
    const p = this.bindQueue.then(run, run);
    this.bindQueue = p.catch(() => {});
    return p;
  }

  /** Expand `template` (base, filter, auth_bind_userdn) for `req` with ldap_escape. */
  expandQuery(req: AuthRequest, template: string): { value: string } | { error: string } {
    const r = req.expand(template, ldapEscape);
    if (r.ret <= 0) return { error: r.error ?? 'expansion failed' };
    return { value: r.value };
  }

  /** The expanded base and `filterName` filter for a search, or undefined after logging why not. */
  searchTarget(req: AuthRequest, filterName: 'pass_filter' | 'user_filter' | 'iterate_filter'): { base: string; filter: string } | undefined {
    const base = this.expandQuery(req, this.set.base!);
    if ('error' in base) {
      req.logError('db', `Failed to expand base=${this.set.base}: ${base.error}`);
      return undefined;
    }
    const filter = this.expandQuery(req, this.set[filterName]);
    if ('error' in filter) {
      req.logError('db', `Failed to expand ${filterName}=${this.set[filterName]}: ${filter.error}`);
      return undefined;
    }
    return { base: base.value, filter: filter.value };
  }

  async close(): Promise<void> {
    if (--this.refcount > 0) return;
    await this.dropSearchClient();
    await this.bindClient?.unbind().catch(() => {});
    this.bindClient = undefined;
  }
}

/**
 * db_ldap_result_iterate_next: the (name, values) pairs one entry gives
 * through an attribute map. `skipNull` leaves out fields without a value
 * (userdb); the passdb sees them as NULL fields.
 */
export function* ldapResultFields(req: AuthRequest, entry: LdapEntry, fields: LdapField[], skipNull: boolean): Generator<{ name: string; values: string[] }> {
  const fieldDefault = (data: string) => {
    const p = data.indexOf(':');
    return p < 0 ? '' : data.slice(p + 1);
  };
  const ldapFunc: VarFunc = (data) => {
    const attr = data.split(':')[0]!;
    const v = entry.values(attr);
    if (!v || v.length === 0) return { value: fieldDefault(data) };
    if (v.length > 1) req.logWarning('db', `Multiple values found for '${attr}', using value '${v[0]}'`);
    return { value: v[0]! };
  };
  const funcs: Record<string, VarFunc> = {
    ldap: ldapFunc,
    ldap_ptr: (data) => {
      const target = ldapFunc(data).value;
      return target === '' ? { value: '' } : ldapFunc(target);
    },
    ldap_dn: () => ({ value: entry.dn }),
  };
  for (const field of fields) {
    if (field.skip) continue;
    if (field.valueIsDn) {
      req.logError('db', `LDAP: @${field.name} (a field looked up from a DN) is not supported by Postern`);
      continue;
    }
    let values: string[] = field.ldapAttr === '' ? [] : (entry.values(field.ldapAttr) ?? []);
    if (field.template !== undefined && !(values.length === 0 && field.ldapAttr !== '')) {
      if (values.length > 1) req.logWarning('db', `Multiple values found for '${field.name}', using value '${values[0]}'`);
      const table = [{ key: '$', value: values[0] }, ...req.varTable()];
      const r = req.expand(field.template, undefined, undefined, table, funcs);
      if (r.ret <= 0) req.logWarning('db', `Failed to expand template ${field.template}: ${r.error ?? ''}`);
      values = [r.value];
    }
    let name = field.name;
    if (name.includes('%')) {
      const r = req.expand(name, undefined, undefined, undefined, funcs);
      if (r.ret <= 0) req.logWarning('db', `Failed to expand ${field.name}: ${r.error ?? ''}`);
      name = r.value;
    }
    if (skipNull && values.length === 0) continue;
    yield { name, values };
  }
}

/** One LdapDb per config file, shared by passdb and userdb (ldap_conn_find). */
export class LdapRegistry {
  private readonly dbs = new Map<string, LdapDb>();
  get(path: string, userdb: boolean): LdapDb {
    let db = this.dbs.get(path);
    if (db) db.refcount++;
    else {
      db = new LdapDb(path);
      this.dbs.set(path, db);
    }
    if (userdb) db.userdbUsed = true;
    return db;
  }
}
