/**
 * Acceptance: a real Postfix smtpd with `smtpd_sasl_type = dovecot`
 * authenticates against Postern's auth socket. One scratch Postfix on
 * loopback runs two smtpd listeners, one whose smtpd_sasl_path is Postern's
 * socket and one pointing at a real Dovecot serving the same passwd-file;
 * swaks runs the same sessions on both (AUTH PLAIN and AUTH LOGIN that
 * succeed, a wrong password that Postfix rejects with its own 535 reply) and
 * the transcripts must match.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AuthService, startAuthService } from '../../src/auth/service.js';
import { authTempDir, type RealDovecot, realDovecotRunnable, type ScratchDir, scratchHeader, startRealDovecot } from '../helpers/dovecot-server.js';

const MASTER_CF_DIST = '/usr/share/postfix/master.cf.dist';

/** bob's password is SHA512-CRYPT "bob-pass" (made by the real doveadm pw). */
const USERS = `alice@example.test:{PLAIN}alice-pass:5000:5000::/srv/mail/alice::
bob@example.test:{SHA512-CRYPT}$6$18CRnJD4njR/phRJ$J8YQXVra4H3BxZwYWtph4puihUVP/bJWF/s6YUf0HEaduplVKo.BvukQcUiIhysqa95gryo07Zl.SeS/rUBfn.:5000:5000::/srv/mail/bob::
`;

function authConf(path: string, listener: string, header: string): string {
  return `${header}
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = ${path}
}
userdb {
  driver = passwd-file
  args = ${path}
}
service auth {
  unix_listener ${listener} {
    mode = 0660
    user = postfix
    group = postfix
  }
}
`;
}

/** The queue directories post-install would create (postfix-files), with their owners and modes. */
function makeQueueDirs(spool: string, data: string): void {
  const pw = readFileSync('/etc/passwd', 'utf8');
  const gr = readFileSync('/etc/group', 'utf8');
  const id = (db: string, name: string) => Number(new RegExp(`^${name}:[^:]*:(\\d+):`, 'm').exec(db)?.[1] ?? 0);
  const postfix = id(pw, 'postfix');
  const postdrop = id(gr, 'postdrop');
  for (const q of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'saved', 'trace']) {
    mkdirSync(join(spool, q), { mode: 0o700 });
    chownSync(join(spool, q), postfix, -1);
  }
  mkdirSync(join(spool, 'pid'), { mode: 0o755 });
  for (const [q, mode] of [
    ['maildrop', 0o730],
    ['public', 0o710],
  ] as const) {
    mkdirSync(join(spool, q));
    chownSync(join(spool, q), postfix, postdrop);
    chmodSync(join(spool, q), mode);
  }
  chownSync(data, postfix, -1);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function swaks(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('swaks', ['--server', `127.0.0.1:${port}`, '--helo', 'client.example', '--quit-after', 'AUTH', ...args]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    // stdout and stderr apart: their interleaving is not deterministic.
    p.on('close', () => resolve(`${out}--- stderr\n${err}`.replaceAll(`:${port}`, ':PORT')));
  });
}

const runnable = realDovecotRunnable() && existsSync('/usr/sbin/postfix') && existsSync('/usr/bin/swaks') && existsSync(MASTER_CF_DIST);
const skip = !runnable && 'needs root, real Postfix, real Dovecot and swaks';

describe('real Postfix smtpd with smtpd_sasl_type = dovecot on Postern auth', { skip }, () => {
  let tmp: ScratchDir;
  let etc: string;
  let ours: AuthService;
  let real: RealDovecot;
  let oursPort = 0;
  let realPort = 0;

  before(async () => {
    tmp = authTempDir('pa-pf-');
    const d = tmp.dir;
    etc = join(d, 'etc');
    const spool = join(d, 'spool');
    for (const sub of ['etc', 'spool', 'data', 'auth']) mkdirSync(join(d, sub), { recursive: true });
    [oursPort, realPort] = [await freePort(), await freePort()];
    // Two smtpd listeners: the same Postfix, each with its own SASL socket.
    const master = readFileSync(MASTER_CF_DIST, 'utf8').replace(
      /^smtp( +)inet(.*)$/m,
      `127.0.0.1:${oursPort}$1inet$2\n  -o smtpd_sasl_path=private/auth\n127.0.0.1:${realPort}$1inet$2\n  -o smtpd_sasl_path=private/auth-real`,
    );
    writeFileSync(join(etc, 'master.cf'), master);
    writeFileSync(
      join(etc, 'main.cf'),
      `compatibility_level = 3.6
queue_directory = ${spool}
data_directory = ${d}/data
myhostname = mx.example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file_prefixes = /tmp, /var
maillog_file = ${d}/maillog
smtpd_sasl_auth_enable = yes
smtpd_peername_lookup = no
smtpd_sasl_type = dovecot
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
`,
    );
    makeQueueDirs(spool, join(d, 'data'));
    // `postfix start` spends seconds in `postfix check`; the master alone starts at once (-w: wait until ready).
    const started = spawnSync('/usr/lib/postfix/sbin/master', ['-c', etc, '-w'], { encoding: 'utf8' });
    assert.equal(started.status, 0, `postfix master: ${started.stderr}`);
    const usersPath = join(d, 'auth', 'users');
    writeFileSync(usersPath, USERS);
    const oursConf = join(d, 'auth', 'ours.conf');
    writeFileSync(oursConf, authConf(usersPath, join(spool, 'private', 'auth'), `base_dir = ${d}/auth/ours-base`));
    const realConf = join(d, 'auth', 'real.conf');
    writeFileSync(realConf, authConf(usersPath, join(spool, 'private', 'auth-real'), scratchHeader(join(d, 'auth'), 'real')));
    // The real auth process runs as dovecot: it must reach its listener's directory too.
    chownSync(join(d, 'auth'), 0, 0);
    ours = await startAuthService({ configPath: oursConf, log: () => {} });
    real = await startRealDovecot(realConf, join(d, 'auth', 'real-base'), join(d, 'auth', 'real.log'), join(spool, 'private', 'auth-real'));
  });

  after(async () => {
    spawnSync('postfix', ['-c', etc, 'stop'], { encoding: 'utf8' });
    await ours?.close();
    await real?.stop();
    tmp?.cleanup();
  });

  const sessions: Array<[string, string[], RegExp]> = [
    ['AUTH PLAIN', ['--auth', 'PLAIN', '--auth-user', 'alice@example.test', '--auth-password', 'alice-pass'], /^<- {2}235 2\.7\.0 Authentication successful$/m],
    ['AUTH LOGIN (SHA512-CRYPT)', ['--auth', 'LOGIN', '--auth-user', 'bob@example.test', '--auth-password', 'bob-pass'], /^<- {2}235 2\.7\.0 Authentication successful$/m],
    ['wrong password', ['--auth', 'PLAIN', '--auth-user', 'alice@example.test', '--auth-password', 'wrong'], /^<\*\* 535 5\.7\.8 Error: authentication failed: \(reason unavailable\)$/m],
  ];

  it('authenticates and rejects exactly as with a real Dovecot behind the same Postfix', async () => {
    for (const [name, args, want] of sessions) {
      const [o, r] = await Promise.all([swaks(oursPort, args), swaks(realPort, args)]);
      assert.match(o, want, `${name} on Postern:\n${o}`);
      assert.equal(o, r, name);
      assert.match(o, /^<- {2}250-AUTH PLAIN LOGIN$/m, 'EHLO offers the mechanisms the auth socket lists');
    }
    const log = readFileSync(join(tmp.dir, 'maillog'), 'utf8');
    assert.match(log, /SASL PLAIN authentication failed: \(reason unavailable\), sasl_username=alice@example\.test/);
  });
});
