/**
 * postern check-migration on the real-world Postfix configurations in
 * ../shared/corpus: the whole report is committed per configuration
 * (fixtures/migration/*.txt; UPDATE_MIGRATION_FIXTURES=1 rewrites them when
 * Postern starts reading more), and the facts that must hold whatever
 * Postern learns later are asserted on their own: services Postern does not
 * run are named, every line has a verdict, and the exit status is 1 when
 * anything is not honoured.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CORPUS, REPO } from '../helpers/postfix-diff.js';

const UPDATE = process.env.UPDATE_MIGRATION_FIXTURES === '1';

describe('postern check-migration on the corpus', () => {
  for (const name of ['docker-mailserver', 'mailcow']) {
    it(name, () => {
      const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-c', join(CORPUS, 'postfix', name)], { encoding: 'utf8' });
      assert.equal(r.stderr, '');
      const expectFile = join(REPO, 'fixtures/migration', `${name}.txt`);
      if (UPDATE) writeFileSync(expectFile, r.stdout);
      assert.equal(r.stdout, readFileSync(expectFile, 'utf8'));
      const lines = r.stdout.trimEnd().split('\n');
      for (const l of lines.slice(0, -1)) assert.match(l, /^postfix (main|master)\.cf line \d+( \(-o\))?: \S.*: (honoured|NOT HONOURED): /);
      const no = lines.filter((l) => l.includes(': NOT HONOURED: ')).length;
      assert.match(lines.at(-1)!, new RegExp(`^summary: \\d+ honoured, ${no} not honoured$`));
      assert.equal(r.status, no > 0 ? 1 : 0);
    });
  }

  it('iredmail: a master.cf template with placeholders stops the check as it stops postconf', () => {
    const dir = join(CORPUS, 'postfix', 'iredmail');
    const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-c', dir], { encoding: 'utf8' });
    const real = spawnSync('postconf', ['-c', dir, '-M'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(real.stderr, /^postconf: fatal: invalid process_limit field "PH_AMAVISD_MAX_SERVERS"/);
    assert.equal(r.stderr, real.stderr.replace(/^postconf:/, 'postern:'));
  });

  it('names the services Postern does not run', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-c', join(CORPUS, 'postfix', 'mailcow')], { encoding: 'utf8' });
    assert.match(r.stdout, /^postfix master\.cf line 2: smtp\/inet \(postscreen\): NOT HONOURED: not implemented: this service will not run$/m);
    assert.match(r.stdout, /: smtp\/inet \(postscreen\): NOT HONOURED/);
    assert.match(r.stdout, /^postfix master\.cf line \d+: smtp\/unix \(smtp\): honoured: built in$/m);
    assert.equal(r.status, 1);
  });
});
