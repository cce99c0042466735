/**
 * End to end without the network: queue file (made by our cleanup) ->
 * queue manager pass -> virtual(8) into a Maildir, error(8) and discard(8),
 * bounces with a DSN, deferral with backoff on the test clock, delay
 * warning, expiry, corrupt files, kill -9 recovery.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';

const t = tempDir('postern-qmgr-');
after(() => t.cleanup());
let n = 0;

async function vinstance(extra = '') {
  const root = join(t.dir, `i${n++}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'vmailbox'), 'alice@vmail.test vmail/alice/\nbob@vmail.test vmail/bob\nsender@vmail.test vmail/sender/\n');
  writeFileSync(
    join(root, 'transport'),
    'err.test error:5.7.1 this domain is permanently unreachable\ndiscard.test discard:silently dropped\nretry.test retry:4.4.1 try later\n',
  );
  return deliveryInstance(
    root,
    `virtual_mailbox_domains = vmail.test
virtual_mailbox_base = ${root}
virtual_mailbox_maps = texthash:${root}/vmailbox
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
transport_maps = texthash:${root}/transport
${extra}`,
  );
}

const strip = (lines: string[]) =>
  lines.map((l) => l.replace(/\b[0-9A-F]{10,11}\b/g, 'ID').replace(/delay=[\d.]+, delays=[\d./]+/, 'delay=D, delays=D'));

function maildir(root: string, user: string): string[] {
  const dir = join(root, 'vmail', user, 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1')) : [];
}

describe('queue manager', () => {
  it('delivers to a Maildir with virtual(8), logs like Postfix, removes the file', async () => {
    const inst = await vinstance();
    const id = await inst.submit('sender@vmail.test', ['alice@vmail.test'], ['Subject: hi', '', 'body']);
    const q = inst.qmgr();
    const rep = await q.runOnce({ incoming: true });
    await q.close();
    assert.equal(rep.removed, 1);
    assert.deepEqual(strip(inst.log.filter((l) => !l.startsWith('postfix/cleanup'))), [
      'postfix/qmgr: ID: from=<sender@vmail.test>, size=' + inst.log.find((l) => l.includes('size='))!.match(/size=(\d+)/)![1] + ', nrcpt=1 (queue active)',
      'postfix/virtual: ID: to=<alice@vmail.test>, relay=virtual, delay=D, delays=D, dsn=2.0.0, status=sent (delivered to maildir)',
      'postfix/qmgr: ID: removed',
    ]);
    const [msg] = maildir(inst.root, 'alice');
    assert.ok(msg!.startsWith('Return-Path: <sender@vmail.test>\nX-Original-To: alice@vmail.test\nDelivered-To: alice@vmail.test\n'), msg);
    assert.match(msg!, /\nSubject: hi\n/);
    assert.ok(!existsSync(join(inst.spool, 'active', id)));
  });
});

/** The three messages of a captured real bounce, by "=== " separator. */
function capturedBounces(): string[] {
  const text = readFileSync(join(import.meta.dirname, '../../../../shared/reference/postfix-captures/bounce-dsn-messages.txt'), 'latin1');
  return text
    .split(/^=== .*\n/m)
    .slice(1)
    .map((s) => s.trimEnd());
}

/** Mask what differs between two runs: queue IDs, dates, the boundary's time stamp, userid. */
export function maskNotice(text: string): string {
  return text
    .replace(/\b[0-9A-F]{10,11}\b/g, 'QID')
    .replace(/\b4jXb[0-9A-Za-z]{6,}\b/g, 'QID')
    .replace(/(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE')
    // Short IDs give <YYYYMMDDhhmmss.ID@host>, long IDs <ID@host>.
    .replace(/<(\d{14}\.)?QID@/g, '<MSGID@')
    .replace(/QID\.\d+\/mx/g, 'QID.EPOCH/mx')
    .replace(/from userid \d+/g, 'from userid N');
}

describe('bounces', () => {
  it('error(8) bounce: the DSN matches the real Postfix one byte for byte (IDs, dates masked)', async () => {
    const inst = await vinstance();
    const s = await inst.cleanup.open(0x2 | 0x10 | 0x20);
    s.setAttribute('rewrite_context', 'local');
    s.setFullName('root');
    s.setSender('sender@vmail.test');
    s.addRecipient('user@err.test');
    for (const l of [
      'Received: by mx.example.test (Postfix, from userid 0)',
      `\tid ${s.queueId}; Sun, 22 Nov 2026 16:54:29 +0000 (UTC)`,
      'Subject: will bounce via error transport',
      '',
      'body',
    ]) s.writeLine(Buffer.from(l));
    assert.equal((await s.finish()).status, 0);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    const lines = strip(inst.log);
    assert.ok(lines.includes('postfix/error: ID: to=<user@err.test>, relay=none, delay=D, delays=D, dsn=5.7.1, status=bounced (this domain is permanently unreachable)'), lines.join('\n'));
    assert.ok(lines.some((l) => /^postfix\/bounce: ID: sender non-delivery notification: ID$/.test(l)), lines.join('\n'));
    const [got] = maildir(inst.root, 'sender');
    const want = capturedBounces()[1]!;
    assert.equal(maskNotice(got!.trimEnd()), maskNotice(want));
  });
});

describe('deferred mail', () => {
  it('is retried with backoff, warned about after delay_warning_time, returned after maximal_queue_lifetime (DSNs as real Postfix)', async () => {
    const { freePort } = await import('../helpers/real-postfix.js');
    let port = await freePort();
    while (String(port).length !== 5) port = await freePort();
    const inst = await vinstance(`delay_warning_time = 1m\nrelay_domains =\n`);
    writeFileSync(join(inst.root, 'transport'), `defer.test smtp:[127.0.0.1]:${port}\n`);
    const submit = async (rcpt: string, subject: string) => {
      const s = await inst.cleanup.open(0x2 | 0x10 | 0x20);
      s.setAttribute('rewrite_context', 'local');
      s.setFullName('root');
      s.setSender('sender@vmail.test');
      s.addRecipient(rcpt);
      for (const l of ['Received: by mx.example.test (Postfix, from userid 0)', `\tid ${s.queueId}; Sun, 22 Nov 2026 16:54:00 +0000 (UTC)`, `Subject: ${subject}`, '', 'body']) {
        s.writeLine(Buffer.from(l));
      }
      assert.equal((await s.finish()).status, 0);
      return s.queueId;
    };
    const id1 = await submit('someone@defer.test', 'deferred via sendmail');
    const id2 = await submit('held2@defer.test', 'hold via sendmail');
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    assert.equal(inst.log.filter((l) => l.includes('status=deferred (connect to 127.0.0.1[127.0.0.1]:')).length, 2, inst.log.join('\n'));
    const real = readFileSync(join(import.meta.dirname, '../../../../shared/reference/postfix-captures/delay-warning-message.txt'), 'latin1');
    // Past the backoff and the warning time: retried, deferred again, warned once.
    inst.offset += 400_000;
    inst.log.length = 0;
    await q.runOnce({ incoming: true, deferred: true });
    const warned = inst.log.filter((l) => /^postfix\/bounce: [0-9A-F]+: sender delay notification: [0-9A-F]+$/.test(l));
    assert.equal(warned.length, 2, inst.log.join('\n'));
    const notices = maildir(inst.root, 'sender');
    const delay = notices.find((m) => m.includes('<someone@defer.test>'))!;
    const port5 = (s: string) => s.replace(/127\.0\.0\.1\]:\d{5}/g, '127.0.0.1]:PORT');
    assert.equal(port5(maskNotice(delay.trimEnd())), port5(maskNotice(real.trimEnd())));
    // A second pass does not warn again (W record is -1 now).
    inst.offset += 4_000_000;
    inst.log.length = 0;
    await q.runOnce({ incoming: true, deferred: true });
    assert.equal(inst.log.filter((l) => l.includes('delay notification')).length, 0, inst.log.join('\n'));
    // Five days later: expired, returned to the sender with the last reason.
    inst.offset += 5 * 86400_000;
    inst.log.length = 0;
    await q.runOnce({ incoming: true, deferred: true, scanAll: true });
    await q.close();
    const lines = strip(inst.log);
    assert.ok(lines.includes('postfix/qmgr: ID: from=<sender@vmail.test>, status=expired, returned to sender'), lines.join('\n'));
    assert.ok(lines.filter((l) => l === 'postfix/qmgr: ID: removed').length >= 2);
    assert.ok(!existsSync(join(inst.spool, 'deferred', id1[0]!, id1)) && !existsSync(join(inst.spool, 'deferred', id2[0]!, id2)));
    const expired = maildir(inst.root, 'sender').find((m) => m.includes('<held2@defer.test>: connect to') && m.includes('Subject: Undelivered Mail'))!;
    const realExpired = capturedBounces()[2]!;
    const cut = (s: string) => s.slice(0, s.indexOf('Content-Description: Undelivered Message'));
    assert.equal(port5(maskNotice(cut(expired))), port5(maskNotice(cut(realExpired))));
  });
});

describe('success notices', () => {
  it('NOTIFY=SUCCESS: a "Successful Mail Delivery Report" with Action: delivered goes back to the sender', async () => {
    const inst = await vinstance();
    await inst.submit('sender@vmail.test', ['alice@vmail.test'], ['Subject: tell me', '', 'body'], { notify: 2 });
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    assert.ok(inst.log.some((l) => /^postfix\/bounce: [0-9A-F]+: sender delivery status notification: [0-9A-F]+$/.test(l)), inst.log.join('\n'));
    const [notice] = maildir(inst.root, 'sender');
    assert.match(notice!, /\nSubject: Successful Mail Delivery Report\n/);
    assert.match(notice!, /\nYour message was successfully delivered to the destination\(s\)\n/);
    assert.match(notice!, /\n<alice@vmail\.test>: delivered to maildir\n/);
    assert.match(notice!, /\nFinal-Recipient: rfc822; alice@vmail\.test\nOriginal-Recipient: rfc822;alice@vmail\.test\nAction: delivered\nStatus: 2\.0\.0\nDiagnostic-Code: X-Postfix; delivered to maildir\n/);
    assert.match(notice!, /\nContent-Description: Message Headers\nContent-Type: text\/rfc822-headers\n/);
    assert.ok(!existsSync(join(inst.spool, 'trace')) || readdirSync(join(inst.spool, 'trace')).length === 0, 'trace log removed');
  });
});
