/**
 * storage/names.ts + mutf7.ts + maildir/layout.ts: mailbox names and path
 * safety. The error texts are the real doveadm's ("Can't create mailbox X:
 * <text>"), seen on Dovecot 2.3.19 with namespace separator '/' on
 * Maildir++ and LAYOUT=fs. Whatever name passes, the mailbox directory is
 * inside the mail root and never one of the Maildir's own directories.
 */
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { MaildirLayout } from '../../src/storage/maildir/layout.js';
import { mutf7ToUtf8, utf8ToMutf7 } from '../../src/storage/mutf7.js';
import { type NameRules, stripTrailingSeparator, verifyCreateName, verifyName, vnameToStorageName } from '../../src/storage/names.js';
import { parseLocation } from '../../src/storage/location.js';

const MPP: NameRules = { nsSep: '/', listSep: '.', prefix: '', inbox: true };
const FS: NameRules = { nsSep: '/', listSep: '/', prefix: '', inbox: true, reservedNames: new Set(['cur', 'new', 'tmp']) };

describe('mailbox names', () => {
  it("gives doveadm's errors on Maildir++ (separator '/')", () => {
    const cases: Array<[string, string | undefined]> = [
      ['../x', "Character not allowed in mailbox name: '.'"],
      ['a/../b', "Character not allowed in mailbox name: '.'"],
      ['/etc', 'Invalid mailbox name: Begins with hierarchy separator'],
      ['~x', "Invalid mailbox name: Begins with '~'"],
      ['a.b', "Character not allowed in mailbox name: '.'"],
      ['.hidden', "Character not allowed in mailbox name: '.'"],
      ['a//b', 'Invalid mailbox name: Has adjacent hierarchy separators'],
      ['cur', undefined],
      ['new/x', undefined],
      ['Café', undefined],
      ['a&b', undefined],
      ['a\tb', 'Control characters not allowed in new mailbox names'],
      ['x'.repeat(256), 'Mailbox name too long'],
      ['', 'Invalid mailbox name: Name is empty'],
      ['a*b', undefined],
      ['inbox/sub', undefined],
    ];
    for (const [name, err] of cases) assert.equal(verifyCreateName(name, MPP), err, name);
  });

  it("gives doveadm's errors on LAYOUT=fs", () => {
    const cases: Array<[string, string | undefined]> = [
      ['../x', "Invalid mailbox name: Contains '..' part"],
      ['a/../b', "Invalid mailbox name: Contains '..' part"],
      ['a/./b', "Invalid mailbox name: Contains '.' part"],
      ['..', "Invalid mailbox name: Contains '..' part"],
      ['.', "Invalid mailbox name: Contains '.' part"],
      ['cur', 'Invalid mailbox name: Contains reserved name'],
      ['new/x', 'Invalid mailbox name: Contains reserved name'],
      ['x/tmp', 'Invalid mailbox name: Contains reserved name'],
      ['a.b', undefined],
      ['.hid', undefined],
      ['Café/Sub', undefined],
    ];
    for (const [name, err] of cases) assert.equal(verifyCreateName(name, FS), err, name);
  });

  it('maps names to storage names as Dovecot stores them', () => {
    assert.equal(vnameToStorageName('Projects/2025', MPP), 'Projects.2025');
    assert.equal(vnameToStorageName('Café', MPP), 'Caf&AOk-');
    assert.equal(vnameToStorageName('a&b', MPP), 'a&-b');
    assert.equal(vnameToStorageName('inbox', MPP), 'INBOX');
    assert.equal(vnameToStorageName('inbox/sub', MPP), 'INBOX.sub');
    assert.equal(vnameToStorageName('Café/Sub', FS), 'Caf&AOk-/Sub');
    assert.equal(stripTrailingSeparator('a/', '/'), 'a');
  });

  it('handles namespace prefixes', () => {
    const rules: NameRules = { nsSep: '.', listSep: '.', prefix: 'INBOX.', inbox: true };
    assert.equal(verifyName('INBOX', rules), undefined);
    assert.equal(verifyName('INBOX.Sent', rules), undefined);
    assert.equal(vnameToStorageName('INBOX.Sent', rules), 'Sent');
    assert.equal(verifyName('Sent', rules), "Invalid mailbox name 'Sent': Missing namespace prefix 'INBOX.'");
    assert.equal(verifyName('INBOX.', rules), 'Invalid mailbox name: Ends with hierarchy separator');
  });

  it('never leaves the mail root, whatever the name', () => {
    const root = '/srv/mail/u/Maildir';
    const layouts = [new MaildirLayout(parseLocation(`maildir:${root}`, undefined)), new MaildirLayout(parseLocation(`maildir:${root}:LAYOUT=fs`, undefined))];
    const rulesFor = [MPP, FS];
    const alphabet = ['.', '..', '/', '~', 'a', 'cur', 'new', 'tmp', '\0', '&', '-', 'AC8', 'é', ' ', '\\', '%', '*', 'INBOX', 'inbox'];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      let name = '';
      const len = 1 + rnd(8);
      for (let j = 0; j < len; j++) name += alphabet[rnd(alphabet.length)];
      for (let k = 0; k < 2; k++) {
        const rules = rulesFor[k] as NameRules;
        if (verifyCreateName(name, rules) !== undefined) continue;
        const storage = vnameToStorageName(name, rules);
        const path = (layouts[k] as MaildirLayout).mailboxPath(storage);
        const rel = relative(root, path);
        assert.ok(!rel.startsWith('/'), `${JSON.stringify(name)} → ${path}`);
        if (rel !== '') for (const part of rel.split('/')) assert.ok(!['cur', 'new', 'tmp', '..', '.', ''].includes(part), `${JSON.stringify(name)} → ${path}`);
        assert.ok(!path.includes('\0'));
        checked++;
      }
    }
    assert.ok(checked > 500, `only ${checked} valid names generated`);
  });

  it('rejects NUL anywhere', () => {
    assert.notEqual(verifyName('a\0b', MPP), undefined);
    assert.notEqual(verifyCreateName('a\0/../../etc', FS), undefined);
  });
});

describe('modified UTF-7', () => {
  it('encodes and decodes as IMAP does', () => {
    const pairs: Array<[string, string]> = [
      ['Café', 'Caf&AOk-'],
      ['a&b', 'a&-b'],
      ['日本語', '&ZeVnLIqe-'],
      ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
      ['😀', '&2D3eAA-'],
      ['plain', 'plain'],
    ];
    for (const [u, m] of pairs) {
      assert.equal(utf8ToMutf7(u), m);
      assert.equal(mutf7ToUtf8(m), u);
    }
  });

  it('refuses non-canonical and broken encodings', () => {
    for (const bad of ['&AGE-', '&AC8-', '&', '&Jjo', '&Jjo!', '&2D3e-', '&AOk-&AOk-', 'a\u00e9']) assert.equal(mutf7ToUtf8(bad), undefined, bad);
  });
});
