/**
 * Differential: the same messages through a real Postfix 3.7 (sendmail ->
 * pickup -> cleanup -> qmgr -> agents) and through Postern (cleanup ->
 * qmgr pass -> agents), same main.cf. Compared:
 * - the delivery log lines of qmgr, virtual, local, error, discard and
 *   bounce (queue IDs, delays and PIDs masked; as sorted lists, since the
 *   real daemons interleave);
 * - the messages delivered to the Maildirs, notices included, byte for
 *   byte after masking IDs, dates and the boundary time stamp.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { backdate, tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { FULL_MASTER_CF, realPostfixRunnable, startRealInstance } from '../helpers/real-postfix-delivery.js';

const skip = !realPostfixRunnable() && 'needs root and Debian postfix';
const t = tempDir('postern-dmail-');
after(() => t.cleanup());

const MESSAGES: Array<{ rcpts: string[]; subject: string }> = [
  { rcpts: ['alice@vmail.test'], subject: 'virtual delivery' },
  { rcpts: ['user@err.test'], subject: 'will bounce via error transport' },
  { rcpts: ['nosuchuser@mx.example.test'], subject: 'local unknown' },
  { rcpts: ['x@discard.test'], subject: 'discarded' },
  { rcpts: ['info@alias.test', 'bob@vmail.test'], subject: 'alias expansion' },
  { rcpts: ['nosuch@vmail.test'], subject: 'virtual unknown' },
];

function main(dir: string): string {
  return `myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = $myhostname, localhost
inet_interfaces = 127.0.0.1
alias_maps =
local_recipient_maps =
virtual_alias_domains = alias.test
virtual_alias_maps = texthash:${dir}/valias
virtual_mailbox_domains = vmail.test
virtual_mailbox_base = ${dir}/vmail
virtual_mailbox_maps = texthash:${dir}/vmailbox
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
transport_maps = texthash:${dir}/transport
notify_classes = bounce, resource, software
bounce_notice_recipient = pm@vmail.test
`;
}

function tables(dir: string): void {
  mkdirSync(join(dir, 'vmail'), { recursive: true });
  writeFileSync(join(dir, 'vmailbox'), 'alice@vmail.test alice/\nbob@vmail.test bob/\nsender@vmail.test sender/\npm@vmail.test pm/\n');
  writeFileSync(join(dir, 'valias'), 'info@alias.test alice@vmail.test, bob@vmail.test\n');
  writeFileSync(join(dir, 'transport'), 'err.test error:5.7.1 this domain is permanently unreachable\ndiscard.test discard:silently dropped\n');
  chownSync(join(dir, 'vmail'), 5000, 5000);
  backdate(dir);
}

function maildirs(base: string): string[] {
  const out: string[] = [];
  for (const user of existsSync(base) ? readdirSync(base).sort() : []) {
    const nd = join(base, user, 'new');
    if (!existsSync(nd)) continue;
    for (const f of readdirSync(nd)) out.push(`== ${user}\n${readFileSync(join(nd, f), 'latin1')}`);
  }
  return out;
}

const mask = (s: string) =>
  s
    .replace(/\b[0-9A-F]{10,11}\b/g, 'QID')
    .replace(/(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE')
    .replace(/<\d{14}\.QID@/g, '<STAMP.QID@')
    .replace(/QID\.\d+\/mx/g, 'QID.EPOCH/mx')
    .replace(/delay=[\d.]+, delays=[\d./]+/g, 'delay=D, delays=D')
    .replace(/size=\d+/g, 'size=N');

const LOG_PROGS = /^(postfix\/(qmgr|virtual|local|error|discard|bounce)): (.*)$/;

describe('delivery vs real Postfix', { skip }, () => {
  it('same log lines and the same delivered messages and notices', { timeout: 60_000 }, async () => {
    chmodSync(t.dir, 0o755);
    // Real Postfix.
    const rdir = join(t.dir, 'real-tables');
    mkdirSync(rdir, { recursive: true });
    chmodSync(rdir, 0o755);
    tables(rdir);
    const real = startRealInstance(main(rdir), FULL_MASTER_CF);
    let realLog: string[];
    try {
      for (const m of MESSAGES) {
        const r = real.tool('sendmail', ['-f', 'sender@vmail.test', ...m.rcpts], `Subject: ${m.subject}\n\nbody\n`);
        assert.equal(r.status, 0, r.stderr);
      }
      const want = MESSAGES.length + 6; // three notices to sender@vmail.test, three postmaster copies
      const end = Date.now() + 30_000;
      while (Date.now() < end && (real.log().match(/: removed$/gm)?.length ?? 0) < want) await new Promise((r) => setTimeout(r, 100));
      realLog = real
        .log()
        .split('\n')
        .map((l) => l.replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ /, '').replace(/\[\d+\]: /, ': '))
        .filter((l) => LOG_PROGS.test(l) && !l.includes('warning:'));
    } finally {
      await real.stop().catch(() => {});
    }
    const realMail = maildirs(join(rdir, 'vmail'));

    // Postern.
    const root = join(t.dir, 'ours');
    const odir = join(root, 'tables');
    mkdirSync(odir, { recursive: true });
    tables(odir);
    const inst = await deliveryInstance(root, main(odir));
    for (const m of MESSAGES) {
      const s = await inst.cleanup.open(0x2 | 0x10 | 0x20);
      s.setAttribute('rewrite_context', 'local');
      s.setFullName('root');
      s.setSender('sender@vmail.test');
      for (const r of m.rcpts) s.addRecipient(r);
      for (const l of ['Received: by mx.example.test (Postfix, from userid 0)', `\tid ${s.queueId}; ${'Sun, 22 Nov 2026 16:54:29 +0000 (UTC)'}`, `Subject: ${m.subject}`, '', 'body']) {
        s.writeLine(Buffer.from(l));
      }
      assert.equal((await s.finish()).status, 0);
    }
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    const ourLog = inst.log.filter((l) => LOG_PROGS.test(l) && !l.includes('warning:'));
    const ourMail = maildirs(join(odir, 'vmail'));

    assert.ok(realLog.length >= 40 && realMail.length === 10, `real: ${realLog.length} log lines, ${realMail.length} messages`);
    assert.deepEqual(ourLog.map(mask).sort(), realLog.map(mask).sort());
    assert.deepEqual(ourMail.map(mask).sort(), realMail.map(mask).sort());
  });

  it('a deferred message force-expired (postsuper -e) is returned with the defer log reason', { timeout: 60_000 }, async () => {
    const { freePort } = await import('../helpers/real-postfix.js');
    let port = await freePort();
    while (String(port).length !== 5) port = await freePort();
    const extra = (dir: string) => `${main(dir)}relayhost = [127.0.0.1]:${port}\n`;
    chmodSync(t.dir, 0o755);
    const rdir = join(t.dir, 'real-exp');
    mkdirSync(rdir, { recursive: true });
    chmodSync(rdir, 0o755);
    tables(rdir);
    const real = startRealInstance(extra(rdir), FULL_MASTER_CF);
    let realLog: string[];
    try {
      assert.equal(real.tool('sendmail', ['-f', 'sender@vmail.test', 'far@remote.test'], 'Subject: expire me\n\nbody\n').status, 0);
      assert.ok(await real.waitLog(/status=deferred/, 20_000), real.log());
      const dirs = readdirSync(join(real.spool, 'deferred'));
      const id = readdirSync(join(real.spool, 'deferred', dirs[0]!))[0]!;
      assert.equal(real.tool('postsuper', ['-e', id]).status, 0);
      real.tool('postqueue', ['-f']);
      assert.ok(await real.waitLog(/status=force-expired[\s\S]*sender@vmail.test>, relay=virtual/, 20_000), real.log());
      await new Promise((r) => setTimeout(r, 300));
      realLog = real
        .log()
        .split('\n')
        .map((l) => l.replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ /, '').replace(/\[\d+\]: /, ': '))
        .filter((l) => LOG_PROGS.test(l) && !l.includes('warning:'));
    } finally {
      await real.stop().catch(() => {});
    }
    const realMail = maildirs(join(rdir, 'vmail'));

    const root = join(t.dir, 'ours-exp');
    const odir = join(root, 'tables');
    mkdirSync(odir, { recursive: true });
    tables(odir);
    const inst = await deliveryInstance(root, extra(odir));
    const s = await inst.cleanup.open(0x2 | 0x10 | 0x20);
    s.setAttribute('rewrite_context', 'local');
    s.setFullName('root');
    s.setSender('sender@vmail.test');
    s.addRecipient('far@remote.test');
    for (const l of ['Received: by mx.example.test (Postfix, from userid 0)', `\tid ${s.queueId}; Sun, 22 Nov 2026 16:54:29 +0000 (UTC)`, 'Subject: expire me', '', 'body']) {
      s.writeLine(Buffer.from(l));
    }
    assert.equal((await s.finish()).status, 0);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    // postsuper -e: S_IXGRP on the queue file.
    const { queueLayout, queuePath } = await import('../../src/queue/layout.js');
    const path = queuePath(queueLayout(inst.spool), 'deferred', s.queueId);
    chmodSync(path, 0o710);
    await q.runOnce({ incoming: true, deferred: true, scanAll: true, flushDead: true });
    await q.close();
    const ourLog = inst.log.filter((l) => LOG_PROGS.test(l) && !l.includes('warning:'));
    const ourMail = maildirs(join(odir, 'vmail'));
    const p5 = (x: string) => mask(x).replace(/:\d{5}\b/g, ':PORT');
    assert.ok(realLog.some((l) => l.includes('status=force-expired, returned to sender')), realLog.join('\n'));
    assert.deepEqual(ourLog.map(p5).sort(), realLog.map(p5).sort());
    assert.deepEqual(ourMail.map(p5).sort(), realMail.map(p5).sort());
  });
});
