/**
 * The small control files of a Maildir as Dovecot 2.3 writes them:
 * dovecot-keywords, subscriptions (V2, TAB as hierarchy separator),
 * dovecot-uidvalidity (+ its marker), and the mail_location syntax.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_PERMS } from '../../src/storage/fs-util.js';
import { expandHome, parseLocation, splitLocation } from '../../src/storage/location.js';
import { formatKeywords, MaildirKeywords, parseKeywords } from '../../src/storage/maildir/keywords.js';
import { encodeSubscription, parseSubscriptions, readSubscriptions, setSubscribed } from '../../src/storage/subscriptions.js';
import { nextUidValidity } from '../../src/storage/uidvalidity.js';
import { MailError } from '../../src/storage/errors.js';

const FIX = resolve(import.meta.dirname, '../../../fixtures/storage');
const tmp = mkdtempSync(join(tmpdir(), 'pst-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('dovecot-keywords', () => {
  it('round-trips the captured files', () => {
    for (const f of ['example.test_alice_Maildir_dovecot-keywords', 'example.test_alice_Maildir_.Projects_dovecot-keywords']) {
      const text = readFileSync(join(FIX, f), 'utf8');
      assert.equal(formatKeywords(parseKeywords(text)), text);
    }
    assert.deepEqual(parseKeywords('0 $Label1\n1 Work\n2 NonJunk\n'), ['$Label1', 'Work', 'NonJunk']);
  });

  it('skips lines Dovecot skips', () => {
    const l = parseKeywords('nospace\nx Bad\n26 TooHigh\n3 \n1 Dup\n2 Dup\n4 Ok\n');
    assert.deepEqual(
      l.map((v, i) => [i, v]).filter(([, v]) => v !== undefined),
      [
        [1, 'Dup'],
        [4, 'Ok'],
      ],
    );
  });

  it('adds letters under the lock and stops at 26', async () => {
    const dir = mkdtempSync(join(tmp, 'kw-'));
    const kw = new MaildirKeywords(dir, DEFAULT_PERMS);
    assert.deepEqual(await kw.charsFor(['$Label1', 'Work']), ['a', 'b']);
    assert.deepEqual(await kw.charsFor(['Work', 'NonJunk']), ['b', 'c']);
    assert.equal(readFileSync(join(dir, 'dovecot-keywords'), 'utf8'), '0 $Label1\n1 Work\n2 NonJunk\n');
    assert.ok(!existsSync(join(dir, 'dovecot-keywords.lock')));
    const many = Array.from({ length: 23 }, (_, i) => `k${i}`);
    await kw.charsFor(many);
    await assert.rejects(kw.charsFor(['one-too-many']), (e: unknown) => e instanceof MailError && e.kind === 'limit');
    // another reader sees the same table
    const kw2 = new MaildirKeywords(dir, DEFAULT_PERMS);
    await kw2.refresh();
    assert.equal(kw2.charOf('NonJunk'), 'c');
    assert.equal(kw2.nameOf('z'), 'k22');
  });
});

describe('subscriptions', () => {
  it('parses the captured file', () => {
    const text = 'V\t2\n\nProjects\nDrafts\nSent\nTrash\nReports\tQ1\n';
    assert.deepEqual(parseSubscriptions(text, '.'), ['Projects', 'Drafts', 'Sent', 'Trash', 'Reports.Q1']);
    assert.deepEqual(parseSubscriptions('a\nb/c\n', '/'), ['a', 'b/c']);
    assert.equal(encodeSubscription('Reports.Q1', '.'), 'Reports\tQ1');
    assert.equal(encodeSubscription('a\tb', '/'), 'a\x01tb');
  });

  it('writes what Dovecot writes, in subscribing order', async () => {
    const path = join(tmp, 'sub', 'subscriptions');
    for (const n of ['Projects', 'Drafts', 'Sent', 'Trash', 'Reports.Q1']) await setSubscribed(path, '.', n, true, DEFAULT_PERMS);
    assert.equal(await setSubscribed(path, '.', 'Sent', true, DEFAULT_PERMS), false);
    assert.equal(readFileSync(path, 'utf8'), 'V\t2\n\nProjects\nDrafts\nSent\nTrash\nReports\tQ1\n');
    await setSubscribed(path, '.', 'Drafts', false, DEFAULT_PERMS);
    await setSubscribed(path, '.', 'inbox', true, DEFAULT_PERMS);
    assert.deepEqual(await readSubscriptions(path, '.'), ['Projects', 'Sent', 'Trash', 'Reports.Q1', 'INBOX']);
    assert.ok(!existsSync(`${path}.lock`));
  });
});

describe('dovecot-uidvalidity', () => {
  it('starts at the current time and counts up through the marker file', async () => {
    const root = join(tmp, 'uv');
    const before = Math.floor(Date.now() / 1000);
    const a = await nextUidValidity(root, DEFAULT_PERMS);
    const b = await nextUidValidity(root, DEFAULT_PERMS);
    const c = await nextUidValidity(root, DEFAULT_PERMS);
    assert.ok(a >= before && a <= before + 5);
    assert.deepEqual([b, c], [a + 1, a + 2]);
    const hex = c.toString(16).padStart(8, '0');
    assert.equal(readFileSync(join(root, 'dovecot-uidvalidity'), 'latin1'), hex);
    assert.deepEqual(
      readdirSync(root).sort(),
      ['dovecot-uidvalidity', `dovecot-uidvalidity.${hex}`].sort(),
    );
    assert.equal(statSync(join(root, `dovecot-uidvalidity.${hex}`)).mode & 0o777, 0o444);
  });

  it('continues from a Dovecot-written value', async () => {
    const root = join(tmp, 'uv2');
    await nextUidValidity(root, DEFAULT_PERMS);
    for (const f of readdirSync(root)) rmSync(join(root, f));
    writeFileSync(join(root, 'dovecot-uidvalidity'), '6b031ee8');
    writeFileSync(join(root, 'dovecot-uidvalidity.6b031ee8'), '');
    assert.equal(await nextUidValidity(root, DEFAULT_PERMS), 0x6b031ee9);
  });
});

describe('mail_location', () => {
  it('splits on ":" with "::" escapes and a trailing ":" ignored', () => {
    assert.deepEqual(splitLocation('/a::b:INDEX=/x:'), ['/a:b', 'INDEX=/x']);
  });

  it('parses drivers, keys and home', () => {
    const l = parseLocation('maildir:~/Maildir:LAYOUT=fs:INBOX=~/Maildir/.INBOX:INDEX=MEMORY:CONTROL=/c:UTF-8', '/home/u');
    assert.equal(l.driver, 'maildir');
    assert.equal(l.root, '/home/u/Maildir');
    assert.equal(l.layout, 'fs');
    assert.equal(l.inbox, '/home/u/Maildir/.INBOX');
    assert.equal(l.index, 'MEMORY');
    assert.equal(l.control, '/c');
    assert.equal(l.utf8, true);
    assert.equal(parseLocation('maildir:/m', undefined).layout, 'maildir++');
    assert.equal(parseLocation('mbox:~/mail:INBOX=/var/mail/u', '/h').layout, 'fs');
    assert.equal(parseLocation('dbox:~/d', '/h').driver, 'sdbox');
    assert.equal(expandHome('~', '/h/'), '/h/');
  });

  it("fails as Dovecot does", () => {
    assert.throws(() => parseLocation('maildir:/m:BOGUS=1', undefined), /Unknown setting: BOGUS/);
    assert.throws(() => parseLocation('maildir:/m:NOSUCHFLAG', undefined), /Unknown setting: NOSUCHFLAG/);
    assert.throws(() => parseLocation('maildir:INBOX=/x', undefined), /Mail root directory not given: maildir:INBOX=\/x/);
    assert.throws(() => parseLocation('maildir:/m:ITERINDEX', undefined), /ITERINDEX requires INDEX to be explicitly set/);
    assert.throws(() => parseLocation('maildir:~/Maildir', undefined), /Home directory not set/);
  });
});
