/**
 * auth/userdb/sql.ts: `userdb { driver = sql args = dovecot-sql.conf.ext }`
 * (userdb-sql.c): user_query's non-NULL columns become userdb fields;
 * iterate_query lists users from a `user` column, or `username` (+ `domain`).
 */
import type { Auth } from '../engine.js';
import type { SqlDb } from '../db/sql.js';
import type { UserdbDriver, UserIteration } from '../drivers.js';
import type { AuthRequest, UserdbResult } from '../request.js';

class SqlUserdb implements UserdbDriver {
  readonly name = 'sql';
  readonly defaultCacheKey: string;

  constructor(
    readonly auth: Auth,
    readonly db: SqlDb,
  ) {
    this.defaultCacheKey = db.set.user_query;
  }

  init(): void {
    this.db.connect((m) => this.auth.log('error', m));
  }

  async lookup(req: AuthRequest): Promise<UserdbResult> {
    let res: Awaited<ReturnType<SqlDb['query']>>;
    try {
      res = await this.db.query(req, this.db.set.user_query, 'query');
    } catch (e) {
      const suffix = this.db.defaultUserQuery ? ` (using built-in default user_query: ${this.db.set.user_query})` : '';
      req.logError('db', `User query failed: ${(e as Error).message}${suffix}`);
      return 'internal_failure';
    }
    if ('expandError' in res) {
      req.logError('db', `Failed to expand user_query=${this.db.set.user_query}: ${res.expandError}`);
      return 'internal_failure';
    }
    if (res.rows.length === 0) {
      req.auth.logLoginFailure(req, 'db', 'unknown user');
      return 'user_unknown';
    }
    const row = res.rows[0]!;
    res.fields.forEach((name, i) => {
      const v = row[i];
      if (name !== '' && v !== null && v !== undefined) req.setUserdbField(name, v);
    });
    return 'ok';
  }

  iterate(req: AuthRequest): UserIteration {
    let failed = false;
    const db = this.db;
    async function* users(): AsyncGenerator<string> {
      let res: Awaited<ReturnType<SqlDb['query']>>;
      try {
        res = await db.query(req, db.set.iterate_query, 'iterate query');
      } catch (e) {
        const suffix = db.defaultIterateQuery ? ` (using built-in default iterate_query: ${db.set.iterate_query})` : '';
        req.logError('db', `sql: Iterate query failed: ${(e as Error).message}${suffix}`);
        failed = true;
        return;
      }
      if ('expandError' in res) {
        req.logError('db', `Failed to expand iterate_query=${db.set.iterate_query}: ${res.expandError}`);
        failed = true;
        return;
      }
      const userIdx = res.fields.indexOf('user');
      const nameIdx = res.fields.indexOf('username');
      const domIdx = res.fields.indexOf('domain');
      for (const row of res.rows) {
        let user: string | null | undefined;
        if (userIdx === 0) user = row[0];
        else if (nameIdx < 0) {
          req.logError('db', "sql: Iterate query didn't return 'user' field");
          failed = true;
          return;
        } else {
          user = row[nameIdx];
          const dom = domIdx < 0 ? null : row[domIdx];
          if (user !== null && user !== undefined && dom !== null && dom !== undefined) user = `${user}@${dom}`;
        }
        if (user === null || user === undefined) {
          req.logError('db', 'sql: Iterate query returned NULL user');
          failed = true;
          return;
        }
        yield user;
      }
    }
    return { users: users(), failed: () => failed };
  }

  async deinit(): Promise<void> {
    await this.db.close();
  }
}

export function sqlUserdb(auth: Auth, args: string): UserdbDriver {
  return new SqlUserdb(auth, auth.sqlDbs.get(args, true));
}
