/**
 * test/differential/doveconf.test.ts: real doveconf 2.3.19 vs Postern's on
 * the same files: stdout, stderr and exit status byte-equal. Inputs: every
 * fixture case (syntax forms, filters, includes, each error message of the
 * captures), Debian's default config, docker-mailserver conf.d pieces dropped
 * into it, the mailcow and iRedMail configs (read in ../shared/corpus).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DOVECOT_CORPUS,
  doveTempDir,
  installCases,
  installDebianDefault,
  realDovecotAvailable,
  runOursDove,
  runRealDove,
} from '../helpers/dovecot-diff.js';

function same(args: string[], tool = 'doveconf'): void {
  const real = runRealDove(tool, args);
  const ours = runOursDove(tool, args);
  assert.equal(ours.stderr, real.stderr, `stderr of ${tool} ${args.join(' ')}`);
  assert.equal(ours.stdout, real.stdout, `stdout of ${tool} ${args.join(' ')}`);
  assert.equal(ours.status, real.status, `exit status of ${tool} ${args.join(' ')}`);
}

describe('doveconf differential', { skip: !realDovecotAvailable() && 'real doveconf not installed' }, () => {
  const tmp = doveTempDir();
  let cases: string[] = [];
  let debian = '';
  before(() => {
    cases = installCases(tmp.dir);
    debian = installDebianDefault(join(tmp.dir, 'debian'));
  });
  after(() => tmp.cleanup());

  for (const mode of [['-n'], ['-N'], ['-a'], ['-x', '-n'], ['-n', '-P']]) {
    it(`fixture cases with ${mode.join(' ')}`, () => {
      for (const c of cases) same(['-c', join(tmp.dir, c), ...mode]);
    });
  }

  it('Debian default config: -n -N -a -d -s -P -x', () => {
    for (const mode of [['-n'], ['-N'], ['-a'], ['-d'], ['-a', '-s'], ['-n', '-P'], ['-x', '-n']]) same(['-c', debian, ...mode]);
  });

  it('positional names, -h, -f', () => {
    same(['-c', debian, 'mail_location', 'ssl_key', 'nosuch_setting']);
    same(['-c', debian, '-h', 'mail_location']);
    same(['-c', debian, '-n', 'namespace']);
    same(['-c', debian, '-n', 'passdb', 'userdb']);
    const vr = join(tmp.dir, 'var-ref.conf');
    same(['-c', vr, '-n', '-f', 'protocol=imap']);
    same(['-c', vr, '-f', 'protocol=imap', '-h', 'mail_plugins']);
    same(['-c', vr, '-x', '-h', 'login_greeting']);
    same(['-c', vr, 'mail_plugins', 'login_greeting']);
    same(['-c', vr, '-f', 'nosuch=1', '-n']);
    // -m reads the <file values of the chosen modules' settings only
    const missing = join(tmp.dir, 'missing-file-with-x.conf');
    same(['-c', missing, '-x', '-m', 'doveadm']);
    same(['-c', missing, '-x', '-m', 'lmtp', '-m', 'doveadm']);
    same(['-c', missing, '-x', '-m', 'master']);
    same(['-c', missing, '-x']);
  });

  it('-f with local/remote/lname/protocol filters: merged values, printed blocks, conflicts', () => {
    const wants = [
      ['protocol=pop3'],
      ['protocol=imap'],
      ['remote=10.1.2.3'],
      ['remote=::1'],
      ['remote=fe80::1'],
      ['remote=192.168.3.4', 'protocol=imap'],
      ['local=127.0.0.1'],
      ['local=127.0.0.1', 'protocol=imap'],
      ['lname=a.example.org'],
      ['lname=mail.example.com'],
      ['remote=10.1.1.1', 'protocol=imap'],
      ['local=1.2.3.4/40'],
      ['remote=10.0.0.0/x'],
    ];
    for (const c of ['filters-hosts-v6.conf', 'filter-conflict.conf', 'filters-protocol-nets.conf', 'filters-v6-print.conf']) {
      for (const w of wants) {
        const f = w.flatMap((x) => ['-f', x]);
        same(['-c', join(tmp.dir, c), '-n', ...f]);
        same(['-c', join(tmp.dir, c), ...f, 'mail_debug']);
      }
    }
  });

  it('-m module selections', () => {
    for (const m of [['imap'], ['lmtp'], ['auth'], ['master'], ['imap', 'master'], ['stats'], ['bogus']]) {
      const args = m.flatMap((x) => ['-m', x]);
      same(['-c', debian, '-n', ...args]);
      same(['-c', debian, '-a', ...args]);
      same(['-c', join(tmp.dir, 'filters-protocol-nets.conf'), '-n', ...args]);
    }
  });

  it('bad options and missing config', () => {
    same(['-Z']);
    same(['--help']);
    same(['-c']);
    same(['-c', join(tmp.dir, 'nonexistent.conf'), '-n']);
  });

  it('docker-mailserver conf.d pieces in a Debian copy', () => {
    const pieces = readdirSync(join(DOVECOT_CORPUS, 'docker-mailserver', 'conf.d')).sort();
    for (const p of pieces) {
      const d = join(tmp.dir, `dms-${p}`);
      const conf = installDebianDefault(d);
      copyFileSync(join(DOVECOT_CORPUS, 'docker-mailserver', 'conf.d', p), join(d, 'conf.d', p));
      same(['-c', conf, '-n']);
    }
    // All of them at once, with the .inc files they include present (empty).
    const d = join(tmp.dir, 'dms-all');
    const conf = installDebianDefault(d);
    for (const p of pieces) copyFileSync(join(DOVECOT_CORPUS, 'docker-mailserver', 'conf.d', p), join(d, 'conf.d', p));
    same(['-c', conf, '-n']);
    for (const inc of ['auth-passwdfile.inc', 'lmtp-master.inc', 'chroot.inc']) writeFileSync(join(d, 'conf.d', inc), '');
    same(['-c', conf, '-n']);
    same(['-c', conf, '-a']);
  });

  it('mailcow and iRedMail configs', () => {
    for (const f of ['mailcow/dovecot.conf', 'iredmail/dovecot.conf']) {
      same(['-c', join(DOVECOT_CORPUS, f), '-n']);
      same(['-c', join(DOVECOT_CORPUS, f), '-a']);
    }
  });
});
