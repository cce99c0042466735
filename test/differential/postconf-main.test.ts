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
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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

function setup(dir: string, mainCf: string | undefined, masterCf: string | undefined): void {
  if (mainCf) copyFileSync(mainCf, join(dir, 'main.cf'));
  if (masterCf) copyFileSync(masterCf, join(dir, 'master.cf'));
  backdate(dir);
}

const DISPLAY_ARGS: string[][] = [[], ['-n'], ['-nx'], ['-x'], ['-nf'], ['-nh'], ['-nH'], ['-C', 'user', '-n'], ['-C', 'builtin'], ['-C', 'service'], ['-o', 'myhostname=override.example', '-x', 'smtpd_banner', 'myhostname']];

describe('postconf main.cf modes vs real Postfix', { skip: !realPostfixAvailable() && 'real Postfix missing: run .ci/run' }, () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

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
    it(`corpus ${label}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        setup(dir, mainCf, masterCf);
        await Promise.all(DISPLAY_ARGS.map((args) => compare(dir, args, label)));
      } finally {
        cleanup();
      }
    });
  }

  it('postconf -d on an empty config (all defaults)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'main.cf'), '');
      backdate(dir);
      await Promise.all([['-d'], ['-dx'], ['-df'], ['-dH']].map((a) => compare(dir, a, 'empty')));
    } finally {
      cleanup();
    }
  });

  it('postconf -h NAME and -hx NAME for every parameter', async () => {
    const { dir, cleanup } = tempDir();
    try {
      setup(dir, DEBIAN_MAIN, DEBIAN_MASTER);
      const names = runReal('postconf', ['-c', dir, '-H'])
        .stdout.split('\n')
        .filter((n) => n && n !== 'process_id');
      assert.ok(names.length > 1000, `parameter count ${names.length}`);
      await Promise.all([['-h'], ['-hx'], ['-dh']].map((a) => compare(dir, [...a, ...names], 'every parameter')));
    } finally {
      cleanup();
    }
  });

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
  };
  for (const [fixture, argSets] of Object.entries(fixtureArgs)) {
    it(`fixture ${fixture}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        setup(dir, join(FIXTURES, fixture), DEBIAN_MASTER);
        if (fixture === 'dbms.cf') {
          copyFileSync(join(FIXTURES, 'mysql-virtual.cf'), join(dir, 'mysql-virtual.cf'));
          backdate(dir);
        }
        await Promise.all(argSets.map((args) => compare(dir, args, fixture)));
      } finally {
        cleanup();
      }
    });
  }

  it('no master.cf: a warning, and the rest still works', async () => {
    const { dir, cleanup } = tempDir();
    try {
      setup(dir, join(FIXTURES, 'expansion.cf'), undefined);
      await compare(dir, ['-n'], 'no master.cf');
    } finally {
      cleanup();
    }
  });

  it('no main.cf: fatal open error', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await Promise.all([['-n'], ['myhostname']].map((a) => compare(dir, a, 'no main.cf')));
    } finally {
      cleanup();
    }
  });

  it('option errors, usage and mode conflicts', async () => {
    const { dir, cleanup } = tempDir();
    try {
      setup(dir, DEBIAN_MAIN, DEBIAN_MASTER);
      const sets = [['-Z'], ['-d', '-n'], ['-M', '-n'], ['-a', '-m'], ['-nxd'], ['-e'], ['-C', 'bogus'], ['-b', '-t'], ['-T', 'bogus'], ['-X', 'a=b'], ['-#', ''], ['-o', 'novalue', '-n'], ['-m'], ['-l'], ['-a'], ['-A'], ['-t'], ['-b'], ['-e', '#x=1'], ['-e', 'a\nb=1'], ['-f', '-e', 'x=1'], ['--', '-n']];
      await Promise.all(sets.map((args) => compare(dir, args, 'options')));
    } finally {
      cleanup();
    }
  });

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
