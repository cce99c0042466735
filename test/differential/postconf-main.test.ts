/**
 * Differential tests: real postconf(1) vs Postern's on main.cf display and
 * edit modes, over the shared corpus, Debian's default configuration and our
 * own fixtures (fixtures/postconf/main/). Byte-equal stdout, stderr and exit
 * status; see test/helpers/postfix-diff.ts for the hash-ordered warnings.
 *
 * Normalised: the process_id line (differs per process). Host-dependent
 * defaults (myhostname, mydomain, mynetworks, inet addresses) are computed on
 * the same machine by both tools, so they are compared as they are.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  backdate,
  CORPUS,
  REPO,
  canonicalStderr,
  normaliseStdout,
  realPostfixAvailable,
  runOurs,
  runBoth,
  runOursAsync,
  runRealAsync,
  runReal,
  tempDir,
} from '../helpers/postfix-diff.js';

const FIXTURES = join(REPO, 'fixtures/postconf/main');
const DEBIAN_MASTER = '/usr/share/postfix/master.cf.dist';
const DEBIAN_MAIN = '/usr/share/postfix/main.cf.debian';
const PID = [/^process_id = \d+$/, /^\d+$/];

async function compare(dir: string, args: string[], label: string): Promise<void> {
  const [real, ours] = await runBoth('postconf', ['-c', dir, ...args]);
  const what = `${label}: postconf ${args.join(' ')}`;
  assert.equal(ours.status, real.status, `${what}: exit status\nstderr(ours): ${ours.stderr}\nstderr(real): ${real.stderr}`);
  assert.equal(normaliseStdout(ours.stdout, { dropStdout: PID }), normaliseStdout(real.stdout, { dropStdout: PID }), `${what}: stdout`);
  assert.equal(canonicalStderr(ours.stderr), canonicalStderr(real.stderr), `${what}: stderr`);
}

/**
 * Run `fn` on a fresh config directory holding copies of the given files
 * (`main.cf`/`master.cf` from paths, `extra` under their own names), all
 * backdated; the directory is removed afterwards.
 */
async function withConfig(
  files: { main?: string; master?: string; extra?: string[] },
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    if (files.main) copyFileSync(files.main, join(dir, 'main.cf'));
    if (files.master) copyFileSync(files.master, join(dir, 'master.cf'));
    for (const f of files.extra ?? []) copyFileSync(f, join(dir, basename(f)));
    backdate(dir);
    await fn(dir);
  } finally {
    cleanup();
  }
}

async function compareAll(dir: string, argSets: string[][], label: string): Promise<void> {
  await Promise.all(argSets.map((args) => compare(dir, args, label)));
}

const HOST_NAMES = ['myhostname', 'mydomain', 'mynetworks', 'myorigin', 'mydestination'];

const DISPLAY_ARGS: string[][] = [[], ['-n'], ['-nx'], ['-x'], ['-nf'], ['-nh'], ['-nH'], ['-C', 'user', '-n'], ['-C', 'builtin'], ['-C', 'service'], ['-o', 'myhostname=override.example', '-x', 'smtpd_banner', 'myhostname']];

describe('postconf main.cf modes vs real Postfix', { skip: !realPostfixAvailable() && 'real Postfix missing: run .ci/run' }, () => {
  const corpusConfigs: Array<[string, string, string | undefined]> = [];
  for (const project of ['docker-mailserver', 'mailcow', 'iredmail']) {
    const dir = join(CORPUS, 'postfix', project);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.startsWith('main.cf')).sort())
      corpusConfigs.push([`${project}/${f}`, join(dir, f), join(dir, 'master.cf')]);
  }
  corpusConfigs.push(['debian default', DEBIAN_MAIN, DEBIAN_MASTER]);

  it('finds the corpus', () => assert.ok(corpusConfigs.length >= 6, `corpus configs: ${corpusConfigs.length}`));

  for (const [label, mainCf, masterCf] of corpusConfigs) {
    it(`corpus ${label}`, () => withConfig({ main: mainCf, master: masterCf }, (dir) => compareAll(dir, DISPLAY_ARGS, label)));
  }

  it('postconf -d on an empty config (all defaults)', () =>
    withConfig({ main: join(FIXTURES, 'empty.cf') }, (dir) => compareAll(dir, [['-d'], ['-dx'], ['-df'], ['-dH']], 'empty')));

  it('postconf -h NAME and -hx NAME for every parameter', () =>
    withConfig({ main: DEBIAN_MAIN, master: DEBIAN_MASTER }, async (dir) => {
      const names = runReal('postconf', ['-c', dir, '-H'])
        .stdout.split('\n')
        .filter((n) => n && n !== 'process_id');
      assert.ok(names.length > 1000, `parameter count ${names.length}`);
      await compareAll(dir, [['-h'], ['-hx'], ['-dh']].map((a) => [...a, ...names]), 'every parameter');
    }));

  const fixtureArgs: Record<string, string[][]> = {
    'expansion.cf': [['-n'], ['-nx'], ['-x', '2bounce_notice_recipient'], ['-xh', 'x20', 'x21', 'x22', 'x23', 'x24', 'x25', 'x26', 'x27', 'x28'], ['mynetworks', 'relay_domains']],
    'warnings.cf': [['-n'], ['-nx'], ['myhostname', 'no_such_parameter_q'], ['-x', 'relayhost', 'smtpd_banner'], ['virtual_alias_maps', 'virtual_maps']],
    'badline.cf': [['-n'], ['mydomain']],
    'badmacro.cf': [['-n'], ['mydomain'], ['-x', 'x19']],
    'loop.cf': [['-n'], ['-x', 'relayhost']],
    'badname.cf': [['-n'], ['-xh', 'smtpd_banner']],
    'dbms.cf': [['-n'], ['virtual_alias_maps']],
    'empty.cf': [['-n'], ['-n', 'myhostname'], ['-x', 'myorigin', 'mydestination']],
    'continuation.cf': [['-n'], ['-nf'], ['-nx'], ['smtpd_banner']],
    // Defaults Postfix computes from the host, under each setting that steers them.
    'host-compat37.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
    'host-class.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
    'host-ipv4.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
    'host-ipv6.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
    'host-mydomain.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
    'host-single.cf': [HOST_NAMES, ['-x', ...HOST_NAMES]],
  };
  for (const [fixture, argSets] of Object.entries(fixtureArgs)) {
    const extra = fixture === 'dbms.cf' ? [join(FIXTURES, 'mysql-virtual.cf')] : [];
    it(`fixture ${fixture}`, () =>
      withConfig({ main: join(FIXTURES, fixture), master: DEBIAN_MASTER, extra }, (dir) => compareAll(dir, argSets, fixture)));
  }

  it('no master.cf: a warning, and the rest still works', () =>
    withConfig({ main: join(FIXTURES, 'expansion.cf') }, (dir) => compare(dir, ['-n'], 'no master.cf')));

  it('no main.cf: fatal open error', () =>
    withConfig({}, (dir) => compareAll(dir, [['-n'], ['myhostname'], ['-t'], ['-b']], 'no main.cf')));

  it('option errors, usage and mode conflicts', () =>
    withConfig({ main: DEBIAN_MAIN, master: DEBIAN_MASTER }, (dir) => {
      const sets = [['-Z'], ['-d', '-n'], ['-M', '-n'], ['-a', '-m'], ['-nxd'], ['-e'], ['-C', 'bogus'], ['-b', '-t'], ['-T', 'bogus'], ['-X', 'a=b'], ['-#', ''], ['-o', 'novalue', '-n'], ['-m'], ['-l'], ['-a'], ['-A'], ['-t'], ['-b'], ['-e', '#x=1'], ['-e', 'a\nb=1'], ['-f', '-e', 'x=1'], ['--', '-n'], ['-C', 'USER', '-n'], ['-C', 'user,builtin', '-n'], ['-C', 'user builtin', '-n'], ['-C', 'User|Service', '-n'], ['-C', 'all', '-n'], ['-C', '', '-n']];
      return compareAll(dir, sets, 'options');
    }));

  // bounce(5) template files: -t dumps them, -b expands them (postfix/bounce does both).
  const templates = readdirSync(join(FIXTURES, '..', 'templates')).filter((f) => f.endsWith('.cf')).sort();
  it('bounce templates: -t and -b, built-in and from files', () =>
    withConfig({ main: join(FIXTURES, 'templates-main.cf'), master: DEBIAN_MASTER }, (dir) => {
      const sets = [['-t'], ['-b'], ['-t', '/nonexistent/template.cf']];
      for (const f of templates) {
        const path = join(FIXTURES, '..', 'templates', f);
        sets.push(['-t', path], ['-b', path]);
      }
      return compareAll(dir, sets, 'templates');
    }));

  it('-c without argument', () => {
    const real = runReal('postconf', ['-c']);
    const ours = runOurs('postconf', ['-c']);
    assert.equal(ours.stderr, real.stderr);
    assert.equal(ours.status, real.status);
  });
});

describe('postconf -e / -X / -# vs real Postfix (files compared byte for byte)', { skip: !realPostfixAvailable() && 'real Postfix missing' }, () => {
  const EDITS: string[][] = [
    ['-e', 'relay_domains = z.example'],
    ['-e', 'myhostname=b.example'],
    ['-e', 'newparam_nobody_uses = 1'],
    ['-e', 'mynetworks=127.0.0.0/8    10.0.0.0/8  '],
    ['relay_domains=via.implicit.e'],
    ['-X', 'mydomain', 'nonexist_q'],
    ['-#', 'myhostname', 'mynetworks'],
    ['-X', 'mynetworks'],
    ['-X', 'mydomain  '],
    ['-#', 'relay_domains', 'nonl'],
    ['-e', 'nonl=changed'],
    ['-e', 'smtpd_banner=a', 'smtpd_banner=b'],
  ];
  const start = 'myhostname = a.example\n# header\nmynetworks = 127.0.0.0/8,\n  # inside\n    10.0.0.0/8\nmydomain = example.test\nmyhostname = again.example\nrelay_domains = x.example,\n\ty.example\n   \nnonl = last';
  for (const args of EDITS) {
    it(`postconf ${args.join(' ')}`, async () => {
      const a = tempDir();
      const b = tempDir();
      try {
        writeFileSync(join(a.dir, 'main.cf'), start);
        writeFileSync(join(b.dir, 'main.cf'), start);
        backdate(a.dir);
        backdate(b.dir);
        const [real, ours] = await Promise.all([
          runRealAsync('postconf', ['-c', a.dir, ...args]),
          runOursAsync('postconf', ['-c', b.dir, ...args]),
        ]);
        assert.equal(ours.status, real.status);
        assert.equal(ours.stdout, real.stdout);
        assert.equal(ours.stderr.replaceAll(b.dir, 'DIR'), real.stderr.replaceAll(a.dir, 'DIR'));
        assert.equal(readFileSync(join(b.dir, 'main.cf'), 'latin1'), readFileSync(join(a.dir, 'main.cf'), 'latin1'));
        assert.equal(existsSync(join(b.dir, 'main.cf.tmp')), false, 'temp file left behind');
      } finally {
        a.cleanup();
        b.cleanup();
      }
    });
  }
});
