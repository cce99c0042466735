/**
 * test/differential/doveadm-pw.test.ts: Postern's password schemes and
 * `doveadm pw` against the real doveadm 2.3.19 on this machine.
 *
 * - Fresh hashes each run, for every scheme of `doveadm pw -l` (plus
 *   encodings and rounds variants): ours must pass the real
 *   `doveadm pw -t HASH -p PASS -u USER`, and the real one's must pass ours.
 * - Option, error, stdin and configuration cases: stdout, stderr and exit
 *   status byte-equal.
 *
 * Both programs read a scratch dovecot.conf, never /etc/dovecot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatePassword, listSchemes, verifyPassword } from '../../src/auth/schemes/index.js';
import { inParallel, realDoveadmAvailable, runOursDoveadm, runRealDoveadm, type RunResult } from '../helpers/doveadm-run.js';

const USER = 'alice@example.test';
/** Non-ASCII (2- and 3-byte UTF-8), '&' and a space; plain ASCII is covered by the byte-equal cases. */
const PASSWORD = 'pässwörd-€✓ &x';
const PARALLEL = 4;

interface Variant {
  scheme: string;
  rounds?: number;
  pw: string;
}

/** Scheme spellings to cross-check: the whole list plus encodings and rounds. */
function variants(): Variant[] {
  const v: Array<{ scheme: string; rounds?: number }> = listSchemes()
    .filter((s) => s !== 'PLAIN-TRUNC')
    .map((scheme) => ({ scheme }));
  for (const scheme of ['SSHA.HEX', 'SHA256.B64', 'SHA512-CRYPT.HEX', 'PLAIN.BASE64', 'CRAM-MD5.B64', 'LDAP-MD5.hex', 'SMD5.HEX']) v.push({ scheme });
  v.push({ scheme: 'SHA512-CRYPT', rounds: 6000 }, { scheme: 'SHA256-CRYPT', rounds: 1000 }, { scheme: 'BLF-CRYPT', rounds: 6 });
  v.push({ scheme: 'PBKDF2', rounds: 3000 }, { scheme: 'ARGON2I', rounds: 3 });
  return v.map((x) => ({ ...x, pw: PASSWORD }));
}

/** One scheme per family for the runs of our own doveadm pw -t (the rest go through the API). */
const CLI_CHECKED = new Set(['SHA512-CRYPT', 'CRYPT', 'ARGON2ID', 'SCRAM-SHA-256', 'DIGEST-MD5', 'SSHA', 'CRAM-MD5', 'PBKDF2', 'OTP', 'MD5', 'SHA256.B64', 'DES-CRYPT']);

const show = (r: RunResult) => ({ status: r.status, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') });

describe('doveadm pw differential', { skip: !realDoveadmAvailable() && 'real doveadm not installed' }, () => {
  let dir = '';
  let conf = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-doveadm-pw-'));
    conf = join(dir, 'dovecot.conf');
    writeFileSync(conf, '# empty: built-in defaults\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes we generate verify with the real doveadm pw -t', async () => {
    const tasks = variants().map(({ scheme, rounds, pw }) => async () => {
      const hash = `{${scheme.toUpperCase()}}${await generatePassword(scheme, Buffer.from(pw), { user: USER, ...(rounds ? { rounds } : {}) })}`;
      const r = await runRealDoveadm(['-c', conf, 'pw', '-t', hash, '-p', pw, '-u', USER]);
      const want = `${hash} (verified)\n`;
      return r.status === 0 && r.stdout.toString('utf8') === want ? undefined : { scheme, rounds, pw, hash, real: show(r) };
    });
    const failures = (await inParallel(PARALLEL, tasks)).filter((f) => f !== undefined);
    assert.deepEqual(failures, []);
  });

  it('hashes the real doveadm generates verify with ours (API, and our doveadm pw -t)', async () => {
    const tasks = variants().map(({ scheme, rounds, pw }) => async () => {
      const args = ['-c', conf, 'pw', '-s', scheme, '-p', pw, '-u', USER, ...(rounds ? ['-r', String(rounds)] : [])];
      const real = await runRealDoveadm(args);
      const stored = real.stdout.toString('utf8').replace(/\n$/, '');
      if (real.status !== 0 || !stored.startsWith('{')) return { scheme, pw, step: 'real generate', real: show(real) };
      const api = await verifyPassword(Buffer.from(pw), stored, { user: USER });
      if (!api.ok) return { scheme, pw, stored, api };
      const bad = await verifyPassword(Buffer.from(`!${pw}`), stored, { user: USER });
      if (bad.ok) return { scheme, pw, stored, step: 'wrong password accepted' };
      if (!CLI_CHECKED.has(scheme) || rounds !== undefined) return undefined;
      const ours = await runOursDoveadm(['-c', conf, 'pw', '-t', stored, '-p', pw, '-u', USER]);
      return ours.status === 0 && ours.stdout.toString('utf8') === `${stored} (verified)\n` ? undefined : { scheme, stored, ours: show(ours) };
    });
    const failures = (await inParallel(PARALLEL, tasks)).filter((f) => f !== undefined);
    assert.deepEqual(failures, []);
  });

  /** Run both with the same arguments (and stdin); collect differences. */
  async function compare(cases: ReadonlyArray<{ args: string[]; input?: string }>): Promise<void> {
    const tasks = cases.map(({ args, input }) => async () => {
      const [real, ours] = await Promise.all([runRealDoveadm(args, input), runOursDoveadm(args, input)]);
      const a = show(real);
      const b = show(ours);
      return a.status === b.status && a.stdout === b.stdout && a.stderr === b.stderr ? undefined : { args, input, real: a, ours: b };
    });
    const diffs = (await inParallel(PARALLEL, tasks)).filter((d) => d !== undefined);
    assert.deepEqual(diffs, []);
  }

  const pw = (...args: string[]) => ({ args: ['-c', conf, 'pw', ...args] });

  it('byte-equal: listing, deterministic hashes, options and their errors', async () => {
    await compare([
      pw('-l'),
      pw('--list'),
      pw('-l', '-s', 'foo', '-p', 'x'),
      pw('-l', 'extra'),
      pw('-x'),
      pw('-p'),
      pw('--r', '5', '-p', 'x'),
      pw('--list=5'),
      pw('--plaintext'),
      pw('--foo'),
      pw('--foo=bar'),
      pw('--pl=x', '--sch=sha'),
      pw('-p', 'x', '--', '-s'),
      pw('-p', 'x', 'extra', 'more'),
      pw('extra', '-p', 'x'),
      pw('-s', 'NOSUCH', '-p', 'x'),
      pw('-s', 'plain.foo', '-p', 'x'),
      pw('-s', '.hex', '-p', 'x'),
      pw('-s', 'plain.HEX', '-p', 'x'),
      pw('-s', 'plain', '-p', 'x', '-s', 'sha'),
      pw('-s', 'sha256', '-p', 'pässwörd'),
      pw('-s', 'ldap-md5', '-p', 'x'),
      pw('-s', 'plain-md4', '-p', 'x'),
      pw('-s', 'cram-md5.b64', '-p', 'x'),
      pw('-s', 'hmac-md5', '-p', 'a much longer password than sixty-four bytes, which HMAC hashes first!!'),
      pw('-s', 'digest-md5', '-p', 'x'),
      pw('-s', 'digest-md5', '-p', 'x', '-u', 'user@realm@example.test'),
      pw('-s', 'digest-md5', '-p', 'x', '-u', 'nodomain'),
      pw('-s', 'PLAIN-TRUNC', '-p', 'x', '-V'),
      pw('-V', '-s', 'SHA', '-p', 'x'),
      pw('-V', '-s', 'sha512.base64', '-p', 'x'),
      pw('-s', 'plain', '-p', 'x', '-r', '4294967296'),
      pw('-s', 'plain', '-p', 'x', '-r', '-5'),
      pw('-s', 'plain', '-p', 'x', '-r', 'abc'),
      pw('-s', 'plain', '-p', 'x', '-r', '99999999999999999999'),
      pw('-s', 'argon2i', '-p', 'x', '-r', '2'),
      pw('-s', 'SHA512-CRYPT', '-p', 'z'.repeat(600)),
      pw('-s', 'DES-CRYPT', '-p', 'z'.repeat(512)),
      pw('-t', '{SHA512-CRYPT}*0', '-p', 'z'.repeat(600)),
    ]);
  });

  it('byte-equal: -t verification and its errors', async () => {
    await compare([
      pw('-t', '{PLAIN}x', '-p', 'x'),
      pw('-t', '{plain}x', '-p', 'x'),
      pw('-t', '{PLAIN}y', '-p', 'x'),
      pw('-t', 'y', '-p', 'x'),
      pw('-t', '{PLAIN', '-p', 'x'),
      pw('-t', '{NOSUCH}x', '-p', 'x'),
      pw('-t', '{PLAIN}x', '-p', 'x', '-s', 'NOSUCH'),
      pw('-t', '{SHA}abc', '-p', 'x'),
      pw('-t', '{SHA}YWI=', '-p', 'x'),
      pw('-t', '{SHA.HEX}zz', '-p', 'x'),
      pw('-t', '{SSHA}YWI=', '-p', 'x'),
      pw('-t', '{SMD5}YWJj', '-p', 'x'),
      pw('-t', '{BLF-CRYPT}$1$abc', '-p', 'x'),
      pw('-t', '{BLF-CRYPT}$2y$05$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!', '-p', 'x'),
      pw('-t', '{BLF-CRYPT}$2z$05$iezr7CfgCN4u5lMyBhxXKeAl/tSltN1sDWYcuCfmvaYbmV5c9Dd06', '-p', 'password'),
      pw('-t', '{BLF-CRYPT}$2y$03$iezr7CfgCN4u5lMyBhxXKeAl/tSltN1sDWYcuCfmvaYbmV5c9Dd06', '-p', 'password'),
      pw('-t', '{BLF-CRYPT}$2a$05$iezr7CfgCN4u5lMyBhxXKeAl/tSltN1sDWYcuCfmvaYbmV5c9Dd06', '-p', 'password'),
      pw('-t', '{BLF-CRYPT}$2y$05$iezr7CfgCN4u5lMyBhxXKe', '-p', 'password'),
      pw('-t', '{CRYPT}$2y$05$iezr7CfgCN4u5lMyBhxXKeAl/tSltN1sDWYcuCfmvaYbmV5c9Dd0', '-p', 'password'),
      pw('-t', '$1$D.PyjmXY$4vdc/MgHVSPW3uONkvLON/', '-p', 'password'),
      pw('-t', '$1$D.PyjmXY$4vdc/MgHVSPW3uONkvLON/$junk', '-p', 'password'),
      pw('-t', '{MD5}5f4dcc3b5aa765d61d8327deb882cf99', '-p', 'password'),
      pw('-t', '{MD5}nonsense', '-p', 'password'),
      pw('-t', '{CRYPT}91/eC84QzmvNk', '-p', 'password'),
      pw('-t', '{CRYPT}91/eC84QzmvNk', '-p', 'passwordXYZ'),
      pw('-t', '{CRYPT}', '-p', ''),
      pw('-t', '{CRYPT}*0', '-p', 'x'),
      pw('-t', '{DES-CRYPT}$6$x', '-p', 'x'),
      pw('-t', '{SHA512-CRYPT}$6$rounds=999$abc$x', '-p', 'x'),
      pw('-t', '{DIGEST-MD5}15c1adb47eba76a6409f66868c3315e8', '-p', 'password'),
      pw('-t', '{DIGEST-MD5}15c1adb47eba76a6409f66868c3315e8', '-p', 'password', '-u', USER),
      pw('-t', '{PBKDF2}$1$salt$5000$zz', '-p', 'x'),
      pw('-t', '{PBKDF2}salt', '-p', 'x'),
      pw('-t', '{PBKDF2}$1$salt$x$e3756275d675afcd7d52cecc48ff1fb264b199f8', '-p', 'x'),
      pw('-t', '{PBKDF2}$1$salt$0$0000000000000000000000000000000000000000', '-p', 'x'),
      pw('-t', '{SCRAM-SHA-1}4096,a,b', '-p', 'x'),
      pw('-t', '{SCRAM-SHA-256}100,YWI=,YWI=,YWI=', '-p', 'x'),
      pw('-t', '{SCRAM-SHA-256}4096,YWI=,YWI=,YWI=', '-p', 'x'),
      pw('-t', '{OTP}bad', '-p', 'x'),
      pw('-t', '{OTP}SHA1 1024 e6d284fae0aaecab 6b0a62cd37651328', '-p', 'password'),
      pw('-t', '{OTP}sha1 1024 E6D284FAE0AAECAB 6B0A62CD37651328', '-p', 'password'),
      pw('-t', '{PLAIN-TRUNC}3-pas', '-p', 'password'),
      pw('-t', '{PLAIN-TRUNC}8-password', '-p', 'password'),
      pw('-t', '{PLAIN-TRUNC}x', '-p', 'password'),
      pw('-t', '{ARGON2I}$argon2i$v=19$bad', '-p', 'x'),
      pw('-t', '{CRAM-MD5}9186d855e11eba527a7a52ca82b313e180d62234f0acc9051b527243d41e2740', '-p', 'password'),
    ]);
  });

  it('byte-equal: passwords read from stdin', async () => {
    const stdin = (input: string, ...args: string[]) => ({ args: ['-c', conf, 'pw', ...args], input });
    await compare([
      stdin('a\na\n', '-s', 'plain'),
      stdin('a\rb\n', '-s', 'plain'),
      stdin('a\nb\nc\nd\ne\nf\n', '-s', 'plain'),
      stdin('a\nb\nc\nc\n', '-s', 'plain'),
      stdin('', '-s', 'plain'),
      stdin('abc', '-s', 'plain'),
      stdin('x\0y\nx\0z\n', '-s', 'plain'),
      stdin('x\n', '-t', '{PLAIN}x'),
      stdin('y', '-t', '{PLAIN}x'),
    ]);
  });

  it('byte-equal: the doveadm front end, configuration and plugins', async () => {
    const cfg = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const quota = cfg('quota.conf', 'mail_plugins = quota\n');
    const all = cfg('all.conf', 'mail_plugins = $mail_plugins acl quota fts mail_crypt\n');
    const filtered = cfg('filtered.conf', 'mail_plugins = quota\nprotocol doveadm {\n  mail_plugins = acl\n}\n');
    const unknown = cfg('unknown.conf', 'mail_plugins = quota nosuch\n');
    const trash = cfg('trash.conf', 'mail_plugins = trash\n');
    const imap = cfg('imap.conf', 'mail_plugins = imap_quota quota\n');
    const bad = cfg('bad.conf', 'foo = bar\n');
    const obsolete = cfg('obsolete.conf', 'ssl_protocols = !SSLv3\n');
    // doveadm reads only its own module's <file values: a missing ssl_cert file does not stop it
    const missingCert = cfg('missing-cert.conf', `ssl = yes\nssl_cert = <${join(dir, 'nonexistent.pem')}\n`);
    const c = (...args: string[]) => ({ args });
    await compare([
      c('-c', conf),
      c('-c', conf, 'help'),
      c('-c', conf, 'nosuch'),
      c('-c', conf, 'PW', '-l'),
      c('-c', conf, 'auth'),
      c('-c', conf, 'auth', 'cache'),
      c('-c', conf, 'mailbox', 'nosuch'),
      c('-c', conf, 'director', 'ring'),
      c('-c', conf, 'quota', 'get'),
      c('-c', conf, 'fts_lucene'),
      c('-c', conf, 'help', 'pw', 'extra'),
      c('-x', 'pw', '-l'),
      c('-c'),
      c('-f', 'bogus', 'pw', '-l'),
      c('-f', 'flow', '-v', '-h', '-k', '-L', '-o', 'x=y', '-c', conf, 'pw', '-s', 'plain', '-p', 'x'),
      c('-i', 'nosuch', 'pw', '-l'),
      c('-c', join(dir, 'missing.conf'), 'pw', '-l'),
      c('-c', quota),
      c('-c', quota, 'quota'),
      c('-c', all),
      c('-c', all, 'mailbox'),
      c('-c', all, 'acl'),
      c('-c', filtered),
      c('-c', unknown, 'pw', '-l'),
      c('-c', trash, 'pw', '-l'),
      c('-c', imap, 'pw', '-l'),
      c('-c', bad, 'pw', '-l'),
      c('-c', bad, 'help', 'pw', 'x'),
      c('-c', obsolete, 'pw', '-s', 'plain', '-p', 'x'),
      c('-c', quota, 'config', '-n'),
      c('-c', missingCert, 'pw', '-s', 'plain', '-p', 'x'),
      c('-c', missingCert, 'config', '-x', '-m', 'doveadm'),
      c('-c', missingCert, 'config', '-x', '-m', 'imap-login'),
      c('-c', missingCert, 'config', '-x'),
      c('-c', quota, 'config', '-h', 'mail_plugins'),
      c('-c', bad, 'config', '-n'),
    ]);
  });
});
