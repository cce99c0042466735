/**
 * test/integration/maps-sql.test.ts: the pgsql: map and the pooled client
 * (src/db/pgsql.ts) against a real PostgreSQL server started by the test,
 * for what a differential test cannot show: a server that stops and comes
 * back, query and connect timeouts, a server that never answers, several
 * hosts, the pool's limits and idle closing, a program exiting without
 * closing its tables; and SQLite's locked database.
 *
 * Every failure must be DictError("retry") (a 4xx for the caller), never
 * "not found".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PgPool } from '../../src/db/pgsql.js';
import { DbError } from '../../src/db/types.js';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import { openMapSpec } from '../../src/maps/registry.js';
import { pgsqlMapTuning } from '../../src/maps/sql/pgsql.js';
import { DictError, DictFlag, type LookupTable } from '../../src/maps/types.js';
import { REPO } from '../helpers/postfix-diff.js';
import { type PgServer, pgServerAvailable, startPgServer } from '../helpers/pgsql-server.js';

const dir = mkdtempSync(join(tmpdir(), 'postern-sqlint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Warnings emitted while fn runs (not printed). */
async function warnings<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; warnings: string[] }> {
  const got: string[] = [];
  const out: MsgOutput = (level, text) => got.push(`${level}: ${text}`);
  addMsgOutput(out);
  setMsgStderr(false);
  try {
    return { value: await fn(), warnings: got };
  } catch (error) {
    return { error, warnings: got };
  } finally {
    removeMsgOutput(out);
    setMsgStderr(true);
  }
}

function assertRetry(r: { error?: unknown }, what: string): void {
  assert.ok(r.error instanceof DictError, `${what}: expected DictError, got ${String(r.error)}`);
  assert.equal((r.error as DictError).kind, 'retry', what);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeCf(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function openPg(path: string): Promise<LookupTable> {
  return openMapSpec(`pgsql:${path}`, { mode: 'read', dictFlags: DictFlag.FOLD_FIX });
}

describe('pgsql: against a live server', { skip: !pgServerAvailable() }, () => {
  let pg: PgServer;
  const saved = { ...pgsqlMapTuning };
  before(async () => {
    pg = await startPgServer();
    await pg.createDatabase('mail');
    await pg.exec("CREATE TABLE aliases (k text, v text); INSERT INTO aliases VALUES ('a@example.com', 'x@y.z')", 'mail');
    Object.assign(pgsqlMapTuning, { connectTimeoutMs: 1500, queryTimeoutMs: 1500, retryIntervalMs: 400, idleTimeoutMs: 60000 });
  });
  after(async () => {
    Object.assign(pgsqlMapTuning, saved);
    await pg?.destroy();
  });
  const cf = (extra = '') =>
    `hosts = inet:127.0.0.1:${pg.port}\nuser = postgres\ndbname = mail\nquery = SELECT v FROM aliases WHERE k='%s'\n${extra}`;

  it('server stopped: retry, not "not found"; back-off; recovers when it returns', async () => {
    const t = await openPg(writeCf('down.cf', cf()));
    try {
      assert.equal(await t.lookup('a@example.com'), 'x@y.z');
      await pg.stop();
      const r1 = await warnings(() => t.lookup('a@example.com'));
      assertRetry(r1, 'server stopped');
      assert.ok(r1.warnings.some((w) => w.startsWith(`warning: connect to pgsql server inet:127.0.0.1:${pg.port}: `)), r1.warnings.join('\n'));
      // Within the back-off interval the host is not tried again: no new warning.
      const r2 = await warnings(() => t.lookup('a@example.com'));
      assertRetry(r2, 'host in back-off');
      assert.deepEqual(r2.warnings, []);
      await pg.start();
      await sleep(pgsqlMapTuning.retryIntervalMs + 100);
      assert.equal(await t.lookup('a@example.com'), 'x@y.z');
      assert.equal(await t.lookup('nothere@example.com'), undefined);
    } finally {
      await t.close();
      if (!pg.running) await pg.start();
    }
  });

  it('a server restart between lookups costs no failure (reconnect)', async () => {
    const t = await openPg(writeCf('restart.cf', cf()));
    try {
      assert.equal(await t.lookup('a@example.com'), 'x@y.z');
      await pg.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'mail' AND pid <> pg_backend_pid()");
      await sleep(100);
      const r = await warnings(() => t.lookup('a@example.com'));
      assert.equal(r.value, 'x@y.z', `${String(r.error)} ${r.warnings.join('\n')}`);
    } finally {
      await t.close();
    }
  });

  it('a slow query times out: retry, with the server words', async () => {
    const t = await openPg(writeCf('slow.cf', cf().replace("WHERE k='%s'", ", pg_sleep(5) WHERE k='%s'")));
    try {
      const started = Date.now();
      const r = await warnings(() => t.lookup('a@example.com'));
      assertRetry(r, 'slow query');
      assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
      assert.ok(r.warnings.some((w) => /canceling statement due to statement timeout/.test(w)), r.warnings.join('\n'));
    } finally {
      await t.close();
    }
  });

  it('a server that accepts and never answers: connect timeout, retry', async () => {
    const held: Socket[] = [];
    const mute: Server = createServer((s) => held.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const port = (mute.address() as { port: number }).port;
    const t = await openPg(writeCf('mute.cf', `hosts = 127.0.0.1:${port}\ndbname = mail\nquery = SELECT 1\n`));
    try {
      const started = Date.now();
      const r = await warnings(() => t.lookup('x'));
      assertRetry(r, 'mute server');
      assert.ok(Date.now() - started < 4000);
      assert.deepEqual(r.warnings, [
        `warning: connect to pgsql server 127.0.0.1:${port}: connection to server at "127.0.0.1", port ${port} failed: timeout expired?`,
      ]);
    } finally {
      await t.close();
      for (const s of held) s.destroy();
      mute.close();
    }
  });

  it('several hosts: a dead one is skipped, lookups keep working', async () => {
    const t = await openPg(writeCf('multi.cf', cf().replace(/^hosts = .*$/m, `hosts = 127.0.0.1:1, inet:127.0.0.1:${pg.port}`)));
    try {
      for (let i = 0; i < 6; i++) {
        const r = await warnings(() => t.lookup('a@example.com'));
        assert.equal(r.value, 'x@y.z');
        for (const w of r.warnings) assert.match(w, /^warning: connect to pgsql server 127\.0\.0\.1:1: .*Connection refused/);
      }
    } finally {
      await t.close();
    }
  });

  it('a UNIX-domain socket host', async () => {
    const oldPort = process.env.PGPORT;
    process.env.PGPORT = String(pg.port); // libpq and node-postgres both read it
    const t = await openPg(writeCf('unix.cf', cf().replace(/^hosts = .*$/m, `hosts = unix:${pg.socketDir}`)));
    try {
      assert.equal(await t.lookup('A@Example.com'), 'x@y.z');
    } finally {
      await t.close();
      if (oldPort === undefined) delete process.env.PGPORT;
      else process.env.PGPORT = oldPort;
    }
  });

  it('a program that does not close its table still exits', () => {
    const path = writeCf('exit.cf', cf());
    const script = `
      const { openMapSpec } = await import(${JSON.stringify(join(REPO, 'dist/src/maps/registry.js'))});
      const t = await openMapSpec('pgsql:${path}', { mode: 'read', dictFlags: 0 });
      console.log(await t.lookup('a@example.com'));`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.stdout, 'x@y.z\n', r.stderr);
    assert.equal(r.status, 0);
    assert.ok(Date.now() - started < 10000);
  });

  describe('src/db PgPool', () => {
    it('bounded pool: concurrent queries share at most maxConnections', async () => {
      const pool = new PgPool({ hosts: [`127.0.0.1:${pg.port}`], user: 'postgres', database: 'mail', maxConnections: 3 });
      try {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => pool.query((q) => `SELECT '${q(`it's ${i}`)}' AS v, pg_sleep(0.01)`)),
        );
        results.forEach((r, i) => {
          assert.deepEqual(r.rows[0]![0], `it's ${i}`);
        });
        assert.ok(pool.hostStates()[0]!.connections <= 3);
        const active = await pg.exec("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'mail' AND pid <> pg_backend_pid()");
        assert.ok((active[0]!.n as number) <= 3, `server sees ${active[0]!.n} connections`);
      } finally {
        await pool.close();
      }
    });
    it('parameters, raw text values, NULL, several statements', async () => {
      const pool = new PgPool({ hosts: [`127.0.0.1:${pg.port}`], user: 'postgres', database: 'mail' });
      try {
        const r = await pool.query('SELECT $1::text AS a, 1.50::numeric AS b, true AS c, NULL AS d, now() IS NOT NULL AS e', ['p']);
        assert.deepEqual(r.fields, ['a', 'b', 'c', 'd', 'e']);
        assert.deepEqual(r.rows, [['p', '1.50', 't', null, 't']]);
        assert.deepEqual((await pool.query('SELECT 1; SELECT 2 AS two')).rows, [['2']]);
        await assert.rejects(pool.query('SELECT nosuch'), (e: unknown) => e instanceof DbError && e.kind === 'query');
        // A failed query leaves the connection usable.
        assert.deepEqual((await pool.query('SELECT 3')).rows, [['3']]);
      } finally {
        await pool.close();
      }
      await assert.rejects(pool.query('SELECT 1'), (e: unknown) => e instanceof DbError && e.kind === 'unavailable');
    });
    it('idle connections are closed', async () => {
      const pool = new PgPool({ hosts: [`127.0.0.1:${pg.port}`], user: 'postgres', database: 'mail', idleTimeoutMs: 150 });
      try {
        await pool.query('SELECT 1');
        assert.equal(pool.hostStates()[0]!.connections, 1);
        await sleep(400);
        assert.equal(pool.hostStates()[0]!.connections, 0);
        assert.deepEqual((await pool.query('SELECT 1')).rows, [['1']]);
      } finally {
        await pool.close();
      }
    });
  });
});

describe('sqlite: a locked database is a temporary failure', () => {
  it('retry after the busy timeout, with Postfix warning', async () => {
    const dbpath = join(dir, 'locked.sqlite');
    const w = new Database(dbpath);
    w.exec("CREATE TABLE t (k TEXT, v TEXT); INSERT INTO t VALUES ('k', 'v')");
    const path = writeCf('locked.cf', `dbpath = ${dbpath}\nquery = SELECT v FROM t WHERE k='%s'\n`);
    const t = await openMapSpec(`sqlite:${path}`, { mode: 'read', dictFlags: 0 });
    try {
      assert.equal(await t.lookup('k'), 'v');
      w.exec('BEGIN EXCLUSIVE');
      const r = await warnings(() => t.lookup('k'));
      assertRetry(r, 'locked');
      assert.deepEqual(r.warnings, [`warning: dict_sqlite_lookup: ${path}: SQL step failed for query 'SELECT v FROM t WHERE k='k'': database is locked?`]);
      w.exec('COMMIT');
      assert.equal(await t.lookup('k'), 'v');
    } finally {
      await t.close();
      w.close();
    }
  });
});
