/**
 * Differential transcripts of the Dovecot auth protocols: the same
 * dovecot.conf and passwd-files (fixtures/auth/protocol) served by a real
 * Dovecot 2.3 and by Postern's auth service; every scripted conversation on
 * the client socket (as Postfix speaks it) and on auth-userdb/auth-master
 * must give the same reply lines (SPID/CUID/COOKIE and the random parts of
 * CRAM-MD5/SCRAM challenges masked), including when the server hangs up.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AuthService, startAuthService } from '../../src/auth/service.js';
import {
  authTempDir,
  maskTranscript,
  type RealDovecot,
  realDovecotRunnable,
  runTranscript,
  type ScratchDir,
  scratchHeader,
  startRealDovecot,
  type TranscriptStep,
  writeFiles,
} from '../helpers/dovecot-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/auth/protocol');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const plain = (authz: string, user: string, pass: string) => b64(`${authz}\0${user}\0${pass}`);
const HANDSHAKE: TranscriptStep[] = ['VERSION\t1\t2', 'CPID\t4242', { expect: 12 }];
const MASTER: TranscriptStep[] = ['VERSION\t1\t0', { expect: 2 }];

/** CRAM-MD5 response to the challenge in the last CONT line. */
function cramResponse(user: string, pass: string) {
  return (last: string) => {
    const [, id, data] = last.split('\t');
    const challenge = Buffer.from(data ?? '', 'base64');
    return `CONT\t${id}\t${b64(`${user} ${createHmac('md5', pass).update(challenge).digest('hex')}`)}`;
  };
}

/** A SCRAM client: the first message, then the final one computed from the server-first line. */
function scram(hash: 'sha1' | 'sha256', user: string, pass: string) {
  const cnonce = randomBytes(12).toString('base64');
  const bare = `n=${user},r=${cnonce}`;
  return {
    first: b64(`n,,${bare}`),
    final: (last: string) => {
      const [, id, data] = last.split('\t');
      const serverFirst = Buffer.from(data ?? '', 'base64').toString('latin1');
      const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      if (!attrs.i) return 'CANCEL\t1';
      const salted = pbkdf2Sync(pass, Buffer.from(attrs.s ?? '', 'base64'), Number(attrs.i), hash === 'sha1' ? 20 : 32, hash);
      const clientKey = createHmac(hash, salted).update('Client Key').digest();
      const storedKey = createHash(hash).update(clientKey).digest();
      const withoutProof = `c=${b64('n,,')},r=${attrs.r}`;
      const sig = createHmac(hash, storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
      const proof = Buffer.alloc(sig.length);
      for (let i = 0; i < sig.length; i++) proof[i] = clientKey[i]! ^ sig[i]!;
      return `CONT\t${id}\t${b64(`${withoutProof},p=${proof.toString('base64')}`)}`;
    },
  };
}

/** Hide the random parts of CRAM-MD5 and SCRAM exchanges. */
function maskChallenges(lines: string[]): string[] {
  return lines.map((l) => {
    const m = /^(CONT|OK)\t(\d+)\t(.*)$/.exec(l);
    if (!m) return l;
    if (m[1] === 'OK') return l.replace(/\tresp=[A-Za-z0-9+/=]+/, '\tresp=<scram-final>');
    const text = Buffer.from(m[3]!, 'base64').toString('latin1');
    if (/^<\d{16}\.\d+@[^>]+>$/.test(text)) return `CONT\t${m[2]}\t<cram-challenge>`;
    if (/^r=.*,s=.*,i=\d+$/.test(text)) return `CONT\t${m[2]}\t<scram-first i=${/i=(\d+)$/.exec(text)![1]}>`;
    if (/^v=/.test(text)) return `CONT\t${m[2]}\t<scram-final>`;
    return l;
  });
}

interface Case {
  name: string;
  socket: string;
  steps: TranscriptStep[];
}

let ripN = 0;
/** A fresh remote IP per case, so no case waits out another's failure penalty. */
const rip = () => `192.0.2.${++ripN}`;
const svc = (extra = '') => `service=smtp\tnologin\tlip=127.0.0.1\trip=${rip()}${extra}`;

function clientCases(): Case[] {
  const c = (name: string, ...steps: TranscriptStep[]): Case => ({ name, socket: 'auth-postfix', steps: [...HANDSHAKE, ...steps] });
  const auth = (mech: string, resp?: string, extra = '') => `AUTH\t1\t${mech}\t${svc(extra)}${resp === undefined ? '' : `\tresp=${resp}`}`;
  const one = { expect: 1 };
  const s1 = scram('sha1', 'mia@example.test', 'mia-pass');
  const s256 = scram('sha256', 'noah@example.test', 'noah-pass');
  const sPlain = scram('sha1', 'alice@example.test', 'alice-pass');
  const sWrong = scram('sha256', 'noah@example.test', 'wrong');
  const sFinal = scram('sha256', 'alice@example.test', 'alice-pass');
  return [
    c('handshake'),
    c('plain ok, userdb_ fields give an empty extra field', auth('PLAIN', plain('', 'alice@example.test', 'alice-pass'), '\tsecured'), one),
    c('plain sha512-crypt ok', auth('PLAIN', plain('', 'bob@example.test', 'bob-pass')), one),
    c('plain wrong password', auth('PLAIN', plain('', 'bob@example.test', 'nope')), one),
    c('plain unknown user', auth('PLAIN', plain('', 'nosuch@example.test', 'x')), one),
    c('plain without initial response', auth('PLAIN'), one, `CONT\t1\t${plain('', 'alice@example.test', 'alice-pass')}`, one),
    c('plain invalid input', auth('PLAIN', b64('abc')), one),
    c('plain empty resp', auth('PLAIN', ''), one),
    c('plain resp "="', auth('PLAIN', '='), one),
    c('plain invalid base64', auth('PLAIN', '!!!notbase64'), one),
    c('plain authzid without the separator: master login', auth('PLAIN', plain('alice@example.test', 'master@example.test', 'master-pass')), one),
    c('plain master user separator', auth('PLAIN', plain('', 'alice@example.test*master@example.test', 'master-pass')), one),
    c('plain master user wrong password', auth('PLAIN', plain('', 'alice@example.test*master@example.test', 'nope')), one),
    c('plain same authzid', auth('PLAIN', plain('bob@example.test', 'bob@example.test', 'bob-pass')), one),
    c('plain empty username', auth('PLAIN', plain('', '', 'x')), one),
    c('plain disallowed username char', auth('PLAIN', plain('', 'bo b@example.test', 'x')), one),
    c('plain upper-case login', auth('PLAIN', plain('', 'CAROL@Example.TEST', 'carol-pass')), one),
    c('deny passdb', auth('PLAIN', plain('', 'dave@other.test', 'dave-pass')), one),
    c('deny passdb, wrong password', auth('PLAIN', plain('', 'dave@other.test', 'nope')), one),
    c('allow_nets miss', auth('PLAIN', plain('', 'erin@example.test', 'erin-pass')), one),
    c('allow_nets hit', `AUTH\t1\tPLAIN\tservice=smtp\trip=10.9.8.7\tresp=${plain('', 'erin@example.test', 'erin-pass')}`, one),
    c('bare $1$ is MD5-CRYPT', auth('PLAIN', plain('', 'frank@example.test', 'frank-pass')), one),
    c('nopassword', auth('PLAIN', plain('', 'gina@example.test', 'anything')), one),
    c('user= renames', auth('PLAIN', plain('', 'hank@example.test', 'hank-pass')), one),
    c('bare $5$ under scheme=PLAIN', auth('PLAIN', plain('', 'ivan@example.test', 'ivan-pass')), one),
    c('proxy and nodelay fields', auth('PLAIN', plain('', 'judy@example.test', 'judy-pass')), one),
    c('nodelay failure', auth('PLAIN', plain('', 'judy@example.test', 'nope')), one),
    c('unknown scheme', auth('PLAIN', plain('', 'nick@example.test', 'abc')), one),
    c('passdb-only line', auth('PLAIN', plain('', 'olga@example.test', 'olga-pass')), one),
    c('uid 0 line is dropped', auth('PLAIN', plain('', 'mallory@example.test', 'x')), one),
    c('duplicate line: first wins', auth('PLAIN', plain('', 'alice@example.test', 'duplicate')), one),
    c('libpam-pwdfile [34] is PLAIN-MD5', auth('PLAIN', plain('', 'pam@example.test', 'x')), one),
    c('static passdb by username_filter', auth('PLAIN', plain('', 'zed@static.test', 'static-pass')), one),
    c('static passdb wrong password', auth('PLAIN', plain('', 'zed@static.test', 'nope')), one),
    c('login', auth('LOGIN'), one, `CONT\t1\t${b64('Alice@example.test')}`, one, `CONT\t1\t${b64('alice-pass')}`, one),
    c('login with initial response', auth('LOGIN', b64('alice@example.test')), one, `CONT\t1\t${b64('alice-pass')}`, one),
    c('login NUL in data', auth('LOGIN', b64('a\0b')), one),
    c('login password with TAB', auth('LOGIN', b64('bob@example.test')), one, `CONT\t1\t${b64('bob\tpass')}`, one),
    c('cram-md5 from CRAM-MD5 credentials', auth('CRAM-MD5'), one, cramResponse('liam@example.test', 'liam-pass'), one),
    c('cram-md5 from a PLAIN password', auth('CRAM-MD5'), one, cramResponse('alice@example.test', 'alice-pass'), one),
    c('cram-md5 wrong digest', auth('CRAM-MD5'), one, cramResponse('alice@example.test', 'nope'), one),
    c('cram-md5 for a crypt hash', auth('CRAM-MD5'), one, cramResponse('bob@example.test', 'bob-pass'), one),
    c('cram-md5 missing digest', auth('CRAM-MD5'), one, `CONT\t1\t${b64('alice@example.test')}`, one),
    c('scram-sha-1', auth('SCRAM-SHA-1', s1.first), one, s1.final, one, 'CONT\t1\t', one),
    c('scram-sha-256', auth('SCRAM-SHA-256', s256.first), one, s256.final, one, 'CONT\t1\t', one),
    c('scram-sha-1 from a PLAIN password', auth('SCRAM-SHA-1', sPlain.first), one, sPlain.final, one, 'CONT\t1\t', one),
    c('scram wrong password', auth('SCRAM-SHA-256', sWrong.first), one, sWrong.final, one),
    c('scram final-resp-ok', auth('SCRAM-SHA-256', sFinal.first, '\tfinal-resp-ok'), one, sFinal.final, one),
    c('scram for a crypt hash', auth('SCRAM-SHA-1', b64('n,,n=bob@example.test,r=abc')), one),
    c('scram channel binding', auth('SCRAM-SHA-1', b64('p=tls-unique,,n=bob@example.test,r=abc')), one),
    c('anonymous', auth('ANONYMOUS', b64('trace')), one),
    c('external without a certificate user', auth('EXTERNAL', ''), one),
    c('CONT for an unknown id', 'CONT\t7\tAAAA', one),
    c('unexpected continuation', auth('PLAIN'), one, 'CONT\t1\tAAAA', one, 'CONT\t1\tAAAA', one),
    c('CONT invalid base64', auth('PLAIN'), one, 'CONT\t1\t!!!', one),
    c('CANCEL', auth('PLAIN'), one, 'CANCEL\t1', 'CONT\t1\tAAAA', one),
    c('lower-case mechanism name', auth('plain', plain('', 'alice@example.test', 'alice-pass')), one),
    c('unknown command', 'FOO\tbar', one),
    c('broken AUTH', 'AUTH\tx\tPLAIN', one),
    c('AUTH id 0', 'AUTH\t0\tPLAIN\tservice=smtp', one),
    c('unsupported mechanism', 'AUTH\t1\tDIGEST-MD5\tservice=smtp', one),
    c('no service', 'AUTH\t1\tPLAIN', one),
    c('parameters after resp', 'AUTH\t1\tPLAIN\tservice=smtp\tresp=AA==\tfoo=bar', one),
    c('duplicate id', 'AUTH\t1\tPLAIN\tservice=smtp', one, 'AUTH\t1\tPLAIN\tservice=smtp', one),
    c('broken CONT', 'CONT\tabc', one),
    c('broken CANCEL', 'CANCEL\tx', one),
    c('line too long', `AUTH\t1\tPLAIN\tservice=smtp\tresp=${'A'.repeat(20000)}`, one),
    { name: 'bad VERSION', socket: 'auth-postfix', steps: ['VERSION\tx', { expect: 13 }] },
    { name: 'major version 2', socket: 'auth-postfix', steps: ['VERSION\t2\t0', { expect: 13 }] },
    { name: 'CPID 0', socket: 'auth-postfix', steps: ['VERSION\t1\t2', 'CPID\t0', { expect: 13 }] },
    { name: 'AUTH before CPID', socket: 'auth-postfix', steps: ['VERSION\t1\t2', 'AUTH\t1\tPLAIN\tservice=smtp', { expect: 13 }] },
  ];
}

function masterCases(): Case[] {
  const u = (name: string, ...steps: TranscriptStep[]): Case => ({ name, socket: 'auth-userdb', steps: [...MASTER, ...steps] });
  const m = (name: string, ...steps: TranscriptStep[]): Case => ({ name, socket: 'auth-master', steps: [...MASTER, ...steps] });
  const one = { expect: 1 };
  const users = ['alice@example.test', 'carol@example.test', 'BOB@EXAMPLE.TEST', 'ivan@example.test', 'olga@example.test', 'frank@example.test', 'zed@static.test', 'nosuch@example.test', 'mallory@example.test', 'hank@example.test', 'dave@other.test'];
  return [
    ...users.map((user, i) => u(`USER ${user}`, `USER\t${i + 1}\t${user}\tservice=lmtp`, one)),
    ...['bob@example.test', 'alice@example.test', 'dave@other.test', 'gina@example.test', 'zed@static.test', 'nosuch@example.test', 'judy@example.test', 'hank@example.test'].map((user, i) =>
      u(`PASS ${user}`, `PASS\t${i + 1}\t${user}\tservice=imap`, one),
    ),
    u('LIST', 'LIST\t1', { until: /^DONE/ }),
    u('LIST with a mask', 'LIST\t2\tuser=*@other.test\tservice=doveadm', { until: /^DONE/ }),
    u('USER empty name', 'USER\t1\t\tservice=x', one),
    u('USER disallowed char', 'USER\t1\ta b\tservice=x', one),
    u('USER without service', 'USER\t1\talice@example.test', one),
    u('USER broken', 'USER\tx\talice@example.test\tservice=x', one),
    u('unknown command', 'FOO', one),
    u('CACHE-FLUSH on userdb', 'CACHE-FLUSH\t1', one),
    u('CPID on userdb', 'CPID\t1', one),
    u('line too long', `USER\t1\t${'a'.repeat(2000)}\tservice=x`, one),
    m('CACHE-FLUSH', 'CACHE-FLUSH\t3', one, 'CACHE-FLUSH\t4\tbob@example.test', one),
    m('CPID on master', 'CPID\t5', one),
    m('REQUEST for a nonexistent client', 'REQUEST\t1\t99999\t1\t00112233445566778899aabbccddeeff', one),
    m('PASS on master', 'PASS\t1\tbob@example.test\tservice=imap', one),
    { name: 'bad master VERSION', socket: 'auth-userdb', steps: ['VERSION\t2\t0', { expect: 3 }] },
    { name: 'no VERSION', socket: 'auth-userdb', steps: ['USER\t1\talice@example.test\tservice=x', { expect: 3 }] },
  ];
}

/** AUTH_DIFF_DUMP=1 prints the real server's transcripts (to review what the cases pin down). */
function dump(cases: Case[], real: string[][]): void {
  if (!process.env.AUTH_DIFF_DUMP) return;
  for (let i = 0; i < cases.length; i++) {
    const lines = real[i]!.filter((l) => !/^(MECH|SPID|CUID|COOKIE|DONE|VERSION)\t?/.test(l));
    process.stderr.write(`== ${cases[i]!.name}\n${lines.map((l) => `   ${l.replaceAll('\t', '<TAB>')}`).join('\n')}\n`);
  }
}

interface Side {
  socket(name: string): string;
}

async function runCase(side: Side, c: Case): Promise<string[]> {
  return maskChallenges(maskTranscript(await runTranscript(side.socket(c.socket), c.steps)));
}

/** doveadm auth login's path: AUTH on auth-login, then REQUEST with the connection's pid/cookie on auth-master. */
async function loginRequest(side: Side): Promise<string[]> {
  const { AuthClient, AuthMasterClient } = await import('../../src/auth/client.js');
  const pid = 70000 + Math.floor(Math.random() * 20000);
  const client = await AuthClient.connect(side.socket('auth-login'), { pid });
  const r = await client.plain('bob@example.test', 'bob-pass', ['service=imap', `rip=${rip()}`]);
  const master = await AuthMasterClient.connect(side.socket('auth-master'));
  const u = await master.request(pid, 1, client.cookie ?? '');
  const again = await master.request(pid, 1, client.cookie ?? '');
  const bad = await master.request(pid, 2, '00'.repeat(16));
  client.close();
  master.close();
  return [r.status, ...r.fields, `request ${u.ret} ${u.user}`, ...u.fields, `again ${again.ret}`, `bad cookie ${bad.ret}`];
}

const skip = !realDovecotRunnable() && 'real Dovecot cannot run here (needs root and the dovecot/dovenull users)';

describe('auth protocol: Postern vs real Dovecot on the same passdb', { skip }, () => {
  let tmp: ScratchDir;
  let real: RealDovecot;
  let ours: AuthService;
  let oursSide: Side;
  const ourLog: string[] = [];

  before(async () => {
    tmp = authTempDir();
    const files: Record<string, string> = {};
    for (const n of readdirSync(FIXTURES)) files[n] = readFileSync(join(FIXTURES, n), 'utf8');
    files['dovecot.conf'] = files['dovecot.conf']!.replace('@HEADER@', scratchHeader(tmp.dir, 'real'));
    writeFiles(tmp.dir, files);
    const conf = join(tmp.dir, 'dovecot.conf');
    real = await startRealDovecot(conf, join(tmp.dir, 'real-base'), join(tmp.dir, 'real.log'));
    ours = await startAuthService({ configPath: conf, baseDir: join(tmp.dir, 'ours-base'), log: (l, m) => ourLog.push(`${l}: ${m}`) });
    oursSide = { socket: (name) => ours.socketPath(name) };
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    tmp?.cleanup();
  });

  it('client protocol transcripts match', async () => {
    const cases = clientCases();
    const [a, b] = await Promise.all([Promise.all(cases.map((c) => runCase(real, c))), Promise.all(cases.map((c) => runCase(oursSide, c)))]);
    dump(cases, a);
    for (let i = 0; i < cases.length; i++) assert.deepEqual(b[i], a[i], `case "${cases[i]!.name}"`);
  });

  it('master/userdb protocol transcripts match', async () => {
    const cases = masterCases();
    const [a, b] = await Promise.all([Promise.all(cases.map((c) => runCase(real, c))), Promise.all(cases.map((c) => runCase(oursSide, c)))]);
    dump(cases, a);
    for (let i = 0; i < cases.length; i++) assert.deepEqual(b[i], a[i], `case "${cases[i]!.name}"`);
  });

  it('login + master REQUEST (doveadm auth login) matches', async () => {
    const [a, b] = await Promise.all([loginRequest(real), loginRequest(oursSide)]);
    assert.deepEqual(b, a);
    assert.equal(b[0], 'ok');
  });

  it('a failed login delays the next one from the same IP (penalty), for both', async () => {
    const ip = '198.51.100.77';
    const steps: TranscriptStep[] = [
      ...HANDSHAKE,
      `AUTH\t1\tPLAIN\tservice=smtp\trip=${ip}\tresp=${plain('', 'alice@example.test', 'wrong1')}`,
      { expect: 1 },
      `AUTH\t2\tPLAIN\tservice=smtp\trip=${ip}\tresp=${plain('', 'alice@example.test', 'alice-pass')}`,
      { expect: 1 },
    ];
    const timed = async (side: Side) => {
      const t0 = Date.now();
      const lines = maskTranscript(await runTranscript(side.socket('auth-postfix'), steps, 0));
      return { lines, ms: Date.now() - t0 };
    };
    const [a, b] = await Promise.all([timed(real), timed(oursSide)]);
    assert.deepEqual(b.lines, a.lines);
    assert.ok(a.ms >= 3500, `real took ${a.ms} ms`);
    assert.ok(b.ms >= 3500 && b.ms < 9000, `ours took ${b.ms} ms`);
  });

  it('our listeners have the modes of real Dovecot', async () => {
    const { statSync } = await import('node:fs');
    for (const name of ['auth-client', 'auth-login', 'auth-master', 'auth-userdb', 'auth-postfix', 'login/login']) {
      const r = statSync(real.socket(name));
      const o = statSync(ours.socketPath(name));
      assert.equal((o.mode & 0o777).toString(8), (r.mode & 0o777).toString(8), name);
      assert.equal(o.uid, r.uid, `${name} owner`);
    }
  });
});
