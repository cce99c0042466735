/**
 * auth/passdb/sql.ts: `passdb { driver = sql args = dovecot-sql.conf.ext }`
 * (passdb-sql.c). password_query's columns become passdb fields
 * (`password`/`password_noscheme`, `user`, `userdb_*`, `nopassword` …);
 * NULL columns are left out; no row = unknown user; more than one row or
 * no password column = internal failure; a database error = internal
 * failure (FAIL code=temp_fail), never a wrong password.
 */
import type { Auth } from '../engine.js';
import type { SqlDb } from '../db/sql.js';
import type { CredentialsLookup, PassdbDriver } from '../drivers.js';
import { passwordGetScheme } from '../passwords.js';
import type { AuthRequest, PassdbResult } from '../request.js';

class SqlPassdb implements PassdbDriver {
  readonly name = 'sql';
  readonly defaultPassScheme: string;
  readonly defaultCacheKey: string;

  constructor(
    readonly auth: Auth,
    readonly db: SqlDb,
  ) {
    this.defaultPassScheme = db.set.default_pass_scheme;
    this.defaultCacheKey = db.set.password_query;
  }

  init(): void {
    this.db.connect((m) => this.auth.log('error', m));
    const s = this.db.set;
    if (!this.db.userdbUsed && !s.userdb_warning_disable) {
      if (!this.db.defaultUserQuery) {
        this.auth.log('warning', `sql: Ignoring changed user_query in ${this.db.configPath}, because userdb sql not used. (If this is intentional, set userdb_warning_disable=yes)`);
      } else if (!this.db.defaultIterateQuery) {
        this.auth.log('warning', `sql: Ignoring changed iterate_query in ${this.db.configPath}, because userdb sql not used. (If this is intentional, set userdb_warning_disable=yes)`);
      }
    }
  }

  /** The lookup: the result, and the stored password ({SCHEME} split) when there is one. */
  private async lookup(req: AuthRequest): Promise<{ result: PassdbResult; password?: string; scheme?: string }> {
    let res: Awaited<ReturnType<SqlDb['query']>>;
    try {
      res = await this.db.query(req, this.db.set.password_query, 'query');
    } catch (e) {
      const suffix = this.db.defaultPasswordQuery ? ` (using built-in default password_query: ${this.db.set.password_query})` : '';
      req.logError('db', `Password query failed: ${(e as Error).message}${suffix}`);
      return { result: 'internal_failure' };
    }
    if ('expandError' in res) {
      req.logDebug('db', `Failed to expand password_query=${this.db.set.password_query}: ${res.expandError}`);
      return { result: 'internal_failure' };
    }
    if (res.rows.length === 0) {
      req.auth.logLoginFailure(req, 'db', 'unknown user');
      return { result: 'user_unknown' };
    }
    const row = res.rows[0]!;
    res.fields.forEach((name, i) => {
      const v = row[i];
      if (name === '') return;
      if (v === null || v === undefined) {
        if (name.startsWith('userdb_')) req.userdbPrefetchSet = true;
      } else req.setField(name, v, this.defaultPassScheme);
    });
    if (!res.fields.includes('password') && !res.fields.includes('password_noscheme')) {
      req.logError('db', "Password query must return a field named 'password'");
      return { result: 'internal_failure' };
    }
    if (res.rows.length > 1) {
      req.logError('db', 'Password query returned multiple matches');
      return { result: 'internal_failure' };
    }
    if (req.passdbPassword === undefined && !req.extraFields.exists('nopassword')) return { result: req.auth.passwordMissing(req) };
    if (req.passdbPassword === undefined) return { result: 'ok' };
    const { scheme, rest } = passwordGetScheme(req.passdbPassword);
    return { result: 'ok', password: rest, scheme: scheme ?? this.defaultPassScheme };
  }

  async verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult> {
    const r = await this.lookup(req);
    if (r.password === undefined) return r.result;
    const ret = await req.auth.passwordVerify(req, password, r.password, r.scheme!, 'db');
    return ret > 0 ? 'ok' : 'password_mismatch';
  }

  async lookupCredentials(req: AuthRequest): Promise<CredentialsLookup> {
    const r = await this.lookup(req);
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

export function sqlPassdb(auth: Auth, args: string): PassdbDriver {
  return new SqlPassdb(auth, auth.sqlDbs.get(args, false));
}
