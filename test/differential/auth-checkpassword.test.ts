/**
 * checkpassword passdb/userdb compared with a real Dovecot 2.3: the same
 * program (fixtures/auth/checkpassword/checkpw.sh) run by both; Dovecot runs
 * its own checkpassword-reply, Postern runs src/auth/checkpassword-reply.ts.
 * Successes, wrong passwords, exit 111, a killed program and a program that
 * says ok without replying (temporary failures), and USER/PASS lookups.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
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

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/auth/checkpassword');
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Side {
  socket(name: string): string;
}

const skip = !realDovecotRunnable() && 'real Dovecot cannot run here (needs root and the dovecot/dovenull users)';

describe('checkpassword: Postern vs real Dovecot', { skip }, () => {
  let tmp: ScratchDir;
  let real: RealDovecot;
  let ours: AuthService;
  let oursSide: Side;

  before(async () => {
    tmp = authTempDir();
    const files: Record<string, string> = {};
    for (const n of readdirSync(FIXTURES)) files[n] = readFileSync(join(FIXTURES, n), 'utf8');
    files['dovecot.conf'] = files['dovecot.conf']!.replace('@HEADER@', scratchHeader(tmp.dir, 'real'));
    writeFiles(tmp.dir, files);
    chmodSync(join(tmp.dir, 'checkpw.sh'), 0o755);
    const conf = join(tmp.dir, 'dovecot.conf');
    real = await startRealDovecot(conf, join(tmp.dir, 'real-base'), join(tmp.dir, 'real.log'));
    ours = await startAuthService({ configPath: conf, baseDir: join(tmp.dir, 'ours-base'), log: () => {} });
    oursSide = { socket: (n) => ours.socketPath(n) };
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    tmp?.cleanup();
  });

  it('logins and lookups match', async () => {
    let ip = 0;
    const login = (user: string, pass: string): TranscriptStep[] => [
      'VERSION\t1\t2',
      'CPID\t77',
      { until: /^DONE$/ },
      `AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.${++ip}\tresp=${b64(`\0${user}\0${pass}`)}`,
      { expect: 1 },
    ];
    const cases: Array<[string, TranscriptStep[]]> = [
      ['ok', login('alice@example.test', 'alice-pass')],
      ['wrong password', login('alice@example.test', 'nope')],
      ['unknown user', login('nosuch@example.test', 'x')],
      ['exit 111', login('temp@example.test', 'x')],
      ['killed', login('crash@example.test', 'x')],
      ['ok without reply', login('quiet@example.test', 'quiet-pass')],
      [
        'userdb and passdb lookups',
        [
          'VERSION\t1\t0',
          { expect: 2 },
          'USER\t1\talice@example.test\tservice=lmtp',
          { expect: 1 },
          'USER\t2\tnosuch@example.test\tservice=lmtp',
          { expect: 1 },
          'PASS\t3\talice@example.test\tservice=imap',
          { expect: 1 },
          'PASS\t4\tnosuch@example.test\tservice=imap',
          { expect: 1 },
          'USER\t5\ttemp@example.test\tservice=lmtp',
          { expect: 1 },
        ],
      ],
    ];
    const sock = (i: number) => (i === cases.length - 1 ? 'auth-userdb' : 'auth-postfix');
    const runAll = (side: Side) => Promise.all(cases.map(([, steps], i) => runTranscript(side.socket(sock(i)), steps).then(maskTranscript)));
    const [a, b] = await Promise.all([runAll(real), runAll(oursSide)]);
    if (process.env.AUTH_DIFF_DUMP) for (let i = 0; i < cases.length; i++) process.stderr.write(`== ${cases[i]![0]}\n${a[i]!.filter((l) => !/^(MECH|SPID|CUID|COOKIE|DONE|VERSION)/.test(l)).join("\n").replaceAll("\t", "<TAB>")}\n`);
    for (let i = 0; i < cases.length; i++) assert.deepEqual(b[i], a[i], cases[i]![0]);
    assert.match(b[0]!.at(-1)!, /^OK\t1\tuser=alice@example\.test\t/);
    assert.match(b[3]!.at(-1)!, /code=temp_fail/);
  });
});
