/**
 * Maildir interchange with a real Dovecot 2.3, both directions, on one
 * mail root:
 *
 * 1. Dovecot writes (LMTP deliveries, `doveadm mailbox create`, `flags
 *    add` with keywords, `copy` (hard link), `move`, `mailbox subscribe`);
 *    Postern (user looked up through the real auth-userdb socket) must see
 *    the same mailboxes, subscriptions, UIDVALIDITY/UIDNEXT, UIDs, flags,
 *    keywords, GUIDs, sizes and bytes as `doveadm fetch`/`mailbox status`.
 * 2. Postern writes (append with flags and a new keyword, flag changes,
 *    create + subscribe a folder, copy, expunge); the real doveadm must see
 *    exactly Postern's view (flags, UIDs, UIDNEXT, UIDVALIDITY, bytes,
 *    INTERNALDATE, the new folder and its subscription).
 * 3. Dovecot again (flags, a new delivery while Postern has the mailbox
 *    open): Postern's sync() reports the changes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { serviceLookup } from '../../src/storage/service.js';
import type { Mailbox } from '../../src/storage/types.js';
import type { MailUser } from '../../src/storage/user.js';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { type LmtpSide, parseScript, runScript, startRealLmtp } from '../helpers/lmtp-dovecot.js';

const runnable = realDovecotRunnable();
const USER = 'alice@example.test';

interface Row {
  uid: number;
  flags: string[];
  [k: string]: unknown;
}

describe('Maildir interchange with real Dovecot 2.3', { skip: !runnable && 'real Dovecot not runnable here' }, () => {
  let tmp: ScratchDir;
  let real: LmtpSide;
  let conf: string;

  const doveadm = (...args: string[]) => {
    const r = spawnSync('/usr/bin/doveadm', ['-c', conf, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`doveadm ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  /** doveadm -f tab fetch: rows keyed by field, flags without \Recent, keywords sorted after system flags. */
  const realRows = (box: string, fields = 'uid flags'): Row[] => {
    const out = doveadm('-f', 'tab', 'fetch', '-u', USER, fields, 'mailbox', box, 'all');
    const [head, ...lines] = out.split('\n').filter((l) => l !== '');
    const names = (head ?? '').split('\t');
    return lines.map((l) => {
      const vals = l.split('\t');
      const row: Record<string, unknown> = {};
      names.forEach((n, i) => {
        row[n] = vals[i];
      });
      return { ...row, uid: Number(row.uid), flags: normFlags(String(row.flags ?? '').split(' ')) } as Row;
    });
  };
  const normFlags = (f: string[]) => {
    const sys = f.filter((x) => x.startsWith('\\') && x !== '\\Recent').sort();
    const kw = f.filter((x) => x !== '' && !x.startsWith('\\')).sort();
    return [...sys, ...kw];
  };
  const oursRows = (box: Mailbox): Row[] => box.messages().map((m) => ({ uid: m.uid, flags: normFlags(m.flags) }));
  const realStatus = (box: string) => {
    const out = doveadm('mailbox', 'status', '-u', USER, 'messages uidnext uidvalidity', box).trim();
    return Object.fromEntries(
      out
        .split(' ')
        .slice(1)
        .map((kv) => kv.split('=') as [string, string])
        .map(([k, v]) => [k, Number(v)]),
    );
  };
  const oursUser = async (): Promise<MailUser> => {
    const r = await serviceLookup({ cfg: parseConfigFile(conf, { expand: true }), service: 'doveadm', username: USER, authSocket: join(real.dir, 'base', 'auth-userdb') });
    assert.equal(r.ret, 1, r.error);
    return r.user as MailUser;
  };
  const deliver = async (n: number, tag: string) => {
    const lines = ['S: 220', 'C: LHLO x', ...Array(5).fill('S: x')];
    for (let i = 0; i < n; i++) {
      lines.push('C: MAIL FROM:<s@remote.test>', 'S: 1', `C: RCPT TO:<${USER}>`, 'S: 1', 'C: DATA', 'S: 1');
      lines.push(`C: Subject: ${tag} ${i}`, `C: Message-ID: <${tag}${i}@remote.test>`, 'C:', `C: body ${i}`, `C: line two`, 'C: .', 'S: 1');
    }
    lines.push('C: QUIT', 'S: 1');
    const got = await runScript({ port: real.port }, parseScript(lines.join('\n')));
    assert.ok(got.filter((l) => l.includes(' Saved')).length === n, got.join('\n'));
  };

  before(async () => {
    tmp = authTempDir('psi-');
    real = await startRealLmtp(tmp.dir);
    conf = join(tmp.dir, 'dovecot.conf');
  });
  after(async () => {
    await real?.stop();
    tmp?.cleanup();
  });

  it('Postern reads what Dovecot wrote', async () => {
    await deliver(4, 'dovecot');
    doveadm('mailbox', 'create', '-u', USER, 'Projects', 'Projects/2025', 'Café');
    doveadm('flags', 'add', '-u', USER, '\\Seen $Label1 Work', 'mailbox', 'INBOX', 'uid', '1');
    doveadm('flags', 'add', '-u', USER, '\\Flagged \\Answered', 'mailbox', 'INBOX', 'uid', '2');
    doveadm('flags', 'add', '-u', USER, '\\Deleted', 'mailbox', 'INBOX', 'uid', '4');
    doveadm('copy', '-u', USER, 'Projects', 'mailbox', 'INBOX', 'uid', '1:2');
    doveadm('move', '-u', USER, 'Café', 'mailbox', 'INBOX', 'uid', '3');
    doveadm('flags', 'add', '-u', USER, 'NonJunk', 'mailbox', 'Projects', 'all');
    doveadm('mailbox', 'subscribe', '-u', USER, 'Projects', 'Café', 'Projects/2025');

    const user = await oursUser();
    const ns = user.inbox;
    const names = (await ns.list()).filter((m) => !m.attributes.includes('\\NonExistent')).map((m) => m.name);
    const realNames = doveadm('mailbox', 'list', '-u', USER).split('\n').filter(Boolean);
    assert.deepEqual([...names].sort(), [...realNames].sort());
    assert.deepEqual(
      [...(await ns.subscriptions())].sort(),
      doveadm('mailbox', 'list', '-s', '-u', USER)
        .split('\n')
        .filter(Boolean)
        .sort(),
    );
    for (const name of ['INBOX', 'Projects', 'Projects/2025', 'Café']) {
      const box = await ns.open(name);
      const st = await box.status();
      const rs = realStatus(name);
      assert.deepEqual({ messages: st.messages, uidnext: st.uidNext, uidvalidity: st.uidValidity }, rs, `status ${name}`);
      const rows = realRows(name, 'uid flags guid size.physical size.virtual');
      assert.deepEqual(oursRows(box), rows.map((r) => ({ uid: r.uid, flags: r.flags })), `flags ${name}`);
      for (const r of rows) {
        const m = box.get(r.uid);
        assert.ok(m);
        assert.equal(m.guid, r.guid, `guid ${name} ${r.uid}`);
        assert.equal(String(m.size), r['size.physical']);
        assert.equal(String(m.vsize), r['size.virtual']);
        const text = doveadm('fetch', '-u', USER, 'text', 'mailbox', name, 'uid', String(r.uid));
        const body = (await box.read(r.uid)).toString('utf8');
        assert.ok(text === `text:\n${body}` || text === `text:\n${body}\n`, `bytes ${name} ${r.uid}`);
      }
      await box.close();
    }
  });

  it('Dovecot reads what Postern wrote', async () => {
    const user = await oursUser();
    const ns = user.inbox;
    const inbox = await ns.open('INBOX');
    const appended = Buffer.from('Subject: from Postern\r\nMessage-ID: <p1@postern.test>\r\n\r\nhello\r\n..two dots\r\n');
    const a = await inbox.append(appended, { flags: ['\\Seen', 'Work', 'PosternKw'], internalDate: new Date('2025-01-02T03:04:05Z') });
    const b = await inbox.append(Buffer.from('Subject: no flags\n\nx\n'));
    await inbox.setFlags([1], 'remove', ['$Label1']);
    await inbox.setFlags([1], 'add', ['\\Answered']);
    await inbox.setFlags([2], 'replace', ['\\Draft', 'NonJunk']);
    const removed = await inbox.expunge();
    assert.deepEqual(removed, [4]);
    await ns.create('Ours/Sub');
    await ns.setSubscribed('Ours/Sub', true);
    const sub = await ns.open('Ours/Sub');
    const map = await inbox.copyTo([1, a.uid], sub);
    assert.equal(map.size, 2);
    await inbox.sync();
    await sub.sync();

    for (const [name, box] of [
      ['INBOX', inbox],
      ['Ours/Sub', sub],
    ] as const) {
      assert.deepEqual(realRows(name), oursRows(box), `doveadm fetch flags ${name}`);
      const rs = realStatus(name);
      const st = await box.status();
      assert.deepEqual(rs, { messages: st.messages, uidnext: st.uidNext, uidvalidity: st.uidValidity }, `status ${name}`);
    }
    const text = doveadm('fetch', '-u', USER, 'text date.received', 'mailbox', 'INBOX', 'uid', String(a.uid));
    assert.match(text, /Subject: from Postern\nMessage-ID: <p1@postern.test>\n\nhello\n\.\.two dots\n/);
    assert.match(text, /date\.received: 2025-01-02 \d\d:04:05/);
    assert.ok(doveadm('mailbox', 'list', '-u', USER).split('\n').includes('Ours/Sub'));
    assert.ok(doveadm('mailbox', 'list', '-s', '-u', USER).split('\n').includes('Ours/Sub'));
    assert.ok(b.uid > a.uid);
    await inbox.close();
    await sub.close();
  });

  it('Postern follows Dovecot changes on an open mailbox', async () => {
    const user = await oursUser();
    const inbox = await user.inbox.open('INBOX');
    const before = inbox.messages().map((m) => m.uid);
    let notified = false;
    const off = inbox.onChange(() => {
      notified = true;
    });
    doveadm('flags', 'add', '-u', USER, '\\Flagged', 'mailbox', 'INBOX', 'uid', String(before[0]));
    await deliver(1, 'later');
    doveadm('expunge', '-u', USER, 'mailbox', 'INBOX', 'uid', String(before[1]));
    const ch = await inbox.sync();
    assert.deepEqual(ch.expunged, [before[1]]);
    assert.equal(ch.added.length, 1);
    assert.ok(ch.flagsChanged.includes(before[0] as number));
    assert.deepEqual(oursRows(inbox), realRows('INBOX'));
    for (let i = 0; i < 40 && !notified; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(notified, 'fs.watch reported the outside change');
    off();
    await inbox.close();
  });
});
