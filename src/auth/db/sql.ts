/**
 * auth/db/sql.ts: the SQL database behind `passdb/userdb { driver = sql
 * args = /etc/dovecot/dovecot-sql.conf.ext }` (db-sql.c): the settings file
 * (driver, connect, password_query, user_query, iterate_query,
 * default_pass_scheme) and one shared client per file (src/db: sqlite,
 * pgsql). Query values are %-expanded with the driver's string escape. Any
 * database error is a temporary failure of the lookup, never "unknown user".
 */
import { PgPool, type PgPoolOptions } from '../../db/pgsql.js';
import { SqliteDb } from '../../db/sqlite.js';
import type { SqlClient, SqlEscape, SqlResult } from '../../db/types.js';
import { AuthConfigError } from '../drivers.js';
import type { AuthRequest } from '../request.js';
import { readSettingsFile, SettingsFileError } from './settings-file.js';

export interface SqlSettings {
  driver: string | undefined;
  connect: string | undefined;
  password_query: string;
  user_query: string;
  update_query: string;
  iterate_query: string;
  default_pass_scheme: string;
  userdb_warning_disable: boolean;
}

export const SQL_DEFAULTS: SqlSettings = {
  driver: undefined,
  connect: undefined,
  password_query: "SELECT username, domain, password FROM users WHERE username = '%n' AND domain = '%d'",
  user_query: "SELECT home, uid, gid FROM users WHERE username = '%n' AND domain = '%d'",
  update_query: "UPDATE users SET password = '%w' WHERE username = '%n' AND domain = '%d'",
  iterate_query: 'SELECT username, domain FROM users',
  default_pass_scheme: 'MD5',
  userdb_warning_disable: false,
};

/** Dovecot's pgsql connect string (libpq conninfo; several host= entries) as PgPool options. */
export function pgsqlOptions(connect: string): PgPoolOptions {
  const hosts: string[] = [];
  const o: PgPoolOptions = { hosts };
  let port: number | undefined;
  const re = /([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/gi;
  for (const m of connect.matchAll(re)) {
    const key = m[1]!.toLowerCase();
    let v = m[2]!;
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    switch (key) {
      case 'host':
      case 'hostaddr':
        hosts.push(v);
        break;
      case 'port':
        port = Number(v);
        break;
      case 'dbname':
        o.database = v;
        break;
      case 'user':
        o.user = v;
        break;
      case 'password':
        o.password = v;
        break;
      case 'connect_timeout':
        o.connectTimeoutMs = Number(v) * 1000;
        break;
      case 'maxconns':
        o.maxConnections = Number(v);
        break;
      default:
        break;
    }
  }
  if (hosts.length === 0) hosts.push('/var/run/postgresql');
  if (port !== undefined) o.hosts = hosts.map((h) => (h.startsWith('/') ? h : `inet:${h}:${port}`));
  return o;
}

export class SqlDb {
  readonly set: SqlSettings;
  readonly defaultPasswordQuery: boolean;
  readonly defaultUserQuery: boolean;
  readonly defaultIterateQuery: boolean;
  userdbUsed = false;
  refcount = 1;
  private client: SqlClient | undefined;
  private clientError: string | undefined;

  constructor(readonly configPath: string) {
    if (configPath === '') throw new AuthConfigError('sql: Configuration file path not given');
    const set: SqlSettings = { ...SQL_DEFAULTS };
    const seen = new Set<string>();
    try {
      readSettingsFile(configPath, (key, value) => {
        if (!Object.hasOwn(SQL_DEFAULTS, key)) return `Unknown setting: ${key}`;
        seen.add(key);
        if (key === 'userdb_warning_disable') {
          const v = value.toLowerCase();
          if (v !== 'yes' && v !== 'no' && v !== 'y' && v !== 'n' && v !== '1' && v !== '0') return `Invalid boolean: ${value}`;
          set.userdb_warning_disable = v === 'yes' || v === 'y' || v === '1';
        } else (set as unknown as Record<string, string>)[key] = value;
        return undefined;
      });
    } catch (e) {
      if (e instanceof SettingsFileError) throw new AuthConfigError(`sql ${configPath}: ${e.message}`);
      throw e;
    }
    this.set = set;
    this.defaultPasswordQuery = !seen.has('password_query');
    this.defaultUserQuery = !seen.has('user_query');
    this.defaultIterateQuery = !seen.has('iterate_query');
    if (set.driver === undefined) throw new AuthConfigError(`sql: driver not set in configuration file ${configPath}`);
    if (set.connect === undefined) throw new AuthConfigError(`sql: connect string not set in configuration file ${configPath}`);
    if (set.driver !== 'sqlite' && set.driver !== 'pgsql') {
      throw new AuthConfigError(set.driver === 'mysql' ? "sql: Postern has no mysql driver (use pgsql or sqlite)" : `Unknown database driver '${set.driver}'`);
    }
  }

  /** Open the connection (db_sql_connect): a failure now is only logged; queries then fail as temporary errors. */
  connect(log: (msg: string) => void): void {
    if (this.client || this.clientError) return;
    try {
      if (this.set.driver === 'sqlite') this.client = new SqliteDb(this.set.connect!);
      else this.client = new PgPool(pgsqlOptions(this.set.connect!));
    } catch (e) {
      this.clientError = (e as Error).message;
      log(`sqlite: open(${this.set.connect}) failed: ${this.clientError}`);
    }
  }

  /** Run `template` expanded for `req` with the driver's escape; throws on any database error. */
  async query(req: AuthRequest, template: string, what: string): Promise<SqlResult | { expandError: string }> {
    let expandError: string | undefined;
    const build = (esc: SqlEscape) => {
      const r = req.expand(template, esc);
      if (r.ret <= 0) expandError = r.error ?? 'expansion failed';
      return r.value;
    };
    if (!this.client) {
      // sqlite: retry opening (the file may have appeared).
      this.clientError = undefined;
      this.connect(() => {});
      if (!this.client) throw new Error(this.clientError ?? 'not connected');
    }
    // Expand once up front to report an expansion error without querying.
    const preview = build((t) => t.replace(/'/g, "''"));
    if (expandError !== undefined) return { expandError };
    req.logDebug('db', `${what}: ${preview}`);
    return this.client.query((e) => build(e));
  }

  async close(): Promise<void> {
    if (--this.refcount > 0) return;
    await this.client?.close();
  }
}

/** One SqlDb per config file, shared by passdb and userdb (sql_conn_find). */
export class SqlRegistry {
  private readonly dbs = new Map<string, SqlDb>();
  get(path: string, userdb: boolean): SqlDb {
    let db = this.dbs.get(path);
    if (db) db.refcount++;
    else {
      db = new SqlDb(path);
      this.dbs.set(path, db);
    }
    if (userdb) db.userdbUsed = true;
    return db;
  }
}
