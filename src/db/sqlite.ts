/**
 * db/sqlite.ts: a small SQLite client over better-sqlite3 (Node 20 has no
 * node:sqlite), with the interface of db/types.ts so the sqlite: maps and
 * the Dovecot sql passdb can share it.
 *
 * - Values come back as sqlite3_column_text() would give them: integers in
 *   decimal (64-bit exact), reals as SQLite 3.40's "%!.15g" (what Debian's
 *   libsqlite3 and so Postfix print), blobs as their bytes, NULL as null.
 * - A text with several statements runs only the first (sqlite3_prepare
 *   leaves the rest unused), as Postfix's sqlite driver does.
 * - `byteStrings`: SQL text, parameters and results are "byte strings" (one
 *   char per byte, the UTF-8 bytes SQLite stores), as Postern's lookup
 *   tables carry keys and values; otherwise ordinary JavaScript strings.
 * - better-sqlite3 is synchronous: a query blocks the event loop for its
 *   duration (lookups on indexed tables take microseconds). A locked
 *   database is retried for at most `busyTimeoutMs`, then fails.
 */
import Database from 'better-sqlite3';
import { DbError, type SqlClient, type SqlEscape, type SqlResult, type SqlText } from './types.js';

export interface SqliteOptions {
  /** Open read-only (the file must exist). Default: read-write, created if missing, as sqlite3_open(). */
  readonly?: boolean;
  /** Strings in and out are byte strings (see above). */
  byteStrings?: boolean;
  /** How long a locked database is waited for, ms (default 100). */
  busyTimeoutMs?: number;
}

/** sqlite3_mprintf("%q"): double the single quotes. */
export const sqliteEscapeString: SqlEscape = (text) => text.replace(/'/g, "''");

/** SQLite 3.40's text for a REAL: printf "%!.15g" (at least one digit after the point). */
export function sqliteRealText(x: number): string {
  if (Number.isNaN(x)) return '';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  if (x === 0) return '0.0';
  const [mant, expText] = x.toExponential(14).split('e') as [string, string];
  const exp = Number(expText);
  const trim = (s: string) => {
    if (!s.includes('.')) return `${s}.0`;
    const t = s.replace(/0+$/, '');
    return t.endsWith('.') ? `${t}0` : t;
  };
  if (exp < -4 || exp >= 15) {
    const e = Math.abs(exp);
    return `${trim(mant)}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return trim(x.toFixed(14 - exp));
}

/**
 * The first statement of `sql` (through its ';'), skipping quoted text and
 * comments; the whole text when there is only one.
 */
export function firstStatement(sql: string): string {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = sql.indexOf(c, i + 1);
      // A doubled quote continues the string; indexOf finds each half in turn.
      i = end < 0 ? n : end + 1;
    } else if (c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === ';') {
      return sql.slice(0, i + 1);
    } else i++;
  }
  return sql;
}

const toUtf8 = (s: string) => Buffer.from(s, 'latin1').toString('utf8');
const fromUtf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

export class SqliteDb implements SqlClient {
  private db: Database.Database | undefined;

  /** Open (sqlite3_open); throws DbError('connect') with SQLite's message. */
  constructor(
    readonly path: string,
    private readonly opts: SqliteOptions = {},
  ) {
    const file = opts.byteStrings ? toUtf8(path) : path;
    try {
      this.db = new Database(file, {
        readonly: opts.readonly ?? false,
        fileMustExist: opts.readonly ?? false,
        timeout: opts.busyTimeoutMs ?? 100,
      });
    } catch (err) {
      // better-sqlite3 checks the directory itself; SQLite's own words for it:
      const msg = sqliteMessage(err);
      throw new DbError('connect', path, /directory does not exist/.test(msg) ? 'unable to open database file' : msg);
    }
  }

  /** Prepare errors are 'query' (Postfix: fatal), step errors are 'connection' (Postfix: retry). */
  async query(sql: SqlText, params?: readonly (string | null)[]): Promise<SqlResult> {
    return this.querySync(sql, params);
  }

  querySync(sql: SqlText, params?: readonly (string | null)[]): SqlResult {
    const db = this.db;
    if (db === undefined) throw new DbError('unavailable', this.path, 'database is closed');
    let text = typeof sql === 'string' ? sql : sql(sqliteEscapeString);
    const bytes = this.opts.byteStrings === true;
    if (bytes) text = toUtf8(text);
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(firstStatement(text));
    } catch (err) {
      throw new DbError('query', this.path, bytes ? fromUtf8(sqliteMessage(err)) : sqliteMessage(err));
    }
    const fields = stmt.reader ? stmt.columns().map((c) => (bytes ? fromUtf8(c.name) : c.name)) : [];
    const args = (params ?? []).map((p) => (p !== null && bytes ? toUtf8(p) : p));
    try {
      if (!stmt.reader) {
        stmt.run(...args);
        return { fields, rows: [] };
      }
      stmt.raw(true).safeIntegers(true);
      const rows: (string | null)[][] = [];
      for (const row of stmt.iterate(...args) as IterableIterator<unknown[]>) {
        rows.push(row.map((v) => columnText(v, bytes)));
      }
      return { fields, rows };
    } catch (err) {
      throw new DbError('connection', this.path, bytes ? fromUtf8(sqliteMessage(err)) : sqliteMessage(err));
    }
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }
}

function columnText(v: unknown, bytes: boolean): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return bytes ? fromUtf8(v) : v;
  if (typeof v === 'bigint') return v.toString();
  // With safeIntegers, INTEGER values are bigints: a number is a REAL.
  if (typeof v === 'number') return sqliteRealText(v);
  if (Buffer.isBuffer(v)) return bytes ? v.toString('latin1') : v.toString('utf8');
  return String(v);
}

function sqliteMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
