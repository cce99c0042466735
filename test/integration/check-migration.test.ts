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
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DOVECOT_CORPUS, doveTempDir, installDebianDefault } from '../helpers/dovecot-diff.js';
import { CORPUS, REPO } from '../helpers/postfix-diff.js';

const UPDATE = process.env.UPDATE_MIGRATION_FIXTURES === '1';

describe('postern check-migration on the corpus', () => {
  for (const name of ['docker-mailserver', 'mailcow']) {
    it(name, () => {
      const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-d', '', '-c', join(CORPUS, 'postfix', name)], { encoding: 'utf8' });
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
    const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-d', '', '-c', dir], { encoding: 'utf8' });
    const real = spawnSync('postconf', ['-c', dir, '-M'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(real.stderr, /^postconf: fatal: invalid process_limit field "PH_AMAVISD_MAX_SERVERS"/);
    assert.equal(r.stderr, real.stderr.replace(/^postconf:/, 'postern:'));
  });

  it('names the services Postern does not run', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-d', '', '-c', join(CORPUS, 'postfix', 'mailcow')], { encoding: 'utf8' });
    assert.match(r.stdout, /^postfix master\.cf line 2: smtp\/inet \(postscreen\): NOT HONOURED: not implemented: this service will not run$/m);
    assert.match(r.stdout, /: smtp\/inet \(postscreen\): NOT HONOURED/);
    assert.match(r.stdout, /^postfix master\.cf line \d+: smtp\/unix \(smtp\): honoured: built in$/m);
    assert.equal(r.status, 1);
  });

  it('dovecot: Debian\'s default config, and with docker-mailserver\'s conf.d pieces dropped in', () => {
    const { dir, cleanup } = doveTempDir();
    try {
      const conf = installDebianDefault(dir);
      const check = (expectName: string) => {
        const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-c', '', '-d', conf], { encoding: 'utf8' });
        assert.equal(r.stderr, '');
        const expectFile = join(REPO, 'fixtures/migration', expectName);
        if (UPDATE) writeFileSync(expectFile, r.stdout);
        assert.equal(r.stdout, readFileSync(expectFile, 'utf8'));
        return r;
      };
      const debian = check('dovecot-debian.txt');
      // The default system-users setup needs pam/passwd, and the default mail_location is mbox.
      assert.match(debian.stdout, /^dovecot conf\.d\/auth-system\.conf\.ext line \d+: passdb pam: NOT HONOURED: /m);
      assert.match(debian.stdout, /^dovecot conf\.d\/10-mail\.conf line \d+: mail_location mbox: NOT HONOURED: /m);
      assert.equal(debian.status, 1);
      const pieces = join(DOVECOT_CORPUS, 'docker-mailserver', 'conf.d');
      // Only the pieces in Dovecot 2.3 syntax: the others use 2.4 settings (mail_driver,
      // ssl_server_cert_file, quota_driver, ...) that 2.3's doveconf rejects, and so does Postern.
      for (const p of ['10-auth.conf', '10-logging.conf', '10-master.conf', '15-mailboxes.conf', '60-stats.conf', 'auth-ldap.conf.ext', 'auth-oauth2.conf.ext']) {
        copyFileSync(join(pieces, p), join(dir, 'conf.d', p));
      }
      // The files docker-mailserver generates at start-up and these pieces include.
      for (const inc of ['auth-passwdfile.inc', 'lmtp-master.inc', 'chroot.inc']) writeFileSync(join(dir, 'conf.d', inc), '');
      const dms = check('dovecot-docker-mailserver.txt');
      assert.match(dms.stdout, /^dovecot conf\.d\/10-master\.conf line \d+: service \S+: (honoured|NOT HONOURED): /m);
    } finally {
      cleanup();
    }
  });

  it('dovecot: a config the parser rejects stops the check with its error', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/postern'), 'check-migration', '-c', '', '-d', join(DOVECOT_CORPUS, 'mailcow', 'dovecot.conf')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^postern: fatal: Error in configuration file \S+mailcow\/dovecot\.conf line \d+: /);
  });
});
