/**
 * Durability: a queue manager killed with SIGKILL in the middle of an SMTP
 * delivery loses nothing (the file stays in active/, the next start puts
 * it back into incoming/ and delivers it; the in-flight delivery may be
 * repeated, as with Postfix); recipients already marked done are not
 * delivered again; a corrupt queue file goes to corrupt/ and does not stop
 * the queue.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { parseQueueFile } from '../../src/queue/reader.js';
import { tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';

const t = tempDir('postern-crash-');
after(() => t.cleanup());
const DIST = resolve(import.meta.dirname, '../..');

describe('crash safety', () => {
  it('kill -9 during DATA: nothing lost, delivered after restart', async () => {
    let stall = true;
    const got: string[] = [];
    let sawData!: () => void;
    const dataSeen = new Promise<void>((r) => {
      sawData = r;
    });
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      onData(stream, session, cb) {
        const c: Buffer[] = [];
        stream.on('data', (d: Buffer) => c.push(d));
        stream.on('end', () => {
          got.push(session.envelope.rcptTo.map((r) => r.address).join(','));
          if (stall) {
            sawData();
            return; // never answer: the client waits
          }
          cb(null, 'Ok: queued as AFTER');
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      const root = join(t.dir, 'k');
      mkdirSync(root, { recursive: true });
      const inst = await deliveryInstance(root, `relayhost = [127.0.0.1]:${port}\n`);
      const id = await inst.submit('sender@example.test', ['a@far.test', 'b@far.test'], ['Subject: crash', '', 'body']);
      const script = join(root, 'child.mjs');
      writeFileSync(
        script,
        `import { loadPostfixConfig } from '${DIST}/compat/postfix/config.js';
import { QueueManager } from '${DIST}/src/qmgr/qmgr.js';
const cfg = loadPostfixConfig({ configDir: ${JSON.stringify(inst.etc)} });
const q = new QueueManager({ cfg, logs: () => ({ info() {}, warn() {} }) });
await q.recover();
await q.runOnce({ incoming: true });
`,
      );
      const child = spawn(process.execPath, [script], { stdio: 'ignore' });
      await dataSeen;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(existsSync(join(inst.spool, 'active', id)), 'the message waits in active/');
      // Restart: the message goes back to incoming/ and is delivered.
      stall = false;
      const q = inst.qmgr();
      await q.recover();
      assert.ok(existsSync(join(inst.spool, 'incoming', id)));
      await q.runOnce({ incoming: true });
      await q.close();
      assert.deepEqual(got, ['a@far.test,b@far.test', 'a@far.test,b@far.test']);
      assert.ok(inst.log.some((l) => l === `postfix/qmgr: ${id}: removed`), inst.log.join('\n'));
      assert.deepEqual(readdirSync(join(inst.spool, 'active')), []);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('recipients marked done before a crash are not delivered again', async () => {
    const root = join(t.dir, 'd');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'vmailbox'), 'a@vmail.test vmail/a/\nb@vmail.test vmail/b/\n');
    const inst = await deliveryInstance(
      root,
      `virtual_mailbox_domains = vmail.test\nvirtual_mailbox_base = ${root}\nvirtual_mailbox_maps = texthash:${root}/vmailbox\nvirtual_uid_maps = static:5000\nvirtual_gid_maps = static:5000\n`,
    );
    const id = await inst.submit('s@example.test', ['a@vmail.test', 'b@vmail.test'], ['Subject: partial', '', 'body']);
    // What a delivery agent leaves behind when the qmgr dies after a's delivery.
    const path = join(inst.spool, 'incoming', id);
    const buf = readFileSync(path);
    const a = parseQueueFile(buf, { requireSize: true }).recipients.find((r) => r.address === 'a@vmail.test')!;
    buf[a.offset] = 0x44;
    writeFileSync(path, buf);
    chmodSync(path, 0o700);
    const { renameSync } = await import('node:fs');
    renameSync(path, join(inst.spool, 'active', id));
    const q = inst.qmgr();
    await q.recover();
    await q.runOnce({ incoming: true });
    await q.close();
    const delivered = inst.log.filter((l) => l.includes('status=sent'));
    assert.equal(delivered.length, 1, inst.log.join('\n'));
    assert.match(delivered[0]!, /to=<b@vmail\.test>/);
    assert.ok(!existsSync(join(root, 'vmail', 'a')));
  });

  it('a corrupt queue file goes to corrupt/ with Postfix\'s warning; the queue goes on', async () => {
    const root = join(t.dir, 'c');
    mkdirSync(root, { recursive: true });
    const inst = await deliveryInstance(root, `default_transport = discard:done\n`);
    const good = await inst.submit('s@example.test', ['x@far.test'], ['Subject: ok', '', 'body']);
    const bad = join(inst.spool, 'incoming', '12345ABCDEF');
    writeFileSync(bad, Buffer.from('C\x05junk!garbage'));
    chmodSync(bad, 0o700);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    assert.ok(inst.log.includes('postfix/qmgr: warning: saving corrupt file "12345ABCDEF" from queue "active" to queue "corrupt"'), inst.log.join('\n'));
    assert.ok(existsSync(join(inst.spool, 'corrupt', '12345ABCDEF')));
    assert.ok(inst.log.includes(`postfix/qmgr: ${good}: removed`));
  });
});
