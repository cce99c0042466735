/**
 * Unit tests of the auth protocol pieces: TAB escaping, Dovecot's base64
 * decoder, the line reader limit, reply fields (snapshot/rollback), the
 * penalty, the failure queue, the CRAM-MD5 context HMAC and the settings
 * view of `service auth` listeners.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { parseCacheKey } from '../../src/auth/cache.js';
import { AuthFields, FIELD_CHANGED, FIELD_HIDDEN } from '../../src/auth/fields.js';
import { cramMd5Context, hmacMd5FromContext } from '../../src/auth/mech/md5-context.js';
import { crc32, Penalty, penaltyIdent, penaltyToSecs } from '../../src/auth/penalty.js';
import { base64DecodeStrict, LineReader, splitTabEscaped, tabEscape, tabUnescape } from '../../src/auth/protocol.js';
import { ipInNetwork, normalizeIp } from '../../src/auth/request.js';
import { FailureQueue, socketType } from '../../src/auth/server/server.js';
import { authSettings, parseSizeBytes, parseTimeSecs, plaintextAuthAllowed } from '../../src/auth/settings.js';

describe('auth protocol text', () => {
  it('escapes TAB, LF, CR, \\001 and NUL with \\001', () => {
    assert.equal(tabEscape('a\tb\nc\rd\x01e\x00f\\g'), 'a\x01tb\x01nc\x01rd\x011e\x010f\\g');
    assert.equal(tabUnescape('a\x01tb\x01nc\x01rd\x011e\x010f'), 'a\tb\nc\rd\x01e\x00f');
    assert.equal(tabUnescape('x\x01'), 'x', 'a trailing \\001 is dropped');
    assert.equal(tabUnescape('x\x01q'), 'xq');
    assert.deepEqual(splitTabEscaped('USER\t1\ta\x01tb'), ['USER', '1', 'a\tb']);
  });

  it('decodes base64 as Dovecot does', () => {
    assert.equal(base64DecodeStrict('AGJvYgBwYXNz')?.toString('latin1'), '\0bob\0pass');
    assert.equal(base64DecodeStrict('YQ==')?.toString(), 'a');
    assert.equal(base64DecodeStrict('YWI=')?.toString(), 'ab');
    assert.equal(base64DecodeStrict('Y W\r\nI=')?.toString(), 'ab', 'whitespace is skipped');
    assert.equal(base64DecodeStrict('')?.length, 0);
    for (const bad of ['!!!notbase64', 'YQ=', 'YQ', 'Y', 'YWI', 'YQ==YQ==', 'YWI==', '=', 'YQ=x']) assert.equal(base64DecodeStrict(bad), undefined, bad);
  });

  it('reads lines up to a limit', () => {
    const r = new LineReader(10);
    assert.deepEqual(r.push(Buffer.from('abc\r\nde')), ['abc']);
    assert.deepEqual(r.push(Buffer.from('f\n')), ['def']);
    assert.equal(r.overflow, false);
    r.push(Buffer.from('0123456789x'));
    assert.equal(r.overflow, true);
  });
});

describe('auth fields', () => {
  it('keeps order, hides, booleanizes', () => {
    const f = new AuthFields();
    f.add('a', '1');
    f.add('hidden', 'x', FIELD_HIDDEN);
    f.add('flag', '');
    f.add('a', 'tab\there');
    assert.equal(f.append(FIELD_HIDDEN, 0), 'a=tab\x01there\tflag');
    assert.equal(f.find('flag'), '');
    assert.equal(f.find('none'), undefined);
    f.booleanize('a');
    assert.equal(f.append(FIELD_HIDDEN, 0), 'a\tflag');
  });

  it('rolls back to the last snapshot; CHANGED marks fields set since', () => {
    const f = new AuthFields();
    f.add('kept', '1');
    f.snapshot();
    f.add('new', '2');
    assert.equal(f.append(FIELD_CHANGED, FIELD_CHANGED), 'new=2');
    f.rollback();
    assert.equal(f.append(0, 0), 'kept=1');
    f.add('kept', 'changed');
    f.remove('kept');
    f.rollback();
    assert.equal(f.append(0, 0), 'kept=1', 'a changed or removed field comes back');
  });
});

describe('penalty and failure delay', () => {
  it('doubles from 2 s up to 15 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(penaltyToSecs), [2, 4, 8, 15, 15]);
  });

  it('counts failures per IP, ignores the same wrong password again, decays', () => {
    const p = new Penalty();
    let now = 1000;
    p.now = () => now;
    assert.equal(p.get('10.0.0.1'), 0);
    p.update('10.0.0.1', 111, 1);
    assert.equal(p.get('10.0.0.1'), 1);
    p.update('10.0.0.1', 111, 2);
    assert.equal(p.get('10.0.0.1'), 1, 'same user+password: no increase');
    p.update('10.0.0.1', 222, 2);
    assert.equal(p.get('10.0.0.1'), 2);
    assert.equal(p.get('10.0.0.2'), 0);
    now += 9;
    assert.equal(p.get('10.0.0.1'), 2, 'still there within the longest delay');
    now += 7;
    assert.equal(p.get('10.0.0.1'), 0, 'decayed after 15 s');
    p.update('10.0.0.3', 5, 3);
    p.update('10.0.0.3', 0, 0);
    assert.equal(p.get('10.0.0.3'), 0, 'a success resets');
  });

  it('groups IPv6 by /48; crc32', () => {
    assert.equal(penaltyIdent('2001:db8:1:2::5'), '2001:db8:1::');
    assert.equal(penaltyIdent(undefined), '');
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('answers failures after auth_failure_delay on a 500 ms tick', async () => {
    const q = new FailureQueue(0);
    const got: number[] = [];
    const now = Math.floor(Date.now() / 1000);
    q.add(now, () => got.push(1));
    q.add(now, () => got.push(2));
    assert.deepEqual(got, []);
    for (let i = 0; i < 40 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...got].sort(), [1, 2]);
    const late: number[] = [];
    const q2 = new FailureQueue(60);
    q2.add(Math.floor(Date.now() / 1000), () => late.push(3));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(late.length, 0);
    q2.flush(true);
    assert.equal(late.length, 1);
  });
});

describe('mechanism helpers', () => {
  it('HMAC-MD5 from a CRAM-MD5 context equals HMAC-MD5 from the key', () => {
    for (const key of ['alice-pass', '', 'x'.repeat(64), 'y'.repeat(100)]) {
      const ctx = cramMd5Context(Buffer.from(key));
      const msg = Buffer.from('<1896.697170952@postoffice.example.net>');
      assert.equal(hmacMd5FromContext(ctx, msg).toString('hex'), createHmac('md5', key).update(msg).digest('hex'), key);
    }
  });

  it('IP parsing and networks as net_addr2ip / net_is_in_network', () => {
    assert.equal(normalizeIp('127.1'), '127.0.0.1');
    assert.equal(normalizeIp('[::1]'), '::1');
    assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normalizeIp('bogus'), undefined);
    assert.equal(ipInNetwork('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipInNetwork('11.1.2.3', '10.0.0.0/8'), false);
    assert.equal(ipInNetwork('2001:db8::5', '2001:db8::/32'), true);
    assert.equal(ipInNetwork('10.0.0.1', 'x/8'), undefined);
  });

  it('cache keys list the variables a query uses', () => {
    assert.equal(parseCacheKey("SELECT * FROM u WHERE a='%n' AND d='%d'"), '%{user}');
    assert.equal(parseCacheKey("x %u %{rip} %s %{user} %{passdb:x}"), '%{user}\t%{service}\t%{rip}\t%{passdb:x}');
  });
});

describe('auth settings', () => {
  it('merges service auth listeners into the built-in ones; values and units', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-set-'));
    try {
      const conf = join(dir, 'dovecot.conf');
      writeFileSync(
        conf,
        'base_dir = /run/x\nauth_failure_delay = 3 secs\nauth_cache_size = 10M\nservice auth {\n  unix_listener auth-userdb {\n    mode = 0600\n    user = vmail\n  }\n  unix_listener /var/spool/postfix/private/auth {\n    mode = 0660\n    user = postfix\n    group = postfix\n  }\n}\n',
      );
      const s = authSettings(parseConfigFile(conf, { expand: true }));
      assert.equal(s.failureDelay, 3);
      assert.equal(s.cacheSize, 10 * 1024 * 1024);
      assert.deepEqual(s.mechanisms, ['plain']);
      const byName = Object.fromEntries(s.listeners.map((l) => [l.name, l]));
      assert.deepEqual(byName['auth-userdb'], { name: 'auth-userdb', path: '/run/x/auth-userdb', mode: 0o600, user: 'vmail', group: '' });
      assert.deepEqual(byName['auth-client'], { name: 'auth-client', path: '/run/x/auth-client', mode: 0o600, user: 'dovecot', group: '' });
      assert.equal(byName['/var/spool/postfix/private/auth']?.path, '/var/spool/postfix/private/auth');
      assert.equal(byName['login/login']?.mode, 0o666);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(parseTimeSecs('1 hours'), 3600);
    assert.equal(parseSizeBytes('1 M'), 1048576);
    assert.equal(socketType('/x/auth-userdb'), 'userdb');
    assert.equal(socketType('/var/spool/postfix/private/auth'), 'client');
    assert.equal(socketType('/run/dovecot/login/login'), 'login');
    assert.equal(socketType('auth-master'), 'master');
    assert.equal(plaintextAuthAllowed({ disablePlaintextAuth: true }, false), false);
    assert.equal(plaintextAuthAllowed({ disablePlaintextAuth: true }, true), true);
  });
});
