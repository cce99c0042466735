/**
 * db/types.ts: the small SQL client interface shared by the PostgreSQL and
 * SQLite clients (src/db/pgsql.ts, src/db/sqlite.ts) and their users: the
 * pgsql:/sqlite: lookup tables (src/maps/sql) and the Dovecot sql
 * passdb/userdb.
 *
 * A query is either plain text (with optional positional parameters) or a
 * builder that receives the connection's string-literal escape, for the
 * Postfix/Dovecot style of templates that splice escaped values into SQL
 * text ("WHERE mailbox = '%s'").
 */

/** One result set, every value as the server's text (NULL as null). */
export interface SqlResult {
  /** Column names, in order (duplicates kept). */
  fields: string[];
  /** Rows as arrays in column order. */
  rows: (string | null)[][];
  /** The host that answered (multi-host clients), as configured. */
  host?: string;
}

/**
 * Escapes text for use inside a single-quoted SQL string literal
 * (PQescapeStringConn, sqlite3_mprintf("%q")): no surrounding quotes.
 */
export type SqlEscape = (text: string) => string;

/** SQL text, or a builder that splices escaped values into a template. */
export type SqlText = string | ((esc: SqlEscape) => string);

export type DbErrorKind =
  /** Could not connect / open (server down, refused, auth failure, timeout). */
  | 'connect'
  /** The server rejected the query (syntax, permissions, types...). */
  | 'query'
  /** The query did not finish in time; the connection was dropped. */
  | 'timeout'
  /** The connection broke during the query. */
  | 'connection'
  /** No host can be tried (all are in their retry back-off), or the client is closed. */
  | 'unavailable';

/** Why a query could not be answered. Every DbError is a temporary failure for a caller. */
export class DbError extends Error {
  constructor(
    readonly kind: DbErrorKind,
    /** The host (as configured) the error came from, when there was one. */
    readonly host: string | undefined,
    message: string,
    /** Client-library text in the style of libpq's PQerrorMessage (may span lines). */
    readonly detail: string = message,
  ) {
    super(message);
    this.name = 'DbError';
  }
}

/** Per-host failures as they happen (a multi-host client then tries the next host). */
export interface HostErrorEvent {
  host: string;
  phase: 'connect' | 'query';
  error: DbError;
}

export interface SqlClient {
  /**
   * Run one query. Parameters are $1, $2... (PostgreSQL) or ? (SQLite).
   * Throws DbError when no result can be had.
   */
  query(sql: SqlText, params?: readonly (string | null)[]): Promise<SqlResult>;
  /** Close every connection; later queries throw DbError('unavailable'). */
  close(): Promise<void>;
}
