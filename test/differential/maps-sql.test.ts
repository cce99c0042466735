/**
 * test/differential/maps-sql.test.ts: pgsql: and sqlite: lookups through
 * the real `postmap -q` (Postfix 3.7 with postfix-pgsql/postfix-sqlite) and
 * through Postern's drivers, on the same .cf files and the same databases
 * (fixtures/maps/sql/schema.sql), asserting equal output, warnings and
 * exit status.
 *
 * PostgreSQL is a real server this test starts in a temporary directory
 * (test/helpers/pgsql-server.ts). Each key is one `postmap -c DIR [-f] -q -
 * MAP` run with the key on stdin (so 8-bit keys pass as bytes); Postern's
 * side opens the table afresh per key in this process, as postmap would,
 * and prints what postmap prints ("key<TAB>value", warnings, the fatal
 * "query error" line whose %m text is process junk and is normalised).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { addMsgOutput, FatalExit, type MsgOutput, removeMsgOutput, setMsgStderr, setProgname } from '../../src/log/msg.js';
import { openMapSpec } from '../../src/maps/registry.js';
import { DictError, DictFlag } from '../../src/maps/types.js';
import { REPO } from '../helpers/postfix-diff.js';
import { type PgServer, pgServerAvailable, startPgServer } from '../helpers/pgsql-server.js';

const FIX = join(REPO, 'fixtures/maps/sql');
const havePostmap = existsSync('/usr/sbin/postmap');
const havePgsqlModule = existsSync('/usr/lib/postfix/postfix-pgsql.so');
const haveSqliteModule = existsSync('/usr/lib/postfix/postfix-sqlite.so');

interface Out {
  stdout: string;
  stderr: string;
  status: number;
}

const dir = mkdtempSync(join(tmpdir(), 'postern-sqldiff-'));
writeFileSync(join(dir, 'main.cf'), '');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A .cf file in the temp dir, backdated (Postfix re-reads files changed in the last second). */
function writeCf(name: string, settings: Record<string, string>): string {
  const path = join(dir, name);
  writeFileSync(path, Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(''), 'latin1');
  const past = new Date(Date.now() - 3600_000);
  utimesSync(path, past, past);
  return path;
}

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

function runReal(spec: string, keys: string[], fold: boolean): Promise<Out> {
  return new Promise((resolve, reject) => {
    const args = ['-c', dir, ...(fold ? [] : ['-f']), '-q', '-', spec];
    const p = spawn('postmap', args, { env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) =>
      resolve({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        status: code ?? -1,
      }),
    );
    p.stdin.end(Buffer.from(keys.map((k) => `${k}\n`).join(''), 'latin1'));
  });
}

/** Postern's driver, printing what `postmap -q -` prints (open once, stop at the first error). */
async function runOurs(spec: string, keys: string[], fold: boolean): Promise<Out> {
  let stderr = '';
  const capture: MsgOutput = (level, text) => {
    stderr += level === 'info' ? `postmap: ${text}\n` : `postmap: ${level}: ${text}\n`;
  };
  setProgname('postmap');
  setMsgStderr(false);
  addMsgOutput(capture);
  let stdout = '';
  // postmap -q - exits 0 when any key was found.
  let status = 1;
  try {
    const flags = DictFlag.DUP_WARN | DictFlag.UTF8_REQUEST | (fold ? DictFlag.FOLD_FIX : 0);
    let table: Awaited<ReturnType<typeof openMapSpec>>;
    try {
      table = await openMapSpec(spec, { mode: 'read', dictFlags: flags, progName: 'postmap', param: () => undefined });
    } catch (err) {
      // postmap runs without dict_allow_surrogate: the open error is fatal.
      if (err instanceof DictError) capture('fatal', err.message);
      throw err;
    }
    try {
      for (const key of keys) {
        const value = await table.lookup(key);
        if (value !== undefined) {
          if (value === '') {
            // postmap's own complaint (postmap.c), before printing the empty value.
            capture('warning', `table ${spec}: key ${key}: empty string result is not allowed`);
            capture('warning', `table ${spec} should return NO RESULT in case of NOT FOUND`);
          }
          stdout += `${key}\t${value}\n`;
          status = 0;
        }
      }
    } catch (err) {
      if (err instanceof DictError)
        capture('fatal', err.kind === 'config' ? `table ${spec}: query error` : `table ${spec}: query error: %m`);
      throw err;
    } finally {
      await table.close();
    }
  } catch (err) {
    if (!(err instanceof FatalExit) && !(err instanceof DictError)) throw err;
    status = 1;
    // The real postmap exits from msg_fatal() without flushing its (small) stdout buffer.
    stdout = '';
  } finally {
    removeMsgOutput(capture);
    setMsgStderr(true);
  }
  return { stdout, stderr, status };
}

/** The real query-error line ends in a stale errno text. */
const normalise = (s: string) => s.replace(/(: query error: ).*$/m, '$1%m');

interface Case {
  name: string;
  cf: Record<string, string>;
  keys: string[];
  /** postmap -f: no folding. */
  noFold?: boolean;
}

/** Run `jobs` at most `n` at a time. */
async function limited<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return results;
}

/**
 * Each case is one `postmap -q -` run with all its keys on stdin; the real
 * runs go four at a time in the background while Postern's run one after
 * another here (its warnings are captured globally, so they must not
 * overlap).
 */
async function check(type: 'pgsql' | 'sqlite', ...cases: Case[]): Promise<void> {
  const jobs = cases.map((c) => {
    const path = writeCf(`${type}-${c.name.replace(/\W+/g, '_')}.cf`, c.cf);
    return { c, spec: `${type}:${path}`, keys: c.keys.map(latin1) };
  });
  const realP = limited(4, jobs.map((j) => () => runReal(j.spec, j.keys, !j.c.noFold)));
  const ours: Out[] = [];
  for (const j of jobs) ours.push(await runOurs(j.spec, j.keys, !j.c.noFold));
  const real = await realP;
  jobs.forEach((j, i) => {
    const what = `${type} ${j.c.name}`;
    assert.equal(ours[i]!.stdout, real[i]!.stdout, `${what}: stdout\nreal stderr: ${real[i]!.stderr}\nour stderr: ${ours[i]!.stderr}`);
    assert.equal(normalise(ours[i]!.stderr), normalise(real[i]!.stderr), `${what}: stderr`);
    assert.equal(ours[i]!.status, real[i]!.status, `${what}: exit status`);
  });
}

/** Keys that exercise case, addresses, extensions, parent domains and odd bytes. */
const KEYS = [
  'a@example.com',
  'A@Example.COM',
  'Mixed@Example.COM',
  'null@example.com',
  'empty@example.com',
  "quo'te@example.com",
  'back\\slash',
  'user+ext@example.com',
  '@example.com',
  'example.com',
  'spaces@example.com',
  'many@example.com',
  'latin@example.com',
  '8bit-é@example.com',
  '2001:db8::1',
  'percent%x',
  'nothere@example.com',
  'bob@sub.example.com',
];

function commonCases(type: 'pgsql' | 'sqlite', base: Record<string, string>): Case[] {
  const domainFile = join(dir, `${type}-domains`);
  writeFileSync(domainFile, 'sub.example.com\n!bad.example.com\n');
  return [
    { name: 'basic', cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'" }, keys: KEYS },
    { name: 'no folding', cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'" }, keys: ['Mixed@Example.COM', 'MIXED@example.com'], noFold: true },
    { name: 'two columns', cf: { ...base, query: "SELECT v, v2 FROM aliases WHERE k='%s'" }, keys: ['a@example.com', 'many@example.com', 'empty@example.com', 'null@example.com'] },
    {
      name: 'user and domain',
      cf: { ...base, query: "SELECT maildir FROM users WHERE local='%u' AND domain='%d'" },
      keys: ['alice@example.com', 'ALICE@Example.Org', 'bob@example.org', 'alice', '@example.org', 'alice@', 'x@y@example.org', 'nobody@example.org'],
    },
    {
      name: 'upper-case specifiers and %%',
      cf: { ...base, query: "SELECT maildir FROM users WHERE local='%U' AND domain='%D' AND '%%'='%%'" },
      keys: ['alice@example.com', 'bob@example.org', 'bob'],
    },
    {
      name: 'domain labels',
      cf: { ...base, query: "SELECT transport FROM domains WHERE name='%1' OR name='%2.%1' OR name='%3.%2.%1'" },
      keys: ['u@mail.example.com', 'u@example.com', 'u@com', 'u@a.b.example.com', 'nodomain', 'u@mail.example.com.', 'u@.example.com'],
    },
    {
      name: 'result_format smtp',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'", result_format: 'smtp:[%s]' },
      keys: ['a@example.com', 'many@example.com', 'empty@example.com', 'nothere'],
    },
    {
      name: 'result_format parts',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'", result_format: '%u at %d for %U/%D/%S/%1' },
      keys: ['a@example.com', 'many@example.com', 'bob@sub.example.com', 'example.com'],
    },
    {
      name: 'domain restriction',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'", domain: `example.com, ${domainFile}` },
      keys: ['a@example.com', 'bob@sub.example.com', 'bob@bad.example.com', '@example.com', 'example.com', 'x@other.example', 'A@EXAMPLE.COM'],
    },
    {
      name: 'expansion limit',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'", expansion_limit: '2' },
      keys: ['a@example.com', 'user@example.com', 'many@example.com'],
    },
    {
      name: 'legacy query',
      cf: { ...base, table: 'aliases', select_field: 'v', where_field: 'k', additional_conditions: "AND v <> 'm3'" },
      keys: ['many@example.com', 'a@example.com', "quo'te@example.com"],
    },
    { name: 'missing dbname or dbpath', cf: { query: 'SELECT 1' }, keys: ['x'] },
    { name: 'bad query template', cf: { ...base, query: "SELECT v FROM aliases WHERE k='%x'" }, keys: ['x'] },
    { name: 'bad result template', cf: { ...base, query: 'SELECT 1', result_format: '%' }, keys: ['x'] },
    { name: 'bad expansion_limit', cf: { ...base, query: 'SELECT 1', expansion_limit: '1x' }, keys: ['x'] },
    { name: 'no query and no table', cf: { ...base }, keys: ['x'] },
  ];
}

describe('pgsql: real postmap vs Postern', { skip: !havePostmap || !havePgsqlModule || !pgServerAvailable() }, () => {
  let pg: PgServer;
  let base: Record<string, string>;
  before(async () => {
    pg = await startPgServer({ passwordUsers: { mailuser: 's3cr3t' } });
    await pg.createDatabase('mail');
    await pg.exec(readFileSync(join(FIX, 'schema.sql'), 'utf8'), 'mail');
    await pg.exec(readFileSync(join(FIX, 'pgsql-extra.sql'), 'utf8'), 'mail');
    // Trust authentication for most cases (fast); scram-sha-256 in the password cases.
    base = { hosts: `inet:127.0.0.1:${pg.port}`, user: 'postgres', dbname: 'mail' };
  });
  after(async () => {
    await pg?.destroy();
  });

  it('common cases', async () => {
    await check('pgsql', ...commonCases('pgsql', base));
  });
  it('select_function', async () => {
    await check('pgsql', { name: 'select_function', cf: { ...base, select_function: 'first_alias' }, keys: ['a@example.com', 'nothere'] });
  });
  it('NULL is an empty value; LATIN1 conversion errors fail the lookup', async () => {
    await check('pgsql', {
      name: 'latin1',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'" },
      keys: ['latin@example.com', 'null@example.com', 'euro@example.com'],
    });
  });
  it('SQL errors: warning with the server text, caret and hint; then a query error', async () => {
    const bad = { ...base, query: "SELECT v FROM aliases WHERE k='%s' AND nosuch = 1" };
    const long = `SELECT v FROM aliases WHERE k='%s' AND v <> '${'x'.repeat(80)}' AND nosuch = 1 AND v <> '${'y'.repeat(80)}'`;
    const multiline = "SELECT v\n  FROM aliases\n  WHERE k='%s'\n  AND nosuch = 1";
    await check(
      'pgsql',
      { name: 'sql error', cf: bad, keys: ['a@example.com'] },
      { name: 'sql error quoted key', cf: bad, keys: ["it's a \\ key"] },
      { name: 'long sql error', cf: { ...base, query: long }, keys: ['a@example.com'] },
      { name: 'type error', cf: { ...base, query: "SELECT v FROM aliases WHERE length(k) = '%s'" }, keys: ['abc'] },
    );
    // A query over several .cf lines is one line for Postfix (the newline
    // is dropped); the error position counts from there.
    await check('pgsql', { name: 'continued query', cf: { ...base, query: multiline }, keys: ['a@example.com'] });
  });
  it('connection failures: wrong password, unknown database, refused port, missing socket', async () => {
    const pw = { ...base, user: 'mailuser', password: 's3cr3t', query: "SELECT v FROM aliases WHERE k='%s'" };
    await check('pgsql', { name: 'password', cf: pw, keys: ['a@example.com', 'nothere'] });
    await check('pgsql', { name: 'bad password', cf: { ...pw, password: 'wrong' }, keys: ['x'] });
    await check('pgsql', { name: 'no database', cf: { ...base, dbname: 'nodb', query: 'SELECT 1' }, keys: ['x'] });
    await check('pgsql', {
      name: 'unix first, then tcp',
      cf: { ...base, hosts: `unix:${join(dir, 'nosocket')} 127.0.0.1:${pg.port}`, query: "SELECT v FROM aliases WHERE k='%s'" },
      keys: ['a@example.com'],
    });
    await check('pgsql', {
      name: 'all down',
      cf: { ...base, hosts: `unix:${join(dir, 'nosocket')}, inet:127.0.0.1:1`, query: 'SELECT 1' },
      keys: ['x'],
    });
  });
  it('postgresql:// URI hosts', async () => {
    await check('pgsql', {
      name: 'uri',
      cf: { hosts: `postgresql://mailuser:s3cr3t@127.0.0.1:${pg.port}/mail`, dbname: 'ignored', query: "SELECT v FROM aliases WHERE k='%s'" },
      keys: ['a@example.com', 'nothere'],
    });
  });
});

describe('sqlite: real postmap vs Postern', { skip: !havePostmap || !haveSqliteModule }, () => {
  let base: Record<string, string>;
  before(() => {
    const dbpath = join(dir, 'maps.sqlite');
    const db = new Database(dbpath);
    db.exec(readFileSync(join(FIX, 'schema.sql'), 'utf8'));
    db.exec("CREATE TABLE typed (k TEXT, v); INSERT INTO typed VALUES ('int', 42), ('real', 2.0), ('big', 1e20), ('blob', x'41ff42'), ('neg', -7.25)");
    db.close();
    base = { dbpath };
  });

  it('common cases', async () => {
    await check('sqlite', ...commonCases('sqlite', base));
  });
  it('integer, real and blob values as sqlite3_column_text gives them', async () => {
    await check('sqlite', {
      name: 'typed',
      cf: { ...base, query: "SELECT v FROM typed WHERE k='%s'" },
      keys: ['int', 'real', 'big', 'blob', 'neg'],
    });
  });
  it('keys that are not UTF-8 are not looked up', async () => {
    const path = writeCf('sqlite-utf8.cf', { ...base, query: "SELECT 'found' WHERE '%s' <> ''" });
    const key = '\xe9t\xe9';
    const real = await runReal(`sqlite:${path}`, [key], true);
    const ours = await runOurs(`sqlite:${path}`, [key], true);
    assert.deepEqual(ours, real);
    assert.equal(real.status, 1);
  });
  it('a query SQLite cannot prepare is fatal; an unopenable database too', async () => {
    await check('sqlite', { name: 'prepare failure', cf: { ...base, query: "SELECT nosuch FROM aliases WHERE k='%s'" }, keys: ['x'] });
    await check('sqlite', { name: 'no table', cf: { ...base, query: "SELECT v FROM nosuch WHERE k='%s'" }, keys: ['x'] });
    await check('sqlite', { name: 'bad dbpath', cf: { dbpath: join(dir, 'no/such/dir/x.db'), query: 'SELECT 1' }, keys: ['x'] });
  });
  it('only the first statement runs', async () => {
    await check('sqlite', {
      name: 'two statements',
      cf: { ...base, query: "SELECT v FROM aliases WHERE k='%s'; SELECT 'second'" },
      keys: ['a@example.com', 'nothere'],
    });
  });
  it('domain restriction through a lookup table (tcp:)', async () => {
    // A tcp: table that knows one domain; its requests are recorded.
    const asked: string[] = [];
    const srv = createServer((sock) => {
      sock.on('data', (b) => {
        for (const line of b.toString('latin1').split('\n').filter(Boolean)) {
          asked.push(line);
          sock.write(line === 'get example.org' ? '200 yes\n' : line === 'get broken.example' ? '400 down\n' : '500 no\n');
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const cf = { ...base, query: "SELECT maildir FROM users WHERE local='%u' AND domain='%d'", domain: `!broken.example tcp:127.0.0.1:${port}` };
      await check(
        'sqlite',
        { name: 'domain table', cf, keys: ['bob@example.org', 'BOB@Example.ORG', 'alice@example.com', 'alice'] },
        { name: 'domain table failure', cf: { ...cf, domain: `tcp:127.0.0.1:${port}` }, keys: ['x@broken.example'] },
      );
      assert.ok(asked.includes('get example.org'), asked.join(','));
    } finally {
      srv.close();
    }
  });
  it('a .cf file that does not exist', async () => {
    const spec = `sqlite:${join(dir, 'missing.cf')}`;
    const real = await runReal(spec, ['x'], true);
    const ours = await runOurs(spec, ['x'], true);
    assert.deepEqual(ours, real);
  });
});
