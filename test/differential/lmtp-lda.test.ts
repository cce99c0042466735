/**
 * Differential dovecot-lda: the real /usr/lib/dovecot/dovecot-lda (with a
 * real Dovecot's auth service) and Postern's bin/dovecot-lda (with
 * Postern's auth service), each on its own copy of the same dovecot.conf
 * and users, run with the same options and input. stdout, stderr (the
 * program path masked) and the exit code must match; afterwards the mail
 * stores, the LDA log lines and the rejection handed to sendmail_path
 * (captured by a script, per-run values masked) must match too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { type LmtpSide, startOursLmtp, startRealLmtp } from '../helpers/lmtp-dovecot.js';
import { maildirSnapshot } from '../helpers/maildir-snapshot.js';

const REAL_LDA = '/usr/lib/dovecot/dovecot-lda';
const OURS_LDA = resolve(import.meta.dirname, '../../../bin/dovecot-lda');
const runnable = realDovecotRunnable() && existsSync(REAL_LDA);

const SMALL = 'From: s@remote.test\nSubject: lda test\nMessage-ID: <lda1@remote.test>\n\nhello\n';
const FROMLINE = 'From envelope@remote.test  Sat Nov 22 10:00:00 2025\nSubject: with From_ line\n\nbody\n';
const BIG = `Subject: big one\nMessage-ID: <big@remote.test>\nContent-Type: text/plain\n\n${'y'.repeat(70)}\n`.repeat(30);

interface Case {
  name: string;
  args: string[];
  input: string;
}

const cases: Case[] = [
  { name: 'plain delivery', args: ['-d', 'alice@example.test', '-f', 'sender@remote.test'], input: SMALL },
  { name: 'unknown user', args: ['-d', 'nosuch@example.test'], input: SMALL },
  { name: 'unknown option', args: ['-z'], input: SMALL },
  { name: 'extra argument', args: ['-d', 'alice@example.test', 'extra'], input: SMALL },
  { name: 'no -d as root', args: [], input: SMALL },
  { name: 'bad -a', args: ['-d', 'alice@example.test', '-a', 'bad<'], input: SMALL },
  { name: 'bad -f', args: ['-d', 'alice@example.test', '-f', '<broken'], input: SMALL },
  { name: 'broken -f is <>', args: ['-d', 'alice@example.test', '-f', '<a@b..c>'], input: SMALL },
  { name: 'missing -m folder → INBOX', args: ['-d', 'bob@example.test', '-m', 'Missing'], input: SMALL },
  { name: 'existing -m folder (autocreate)', args: ['-d', 'bob@example.test', '-m', 'Lists/Dev', '-o', 'lda_mailbox_autocreate=yes', '-o', 'lda_mailbox_autosubscribe=yes'], input: SMALL },
  { name: 'empty -m ignored', args: ['-d', 'bob@example.test', '-m', ''], input: SMALL },
  { name: 'From_ line', args: ['-d', 'carol@example.test'], input: FROMLINE },
  { name: 'over quota with -e', args: ['-e', '-d', 'tiny@example.test', '-f', 'big@remote.test'], input: BIG },
  { name: 'over quota, rejection sent', args: ['-d', 'tiny@example.test', '-f', 'big@remote.test'], input: BIG },
  { name: 'over quota, no return path', args: ['-d', 'tiny@example.test'], input: BIG },
  { name: 'over quota, quota_full_tempfail', args: ['-d', 'tiny@example.test', '-f', 'big@remote.test', '-o', 'quota_full_tempfail=yes'], input: BIG },
  { name: 'over quota, sendmail fails', args: ['-d', 'tiny@example.test', '-f', 'big@remote.test', '-o', 'sendmail_path=/bin/false'], input: BIG },
  { name: 'uid below first_valid_uid', args: ['-d', 'lowuid@example.test'], input: SMALL },
  { name: 'LAYOUT=fs user', args: ['-d', 'fsuser@example.test', '-m', 'Sub/Folder', '-o', 'lda_mailbox_autocreate=yes'], input: SMALL },
];

describe('dovecot-lda differential (real vs Postern)', { skip: !runnable && 'real Dovecot not runnable here' }, () => {
  let tmpReal: ScratchDir;
  let tmpOurs: ScratchDir;
  let real: LmtpSide;
  let ours: LmtpSide;

  const capture = (dir: string) => {
    const cap = join(dir, 'sendmail-capture');
    mkdirSync(cap, { recursive: true });
    chmodSync(cap, 0o777);
    const script = join(dir, 'sendmail.sh');
    writeFileSync(script, `#!/bin/sh\necho "$@" > ${cap}/args.$$\ncat > ${cap}/msg.$$\n`);
    chmodSync(script, 0o755);
    return script;
  };

  before(async () => {
    tmpReal = authTempDir('pdr-');
    tmpOurs = authTempDir('pdo-');
    [real, ours] = await Promise.all([startRealLmtp(tmpReal.dir), startOursLmtp(tmpOurs.dir)]);
  });
  after(async () => {
    await Promise.all([real?.stop(), ours?.stop()]);
    tmpReal?.cleanup();
    tmpOurs?.cleanup();
  });

  /** Run one LDA asynchronously (Postern's auth service runs in this process). */
  const run = async (side: LmtpSide, c: Case) => {
    const conf = join(side.dir, 'dovecot.conf');
    const sendmail = capture(side.dir);
    const args = ['-c', conf, '-o', `sendmail_path=${sendmail}`, ...c.args];
    const [cmd, argv] = side.name === 'real' ? [REAL_LDA, args] : [process.execPath, [OURS_LDA, ...args]];
    const child = spawn(cmd, argv, { env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.on('error', () => {});
    child.stdin.end(c.input);
    const status = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    return { status, stdout, stderr: stderr.replaceAll(side.name === 'real' ? REAL_LDA : OURS_LDA, 'dovecot-lda') };
  };

  for (const c of cases) {
    it(c.name, async () => {
      const r = await run(real, c);
      const o = await run(ours, c);
      assert.deepEqual(o, r);
    });
  }

  it('same mail stores', () => {
    const r = maildirSnapshot(real.mailRoot);
    const o = maildirSnapshot(ours.mailRoot);
    assert.deepEqual(Object.keys(o).sort(), Object.keys(r).sort());
    for (const k of Object.keys(r)) assert.deepEqual(o[k], r[k], `folder ${k}`);
  });

  it('same lda log lines', () => {
    const lines = (side: LmtpSide) =>
      readFileSync(join(side.dir, 'dovecot.log'), 'utf8')
        .split('\n')
        .filter((l) => /^\w{3} \d\d \d\d:\d\d:\d\d lda\(/.test(l))
        .map((l) =>
          l
            .slice(16)
            .replace(/<\d+><[A-Za-z0-9+/]{22}>/, '<pid><session>')
            .replace(/^lda\(\d+\)/, 'lda(<pid>)')
            .replace(/\(\d+\): Terminated/, '(pid): Terminated')
            .replace(/program exec:\S+/, 'program exec:<sendmail>'),
        )
        // messages from the real process that Postern has no counterpart for
        .filter((l) => !/Debug:/.test(l));
    assert.deepEqual(lines(ours), lines(real));
  });

  it('same rejection message handed to sendmail', () => {
    const read = (side: LmtpSide) => {
      const cap = join(side.dir, 'sendmail-capture');
      const files = readdirSync(cap).sort();
      return files
        .filter((f) => f.startsWith('msg.'))
        .map((f) => {
          const pid = f.slice(4);
          const args = readFileSync(join(cap, `args.${pid}`), 'utf8');
          const msg = readFileSync(join(cap, f), 'utf8')
            .replace(/<dovecot-\d+-\d+-\d+@/g, '<dovecot-<time>@')
            .replace(/^Date: .*$/m, 'Date: <date>')
            .replace(/\d+\/mx\.example\.test/g, '<pid>/mx.example.test');
          return { args, msg };
        });
    };
    const r = read(real);
    const o = read(ours);
    assert.equal(r.length, 1);
    assert.deepEqual(o, r);
  });
});
