/**
 * Postern's Maildir store on a real file system: concurrent writers and the
 * uidlist lock (stale and live locks), broken uidlists and stray files
 * (no mail lost, UIDs kept where they can be), outside expunges and renames,
 * mailbox create/rename/delete/list/subscribe with Dovecot's errors,
 * hard-link copies and GUIDs, Maildir++ quota accounting, and change
 * notification between two open instances.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { settingsView } from '../../compat/dovecot/settings-view.js';
import { MailError } from '../../src/storage/errors.js';
import type { MaildirMailbox } from '../../src/storage/maildir/mailbox.js';
import { parseUidlist } from '../../src/storage/maildir/uidlist-format.js';
import { createMailUser, type MailUser } from '../../src/storage/user.js';

const msg = (n: number | string) => Buffer.from(`Subject: m${n}\r\nMessage-ID: <m${n}@t>\r\n\r\nbody ${n}\r\n`);

describe('Maildir store (integration)', () => {
  let dir: string;
  let conf: string;
  let n = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'psm-'));
    conf = join(dir, 'dovecot.conf');
    writeFileSync(
      conf,
      [
        `mail_location = maildir:${dir}/mail/%n/Maildir`,
        'first_valid_uid = 1000',
        'mail_max_lock_timeout = 1s',
        'mail_plugins = quota',
        'namespace inbox {',
        '  inbox = yes',
        '  separator = /',
        '  mailbox Trash {',
        '    auto = subscribe',
        '    special_use = \\Trash',
        '  }',
        '}',
        'plugin {',
        '  quota = maildir:User quota',
        '  quota_rule = *:storage=1M',
        '}',
        '',
      ].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const user = (name = `u${++n}`): Promise<MailUser> =>
    createMailUser({ username: name, service: 'imap', settings: settingsView(parseConfigFile(conf, { expand: true }), { protocol: 'imap' }), userdbFields: ['uid=5000', 'gid=5000'] });
  const root = (u: MailUser) => join(dir, 'mail', u.username, 'Maildir');

  it('gives unique UIDs to concurrent writers sharing the uidlist lock', async () => {
    const u = await user();
    const a = await u.inbox.open('INBOX');
    const b = await (await user(u.username)).inbox.open('INBOX');
    const res = await Promise.all([...Array(15).keys()].flatMap((i) => [a.append(msg(`a${i}`)), b.append(msg(`b${i}`))]));
    const uids = res.map((r) => r.uid).sort((x, y) => x - y);
    assert.deepEqual(uids, [...Array(30).keys()].map((i) => i + 1));
    const p = parseUidlist(readFileSync(join(root(u), 'dovecot-uidlist'), 'utf8'));
    assert.deepEqual(p.problems, []);
    assert.equal(p.records.length, 30);
    assert.equal(readdirSync(join(root(u), 'new')).length, 30);
    assert.ok(!existsSync(join(root(u), 'dovecot-uidlist.lock')));
    await a.sync();
    assert.equal(a.messages().length, 30);
  });

  it('overrides a stale lock and times out on a live one', async () => {
    const u = await user();
    const box = await u.inbox.open('INBOX');
    const lock = join(root(u), 'dovecot-uidlist.lock');
    writeFileSync(lock, `999999:${(await import('node:os')).hostname()}`);
    await box.append(msg(1));
    assert.ok(!existsSync(lock));
    writeFileSync(lock, `1:${(await import('node:os')).hostname()}`); // pid 1 is alive
    const t0 = Date.now();
    await assert.rejects(box.append(msg(2)), (e: unknown) => e instanceof MailError && e.kind === 'temp' && e.message === 'Timeout while waiting for lock');
    assert.ok(Date.now() - t0 >= 900);
    rmSync(lock);
    assert.equal(readdirSync(join(root(u), 'tmp')).length, 0, 'the temp file is cleaned up');
  });

  it('survives a broken uidlist and stray files without losing mail', async () => {
    const u = await user();
    const box = await u.inbox.open('INBOX');
    for (let i = 0; i < 3; i++) await box.append(msg(i));
    assert.deepEqual((await box.sync()).added, [1, 2, 3], 'own appends are reported by the next sync');
    const ul = join(root(u), 'dovecot-uidlist');
    const text = readFileSync(ul, 'utf8');
    writeFileSync(ul, `${text}garbage line\n99 :whatever\n`);
    writeFileSync(join(root(u), 'new', '1700000000.M1P1.mta'), 'Subject: dropped by an MTA\n\nx\n');
    writeFileSync(join(root(u), 'cur', '.hidden'), 'not a message');
    writeFileSync(join(root(u), 'tmp', '1700000000.M2P1.half'), 'incomplete');
    const ch = await box.sync();
    assert.deepEqual(
      box.messages().map((m) => m.uid),
      [1, 2, 3, 4],
    );
    assert.deepEqual(ch.added, [4]);
    const p = parseUidlist(readFileSync(ul, 'utf8'));
    assert.deepEqual(p.problems, []);
    assert.deepEqual(
      p.records.map((r) => r.uid),
      [1, 2, 3, 4],
    );
    const m4 = box.get(4);
    assert.equal(m4?.size, 'Subject: dropped by an MTA\n\nx\n'.length);
    assert.equal(m4?.vsize, m4!.size + 3);
  });

  it('follows outside renames and expunges', async () => {
    const u = await user();
    const box = (await u.inbox.open('INBOX')) as MaildirMailbox;
    const a = await box.append(msg('x'), { flags: ['\\Seen'] });
    const b = await box.append(msg('y'));
    // another process sets a flag (renames) and expunges
    const pa = box.filePath(a.uid) as string;
    const renamed = pa.replace(/:2,S$/, ':2,FS');
    (await import('node:fs')).renameSync(pa, renamed);
    assert.match((await box.read(a.uid)).toString(), /Subject: mx/);
    rmSync(box.filePath(b.uid) as string);
    await assert.rejects(box.read(b.uid), (e: unknown) => e instanceof MailError && e.kind === 'expunged');
    const ch = await box.sync();
    assert.deepEqual(ch.expunged, [b.uid]);
    assert.deepEqual(box.get(a.uid)?.flags, ['\\Flagged', '\\Seen']);
  });

  it('creates, lists, renames, deletes and subscribes like Dovecot', async () => {
    const u = await user();
    const ns = u.inbox;
    await ns.create('Projects/2025/');
    await ns.create('Projects');
    await assert.rejects(ns.create('Projects'), (e: unknown) => e instanceof MailError && e.kind === 'exists' && e.message === 'Mailbox already exists');
    await assert.rejects(ns.create('a.b'), (e: unknown) => e instanceof MailError && e.message === "Character not allowed in mailbox name: '.'");
    await ns.create('Deep/Child');
    const list = await ns.list();
    assert.deepEqual(
      list.map((m) => [m.name, m.attributes.join(' ')]),
      [
        ['INBOX', '\\HasNoChildren'],
        ['Deep', '\\NonExistent \\HasChildren'],
        ['Deep/Child', '\\HasNoChildren'],
        ['Projects', '\\HasChildren'],
        ['Projects/2025', '\\HasNoChildren'],
        ['Trash', '\\HasNoChildren \\Trash'],
      ],
    );
    assert.deepEqual(
      (await ns.list('%')).map((m) => m.name),
      ['INBOX', 'Deep', 'Projects', 'Trash'],
    );
    assert.ok(existsSync(join(root(u), '.Projects.2025', 'maildirfolder')));
    assert.equal(statSync(join(root(u), '.Projects')).mode & 0o777, 0o700);
    assert.deepEqual(await ns.subscriptions(), ['Trash']);
    await ns.setSubscribed('Projects/2025', true);
    assert.equal(readFileSync(join(root(u), 'subscriptions'), 'utf8'), 'V\t2\n\nTrash\nProjects\t2025\n');
    await ns.rename('Projects', 'Work');
    assert.ok(existsSync(join(root(u), '.Work.2025')));
    assert.ok(!existsSync(join(root(u), '.Projects')));
    await assert.rejects(ns.rename('Nope', 'X'), (e: unknown) => e instanceof MailError && e.kind === 'notfound' && e.message === "Mailbox doesn't exist: Nope");
    await assert.rejects(ns.delete('INBOX'), (e: unknown) => e instanceof MailError && e.message === "INBOX can't be deleted.");
    await assert.rejects(ns.delete('Nope'), (e: unknown) => e instanceof MailError && e.message === "Mailbox doesn't exist: Nope");
    await ns.delete('Work/2025');
    assert.ok(!existsSync(join(root(u), '.Work.2025')));
    assert.ok(!existsSync(join(root(u), '..DOVECOT-TRASHED')));
    await assert.rejects(ns.open('Work/2025'), (e: unknown) => e instanceof MailError && e.kind === 'notfound');
  });

  it('copies by hard link, keeping the GUID', async () => {
    const u = await user();
    const inbox = (await u.inbox.open('INBOX')) as MaildirMailbox;
    await u.inbox.create('Archive');
    const arch = (await u.inbox.open('Archive')) as MaildirMailbox;
    const a = await inbox.append(msg('c'), { flags: ['\\Seen', 'Work'] });
    const map = await inbox.copyTo([a.uid], arch);
    const dst = map.get(a.uid) as number;
    assert.equal(statSync(inbox.filePath(a.uid) as string).ino, statSync(arch.filePath(dst) as string).ino);
    assert.equal(arch.get(dst)?.guid, inbox.get(a.uid)?.guid);
    assert.deepEqual(arch.get(dst)?.flags, ['\\Seen', 'Work']);
    // a second copy into the same folder gets a new name and a G record
    const again = await inbox.copyTo([a.uid], arch);
    const d2 = again.get(a.uid) as number;
    assert.notEqual(d2, dst);
    assert.equal(arch.get(d2)?.guid, inbox.get(a.uid)?.guid);
    assert.match(readFileSync(join(root(u), '.Archive', 'dovecot-uidlist'), 'utf8'), new RegExp(`^${d2} G${inbox.get(a.uid)?.guid} :`, 'm'));
  });

  it('keeps maildirsize in step and refuses over quota', async () => {
    const u = await user();
    const box = await u.inbox.open('INBOX');
    const r1 = await box.append(msg('q1'));
    await box.append(msg('q2'));
    const size = box.get(r1.uid)?.size as number;
    await box.expunge([r1.uid]);
    assert.equal(readFileSync(join(root(u), 'maildirsize'), 'utf8'), `1048576S\n0 0\n${size} 1\n${size} 1\n-${size} -1\n`);
    await assert.rejects(box.append(Buffer.alloc(1100 * 1024, 'x')), (e: unknown) => e instanceof MailError && e.kind === 'noquota');
    assert.equal(readdirSync(join(root(u), 'tmp')).length, 0);
  });

  it('tells an open mailbox about another instance writing', async () => {
    const u = await user();
    const a = await u.inbox.open('INBOX');
    const b = await (await user(u.username)).inbox.open('INBOX');
    let calls = 0;
    const off = a.onChange(() => {
      calls++;
    });
    await b.append(msg('n'));
    for (let i = 0; i < 40 && calls === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(calls > 0);
    const ch = await a.sync();
    assert.equal(ch.added.length, 1);
    off();
  });

  it('refuses a userdb uid below first_valid_uid', async () => {
    if (process.getuid?.() !== 0) return;
    await assert.rejects(
      createMailUser({ username: 'low', service: 'imap', settings: settingsView(parseConfigFile(conf, { expand: true }), { protocol: 'imap' }), userdbFields: ['uid=100', 'gid=100'] }),
      /Mail access for users with UID 100 not permitted/,
    );
    mkdirSync(join(dir, 'x'), { recursive: true });
  });
});
