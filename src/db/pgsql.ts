/**
 * db/pgsql.ts: a small pooled PostgreSQL client over node-postgres, shaped
 * after the host handling of Postfix's dict_pgsql.c so the pgsql: maps
 * behave like Postfix's, and generic enough for the Dovecot sql passdb.
 *
 * - Several hosts: a query goes to a host that already has a live
 *   connection (UNIX-domain hosts first, then TCP, then URIs; random among
 *   equals); otherwise untried hosts are connected in that order. A host
 *   whose connection fails, breaks or times out is left alone for
 *   `retryIntervalMs` (Postfix: 60 s) and the query moves to the next host.
 *   When no host is left the query fails with DbError (a temporary error
 *   for every caller: 4xx, never "not found").
 * - Per host, up to `maxConnections` connections are opened on demand and
 *   closed after `idleTimeoutMs` without use (Postfix: about 1 minute).
 * - Every query has a deadline (`queryTimeoutMs`): the server is asked to
 *   cancel it (statement_timeout) and the connection is dropped if the
 *   answer does not come; connecting has its own deadline.
 * - Values come back as the server's text (no type parsing), rows as
 *   arrays, so callers see exactly what libpq's PQgetvalue() gives.
 * - Idle sockets are unref'd: a command-line program (postmap -q) can exit
 *   without closing the pool, and a daemon is not kept alive by it.
 * - Strings go over the wire as UTF-8 (client_encoding UTF8); the escape
 *   for string literals follows the connection's standard_conforming_strings.
 */
import { userInfo } from 'node:os';
import pg from 'pg';
import { connectErrorText, lostConnectionText, serverErrorText } from './libpq-text.js';
import {
  DbError,
  type HostErrorEvent,
  type SqlClient,
  type SqlResult,
  type SqlText,
} from './types.js';

/** Where one configured host is, as Postfix's host_init() reads it. */
export interface PgHost {
  /** The host as written in the configuration (used in messages). */
  spec: string;
  type: 'unix' | 'inet' | 'uri';
  /** inet: host name or address; unix: socket directory. */
  host?: string;
  /** inet/unix: port (default 5432, or PGPORT). */
  port?: number;
  /** uri: the postgresql:// connection string. */
  uri?: string;
}

/**
 * host_init(): "postgresql://...", or "unix:/dir", "inet:host:port",
 * "/dir", "host", "host:port" (the unix:/inet: prefixes are ignored; a
 * leading '/' means a UNIX-domain socket directory).
 */
export function parsePgHost(spec: string): PgHost {
  if (spec.startsWith('postgresql:')) return { spec, type: 'uri', uri: spec };
  let d = spec;
  if (d.startsWith('unix:') || d.startsWith('inet:')) d = d.slice(5);
  if (d !== '' && !d.startsWith('/')) {
    const colon = d.lastIndexOf(':');
    if (colon >= 0) {
      const port = d.slice(colon + 1);
      return { spec, type: 'inet', host: d.slice(0, colon), port: port === '' ? undefined : Number(port) };
    }
    return { spec, type: 'inet', host: d };
  }
  return { spec, type: 'unix', host: d === '' ? undefined : d };
}

export interface PgPoolOptions {
  hosts: (PgHost | string)[];
  user?: string;
  password?: string;
  database?: string;
  /** Per host (default 4). */
  maxConnections?: number;
  /** Deadline to connect and log in, ms (default 10000). */
  connectTimeoutMs?: number;
  /** Deadline for one query, ms (default 30000; 0 = none). */
  queryTimeoutMs?: number;
  /** How long a failed host is skipped, ms (default 60000, as Postfix). */
  retryIntervalMs?: number;
  /** Close a connection unused this long, ms (default 60000, as Postfix). */
  idleTimeoutMs?: number;
  /** Called for each host that fails a connect or a query. */
  onHostError?: (event: HostErrorEvent) => void;
}

const RAW_TYPES = { getTypeParser: () => (value: string) => value };
const TYPE_ORDER: PgHost['type'][] = ['unix', 'inet', 'uri'];

interface Conn {
  client: pg.Client;
  busy: boolean;
  dead: boolean;
  /** Queries run on this connection so far. */
  uses: number;
  idleTimer: NodeJS.Timeout | undefined;
  standardStrings: boolean;
}

class HostState {
  conns: Conn[] = [];
  /** A host is "active" while it has live connections. */
  failedUntil = 0;
  connecting = 0;
  waiters: ((c: Conn | undefined) => void)[] = [];
  constructor(readonly host: PgHost) {}
  get active(): boolean {
    return this.conns.length > 0;
  }
}

/** PQescapeStringConn(): double quotes; double backslashes too unless standard_conforming_strings. */
export function pgEscapeString(text: string, standardConformingStrings = true): string {
  const quoted = text.replace(/'/g, "''");
  return standardConformingStrings ? quoted : quoted.replace(/\\/g, '\\\\');
}

export class PgPool implements SqlClient {
  private readonly hosts: HostState[];
  private closed = false;
  private readonly maxConnections: number;
  private readonly connectTimeoutMs: number;
  private readonly queryTimeoutMs: number;
  private readonly retryIntervalMs: number;
  private readonly idleTimeoutMs: number;

  constructor(private readonly opts: PgPoolOptions) {
    this.hosts = opts.hosts.map((h) => new HostState(typeof h === 'string' ? parsePgHost(h) : h));
    this.maxConnections = opts.maxConnections ?? 4;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? 30000;
    this.retryIntervalMs = opts.retryIntervalMs ?? 60000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60000;
  }

  /** Hosts in the order of configuration, with their state (for diagnostics and tests). */
  hostStates(): { spec: string; connections: number; down: boolean }[] {
    const now = Date.now();
    return this.hosts.map((h) => ({ spec: h.host.spec, connections: h.conns.length, down: h.failedUntil > now }));
  }

  async query(sql: SqlText, params?: readonly (string | null)[]): Promise<SqlResult> {
    if (this.closed) throw new DbError('unavailable', undefined, 'client is closed');
    const tried = new Set<HostState>();
    let last: DbError | undefined;
    let again: HostState | undefined;
    for (;;) {
      const h = again ?? this.pickHost(tried);
      again = undefined;
      if (h === undefined) break;
      tried.add(h);
      let conn: Conn;
      try {
        conn = await this.acquire(h);
      } catch (err) {
        last = err as DbError;
        if (this.closed) throw last;
        // A host that cannot be reached is left alone for a while; one that
        // is merely busy (no free connection in time) is not.
        if (last.kind === 'connect') this.markDown(h);
        this.opts.onHostError?.({ host: h.host.spec, phase: 'connect', error: last });
        continue;
      }
      try {
        const text = typeof sql === 'string' ? sql : sql((s) => pgEscapeString(s, conn.standardStrings));
        conn.uses++;
        const result = await this.run(h, conn, text, params);
        this.release(h, conn);
        return result;
      } catch (err) {
        last = err as DbError;
        if (this.closed) throw last;
        if (last.kind === 'query' && !conn.dead) this.release(h, conn);
        else if (last.kind === 'connection' && conn.uses > 1) {
          // A kept connection that went stale (server restart, idle cut):
          // reconnect to the same host once before calling it down.
          this.discard(h, conn);
          again = h;
          continue;
        } else {
          this.discard(h, conn);
          this.markDown(h);
        }
        this.opts.onHostError?.({ host: h.host.spec, phase: 'query', error: last });
      }
    }
    if (last !== undefined) throw last;
    throw new DbError('unavailable', undefined, 'no database host is available');
  }

  /** dict_pgsql_get_active(): a host with connections, else one to (re)connect. */
  private pickHost(tried: Set<HostState>): HostState | undefined {
    const now = Date.now();
    const usable = this.hosts.filter((h) => !tried.has(h));
    for (const type of TYPE_ORDER) {
      const act = usable.filter((h) => h.host.type === type && h.active && h.failedUntil <= now);
      if (act.length > 0) return act[Math.floor(Math.random() * act.length)];
    }
    for (const type of TYPE_ORDER) {
      const cand = usable.filter((h) => h.host.type === type && h.failedUntil <= now);
      if (cand.length > 0) return cand[Math.floor(Math.random() * cand.length)];
    }
    return undefined;
  }

  private markDown(h: HostState): void {
    h.failedUntil = Date.now() + this.retryIntervalMs;
    for (const c of [...h.conns]) if (!c.busy) this.discard(h, c);
  }

  /** A connection of host h: an idle one, a new one, or the next one freed (within the connect deadline). */
  private async acquire(h: HostState): Promise<Conn> {
    const deadline = Date.now() + this.connectTimeoutMs;
    for (;;) {
      if (this.closed) throw new DbError('unavailable', h.host.spec, 'client is closed');
      const idle = h.conns.find((c) => !c.busy && !c.dead);
      if (idle !== undefined) {
        this.checkout(idle);
        return idle;
      }
      if (h.conns.length + h.connecting < this.maxConnections) return this.open(h);
      const handed = await this.waitTurn(h, deadline - Date.now());
      if (handed !== undefined) return handed;
      // A slot came free (a connection was dropped): look again.
    }
  }

  private async open(h: HostState): Promise<Conn> {
    h.connecting++;
    try {
      const conn = await this.connect(h.host);
      h.conns.push(conn);
      const lost = () => {
        conn.dead = true;
        if (!conn.busy) this.discard(h, conn);
      };
      conn.client.on('error', lost);
      conn.client.on('end', lost);
      this.checkout(conn);
      return conn;
    } finally {
      h.connecting--;
    }
  }

  /** Wait for release() to hand over a connection, or discard() to free a slot (undefined). */
  private waitTurn(h: HostState, ms: number): Promise<Conn | undefined> {
    return new Promise<Conn | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = h.waiters.indexOf(waiter);
        if (at >= 0) h.waiters.splice(at, 1);
        reject(new DbError('timeout', h.host.spec, 'timeout waiting for a free connection'));
      }, Math.max(ms, 0));
      const waiter = (c: Conn | undefined) => {
        clearTimeout(timer);
        resolve(c);
      };
      h.waiters.push(waiter);
    });
  }

  private checkout(c: Conn): void {
    c.busy = true;
    if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    socketOf(c.client)?.ref();
  }

  private release(h: HostState, c: Conn): void {
    c.busy = false;
    if (c.dead || this.closed) {
      this.discard(h, c);
      return;
    }
    const waiter = h.waiters.shift();
    if (waiter !== undefined) {
      this.checkout(c);
      waiter(c);
      return;
    }
    socketOf(c.client)?.unref();
    c.idleTimer = setTimeout(() => this.discard(h, c), this.idleTimeoutMs);
    c.idleTimer.unref();
  }

  private discard(h: HostState, c: Conn): void {
    if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    c.dead = true;
    const at = h.conns.indexOf(c);
    if (at >= 0) h.conns.splice(at, 1);
    c.client.end().catch(() => {});
    socketOf(c.client)?.destroy();
    // Someone waiting for a connection may now open one.
    h.waiters.shift()?.(undefined);
  }

  private async connect(host: PgHost): Promise<Conn> {
    const config: pg.ClientConfig = {
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
    };
    if (host.type === 'uri') config.connectionString = host.uri;
    else {
      if (host.host !== undefined) config.host = host.host;
      if (host.port !== undefined) config.port = host.port;
      // libpq's default user: PGUSER, else the name of the process owner.
      config.user = this.opts.user || process.env.PGUSER || userInfo().username;
      if (this.opts.password) config.password = this.opts.password;
      if (this.opts.database) config.database = this.opts.database;
    }
    if (this.queryTimeoutMs > 0) config.statement_timeout = this.queryTimeoutMs;
    const client = new pg.Client(config);
    const conn: Conn = { client, busy: false, dead: false, uses: 0, idleTimer: undefined, standardStrings: true };
    client.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      if (msg.parameterName === 'standard_conforming_strings') conn.standardStrings = msg.parameterValue === 'on';
    });
    // Until connect() settles, errors arrive through it.
    const swallow = () => {};
    client.on('error', swallow);
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => {});
      const p = client as unknown as { host: string; port: number };
      throw new DbError('connect', host.spec, (err as Error).message, connectErrorText(p.host, p.port, err));
    } finally {
      client.off('error', swallow);
    }
    return conn;
  }

  private run(h: HostState, conn: Conn, text: string, params?: readonly (string | null)[]): Promise<SqlResult> {
    return new Promise<SqlResult>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      if (this.queryTimeoutMs > 0) {
        // statement_timeout normally answers first; this catches a server
        // that does not answer at all. Grace: one second.
        timer = setTimeout(() => {
          if (done) return;
          done = true;
          conn.dead = true;
          const msg = `query timed out after ${this.queryTimeoutMs} ms`;
          reject(new DbError('timeout', h.host.spec, msg, `${msg}\n`));
          socketOf(conn.client)?.destroy();
        }, this.queryTimeoutMs + 1000);
      }
      const query: pg.QueryArrayConfig = { text, rowMode: 'array', types: RAW_TYPES as never };
      if (params !== undefined) query.values = [...params];
      conn.client.query(query).then(
        (res: pg.QueryArrayResult | pg.QueryArrayResult[]) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          // Several statements: libpq's PQexec() keeps the last result.
          const last = Array.isArray(res) ? res[res.length - 1] : res;
          resolve({
            fields: (last?.fields ?? []).map((f) => f.name),
            rows: ((last?.rows ?? []) as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v)))),
            host: h.host.spec,
          });
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(toQueryError(h.host.spec, conn, text, err));
        },
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const h of this.hosts) {
      for (const w of h.waiters.splice(0)) w(undefined);
      for (const c of [...h.conns]) {
        if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
        const at = h.conns.indexOf(c);
        if (at >= 0) h.conns.splice(at, 1);
        c.dead = true;
        // Terminate is sent at once; the server's goodbye is not waited for.
        c.client.end().catch(() => {});
        socketOf(c.client)?.unref();
      }
    }
  }
}

/** Classify a failed query: a server error on a healthy connection, a timeout, or a broken connection. */
function toQueryError(host: string, conn: Conn, text: string, err: unknown): DbError {
  const e = err as pg.DatabaseError;
  const isServer = typeof e?.severity === 'string' && e.severity !== '';
  if (isServer) {
    const cls = (e.code ?? '').slice(0, 2);
    const fatal = e.severity === 'FATAL' || e.severity === 'PANIC';
    if (e.code === '57014') return new DbError('timeout', host, e.message, serverErrorText(e, text));
    if (fatal || cls === '08' || cls === '57') {
      conn.dead = true;
      return new DbError('connection', host, e.message, lostConnectionText(e));
    }
    return new DbError('query', host, e.message, serverErrorText(e, text));
  }
  conn.dead = true;
  return new DbError('connection', host, (e as Error)?.message ?? String(err), lostConnectionText(err));
}

function socketOf(client: pg.Client): { ref(): void; unref(): void; destroy(): void } | undefined {
  const stream = (client as unknown as { connection?: { stream?: { ref?(): void; unref?(): void; destroy(): void } } })
    .connection?.stream;
  if (stream === undefined || typeof stream.ref !== 'function') return undefined;
  return stream as { ref(): void; unref(): void; destroy(): void };
}
