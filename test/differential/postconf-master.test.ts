/**
 * Differential tests: the master.cf modes of postconf (-M, -F, -P, -f, -h,
 * -H, -x, patterns, unmatched requests, field/pattern errors) and the
 * master.cf editors (-Me, -MX, -M#, -Fe, -Pe, -PX) against real Postfix.
 *
 * Each case runs in a fresh scratch config directory with the same absolute
 * path for both tools (messages name it); for edits the resulting master.cf
 * and the directory listing (a fatal leaves master.cf.tmp behind) are
 * compared too. Inputs: the corpus master.cf files (read in place), Debian's
 * master.cf.dist and fixtures/postconf/master/*.cf.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  backdate,
  CORPUS,
  canonicalStderr,
  REPO,
  realPostfixAvailable,
  runOursAsync,
  runRealAsync,
  tempDir,
} from '../helpers/postfix-diff.js';

const FIXTURES = join(REPO, 'fixtures/postconf/master');
const DEBIAN_DIST = '/usr/share/postfix/master.cf.dist';

interface Outcome {
  stdout: string;
  stderr: string;
  status: number | null;
  master: string;
  listing: string;
}

/** Run one tool in `dir` (reset to the given master.cf and an empty main.cf first). */
async function runIn(dir: string, master: string, real: boolean, args: string[]): Promise<Outcome> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(join(dir, 'master.cf'), master, 'latin1');
  writeFileSync(join(dir, 'main.cf'), '');
  backdate(dir);
  const full = ['-c', dir, ...args];
  const r = real ? await runRealAsync('postconf', full) : await runOursAsync('postconf', full);
  const listing = readdirSync(dir)
    .sort()
    .map((n) => `${n} ${(statSync(join(dir, n)).mode & 0o777).toString(8)} ${statSync(join(dir, n)).size}`)
    .join('\n');
  const mpath = join(dir, 'master.cf');
  return { ...r, master: existsSync(mpath) ? readFileSync(mpath, 'latin1') : '<none>', listing };
}

async function compare(name: string, master: string, args: string[]): Promise<void> {
  const { dir: parent, cleanup } = tempDir('postern-mcf-');
  try {
    const dir = join(parent, 'cf');
    const real = await runIn(dir, master, true, args);
    const ours = await runIn(dir, master, false, args);
    const what = `${name}: postconf ${args.join(' ')}`;
    assert.equal(ours.stdout, real.stdout, `${what}: stdout`);
    assert.equal(canonicalStderr(ours.stderr), canonicalStderr(real.stderr), `${what}: stderr`);
    assert.equal(ours.status, real.status, `${what}: exit status`);
    assert.equal(ours.master, real.master, `${what}: resulting master.cf`);
    assert.equal(ours.listing, real.listing, `${what}: directory listing`);
  } finally {
    cleanup();
  }
}

/** Run cases with bounded concurrency (real postconf sleeps 1s on fatal errors). */
async function all(cases: Array<[string, string, string[]]>, limit = 12): Promise<void> {
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < cases.length) {
      const [name, master, args] = cases[next++]!;
      try {
        await compare(name, master, args);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  assert.deepEqual(failures, []);
}

function sources(): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  for (const d of ['docker-mailserver', 'iredmail', 'mailcow']) {
    const p = join(CORPUS, 'postfix', d, 'master.cf');
    if (existsSync(p)) list.push([`corpus/${d}`, readFileSync(p, 'latin1')]);
  }
  if (existsSync(DEBIAN_DIST)) list.push(['debian-dist', readFileSync(DEBIAN_DIST, 'latin1')]);
  return list;
}

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'latin1');
}

function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((n) => n.endsWith('.cf'))
    .sort();
}

const SHOW_ALL = [['-M'], ['-Mf'], ['-F'], ['-Ff'], ['-P'], ['-Pf'], ['-PH'], ['-Ph'], ['-Fh'], ['-FH']];

const SHOW_PATTERNS = [
  ['-M', 'smtp'],
  ['-M', 'smtp/inet'],
  ['-M', '*/unix'],
  ['-M', 'nosuch/inet'],
  ['-M', 'smtp', 'nosuch', 'relay/unix'],
  ['-Mf', 'smtp/unix'],
  ['-F', 'smtp/inet/command'],
  ['-F', '*/*/chroot'],
  ['-F', 'relay'],
  ['-Ff', 'submission/inet'],
  ['-FH', 'smtp/inet'],
  ['-P', 'submission/*'],
  ['-P', '*/*/syslog_name'],
  ['-P', 'pickup'],
  ['-Ph', '*/*/syslog_name'],
  ['-M', 'a/b/c'],
  ['-M', 'sm*tp'],
  ['-F', 'smtp/inet/bogus'],
  ['-F', 'smtp/inet/Command'],
  ['-P', '/x'],
  ['-Mx'],
  ['-Mfx'],
  ['-Px'],
];

const EDITS = [
  ['-Me', 'smtp/inet=smtp inet n - y - 1 postscreen'],
  ['-Me', '127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd -o content_filter= -o smtpd_milters='],
  ['-Me', 'newsvc/unix=relay unix - - n - - smtp -o { a = b c }'],
  [
    '-Me',
    'submission/inet=submission inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes -o smtpd_reject_unlisted_recipient=no',
  ],
  ['-Me', 'foo/unix=relay unix - - n - - smtp'],
  ['-Me', 'relay/unix=relay unix - - n - - smtp', 'relay/unix=relay unix - - y - - smtp'],
  ['-MX', 'smtp/inet'],
  ['-MX', 'relay/unix', 'smtp/unix'],
  ['-MX', 'nosuch/unix'],
  ['-M#', 'smtp/inet'],
  ['-M#', 'smtp/inet', 'cleanup/unix'],
  ['-M#', '*/unix'],
  ['-Fe', 'smtp/inet/chroot=y'],
  ['-Fe', 'smtp/unix/command=smtp -o smtp_helo_timeout=5 -o { x = y }'],
  ['-Fe', 'relay/unix/process_limit=10', 'relay/unix/wakeup=60?'],
  ['-Fe', 'relay/unix/chroot=y', 'relay/unix/command=smtp -o x=y', 'relay/unix/service=relay2'],
  ['-Fe', 'nosuch/unix/chroot=n'],
  ['-Fe', 'relay/unix/private=yes'],
  ['-Pe', 'relay/unix/syslog_name=x'],
  ['-Pe', 'smtp/inet/smtpd_tls_security_level=may', 'smtp/inet/smtpd_sasl_auth_enable=yes'],
  ['-Pe', 'relay/unix/a='],
  ['-Pe', 'nosuch/unix/a=b'],
  ['-Pe', 'maildrop/unix/x=y'],
  ['-PX', 'relay/unix/syslog_name'],
  ['-PX', 'smtp/inet/nosuch'],
  ['-PX', 'submission/inet/syslog_name', 'submission/inet/smtpd_tls_security_level'],
];

/** Request errors: worded by the editor before master.cf is touched. */
const EDIT_ERRORS = [
  ['-Me', 'smtp/inet=smtp inet n - y'],
  ['-Me', 'smtp=smtp inet n - y - - smtpd'],
  ['-Me', 'smtp/inet=smtp tcp n - y - - smtpd'],
  ['-Me', 'smtp/inet'],
  ['-M#', '#smtp/inet'],
  ['-Me', 'a/unix=a unix - - n - - x\nb'],
  ['-Fe', 'smtp/inet=y'],
  ['-Fe', 'relay/unix/chroot=y n'],
  ['-Fe', 'relay/unix/*=y'],
  ['-Fe', 'relay/unix/bogus=y'],
  ['-Pe', 'relay/unix/a=b c'],
  ['-Pe', 'relay/unix/*=b'],
  ['-MX', '  smtp/inet  '],
];

describe('postconf master.cf modes vs real Postfix', { skip: !realPostfixAvailable() && 'real Postfix not installed' }, () => {
  test('-M/-F/-P on corpus and Debian master.cf', async () => {
    const cases: Array<[string, string, string[]]> = [];
    for (const [name, text] of sources()) for (const a of [...SHOW_ALL, ...SHOW_PATTERNS]) cases.push([name, text, a]);
    assert.ok(cases.length > 0);
    await all(cases);
  });

  test('-M/-F/-P on fixtures (every field error, -o forms, continuation, host:port)', async () => {
    const cases: Array<[string, string, string[]]> = [];
    for (const f of fixtureNames()) {
      const text = fixture(f);
      // Every mode reports a parse error the same way: two modes suffice there.
      if (f.startsWith('error-')) for (const a of [['-M'], ['-P']]) cases.push([f, text, a]);
      else for (const a of SHOW_ALL) cases.push([f, text, a]);
      if (['oforms.cf', 'hostport.cf', 'params.cf', 'edit-comments.cf'].includes(f))
        for (const a of SHOW_PATTERNS) cases.push([f, text, a]);
    }
    await all(cases);
  });

  test('master.cf edits on corpus and Debian master.cf', async () => {
    const cases: Array<[string, string, string[]]> = [];
    for (const [name, text] of sources()) for (const a of EDITS) cases.push([name, text, a]);
    await all(cases);
  });

  test('master.cf edits on fixtures (comments inside entries, CRLF, bad lines)', async () => {
    const cases: Array<[string, string, string[]]> = [];
    const names = ['edit-comments.cf', 'oforms.cf', 'hostport.cf', 'crlf.cf', 'continuation.cf', 'edit-bad-name.cf'];
    names.push('edit-bad-type.cf');
    for (const f of names) for (const a of EDITS) cases.push([f, fixture(f), a]);
    const extra = [
      ['-Pe', 'relay/unix/after=2'],
      ['-Pe', 'relay/unix/new=2'],
      ['-PX', 'relay/unix/after', 'relay/unix/smtp_helo_timeout'],
      ['-Pe', 'smtp/inet/smtpd_tls_auth_only=no'],
      ['-M#', 'relay/unix'],
      ['-MX', 'relay/unix'],
      ['-Me', 'smtp/inet=smtp inet n - y - - smtpd -o { a = b }x'],
      ['-Fe', 'relay/unix/type=unix-dgram'],
    ];
    for (const a of extra) cases.push(['edit-comments.cf', fixture('edit-comments.cf'), a]);
    for (const a of EDIT_ERRORS) cases.push(['edit-comments.cf', fixture('edit-comments.cf'), a]);
    await all(cases);
  });

  test('round trip: edits applied in sequence give the same file', async () => {
    const steps = [
      ['-Me', 'submission/inet=submission inet n - n - - smtpd -o syslog_name=postfix/submission'],
      ['-Pe', 'submission/inet/smtpd_tls_security_level=encrypt', 'submission/inet/smtpd_sasl_auth_enable=yes'],
      ['-Fe', 'submission/inet/chroot=y'],
      ['-PX', 'submission/inet/syslog_name'],
      ['-M#', 'submission/inet'],
      ['-Me', 'submission/inet=submission inet n - n - - smtpd'],
      ['-MX', 'submission/inet'],
    ];
    for (const [name, start] of sources()) {
      const { dir: parent, cleanup } = tempDir('postern-mcf-seq-');
      try {
        const dir = join(parent, 'cf');
        let realText = start;
        let ourText = start;
        for (const s of steps) {
          const r = await runIn(dir, realText, true, s);
          const o = await runIn(dir, ourText, false, s);
          assert.equal(o.master, r.master, `${name}: after postconf ${s.join(' ')}`);
          assert.equal(o.stderr, r.stderr);
          realText = r.master;
          ourText = o.master;
        }
      } finally {
        cleanup();
      }
    }
  });
});
