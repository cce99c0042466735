/**
 * test/helpers/pgsql-server.ts: a throw-away PostgreSQL server for tests.
 *
 * startPgServer() runs Debian's initdb into a fresh temporary directory and
 * starts `postgres` on a free loopback port (TCP on 127.0.0.1 plus a unix
 * socket in the same directory), with trust authentication for the local
 * superuser `postgres` and, optionally, password users for tests of the
 * `user`/`password` settings. PostgreSQL refuses to run as root, so when the
 * tests run as root (here and in CI) both programs run as the `postgres`
 * system user (Node's spawn uid/gid, which also drops supplementary groups)
 * and the directory is handed to that user.
 *
 * The server can be stopped and started again on the same port (tests of
 * "server down" behaviour); destroy() stops it and removes the directory.
 * A process exit hook kills a server a crashed test left behind.
 *
 * Reusable by any test that needs a real server (pgsql: maps, the Dovecot
 * sql passdb): `const pg = await startPgServer(); await pg.exec(sql); ...
 * await pg.destroy();`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Where Debian puts the server binaries: the newest /usr/lib/postgresql/N/bin. */
export function findPgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : undefined;
}

/** Is a PostgreSQL server installation present? (.ci/run installs `postgresql`.) */
export function pgServerAvailable(): boolean {
  return findPgBinDir() !== undefined;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function postgresIds(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0)
    throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export interface PgServerOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Users to create with a password: name → password (scram-sha-256 over TCP). */
  passwordUsers?: Record<string, string>;
  /** Milliseconds to wait for the server to accept connections (default 30000). */
  startTimeoutMs?: number;
}

const live = new Set<PgServer>();
process.on('exit', () => {
  for (const s of live) s.killNow();
});
// A test process killed by a signal (runner timeout, ^C) takes its servers
// with it, then dies of the same signal.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = () => {
    for (const s of live) s.killNow();
    process.removeListener(sig, onSignal);
    process.kill(process.pid, sig);
  };
  process.on(sig, onSignal);
}

export class PgServer {
  /** Loopback address the server listens on. */
  readonly host = '127.0.0.1';
  /** Superuser name (trust authentication). */
  readonly superuser = 'postgres';
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  private constructor(
    readonly dir: string,
    readonly dataDir: string,
    /** Directory holding the unix socket `.s.PGSQL.<port>`. */
    readonly socketDir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly runAs: RunAs,
    private readonly opts: PgServerOptions,
  ) {}

  /** initdb into a new temporary directory and start the server. */
  static async create(opts: PgServerOptions = {}): Promise<PgServer> {
    const bin = findPgBinDir();
    if (bin === undefined) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin');
    const runAs = postgresIds();
    const dir = mkdtempSync(join(tmpdir(), 'postern-pg-'));
    const dataDir = join(dir, 'data');
    const socketDir = dir;
    if (runAs.uid !== undefined) chownSync(dir, runAs.uid, runAs.gid!);
    const port = await freeLoopbackPort();
    const server = new PgServer(dir, dataDir, socketDir, port, bin, runAs, opts);
    live.add(server);
    try {
      server.initdb();
      await server.start();
      await server.createPasswordUsers();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  private initdb(): void {
    const r = spawnSync(
      join(this.bin, 'initdb'),
      ['-D', this.dataDir, '-U', this.superuser, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { encoding: 'utf8', cwd: this.dir, ...this.runAs },
    );
    if (r.status !== 0) throw new Error(`initdb failed (${r.status}): ${r.stderr || r.error?.message}`);
    if (this.opts.passwordUsers !== undefined && Object.keys(this.opts.passwordUsers).length > 0) {
      // Password users authenticate over TCP; the superuser keeps trust.
      const hba = join(this.dataDir, 'pg_hba.conf');
      const rules = [
        'local all all trust',
        `host all ${this.superuser} 127.0.0.1/32 trust`,
        'host all all 127.0.0.1/32 scram-sha-256',
      ];
      writeFileSync(hba, `${rules.join('\n')}\n`);
    }
  }

  /** Start the server (again, after stop()) on the same port and directories. */
  async start(): Promise<void> {
    if (this.proc !== undefined) return;
    const args = ['-D', this.dataDir, '-k', this.socketDir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1'];
    const settings: Record<string, string> = {
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '50',
      shared_buffers: '16MB',
      ...this.opts.settings,
    };
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const proc = spawn(join(this.bin, 'postgres'), args, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...this.runAs,
    });
    this.proc = proc;
    this.log = '';
    const onData = (b: Buffer) => {
      this.log += b.toString('utf8');
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 30000);
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        this.proc = undefined;
        throw new Error(`postgres exited while starting:\n${this.log}`);
      }
      if (/database system is ready to accept connections/.test(this.log) && (await this.canConnect())) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`postgres did not start in time:\n${this.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async canConnect(): Promise<boolean> {
    const c = new pg.Client(this.clientConfig());
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      c.end().catch(() => {});
      return false;
    }
  }

  /** Fast shutdown (SIGINT): sessions are disconnected, the port is closed. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    this.proc = undefined;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Is the server process running? */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Server log so far (for failure messages). */
  get serverLog(): string {
    return this.log;
  }

  /** Stop the server and remove the temporary directory. */
  async destroy(): Promise<void> {
    await this.stop();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** exit hook: no waiting possible. SIGQUIT = immediate shutdown, children and shared memory included. */
  killNow(): void {
    try {
      this.proc?.kill('SIGQUIT');
    } catch {
      /* already gone */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** node-postgres settings for the superuser over TCP (database default "postgres"). */
  clientConfig(database = 'postgres'): pg.ClientConfig {
    return { host: this.host, port: this.port, user: this.superuser, database };
  }

  /** Run SQL (one or more statements) as the superuser; returns the last result's rows. */
  async exec(sql: string, database = 'postgres'): Promise<Record<string, unknown>[]> {
    const c = new pg.Client(this.clientConfig(database));
    await c.connect();
    try {
      const res = (await c.query(sql)) as pg.QueryResult | pg.QueryResult[];
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return last?.rows ?? [];
    } finally {
      await c.end();
    }
  }

  /** CREATE DATABASE name (optionally owned by a password user). */
  async createDatabase(name: string, owner?: string): Promise<void> {
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    await this.exec(`CREATE DATABASE ${q(name)}${owner ? ` OWNER ${q(owner)}` : ''} ENCODING 'UTF8' TEMPLATE template0`);
  }

  private async createPasswordUsers(): Promise<void> {
    for (const [user, password] of Object.entries(this.opts.passwordUsers ?? {})) {
      const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
      await this.exec(`CREATE ROLE "${user.replace(/"/g, '""')}" LOGIN PASSWORD ${lit(password)}`);
    }
  }

  /** The server's postmaster.pid exists (for diagnostics). */
  pidFileExists(): boolean {
    try {
      return readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').length > 0;
    } catch {
      return false;
    }
  }
}

/** Convenience: PgServer.create(). */
export function startPgServer(opts: PgServerOptions = {}): Promise<PgServer> {
  return PgServer.create(opts);
}
