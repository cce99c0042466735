/**
 * Local submission end to end, against the real Postfix 3.7.11:
 *
 *   sendmail -> postdrop -> maildrop/ -> pickup -> cleanup -> incoming/
 *
 * The same messages go through the real chain (a throw-away Postfix with
 * pickup and cleanup running, no qmgr) and through Postern's (our sendmail
 * and postdrop, then our pickup and cleanup in this process). The queue
 * files must print the same under the real postcat, apart from queue IDs
 * and times. Also: Postern's postdrop under the real sendmail and the real
 * postdrop under Postern's sendmail write the same maildrop files, and
 * sendmail's diagnostics and exit status match the real ones.
 */
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, realPostfixAvailable, tempDir } from '../helpers/postfix-diff.js';
import {
  type Instance,
  makeInstance,
  normalisePostcat,
  queueFiles,
  realPostcat,
  startReal,
  stopReal,
  waitFor,
} from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { pickupOptions } from '../../src/pickup/service.js';
import { pickupScan } from '../../src/pickup/pickup.js';
import { parseQueueFile } from '../../src/queue/reader.js';
import { readRecord, Rec, REC_EOF } from '../../src/queue/record.js';

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

function run(cmd: string, args: string[], input: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/bin', TZ: 'UTC', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (b) => out.push(b));
    c.stderr.on('data', (b) => err.push(b));
    c.on('error', reject);
    c.on('close', (status) =>
      resolve({ stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), status }),
    );
    c.stdin.on('error', () => {});
    c.stdin.end(input);
  });
}

const realSendmail = (inst: Instance, args: string[], input: string | Buffer) =>
  run('/usr/sbin/sendmail', ['-C', inst.etc, ...args], input);
const ourSendmail = (inst: Instance, args: string[], input: string | Buffer, env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [join(REPO, 'bin/sendmail'), '-C', inst.etc, ...args], input, env);

const MAPS = (dir: string) => `header_checks = regexp:${dir}/hc
body_checks = regexp:${dir}/bc
virtual_alias_maps = texthash:${dir}/va
canonical_maps = texthash:${dir}/cm
recipient_delimiter = +
`;

/** One message per case; the first recipient (caseN@cases.test) identifies it. */
const CASES: Array<{ name: string; args: string[]; input: string }> = [
  {
    name: 'plain, missing headers added',
    args: ['-f', 'sender@vmail.test', 'case0@cases.test'],
    input: 'Subject: hello\n\nbody line\n',
  },
  {
    name: '-t with To/Cc/Bcc, full name, header rewriting and folding',
    args: ['-t', '-F', 'Joe User', '-f', 'joe'],
    input:
      'Subject: t1\nTo: case1@cases.test, bob, "J. Doe" <jd@x.test>, alice@other.test\nCc: carol\nBcc: dave@bcc.test\n\nbody\n.\nafter dot\n',
  },
  {
    name: 'null sender, From_ lines, leading white space',
    args: ['-f', '<>', 'case2@cases.test'],
    input: 'From someone Mon\n>From x\n  leading space line\nSubject: x\n',
  },
  {
    name: 'CRLF, -i, DSN options, 8BITMIME, several recipients per argument',
    args: ['-i', '-N', 'success,delay', '-R', 'hdrs', '-V', 'envid123', '-B', '8BITMIME', 'case3@cases.test', 'Some One <s1@b.test>, s2@b.test'],
    input: 'To: x@y.test\r\nSubject: crlf\r\n\r\nline1\r\n.\r\nline3',
  },
  {
    name: 'long header and body lines, folded headers, odd addresses, specials in the full name',
    args: ['-F', 'Dr. Who (the) "Doctor"', '-f', 'MAILER-DAEMON@mx.example.test', 'case4@cases.test', 'bob', 'bob', 'u%d.test', 'h!u2', '@r1,@r2:u3@d.test'],
    input: `Subject: ${'x'.repeat(3000)}\nX-Long: ${Array.from({ length: 800 }, (_, i) => `word${i}`).join(' ')}\nX-Fold: a\n b\n\tc\n\n${'y'.repeat(5000)}\nshort\n`,
  },
  {
    name: 'Resent- headers, existing Message-Id and Date',
    args: ['-t'],
    input:
      'Resent-To: case5@cases.test\nTo: t1@x.test\nResent-Cc: rc@x.test\nMessage-Id: <abc@def>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: resent\n\nbody',
  },
  { name: 'empty message', args: ['-f', 'Full Name <fn@x.test>', 'case6@cases.test'], input: '' },
  {
    name: '8-bit headers and body',
    args: ['case7@cases.test'],
    input: 'Subject: h\xe9llo\nFrom: J\xf6rg <j@x.test>\n\n\xff\xfe body 8bit\n',
  },
  {
    name: 'virtual aliases with extension, catch-all, canonical, header_checks PREPEND/IGNORE/REPLACE, body REPLACE',
    args: ['-t'],
    input:
      'To: case8@cases.test, info+tag@alias.test, x@catch.test, user@oldcorp.test\nSubject: test PREP\nX-Drop: gone\nX-Replace: value1\n\nreplaceme\nbody\n',
  },
  {
    name: 'header_checks FILTER and REDIRECT',
    args: ['case9@cases.test'],
    input: 'Subject: FILTERME REDIR\n\nbody\n',
  },
];

const skip = !realPostfixAvailable() || process.getuid?.() !== 0;

describe('local submission vs real Postfix', { skip }, () => {
  const t = tempDir('postern-lsub-');
  let R: Instance;
  let P: Instance;
  const real = new Map<string, string>();
  const ours = new Map<string, string>();
  const realRuns: Run[] = [];
  const ourRuns: Run[] = [];

  before(async () => {
    const maps = join(t.dir, 'maps');
    mkdirSync(maps);
    writeFileSync(
      join(maps, 'hc'),
      '/^Subject: .*PREP/ PREPEND X-Prepended: yes\n/^X-Drop:/ IGNORE\n/^X-Replace: (.*)/ REPLACE X-Replaced: $1\n/^Subject: .*FILTERME/ FILTER smtp:[127.0.0.1]:10025\n',
    );
    writeFileSync(join(maps, 'bc'), '/^replaceme/ REPLACE replaced body line\n');
    writeFileSync(
      join(maps, 'va'),
      'info@alias.test alice@vmail.test, bob@vmail.test\nalice@vmail.test alice@vmail.test, alice-archive@vmail.test\n@catch.test catchall@vmail.test\n',
    );
    writeFileSync(join(maps, 'cm'), 'root@mx.example.test admin@corp.test\n@oldcorp.test @corp.test\n');
    const past = new Date(Date.now() - 3600_000);
    for (const f of readdirSync(maps)) utimesSync(join(maps, f), past, past);
    R = makeInstance(join(t.dir, 'real'), MAPS(maps), true);
    P = makeInstance(join(t.dir, 'ours'), MAPS(maps));
    startReal(R);
    const results = await Promise.all(
      CASES.map(async (c) => {
        const [r, o] = await Promise.all([realSendmail(R, c.args, c.input), ourSendmail(P, c.args, c.input)]);
        return [r, o] as const;
      }),
    );
    for (const [r, o] of results) {
      realRuns.push(r);
      ourRuns.push(o);
    }
    const cfg = loadPostfixConfig({ configDir: P.etc });
    const lines: string[] = [];
    const opts = await pickupOptions(cfg, { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`) });
    await pickupScan(opts);
    await waitFor(() => queueFiles(R, 'incoming').length >= CASES.length);
    stopReal(R);
    for (const [inst, map] of [
      [R, real],
      [P, ours],
    ] as const) {
      for (const id of queueFiles(inst, 'incoming')) {
        const env = parseQueueFile(readFileSync(join(inst.spool, 'incoming', id)), { requireSize: true });
        const key = env.recipients.map((r) => r.orig ?? r.address).find((a) => /^case\d+@cases\.test$/.test(a));
        if (key) map.set(key, id);
      }
    }
  });
  after(() => {
    if (R) stopReal(R);
    t.cleanup();
  });

  it('sendmail succeeds in both, silently', () => {
    for (let i = 0; i < CASES.length; i++) {
      assert.equal(ourRuns[i]!.status, realRuns[i]!.status, CASES[i]!.name);
      assert.equal(ourRuns[i]!.stdout, realRuns[i]!.stdout, CASES[i]!.name);
      assert.equal(ourRuns[i]!.stderr.replace(/^postdrop: warning: unable to look up public\/pickup.*\n/m, ''), '');
    }
  });

  for (const [i, c] of CASES.entries()) {
    it(`queue file: ${c.name}`, () => {
      const key = `case${i}@cases.test`;
      const rid = real.get(key);
      const oid = ours.get(key);
      assert.ok(rid, `real queue file for ${key}`);
      assert.ok(oid, `our queue file for ${key}`);
      const a = normalisePostcat(realPostcat(['-c', R.etc, '-q', rid]), rid);
      const b = normalisePostcat(realPostcat(['-c', P.etc, '-q', oid]), oid);
      assert.equal(b, a);
      // Our files are complete by Postfix's rules: 0700 and an END record.
      const st = readFileSync(join(P.spool, 'incoming', oid));
      assert.equal(st[st.length - 2], Rec.END);
    });
  }

  it('logs pickup and cleanup lines as Postfix does', () => {
    const log = readFileSync(P.maillog, 'latin1');
    const id = ours.get('case0@cases.test')!;
    assert.match(log, new RegExp(`postfix/cleanup\\[\\d+\\]: ${id}: message-id=<\\d{14}\\.${id}@mx\\.example\\.test>`));
    const rlog = readFileSync(R.maillog, 'latin1');
    const rid = real.get('case9@cases.test')!;
    const oid = ours.get('case9@cases.test')!;
    const pick = (text: string, qid: string) =>
      text
        .split('\n')
        .filter((l) => l.includes(`: ${qid}: filter:`))
        .map((l) => l.replace(/^.*?: /, '').replace(qid, 'QID'));
    assert.deepEqual(pick(log, oid), pick(rlog, rid));
  });
});

describe('sendmail and postdrop interoperate with the real ones', { skip }, () => {
  const t = tempDir('postern-pdrop-');
  after(() => t.cleanup());

  /** Records of a maildrop file, without the T record (postdrop's own clock). */
  function records(path: string): string[] {
    const buf = readFileSync(path);
    const out: string[] = [];
    for (let off = 0; ; ) {
      const r = readRecord(buf, off);
      if (r.type === REC_EOF) break;
      if (r.type !== Rec.TIME) out.push(`${String.fromCharCode(r.type)} ${r.data}`);
      off = r.end;
    }
    return out;
  }

  it('real sendmail -> our postdrop, our sendmail -> real postdrop, both -> their own: same maildrop files', async () => {
    const bin = join(t.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'postdrop'), `#!/bin/sh\nexec ${process.execPath} ${join(REPO, 'bin/postdrop')} "$@"\n`);
    chmodSync(join(bin, 'postdrop'), 0o755);
    const mk = (name: string, extra = '') => makeInstance(join(t.dir, name), extra, true);
    const rr = mk('rr');
    const ro = mk('ro', `command_directory = ${bin}\n`);
    const or = mk('or');
    const oo = mk('oo');
    const input = 'Subject: interop\nTo: a@b.test\n\nline\n';
    const args = ['-t', '-f', 'x@y.test', '-N', 'failure', 'c@d.test'];
    const results = await Promise.all([
      realSendmail(rr, args, input),
      realSendmail(ro, args, input),
      ourSendmail(or, args, input, { POSTERN_POSTDROP: '/usr/sbin/postdrop' }),
      ourSendmail(oo, args, input),
    ]);
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    const files = [rr, ro, or, oo].map((i) => {
      const names = readdirSync(join(i.spool, 'maildrop'));
      assert.equal(names.length, 1);
      const path = join(i.spool, 'maildrop', names[0]!);
      // Complete maildrop files are 0744 (rwxr--r--).
      assert.equal(statSync(path).mode & 0o777, 0o744);
      return records(path);
    });
    assert.deepEqual(files[1], files[0]);
    assert.deepEqual(files[2], files[0]);
    assert.deepEqual(files[3], files[0]);
  });

  it('diagnostics and exit status as the real sendmail', async () => {
    const inst = makeInstance(join(t.dir, 'diag'), '', true);
    const cases: Array<[string[], string]> = [
      [['-f', 'a@b'], 'Subject: x\n\n'],
      [['-t'], 'Subject: x\n\n'],
      [['-B', 'bad', 'x@y'], ''],
      [['-t', '-bp'], ''],
      [['-Z'], ''],
      [['-bv', '-t'], ''],
      [['-XVab', 'x@y'], ''],
      [['-q', 'x@y'], ''],
      [['-q1h'], ''],
    ];
    const res = await Promise.all(
      cases.map(async ([args, input]) => Promise.all([realSendmail(inst, args, input), ourSendmail(inst, args, input)])),
    );
    for (const [i, [r, o]] of res.entries()) {
      const label = cases[i]![0].join(' ');
      assert.equal(o.status, r.status, label);
      assert.equal(o.stdout, r.stdout, label);
      assert.equal(o.stderr, r.stderr, label);
    }
  });
});

