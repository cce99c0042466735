/**
 * Unit tests of the passdb/userdb chains in-process (src/auth/engine.ts):
 * result_* rules, deny/master/pass/skip, username_filter, default and
 * override fields, username rewriting settings, passwd-file paths with
 * %variables (per-domain files, a missing file, a broken path), re-reading a
 * changed file, and the startup errors with Dovecot's words.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { AuthConfigError } from '../../src/auth/drivers.js';
import { Auth } from '../../src/auth/engine.js';
import { mechRegister } from '../../src/auth/mech/index.js';
import { AuthRequest } from '../../src/auth/request.js';
import { authSettings } from '../../src/auth/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'pa-eng-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function makeAuth(conf: string, files: Record<string, string> = {}): Auth {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replaceAll('@DIR@', dir));
  const path = join(dir, `c${++n}.conf`);
  writeFileSync(path, conf.replaceAll('@DIR@', dir));
  const auth = new Auth(authSettings(parseConfigFile(path, { expand: true })));
  auth.init();
  return auth;
}

async function login(auth: Auth, user: string, pass: string, info: Record<string, string> = {}) {
  const req = new AuthRequest(auth);
  req.service = 'imap';
  for (const [k, v] of Object.entries(info)) req.importAuth(k, v);
  const err = req.setUsername(user);
  if (err) return { result: `bad username: ${err}`, req };
  const result = await auth.verifyPlain(req, pass);
  return { result, success: req.passdbSuccess, user: req.user, fields: req.extraFields.append(1, 0), userdb: req.userdbReply?.append(0, 0), req };
}

async function userLookup(auth: Auth, user: string) {
  const req = new AuthRequest(auth);
  req.service = 'lmtp';
  req.setUsername(user);
  const result = await auth.lookupUser(req);
  return { result, user: req.user, fields: req.userdbReply?.append(1, 0) };
}

const staticDb = (args: string, extra = '') => `passdb {\n  driver = static\n  args = ${args}\n${extra}}\n`;

describe('passdb chain rules', () => {
  it('result_failure = continue (default) tries the next passdb; return-ok stops', async () => {
    const auth = makeAuth(`${staticDb('password=one')}${staticDb('password=two')}`);
    assert.equal((await login(auth, 'u', 'one')).result, 'ok');
    assert.equal((await login(auth, 'u', 'two')).result, 'ok');
    assert.equal((await login(auth, 'u', 'three')).result, 'password_mismatch');
    const stop = makeAuth(`${staticDb('password=one', '  result_failure = return-fail\n')}${staticDb('password=two')}`);
    assert.equal((await login(stop, 'u', 'two')).result, 'password_mismatch');
  });

  it('continue-ok / pass=yes: the next passdb only adds fields', async () => {
    const auth = makeAuth(`${staticDb('password=one', '  pass = yes\n')}${staticDb('nopassword extra=%n')}`);
    const r = await login(auth, 'alice@x', 'one');
    assert.equal(r.result, 'ok');
    assert.equal(r.fields, 'extra=alice');
    assert.equal((await login(auth, 'alice@x', 'two')).result, 'ok', 'the second passdb accepts any password: nopassword');
    assert.throws(() => makeAuth(staticDb('password=x', '  pass = yes\n')), new AuthConfigError("Last passdb can't have pass=yes"));
  });

  it('skip = authenticated and username_filter', async () => {
    const auth = makeAuth(
      `${staticDb('password=one', '  result_success = continue-ok\n')}${staticDb('password=never', '  skip = authenticated\n')}${staticDb('password=filtered', '  username_filter = *@f.test !no@f.test\n')}`,
    );
    assert.equal((await login(auth, 'x@a.test', 'one')).result, 'ok');
    assert.equal((await login(auth, 'x@f.test', 'filtered')).result, 'ok');
    assert.equal((await login(auth, 'no@f.test', 'filtered')).result, 'password_mismatch');
  });

  it('deny = yes: a listed user is disabled whatever the password', async () => {
    const auth = makeAuth(
      `passdb {\n  driver = passwd-file\n  args = @DIR@/deny\n  deny = yes\n}\n${staticDb('password=pw')}`,
      { deny: 'bad@x\n' },
    );
    assert.equal((await login(auth, 'bad@x', 'pw')).result, 'user_disabled');
    assert.equal((await login(auth, 'good@x', 'pw')).result, 'ok');
  });

  it('master users: login as someone else with the master password', async () => {
    const auth = makeAuth(`auth_master_user_separator = *\n${staticDb('password=master-pw', '  master = yes\n')}passdb {\n  driver = passwd-file\n  args = @DIR@/m-users\n}\n`, {
      'm-users': 'alice@x:{PLAIN}alice-pw::::\n',
    });
    const r = await login(auth, 'alice@x*admin', 'master-pw');
    assert.equal(r.result, 'ok');
    assert.equal(r.user, 'alice@x');
    assert.equal(r.req.masterUser, 'admin');
    assert.equal((await login(auth, 'alice@x*admin', 'alice-pw')).result, 'password_mismatch');
    assert.equal((await login(auth, 'nosuch@x*admin', 'master-pw')).result, 'ok', 'without pass=yes the login user is not looked up');
    const checked = makeAuth(`auth_master_user_separator = *\n${staticDb('password=master-pw', '  master = yes\n  pass = yes\n')}passdb {\n  driver = passwd-file\n  args = @DIR@/m-users\n}\n`);
    assert.equal((await login(checked, 'alice@x*admin', 'master-pw')).result, 'ok');
    assert.equal((await login(checked, 'nosuch@x*admin', 'master-pw')).result, 'user_unknown', 'pass=yes: the login user must exist');
  });

  it('default_fields, override_fields and allow_nets', async () => {
    const auth = makeAuth(staticDb('password=pw allow_nets=local,10.0.0.0/8', '  default_fields = a=1 b=%d\n  override_fields = a=2\n'));
    const r = await login(auth, 'u@d.test', 'pw', { rip: '10.1.1.1' });
    assert.equal(r.result, 'ok');
    assert.equal(r.fields, 'a=2\tb=d.test');
    assert.equal((await login(auth, 'u@d.test', 'pw', { rip: '192.0.2.1' })).result, 'user_unknown', 'allow_nets mismatch');
    assert.equal((await login(auth, 'u@d.test', 'pw')).result, 'ok', 'local = no remote IP');
  });

  it('userdb_* fields of a passdb and userdb chains', async () => {
    const auth = makeAuth(
      `${staticDb('password=pw userdb_quota=1G')}userdb {\n  driver = passwd-file\n  args = @DIR@/ud\n}\nuserdb {\n  driver = static\n  args = uid=1000 gid=1000 home=/home/%n allow_all_users=yes\n}\n`,
      { ud: 'known@x::2000:2000::/k::userdb_mail=maildir:~/M\n' },
    );
    const r = await login(auth, 'known@x', 'pw');
    assert.equal(r.userdb, 'quota=1G');
    assert.deepEqual(await userLookup(auth, 'known@x'), { result: 'ok', user: 'known@x', fields: 'uid=2000\tgid=2000\thome=/k\tmail=maildir:~/M' });
    assert.deepEqual(await userLookup(auth, 'other@x'), { result: 'ok', user: 'other@x', fields: 'uid=1000\tgid=1000\thome=/home/other' });
  });
});

describe('userdb prefetch', () => {
  it('uses the passdb userdb_* fields, else the next userdb', async () => {
    const auth = makeAuth(
      `${staticDb('password=pw userdb_uid=7 userdb_home=/p/%n', '  username_filter = *@pre.test\n')}${staticDb('password=pw')}userdb {\n  driver = prefetch\n}\nuserdb {\n  driver = static\n  args = uid=9 gid=9 home=/s/%n allow_all_users=yes\n}\n`,
    );
    const pre = await login(auth, 'a@pre.test', 'pw');
    const r1 = await pre.req.auth.lookupUser(pre.req);
    assert.deepEqual([r1, pre.req.userdbReply?.append(0, 0)], ['ok', 'uid=7\thome=/p/a']);
    const other = await login(auth, 'b@else.test', 'pw');
    const r2 = await other.req.auth.lookupUser(other.req);
    assert.deepEqual([r2, other.req.userdbReply?.append(0, 0)], ['ok', 'uid=9\tgid=9\thome=/s/b']);
    const only = makeAuth(`${staticDb('password=pw')}userdb {\n  driver = prefetch\n}\n`);
    assert.equal((await userLookup(only, 'x@y')).result, 'internal_failure');
  });
});

describe('usernames', () => {
  it('auth_username_format, auth_default_realm, translation, allowed chars', async () => {
    const auth = makeAuth(
      `auth_username_format = %Ln\nauth_default_realm = realm.test\nauth_username_translation = %@\nauth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.@\n${staticDb('password=pw')}`,
    );
    assert.equal((await login(auth, 'Alice', 'pw')).user, 'alice', '%Ln of alice@realm.test');
    assert.equal((await login(auth, 'Bob%Example', 'pw')).user, 'bob', 'translated before the check');
    assert.equal((await login(auth, 'x1', 'pw')).result, 'bad username: Username character disallowed by auth_username_chars: 0x31 (username: x1)');
  });
});

describe('passwd-file', () => {
  it('username_format= picks the lookup key', async () => {
    const auth = makeAuth(`passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%n @DIR@/byname\n}\n`, { byname: 'carl:pw\n' });
    const r = await login(auth, 'carl@any.test', 'pw');
    assert.deepEqual([r.result, r.user], ['ok', 'carl@any.test']);
  });

  it('per-domain files through %d; a missing file is an unknown user, a broken path a temporary failure', async () => {
    const auth = makeAuth(`auth_username_chars =\npassdb {\n  driver = passwd-file\n  args = scheme=PLAIN @DIR@/%d.passwd\n}\n`, { 'a.test.passwd': 'x@a.test:secret\n' });
    assert.equal((await login(auth, 'x@a.test', 'secret')).result, 'ok');
    assert.equal((await login(auth, 'x@b.test', 'secret')).result, 'user_unknown');
    assert.equal((await login(auth, 'x@a.test/..', 'secret')).result, 'user_unknown', "a '/' in the domain is cut off");
    const broken = makeAuth(`passdb {\n  driver = passwd-file\n  args = @DIR@/a.test.passwd/x\n}\n`);
    assert.equal((await login(broken, 'x@a.test', 'secret')).result, 'internal_failure');
  });

  it('re-reads a changed file', async () => {
    const auth = makeAuth(`passdb {\n  driver = passwd-file\n  args = @DIR@/reread\n}\n`, { reread: 'a@x:{PLAIN}1\n' });
    assert.equal((await login(auth, 'b@x', '2')).result, 'user_unknown');
    writeFileSync(join(dir, 'reread'), 'a@x:{PLAIN}1\nb@x:{PLAIN}2\n');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await login(auth, 'b@x', '2')).result, 'ok');
  });
});

describe('startup errors', () => {
  const cases: Array<[string, string]> = [
    ['passdb {\n  driver = bogus\n}\n', "Unknown passdb driver 'bogus'"],
    ['passdb {\n  driver = pam\n}\n', "Support not compiled in for passdb driver 'pam'"],
    ['passdb {\n  driver = passwd-file\n  args = foo=bar /x\n}\n', 'passdb passwd-file: Unknown setting: foo'],
    ['passdb {\n  driver = passwd-file\n  args = scheme=PLAIN\n}\n', 'passdb passwd-file: Missing args'],
    ['userdb {\n  driver = passwd-file\n}\n', 'userdb passwd-file: Missing args'],
    ['userdb {\n  driver = static\n  args = uid=nosuchuser\n}\n', 'static userdb: Invalid uid: nosuchuser'],
    [`${staticDb('password=x', '  master = yes\n  deny = yes\n')}`, "Master passdb can't have deny=yes"],
    ['auth_cache_size = 100B\n', 'auth_cache_size value is too small (100 bytes)'],
    ['passdb {\n  driver = sql\n  args = @DIR@/none.conf\n}\n', `sql @DIR@/none.conf: Can't open configuration file @DIR@/none.conf: No such file or directory`],
  ];
  for (const [conf, msg] of cases) {
    it(msg.replaceAll('@DIR@', '…'), () => {
      assert.throws(() => makeAuth(conf), (e: Error) => e instanceof AuthConfigError && e.message === msg.replaceAll('@DIR@', dir));
    });
  }

  it('mechanism register', () => {
    assert.throws(() => mechRegister(['plain', 'foo'], 'anonymous'), /^AuthConfigError: Unknown authentication mechanism 'FOO'$/);
    assert.throws(() => mechRegister(['anonymous'], ''), /ANONYMOUS listed in mechanisms, but anonymous_username not set/);
    assert.throws(() => mechRegister([], 'x'), /No authentication mechanisms configured/);
    assert.equal(mechRegister(['login', 'plain'], 'x').handshake, 'MECH\tLOGIN\tplaintext\nMECH\tPLAIN\tplaintext\n');
  });
});
