/**
 * local(8) end to end: alias expansion (forward through cleanup, file,
 * command, :include:, owner-), mail_spool_directory, unknown users
 * bounced with the DSN real Postfix sends, forwarding loops.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';

const t = tempDir('postern-local-');
after(() => t.cleanup());
let n = 0;

const strip = (lines: string[]) =>
  lines
    .filter((l) => !l.startsWith('postfix/cleanup'))
    .map((l) => l.replace(/\b[0-9A-F]{10,11}\b/g, 'ID').replace(/delay=[\d.]+, delays=[\d./]+/, 'delay=D, delays=D').replace(/size=\d+/, 'size=N'));

async function linstance(aliases: string, extra = '') {
  const root = join(t.dir, `l${n++}`);
  mkdirSync(join(root, 'spool-mail'), { recursive: true });
  writeFileSync(join(root, 'aliases'), aliases);
  writeFileSync(join(root, 'vmailbox'), 'alice@vmail.test vmail/alice/\nsender@vmail.test vmail/sender/\n');
  return deliveryInstance(
    root,
    `mydestination = $myhostname, localhost
alias_maps = texthash:${root}/aliases
mail_spool_directory = ${root}/spool-mail
virtual_mailbox_domains = vmail.test
virtual_mailbox_base = ${root}
virtual_mailbox_maps = texthash:${root}/vmailbox
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
${extra}`,
  );
}

function maildir(root: string, user: string): string[] {
  const dir = join(root, 'vmail', user, 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'latin1')) : [];
}

describe('local delivery', () => {
  it('unknown user: bounced, and the DSN matches the real one', async () => {
    const inst = await linstance('');
    const s = await inst.cleanup.open(0x2 | 0x10 | 0x20);
    s.setAttribute('rewrite_context', 'local');
    s.setFullName('root');
    s.setSender('sender@vmail.test');
    s.addRecipient('nosuchuser@mx.example.test');
    for (const l of ['Received: by mx.example.test (Postfix, from userid 0)', `\tid ${s.queueId}; Sun, 22 Nov 2026 16:54:29 +0000 (UTC)`, 'Subject: local unknown', '', 'body']) {
      s.writeLine(Buffer.from(l));
    }
    assert.equal((await s.finish()).status, 0);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    const lines = strip(inst.log);
    assert.ok(
      lines.includes('postfix/local: ID: to=<nosuchuser@mx.example.test>, relay=local, delay=D, delays=D, dsn=5.1.1, status=bounced (unknown user: "nosuchuser")'),
      lines.join('\n'),
    );
    const got = maildir(inst.root, 'sender')[0]!;
    const want = readFileSync(join(import.meta.dirname, '../../../../shared/reference/postfix-captures/bounce-dsn-messages.txt'), 'latin1')
      .split(/^=== .*\n/m)[1]!
      .trimEnd();
    const mask = (s: string) =>
      s
        .replace(/\b[0-9A-F]{10,11}\b/g, 'QID')
        .replace(/(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)/g, 'DATE')
        .replace(/<(\d{14}\.)?QID@/g, '<MSGID@');
    assert.equal(mask(got.trimEnd()), mask(want));
  });

  it('aliases: forward to an address (new queue file, Delivered-To), a file, a command; owner- becomes the sender', async () => {
    // Alias targets run as $default_privs (nobody): give it a way in.
    chmodSync(t.dir, 0o755);
    const root = join(t.dir, `l${n}`);
    const out = join(t.dir, `out${n}`);
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const inst = await linstance(
      `root alice@vmail.test
list "${out}/list-file", "|cat > ${out}/cmd-out", alice@vmail.test
owner-list listmaster
incl :include:${root}/incl
`,
    );
    writeFileSync(join(inst.root, 'incl'), 'alice@vmail.test\n');
    await inst.submit('sender@vmail.test', ['root@mx.example.test'], ['Subject: to root', '', 'body']);
    await inst.submit('sender@vmail.test', ['list@mx.example.test'], ['Subject: to list', '', 'body']);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    const lines = strip(inst.log);
    assert.ok(lines.includes('postfix/local: ID: to=<root@mx.example.test>, relay=local, delay=D, delays=D, dsn=2.0.0, status=sent (forwarded as ID)'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('postfix/virtual: ID: to=<alice@vmail.test>, orig_to=<root@mx.example.test>, relay=virtual')), lines.join('\n'));
    assert.ok(lines.includes('postfix/local: ID: to=<list@mx.example.test>, relay=local, delay=D, delays=D, dsn=2.0.0, status=sent (forwarded as ID)'), lines.join('\n'));
    assert.ok(lines.includes('postfix/qmgr: ID: from=<owner-list@example.test>, size=N, nrcpt=1 (queue active)'), lines.join('\n'));
    const mails = maildir(inst.root, 'alice');
    assert.equal(mails.length, 2);
    const toRoot = mails.find((m) => m.includes('Subject: to root'))!;
    assert.match(toRoot, /^Return-Path: <sender@vmail\.test>\nX-Original-To: root@mx\.example\.test\nDelivered-To: alice@vmail\.test\nDelivered-To: root@mx\.example\.test\n/);
    assert.match(readFileSync(join(out, 'list-file'), 'latin1'), /^From sender@vmail\.test {2}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <sender@vmail\.test>\nX-Original-To: list@mx\.example\.test\nDelivered-To: list@mx\.example\.test\n[\s\S]*\nbody\n\n$/);
    assert.match(readFileSync(join(out, 'cmd-out'), 'latin1'), /Subject: to list/);
  });

  it('a user without alias goes to mail_spool_directory; a loop is bounced', async () => {
    const inst = await linstance('');
    await inst.submit('sender@vmail.test', ['root@localhost'], ['Subject: spool', '', 'body']);
    await inst.submit('sender@vmail.test', ['root@mx.example.test'], ['Delivered-To: root@mx.example.test', 'Subject: loop', '', 'body']);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true });
    await q.close();
    const lines = strip(inst.log);
    assert.ok(lines.includes('postfix/local: ID: to=<root@localhost>, relay=local, delay=D, delays=D, dsn=2.0.0, status=sent (delivered to mailbox)'), lines.join('\n'));
    assert.ok(
      lines.includes('postfix/local: ID: to=<root@mx.example.test>, relay=local, delay=D, delays=D, dsn=5.4.6, status=bounced (mail forwarding loop for root@mx.example.test)'),
      lines.join('\n'),
    );
    assert.match(readFileSync(join(inst.root, 'spool-mail', 'root'), 'latin1'), /^From sender@vmail\.test {2}.*\nReturn-Path: <sender@vmail\.test>\nX-Original-To: root@localhost\nDelivered-To: root@localhost\n[\s\S]*Subject: spool\n/);
  });
});
