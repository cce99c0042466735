/**
 * ldap passdb/userdb compared with a real Dovecot 2.3 (dovecot-ldap) on the
 * same dovecot.conf, dovecot-ldap.conf.ext files and directory (a scratch
 * slapd loaded from fixtures/auth/ldap/data.ldif): logins with the password
 * compared by the auth process (an unprefixed hash under
 * default_pass_scheme, {SSHA}, a missing password, an unknown user, two
 * entries for one address, filter escaping of '*'), logins by binding as
 * the user (auth_bind with a DN search and with auth_bind_userdn), a
 * directory that is down (temporary failure), and USER/PASS/LIST on
 * auth-userdb (attribute templates, %{ldap:…} defaults, iterate_attrs).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AuthService, startAuthService } from '../../src/auth/service.js';
import {
  type AuthSide,
  authReplies,
  authTempDir,
  MASTER_HANDSHAKE,
  plainLogin,
  type RealDovecot,
  realDovecotRunnable,
  type ScratchDir,
  scratchHeader,
  startRealDovecot,
  type TranscriptStep,
  writeFiles,
} from '../helpers/dovecot-server.js';
import { type Slapd, slapdAvailable, startSlapd } from '../helpers/slapd-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/auth/ldap');



const ldapModule = '/usr/lib/dovecot/modules/auth/libauthdb_ldap.so';
const skip =
  (!realDovecotRunnable() && 'real Dovecot cannot run here (needs root and the dovecot/dovenull users)') ||
  (!slapdAvailable() && 'slapd is not installed') ||
  (!readdirSync('/usr/lib/dovecot/modules/auth', { withFileTypes: true }).some((d) => `/usr/lib/dovecot/modules/auth/${d.name}` === ldapModule) &&
    'dovecot-ldap is not installed');

describe('ldap passdb/userdb: Postern vs real Dovecot', { skip }, () => {
  let tmp: ScratchDir;
  let slapd: Slapd;
  let real: RealDovecot;
  let ours: AuthService;
  let oursSide: AuthSide;

  before(async () => {
    tmp = authTempDir('pl-');
    slapd = await startSlapd(tmp.dir, readFileSync(join(FIXTURES, 'data.ldif'), 'utf8'));
    const files: Record<string, string> = {};
    for (const n of readdirSync(FIXTURES)) if (n !== 'data.ldif') files[n] = readFileSync(join(FIXTURES, n), 'utf8').replaceAll('@PORT@', String(slapd.port));
    files['dovecot.conf'] = files['dovecot.conf']!.replace('@HEADER@', scratchHeader(tmp.dir, 'real'));
    writeFiles(tmp.dir, files);
    const conf = join(tmp.dir, 'dovecot.conf');
    real = await startRealDovecot(conf, join(tmp.dir, 'real-base'), join(tmp.dir, 'real.log'));
    ours = await startAuthService({ configPath: conf, baseDir: join(tmp.dir, 'ours-base'), log: () => {} });
    oursSide = { socket: (n) => ours.socketPath(n) };
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    await slapd?.stop();
    tmp?.cleanup();
  });

  it('logins match', async () => {
    const cases: Array<[string, string]> = [
      ['alice@example.test', 'alicepw'],
      ['alice@example.test', 'wrong'],
      ['BOB@example.test', 'bobpw'],
      ['carol@example.test', 'carolpw'],
      ['nopw@example.test', 'x'],
      ['dup@example.test', 'x'],
      ['nosuch@example.test', 'x'],
      ['star*@example.test', 'starpw'],
      ['*@example.test', 'starpw'],
      ['carol@bind.test', 'carolpw'],
      ['carol@bind.test', 'wrong'],
      ['nosuch@bind.test', 'x'],
      ['carol@userdn.test', 'carolpw'],
      ['carol@userdn.test', 'wrong'],
      ['nosuch@userdn.test', 'x'],
      ['someone@down.test', 'x'],
    ];
    for (const [u, p] of cases) {
      const steps = plainLogin(u, p);
      const [a, b] = await Promise.all([authReplies(real, 'auth-postfix', steps), authReplies(oursSide, 'auth-postfix', steps)]);
      assert.deepEqual(b, a, `${u} / ${p}`);
    }
  });

  it('USER, PASS and LIST match', async () => {
    const steps: TranscriptStep[] = [
      ...MASTER_HANDSHAKE,
      'USER\t1\talice@example.test\tservice=lmtp',
      { expect: 1 },
      'USER\t2\tbob@example.test\tservice=lmtp',
      { expect: 1 },
      'USER\t3\tcarol@example.test\tservice=lmtp',
      { expect: 1 },
      'USER\t4\tnosuch@example.test\tservice=lmtp',
      { expect: 1 },
      'PASS\t5\tbob@example.test\tservice=imap',
      { expect: 1 },
      'PASS\t6\tnopw@example.test\tservice=imap',
      { expect: 1 },
      'PASS\t7\tcarol@bind.test\tservice=imap',
      { expect: 1 },
      'LIST\t8',
      { until: /^DONE/ },
    ];
    const [a, b] = await Promise.all([authReplies(real, 'auth-userdb', steps), authReplies(oursSide, 'auth-userdb', steps)]);
    assert.deepEqual(b, a);
  });
});
