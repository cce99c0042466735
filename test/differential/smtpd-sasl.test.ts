/**
 * Differential test for SASL AUTH in smtpd: a real Dovecot 2.3 auth server
 * (passwd-file user, mechanisms PLAIN LOGIN) serves one auth-client socket to
 * both the real Postfix 3.7 smtpd and Postern's (smtpd_sasl_type = dovecot,
 * smtpd_sasl_path = that socket). The same dialogues run against both; server
 * replies and smtpd log lines must be byte-equal (queue IDs normalised).
 * Also reject_sender_login_mismatch with an inline: smtpd_sender_login_maps.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createSmtpd } from '../../src/smtpd/server.js';
import { serviceConfig } from '../../src/smtpd/server.js';
import { createSaslAuth } from '../../src/smtpd/sasl/smtpd-auth.js';
import { loadSmtpdSettings } from '../../src/smtpd/settings.js';
import { authTempDir, realDovecotRunnable, type RealDovecot, scratchHeader, startRealDovecot, writeFiles } from '../helpers/dovecot-server.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { MemoryCleanup, MemoryLog, normaliseLog, normaliseReplies, parseDialogue, runDialogue } from '../helpers/smtp-client.js';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const plain = (u: string, p: string) => b64(`\0${u}\0${p}`);

const DIALOGUES: Record<string, string[]> = {
  'plain-good': ['EHLO client.example.test', `AUTH PLAIN ${plain('alice', 'secret')}`, 'AUTH PLAIN', 'MAIL FROM:<alice@example.org>', 'RCPT TO:<x@remote.test>', 'QUIT'],
  'plain-bad': ['EHLO client.example.test', `AUTH PLAIN ${plain('alice', 'wrong')}`, 'MAIL FROM:<a@example.org>', 'RCPT TO:<x@remote.test>', 'QUIT'],
  'plain-continued': ['EHLO client.example.test', 'AUTH PLAIN', plain('alice', 'secret'), 'QUIT'],
  'login-good': ['EHLO client.example.test', 'AUTH LOGIN', b64('alice'), b64('secret'), 'QUIT'],
  'login-bad': ['EHLO client.example.test', 'AUTH LOGIN', b64('bob'), b64('nope'), 'QUIT'],
  'login-initial': ['EHLO client.example.test', `AUTH LOGIN ${b64('alice')}`, b64('secret'), 'QUIT'],
  cancel: ['EHLO client.example.test', 'AUTH LOGIN', '*', 'QUIT'],
  errors: ['EHLO client.example.test', 'AUTH', 'AUTH CRAM-MD5', 'AUTH PLAIN !!!', 'AUTH PLAIN a b c', 'MAIL FROM:<a@example.org>', 'AUTH PLAIN', 'QUIT'],
  'no-ehlo': ['AUTH PLAIN', 'QUIT'],
  'login-mismatch': ['EHLO client.example.test', `AUTH PLAIN ${plain('alice', 'secret')}`, 'MAIL FROM:<bob@example.org>', 'RCPT TO:<x@remote.test>', 'RSET', 'MAIL FROM:<alice@example.org>', 'RCPT TO:<x@remote.test>', 'RSET', 'MAIL FROM:<carol@example.org>', 'RCPT TO:<x@remote.test>', 'QUIT'],
  'not-logged-in': ['EHLO client.example.test', 'MAIL FROM:<alice@example.org>', 'RCPT TO:<x@mx.example.test>', 'RSET', 'MAIL FROM:<carol@example.org>', 'RCPT TO:<x@mx.example.test>', 'QUIT'],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  'smtpd SASL (Dovecot auth): Postern vs real Postfix',
  { skip: !(realPostfixUsable() && realDovecotRunnable()) && 'needs root, /usr/sbin/postfix and dovecot' },
  () => {
    const scratch = authTempDir('ps-');
    let dovecot: RealDovecot;
    let real: RealPostfix;
    let ours: Server;
    const log = new MemoryLog();
    let realPort = 0;
    let ourPort = 0;

    before(async () => {
      const dir = scratch.dir;
      writeFiles(dir, {
        'dovecot.conf': `${scratchHeader(dir, 'dc')}auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u @DIR@/passwd
}
userdb {
  driver = static
  args = uid=1000 gid=1000 home=/nonexistent
}
service auth {
  unix_listener @DIR@/smtp-auth {
    mode = 0666
  }
}
`,
        passwd: 'alice:{PLAIN}secret\n',
      });
      dovecot = await startRealDovecot(`${dir}/dovecot.conf`, `${dir}/dc-base`, `${dir}/dc.log`, `${dir}/smtp-auth`);
      [realPort] = await freePorts(1);
      real = await startRealPostfix({
        main: [
          'compatibility_level = 3.6',
          'inet_protocols = ipv4',
          'myhostname = mx.example.test',
          'mydestination = mx.example.test',
          'inet_interfaces = 127.0.0.1',
          'mynetworks = 127.0.0.2/32',
          'smtpd_error_sleep_time = 0',
          'alias_maps =',
          'local_recipient_maps =',
          'smtpd_sasl_auth_enable = yes',
          'smtpd_sasl_type = dovecot',
          `smtpd_sasl_path = ${dir}/smtp-auth`,
          'broken_sasl_auth_clients = yes',
          'smtpd_sender_login_maps = inline:{ alice@example.org=alice, bob@example.org=bob }',
          'smtpd_sender_restrictions = reject_sender_login_mismatch',
          'smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination',
          '',
        ].join('\n'),
        services: `127.0.0.1:${realPort} inet n - n - - smtpd -o syslog_name=postfix/sasl`,
      });
      const service = `127.0.0.1:${realPort}`;
      const cfg = serviceConfig(real.configDir, service);
      const auth = await createSaslAuth(await loadSmtpdSettings(cfg));
      const smtpd = await createSmtpd(cfg, { cleanup: new MemoryCleanup(), log, auth, serviceName: service });
      ours = createServer((sock) => void smtpd.serve(sock));
      await new Promise<void>((r) => ours.listen(0, '127.0.0.1', r));
      const a = ours.address();
      ourPort = typeof a === 'object' && a ? a.port : 0;
    });

    after(async () => {
      await new Promise((r) => ours?.close(r));
      await real?.stop();
      await dovecot?.stop();
      scratch.cleanup();
    });

    const realLines = () =>
      real
        .log()
        .split('\n')
        .filter((l) => l.includes(' postfix/sasl/smtpd['));

    for (const [name, cmds] of Object.entries(DIALOGUES)) {
      test(name, async () => {
        const fx = parseDialogue(name, cmds.map((c) => `C: ${c}`).join('\n'));
        const r0 = realLines().length;
        const o0 = log.lines.length;
        const [realOut, ourOut] = await Promise.all([runDialogue(realPort, fx.steps), runDialogue(ourPort, fx.steps)]);
        const done = (l: string[]) => l.some((x) => /(^|: )disconnect from /.test(x));
        for (let i = 0; i < 250 && !(done(realLines().slice(r0)) && done(log.lines.slice(o0))); i++) await sleep(20);
        if (process.env.SHOW_SASL) console.log(normaliseReplies(realOut).join('\n'), realLines().slice(r0).join('\n'));
        assert.deepEqual(normaliseReplies(ourOut), normaliseReplies(realOut), 'server replies');
        assert.deepEqual(normaliseLog(log.lines.slice(o0)), normaliseLog(realLines().slice(r0)), 'smtpd log lines');
      });
    }
  },
);
