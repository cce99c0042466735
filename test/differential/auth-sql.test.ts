/**
 * sql passdb/userdb (sqlite) compared with a real Dovecot 2.3 on the same
 * dovecot.conf, dovecot-sql.conf.ext and database (fixtures/auth/sql): logins
 * over the client protocol, USER/PASS/LIST on auth-userdb, a broken query
 * (temporary failure, not a wrong password), and the auth cache (a changed
 * row is not seen until the cache is flushed; a changed password after a
 * cached success is looked up again). A PostgreSQL server that is down is a
 * temporary failure too (checked on Postern only: the real 2.3.19 auth
 * process crashes there).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteDb } from '../../src/db/sqlite.js';
import { type AuthService, startAuthService } from '../../src/auth/service.js';
import {
  type AuthSide,
  authReplies,
  authTempDir,
  MASTER_HANDSHAKE,
  plainLogin,
  type RealDovecot,
  realDovecotRunnable,
  type ScratchDir,
  scratchHeader,
  startRealDovecot,
  type TranscriptStep,
  writeFiles,
} from '../helpers/dovecot-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/auth/sql');



const skip = !realDovecotRunnable() && 'real Dovecot cannot run here (needs root and the dovecot/dovenull users)';

describe('sql passdb/userdb: Postern vs real Dovecot', { skip }, () => {
  let tmp: ScratchDir;
  let real: RealDovecot;
  let ours: AuthService;
  let oursSide: AuthSide;
  let db: SqliteDb;

  before(async () => {
    tmp = authTempDir();
    const files: Record<string, string> = {};
    for (const n of readdirSync(FIXTURES)) files[n] = readFileSync(join(FIXTURES, n), 'utf8');
    files['dovecot.conf'] = files['dovecot.conf']!.replace('@HEADER@', scratchHeader(tmp.dir, 'real'));
    writeFiles(tmp.dir, files);
    db = new SqliteDb(join(tmp.dir, 'users.sqlite'));
    for (const stmt of files['users.sql']!.split(';\n').filter((s) => /\S/.test(s.replace(/^--.*$/gm, '')))) await db.query(stmt);
    const conf = join(tmp.dir, 'dovecot.conf');
    real = await startRealDovecot(conf, join(tmp.dir, 'real-base'), join(tmp.dir, 'real.log'));
    ours = await startAuthService({ configPath: conf, baseDir: join(tmp.dir, 'ours-base'), log: () => {} });
    oursSide = { socket: (n) => ours.socketPath(n) };
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    await db?.close();
    tmp?.cleanup();
  });

  it('logins match', async () => {
    const cases: Array<[string, string]> = [
      ['erin@sql.test', 'sqlpass'],
      ['erin@sql.test', 'wrong'],
      ['FRANK@SQL.TEST', 'frankpass'],
      ['gone@sql.test', 'x'],
      ['dup@sql.test', 'a'],
      ["o'brien@sql.test", 'quote'],
      ['nopw@sql.test', 'x'],
      ['x@broken.test', 'x'],
      ['nosuch@sql.test', 'x'],
    ];
    const steps = cases.map(([u, p]) => plainLogin(u, p));
    const [a, b] = await Promise.all([Promise.all(steps.map((s) => authReplies(real, 'auth-postfix', s))), Promise.all(steps.map((s) => authReplies(oursSide, 'auth-postfix', s)))]);
    for (let i = 0; i < cases.length; i++) assert.deepEqual(b[i], a[i], cases[i]!.join(' / '));
  });

  it('USER, PASS and LIST match', async () => {
    const steps: TranscriptStep[] = [
      ...MASTER_HANDSHAKE,
      'USER\t1\terin@sql.test\tservice=lmtp',
      { expect: 1 },
      'USER\t2\tfrank@sql.test\tservice=lmtp',
      { expect: 1 },
      'USER\t3\tnosuch@sql.test\tservice=lmtp',
      { expect: 1 },
      "USER\t4\to'brien@sql.test\tservice=lmtp",
      { expect: 1 },
      'PASS\t5\terin@sql.test\tservice=imap',
      { expect: 1 },
      'PASS\t6\tgone@sql.test\tservice=imap',
      { expect: 1 },
      'PASS\t7\tx@broken.test\tservice=imap',
      { expect: 1 },
      'LIST\t8',
      { until: /^DONE/ },
    ];
    const [a, b] = await Promise.all([authReplies(real, 'auth-userdb', steps), authReplies(oursSide, 'auth-userdb', steps)]);
    assert.deepEqual(b, a);
  });

  it('the auth cache hides row changes until it is flushed, as Dovecot', async () => {
    const both = async (steps: TranscriptStep[], socket = 'auth-postfix') => {
      const [a, b] = await Promise.all([authReplies(real, socket, steps), authReplies(oursSide, socket, steps)]);
      assert.deepEqual(b, a, JSON.stringify(steps.filter((s) => typeof s === 'string').slice(-1)));
      return b;
    };
    // A success is cached; a new password after it is looked up again.
    assert.match((await both(plainLogin('cached@sql.test', 'first')))[0]!, /^OK/);
    await db.query("UPDATE users SET password = '{PLAIN}second' WHERE username = 'cached'");
    assert.match((await both(plainLogin('cached@sql.test', 'second')))[0]!, /^OK/);
    // An unknown user is cached too: a row added later stays unknown.
    assert.match((await both(plainLogin('late@sql.test', 'x')))[0]!, /^FAIL/);
    await db.query("INSERT INTO users VALUES ('late', 'sql.test', '{PLAIN}x', '/h', 5000, 5000, NULL, 'Y')");
    assert.match((await both(plainLogin('late@sql.test', 'x')))[0]!, /^FAIL/);
    const flushed = await both([...MASTER_HANDSHAKE, 'CACHE-FLUSH\t1', { expect: 1 }], 'auth-master');
    assert.match(flushed[0]!, /^OK\t1\t[1-9]/);
    assert.match((await both(plainLogin('late@sql.test', 'x')))[0]!, /^OK/);
  });

  it('a PostgreSQL server that is down is a temporary failure (Postern)', async () => {
    const dir = tmp.dir;
    writeFileSync(join(dir, 'pg.conf.ext'), "driver = pgsql\nconnect = host=127.0.0.1 port=1 dbname=mail user=x connect_timeout=2\npassword_query = SELECT password FROM users WHERE u = '%u'\n");
    writeFileSync(
      join(dir, 'pg.conf'),
      `base_dir = ${dir}/pg-base\nauth_failure_delay = 0\npassdb {\n  driver = sql\n  args = ${dir}/pg.conf.ext\n}\nuserdb {\n  driver = static\n  args = uid=1 gid=1\n}\n`,
    );
    const svc = await startAuthService({ configPath: join(dir, 'pg.conf'), log: () => {} });
    try {
      const lines = await authReplies({ socket: (n) => svc.socketPath(n) }, 'auth-client', plainLogin('someone@pg.test', 'pw'));
      assert.deepEqual(lines, ['FAIL\t1\tuser=someone@pg.test\tcode=temp_fail']);
      const pass = await authReplies({ socket: (n) => svc.socketPath(n) }, 'auth-userdb', [...MASTER_HANDSHAKE, 'PASS\t1\tsomeone@pg.test\tservice=imap', { expect: 1 }]);
      assert.deepEqual(pass, ['FAIL\t1']);
    } finally {
      await svc.close();
    }
  });
});
