/**
 * auth/passdb/ldap.ts: `passdb { driver = ldap args = dovecot-ldap.conf.ext }`
 * (passdb-ldap.c). Three ways to check a password:
 * - auth_bind = no: search pass_filter, pass_attrs give the fields
 *   (`userPassword=password` by default) and the password is compared here;
 * - auth_bind = yes: search for the user's DN, then bind as it with the
 *   password the client gave (pass_attrs still add extra fields);
 * - auth_bind = yes + auth_bind_userdn: bind straight to the expanded DN.
 * No entry = unknown user; several = internal failure; an LDAP error =
 * internal failure (temp_fail), never a wrong password.
 */
import type { Auth } from '../engine.js';
import { type LdapDb, type LdapEntry, type LdapField, ldapResultFields, parseLdapAttrs } from '../db/ldap.js';
import type { CredentialsLookup, PassdbDriver } from '../drivers.js';
import { passwordGetScheme } from '../passwords.js';
import type { AuthRequest, PassdbResult } from '../request.js';

class LdapPassdb implements PassdbDriver {
  readonly name = 'ldap';
  readonly defaultPassScheme: string;
  readonly defaultCacheKey: string;
  readonly fields: LdapField[];
  readonly attrNames: string[];

  constructor(
    readonly auth: Auth,
    readonly db: LdapDb,
  ) {
    const s = db.set;
    this.defaultPassScheme = s.default_pass_scheme;
    this.defaultCacheKey = `${s.base}${s.pass_attrs}${s.pass_filter}`;
    const attrs = parseLdapAttrs(s.pass_attrs, s.auth_bind ? 'password' : undefined, (m) => auth.log('error', `ldap(${db.configPath}): ${m}`));
    this.fields = attrs.fields;
    this.attrNames = attrs.attrNames;
  }

  init(): void {
    this.db.connect((m) => this.auth.log('error', m));
  }

  /** The pass_filter search: the one entry, or a passdb result when there is not exactly one. */
  private async searchUser(req: AuthRequest, kind: 'pass' | 'bind'): Promise<LdapEntry | PassdbResult> {
    const target = this.db.searchTarget(req, 'pass_filter');
    if (!target) return 'internal_failure';
    const { base, filter } = target;
    if (kind === 'pass') {
      req.logDebug('db', `pass search: base=${base} scope=${this.db.set.scope} filter=${filter} fields=${this.attrNames.join(',') || '(all)'}`);
    } else req.logDebug('db', `bind search: base=${base} filter=${filter}`);
    let entries: LdapEntry[];
    try {
      entries = await this.db.search(req, base, filter, this.attrNames);
    } catch {
      return 'internal_failure';
    }
    if (entries.length === 0) {
      req.auth.logLoginFailure(req, 'db', 'unknown user');
      return 'user_unknown';
    }
    if (entries.length > 1) {
      req.logError('db', 'pass_filter matched multiple objects, aborting');
      return 'internal_failure';
    }
    const entry = entries[0]!;
    this.saveFields(req, entry);
    return entry;
  }

  /** ldap_query_save_result: the entry's mapped fields become passdb fields. */
  private saveFields(req: AuthRequest, entry: LdapEntry): void {
    for (const { name, values } of ldapResultFields(req, entry, this.fields, false)) {
      if (values.length === 0) {
        if (name.startsWith('userdb_')) req.userdbPrefetchSet = true;
        continue;
      }
      if (values.length > 1) req.logWarning('db', `Multiple values found for '${name}', using value '${values[0]}'`);
      req.setField(name, values[0]!, this.defaultPassScheme);
    }
  }

  /** auth_bind: bind as `dn` with the password the client sent. */
  private async authBind(req: AuthRequest, dn: string): Promise<PassdbResult> {
    if ((req.mechPassword ?? '') === '') {
      // An empty password would succeed as an anonymous bind on many servers (AD): refuse it.
      req.logInfo('db', 'Login attempt with empty password');
      return 'password_mismatch';
    }
    const r = await this.db.bindUser(dn, req.mechPassword!);
    if (r === 'ok') return 'ok';
    if (r === 'invalid_credentials') {
      req.auth.logLoginFailure(req, 'db', 'Password mismatch (for LDAP bind)');
      return 'password_mismatch';
    }
    if (r === 'no_such_object') {
      req.auth.logLoginFailure(req, 'db', 'unknown user');
      return 'user_unknown';
    }
    req.logError('db', `ldap_bind() failed: ${r.error}`);
    return 'internal_failure';
  }

  /** The password lookup (auth_bind = no) and its {SCHEME}. */
  private async lookupPass(req: AuthRequest, requirePassword: boolean): Promise<{ result: PassdbResult; password?: string; scheme?: string }> {
    const found = await this.searchUser(req, 'pass');
    if (typeof found === 'string') return { result: found };
    if (req.passdbPassword === undefined && requirePassword && !req.extraFields.exists('nopassword')) return { result: req.auth.passwordMissing(req) };
    if (req.passdbPassword === undefined) return { result: 'ok' };
    const { scheme, rest } = passwordGetScheme(req.passdbPassword);
    return { result: 'ok', password: rest, scheme: scheme ?? this.defaultPassScheme };
  }

  async verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult> {
    const s = this.db.set;
    if (!s.auth_bind) {
      const r = await this.lookupPass(req, true);
      if (r.password === undefined) return r.result;
      const ret = await req.auth.passwordVerify(req, password, r.password, r.scheme!, 'db');
      return ret > 0 ? 'ok' : 'password_mismatch';
    }
    if (s.auth_bind_userdn === undefined) {
      const found = await this.searchUser(req, 'bind');
      if (typeof found === 'string') return found;
      // Already verified (e.g. by an earlier passdb): only the extra fields were wanted.
      if (req.skipPasswordCheck) return 'ok';
      return this.authBind(req, found.dn);
    }
    const dn = this.db.expandQuery(req, s.auth_bind_userdn);
    if ('error' in dn) {
      req.logError('db', `Failed to expand auth_bind_userdn=${s.auth_bind_userdn}: ${dn.error}`);
      return 'internal_failure';
    }
    return this.authBind(req, dn.value);
  }

  async lookupCredentials(req: AuthRequest): Promise<CredentialsLookup> {
    // With auth_bind there may be no password: fine for LMTP/doveadm passdb lookups.
    const r = await this.lookupPass(req, !this.db.set.auth_bind);
    const out: CredentialsLookup = { result: r.result };
    if (r.password !== undefined) {
      out.password = r.password;
      out.scheme = r.scheme!;
    }
    return out;
  }

  async deinit(): Promise<void> {
    await this.db.close();
  }
}

export function ldapPassdb(auth: Auth, args: string): PassdbDriver {
  return new LdapPassdb(auth, auth.ldapDbs.get(args, false));
}
