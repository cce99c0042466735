/**
 * src/auth/client.ts against Postern's auth service (in-process, unix
 * sockets in a temp dir): the client protocol (PLAIN, LOGIN and CRAM-MD5
 * through the challenge callback, failures with their codes) and the
 * master/userdb protocol (USER, PASS, LIST, CACHE-FLUSH, REQUEST after a
 * login on auth-login), as doveadm and LMTP will use them.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthClient, AuthMasterClient, AuthProtocolError, fieldPairs, userInfoExport } from '../../src/auth/client.js';
import { type AuthService, startAuthService } from '../../src/auth/service.js';

describe('auth client module against the auth service', () => {
  let dir: string;
  let svc: AuthService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pa-cl-'));
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, 'users'),
      'alice@example.test:{PLAIN}alice-pass:5000:5000::/home/alice::userdb_mail=maildir:~/M\nbob@example.test:{PLAIN}bob pass:5001:5001::/home/bob::\n',
    );
    writeFileSync(
      join(dir, 'dovecot.conf'),
      `base_dir = ${dir}/run\nauth_mechanisms = plain login cram-md5\nauth_failure_delay = 0\npassdb {\n  driver = passwd-file\n  args = ${dir}/users\n}\nuserdb {\n  driver = passwd-file\n  args = ${dir}/users\n}\n`,
    );
    svc = await startAuthService({ configPath: join(dir, 'dovecot.conf'), log: () => {} });
  });

  after(async () => {
    await svc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('handshake, PLAIN, LOGIN, CRAM-MD5 and failures', async () => {
    const c = await AuthClient.connect(svc.socketPath('auth-client'));
    try {
      assert.deepEqual(
        c.mechs.map((m) => m.name),
        ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      );
      assert.equal(c.spid, process.pid);
      assert.match(c.cookie ?? '', /^[0-9a-f]{32}$/);
      const ok = await c.plain('ALICE@example.test', 'alice-pass', ['service=smtp', 'rip=192.0.2.10']);
      assert.equal(ok.status, 'ok');
      assert.equal(ok.user, 'alice@example.test');
      assert.deepEqual(ok.fields, ['user=alice@example.test', '', 'original_user=ALICE@example.test']);
      const login = await c.authenticate('LOGIN', ['service=smtp', 'rip=192.0.2.11'], undefined, (ch) =>
        Buffer.from(ch.toString() === 'Username:' ? 'bob@example.test' : 'bob pass'),
      );
      assert.equal(login.status, 'ok');
      const cram = await c.authenticate('CRAM-MD5', ['service=smtp', 'rip=192.0.2.12'], undefined, (ch) =>
        Buffer.from(`alice@example.test ${createHmac('md5', 'alice-pass').update(ch).digest('hex')}`),
      );
      assert.equal(cram.status, 'ok');
      const bad = await c.plain('alice@example.test', 'nope', ['service=smtp', 'rip=192.0.2.13']);
      assert.deepEqual([bad.status, bad.fields], ['fail', ['user=alice@example.test']]);
      const cancelled = await c.authenticate('LOGIN', ['service=smtp'], undefined, () => undefined);
      assert.equal(cancelled.status, 'fail');
    } finally {
      c.close();
    }
  });

  it('USER, PASS, LIST and CACHE-FLUSH', async () => {
    const m = await AuthMasterClient.connect(svc.socketPath('auth-master'));
    try {
      const u = await m.userLookup('alice@example.test', { service: 'lmtp', remoteIp: '192.0.2.1' });
      assert.equal(u.ret, 1);
      assert.equal(u.user, 'alice@example.test');
      assert.deepEqual(fieldPairs(u.fields), [
        ['uid', '5000'],
        ['gid', '5000'],
        ['home', '/home/alice'],
        ['mail', 'maildir:~/M'],
      ]);
      assert.deepEqual(await m.userLookup('nosuch@example.test', { service: 'lmtp' }), { ret: 0, fields: [] });
      assert.deepEqual(await m.userLookup('tab\there', { service: 'lmtp' }), { ret: 0, fields: [] }, 'never sent');
      assert.deepEqual(await m.passLookup('bob@example.test', { service: 'imap' }), { ret: 1, fields: ['user=bob@example.test'] });
      assert.deepEqual(await m.listUsers(), { users: ['alice@example.test', 'bob@example.test'], failed: false });
      assert.equal(await m.cacheFlush(), 0);
    } finally {
      m.close();
    }
  });

  it('REQUEST hands a finished login from auth-login to the master', async () => {
    const pid = 424242;
    const c = await AuthClient.connect(svc.socketPath('auth-login'), { pid });
    const m = await AuthMasterClient.connect(svc.socketPath('auth-master'));
    try {
      const r = await c.plain('alice@example.test', 'alice-pass', ['service=imap', 'rip=192.0.2.20']);
      assert.equal(r.status, 'ok');
      const u = await m.request(pid, 1, c.cookie ?? '');
      assert.deepEqual([u.ret, u.user, u.fields.at(-1)], [1, 'alice@example.test', 'auth_mech=PLAIN']);
      assert.equal((await m.request(pid, 1, c.cookie ?? '')).ret, -2, 'only once');
    } finally {
      c.close();
      m.close();
    }
  });

  it('userInfoExport orders parameters as lib-auth does; a missing socket throws', async () => {
    assert.equal(
      userInfoExport({ service: 'lmtp', sessionId: 's\t1', localIp: '127.0.0.1', localPort: 24, remoteIp: '192.0.2.1', remotePort: 5000, debug: true, extraFields: ['x=y'] }),
      '\tservice=lmtp\tsession=s\x01t1\tlip=127.0.0.1\tlport=24\trip=192.0.2.1\trport=5000\tdebug\tx=y',
    );
    await assert.rejects(AuthMasterClient.connect(join(dir, 'no-such-socket')), /ENOENT/);
    assert.ok(new AuthProtocolError('x') instanceof Error);
  });
});
