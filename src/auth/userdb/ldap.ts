/**
 * auth/userdb/ldap.ts: `userdb { driver = ldap args = dovecot-ldap.conf.ext }`
 * (userdb-ldap.c): user_filter finds the entry, user_attrs map its
 * attributes to userdb fields (several gid values become a gid list, other
 * fields take the first value); iterate_filter + iterate_attrs list users
 * from the `user` field for doveadm -A.
 */
import type { Auth } from '../engine.js';
import { type LdapDb, type LdapEntry, type LdapField, ldapResultFields, parseLdapAttrs } from '../db/ldap.js';
import type { UserdbDriver, UserIteration } from '../drivers.js';
import type { AuthRequest, UserdbResult } from '../request.js';

class LdapUserdb implements UserdbDriver {
  readonly name = 'ldap';
  readonly defaultCacheKey: string;
  readonly userFields: LdapField[];
  readonly userAttrNames: string[];
  readonly iterFields: LdapField[];
  readonly iterAttrNames: string[];

  constructor(
    readonly auth: Auth,
    readonly db: LdapDb,
  ) {
    const s = db.set;
    this.defaultCacheKey = `${s.base}${s.user_attrs}${s.user_filter}`;
    const logError = (m: string) => auth.log('error', `ldap(${db.configPath}): ${m}`);
    ({ fields: this.userFields, attrNames: this.userAttrNames } = parseLdapAttrs(s.user_attrs, undefined, logError));
    ({ fields: this.iterFields, attrNames: this.iterAttrNames } = parseLdapAttrs(s.iterate_attrs, undefined, logError));
  }

  init(): void {
    this.db.connect((m) => this.auth.log('error', m));
  }

  async lookup(req: AuthRequest): Promise<UserdbResult> {
    const target = this.db.searchTarget(req, 'user_filter');
    if (!target) return 'internal_failure';
    const { base, filter } = target;
    req.logDebug('db', `user search: base=${base} scope=${this.db.set.scope} filter=${filter} fields=${this.userAttrNames.join(',') || '(all)'}`);
    let entries: LdapEntry[];
    try {
      entries = await this.db.search(req, base, filter, this.userAttrNames);
    } catch {
      return 'internal_failure';
    }
    if (entries.length === 0) {
      req.auth.logLoginFailure(req, 'db', 'unknown user');
      return 'user_unknown';
    }
    if (entries.length > 1) {
      req.logError('db', 'user_filter matched multiple objects, aborting');
      return 'internal_failure';
    }
    for (const { name, values } of ldapResultFields(req, entries[0]!, this.userFields, true)) {
      if (name === 'gid') {
        // auth_request_set_userdb_field_values: several gids become "gid1,gid2".
        req.setUserdbField(name, values.join(','));
        continue;
      }
      if (values.length > 1) req.logWarning('db', `Multiple values found for '${name}', using value '${values[0]}'`);
      req.setUserdbField(name, values[0]!);
    }
    return 'ok';
  }

  iterate(req: AuthRequest): UserIteration {
    let failed = false;
    const self = this;
    async function* users(): AsyncGenerator<string> {
      const target = self.db.searchTarget(req, 'iterate_filter');
      if (!target) {
        failed = true;
        return;
      }
      let entries: LdapEntry[];
      try {
        entries = await self.db.search(req, target.base, target.filter, self.iterAttrNames);
      } catch {
        failed = true;
        return;
      }
      for (const entry of entries) {
        for (const { name, values } of ldapResultFields(req, entry, self.iterFields, true)) {
          if (name !== 'user') {
            req.logWarning('db', `iterate: Ignoring field not named 'user': ${name}`);
            continue;
          }
          yield* values;
        }
      }
    }
    return { users: users(), failed: () => failed };
  }

  async deinit(): Promise<void> {
    await this.db.close();
  }
}

export function ldapUserdb(auth: Auth, args: string): UserdbDriver {
  return new LdapUserdb(auth, auth.ldapDbs.get(args, true));
}
