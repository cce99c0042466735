/**
 * lmtp(8) against the real Dovecot 2.3 LMTP server (unix socket and TCP),
 * routed by transport_maps: per-recipient replies after DATA, a user
 * Dovecot does not know bounced with Dovecot's words, Maildirs written by
 * Dovecot.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { startRealLmtp } from '../helpers/lmtp-dovecot.js';

const skip = !(existsSync('/usr/sbin/dovecot') && process.getuid?.() === 0) && 'needs root and Debian dovecot';
const t = tempDir('postern-lmtp-');
after(() => t.cleanup());

const strip = (lines: string[]) =>
  lines
    .filter((l) => !l.startsWith('postfix/cleanup'))
    .map((l) => l.replace(/\b[0-9A-F]{10,11}\b/g, 'ID').replace(/delay=[\d.]+, delays=[\d./]+/, 'delay=D, delays=D'));

describe('lmtp client', { skip }, () => {
  it('delivers to the real Dovecot over unix and inet sockets; unknown user bounced', async () => {
    // Dovecot's lmtp runs as uid 5000 and must reach its mail root.
    chmodSync(t.dir, 0o755);
    const ddir = join(t.dir, 'dovecot');
    mkdirSync(ddir, { recursive: true });
    const dv = await startRealLmtp(ddir);
    try {
      const root = join(t.dir, 'pf');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'transport'), `example.test lmtp:unix:${dv.socketPath}\nother.test lmtp:inet:127.0.0.1:${dv.port}\n`);
      const inst = await deliveryInstance(root, `transport_maps = texthash:${root}/transport\n`);
      await inst.submit('sender@sender.test', ['alice@example.test', 'bob@example.test', 'nosuch@example.test', 'dave@other.test'], ['Subject: via lmtp', '', 'body']);
      const q = inst.qmgr();
      await q.runOnce({ incoming: true });
      await q.close();
      const lines = strip(inst.log);
      const sock = dv.socketPath;
      for (const who of ['alice', 'bob']) {
        assert.ok(
          lines.some((l) => l.startsWith(`postfix/lmtp: ID: to=<${who}@example.test>, relay=mx.example.test[${sock}], delay=D, delays=D, dsn=2.0.0, status=sent (250 2.0.0 <${who}@example.test> `) && l.endsWith(' Saved)')),
          lines.join('\n'),
        );
      }
      assert.ok(
        lines.includes(
          `postfix/lmtp: ID: to=<nosuch@example.test>, relay=mx.example.test[${sock}], delay=D, delays=D, dsn=5.1.1, status=bounced (host mx.example.test[${sock}] said: 550 5.1.1 <nosuch@example.test> User doesn't exist: nosuch@example.test (in reply to RCPT TO command))`,
        ),
        lines.join('\n'),
      );
      assert.ok(lines.some((l) => l.startsWith(`postfix/lmtp: ID: to=<dave@other.test>, relay=127.0.0.1[127.0.0.1]:${dv.port}, `) && l.includes('status=sent (250 2.0.0 <dave@other.test>')), lines.join('\n'));
      for (const [d, u] of [['example.test', 'alice'], ['example.test', 'bob'], ['other.test', 'dave']] as const) {
        assert.equal(readdirSync(join(dv.mailRoot, d, u, 'Maildir', 'new')).length, 1, `${u}@${d}`);
      }
    } finally {
      await dv.stop();
    }
  });
});
