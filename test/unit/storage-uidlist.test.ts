/**
 * storage/maildir/uidlist-format.ts: dovecot-uidlist files written by a
 * real Dovecot 2.3 (fixtures/storage) parse and re-serialise byte for byte;
 * stale N headers, G records, corruption and version 1 files are read as
 * Dovecot reads them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { effectiveNextUid, formatHeader, formatRecord, formatUidlist, parseUidlist, recordExt } from '../../src/storage/maildir/uidlist-format.js';
import { wantCompress } from '../../src/storage/maildir/uidlist.js';

const FIX = resolve(import.meta.dirname, '../../../fixtures/storage');

describe('dovecot-uidlist format', () => {
  const files = readdirSync(FIX).filter((n) => n.includes('dovecot-uidlist'));
  it('has the captured files', () => assert.ok(files.length >= 6));
  for (const f of files) {
    it(`round-trips ${f}`, () => {
      const text = readFileSync(join(FIX, f), 'utf8');
      const p = parseUidlist(text);
      assert.deepEqual(p.problems, []);
      assert.ok(p.header);
      assert.equal(formatUidlist(p.header, p.records), text);
      assert.equal(p.lines, p.records.length);
      assert.equal(p.bytes, Buffer.byteLength(text));
    });
  }

  it('reads a stale N header as max(N, last uid + 1)', () => {
    const p = parseUidlist(readFileSync(join(FIX, 'example.test_bob_Maildir_dovecot-uidlist'), 'utf8'));
    assert.equal(p.header?.nextUid, 1);
    assert.equal(effectiveNextUid(p), 10);
    assert.equal(p.header?.uidValidity, 1795366625);
    assert.equal(p.header?.guid, 'c8ad7d07e01e036bc862000083ecc375');
    const r3 = p.records.find((r) => r.uid === 3);
    assert.equal(recordExt(r3!, 'G'), '1795366629.M347496P25288.vm,S=222,W=231');
    assert.equal(r3?.base, '1795366629.M350331P25288.vm,S=222,W=231');
  });

  it('formats records and headers as Dovecot writes them', () => {
    assert.equal(formatRecord({ uid: 7, ext: [], base: 'a,S=1,W=2' }), '7 :a,S=1,W=2\n');
    assert.equal(formatRecord({ uid: 8, ext: [['G', 'x'], ['P', 'uidl']], base: 'b' }), '8 Gx Puidl :b\n');
    assert.equal(formatHeader({ version: 3, uidValidity: 5, nextUid: 9, guid: '0'.repeat(32), extra: ['P%08Xu'] }), `3 V5 N9 G${'0'.repeat(32)} P%08Xu\n`);
  });

  it('keeps unknown header extensions and record keys', () => {
    const text = `3 V10 N3 G${'a'.repeat(32)} Xsomething\n1 S12 W14 Zfuture :one\n2 :two\n`;
    const p = parseUidlist(text);
    assert.deepEqual(p.header?.extra, ['Xsomething']);
    assert.deepEqual(p.records[0]?.ext, [
      ['S', '12'],
      ['W', '14'],
      ['Z', 'future'],
    ]);
    assert.equal(formatUidlist(p.header!, p.records), text);
  });

  it('drops an invalid extension record and says so', () => {
    const p = parseUidlist(`3 V1 N2 G${'b'.repeat(32)}\n1 s12 :one\n`);
    assert.deepEqual(p.problems, ['Invalid extension record, removing: s12']);
    assert.equal(p.records[0]?.base, 'one');
    assert.deepEqual(p.records[0]?.ext, []);
  });

  it('stops at corruption, keeping what came before', () => {
    const p = parseUidlist(`3 V1 N9 G${'c'.repeat(32)}\n1 :one\n3 :three\n2 :two\n4 :four\n`);
    assert.deepEqual(
      p.records.map((r) => r.uid),
      [1, 3],
    );
    assert.deepEqual(p.problems, ['UIDs not ordered (2 >= 3)']);
    assert.deepEqual(parseUidlist(`3 V1 N9 G${'c'.repeat(32)}\nx :one\n`).problems, ['Invalid data: x :one']);
    assert.deepEqual(parseUidlist(`3 V1 N9 G${'c'.repeat(32)}\n5 :a/b\n`).problems, ['Broken filename at line 2: a/b']);
  });

  it('ignores an incomplete last line (a writer in progress)', () => {
    const p = parseUidlist(`3 V1 N2 G${'d'.repeat(32)}\n1 :one\n2 :tw`);
    assert.deepEqual(
      p.records.map((r) => r.uid),
      [1],
    );
    assert.equal(p.bytes, `3 V1 N2 G${'d'.repeat(32)}\n1 :one\n`.length);
    assert.equal(parseUidlist('3 V1 N2').header, undefined);
  });

  it('reports broken headers with Dovecot words', () => {
    assert.deepEqual(parseUidlist('x\n').problems, ['Corrupted header (invalid version number)']);
    assert.deepEqual(parseUidlist('4 V1 N1\n').problems, ['Unsupported version 4']);
    assert.deepEqual(parseUidlist('3 V0 N1\n').problems, ['Broken header (uidvalidity = 0, next_uid=1)']);
    assert.deepEqual(parseUidlist('3 Vx N1\n').problems, ['Invalid mailbox UID_VALIDITY: x']);
    assert.deepEqual(parseUidlist('3 V1 N1 Gzz\n').problems, ['Invalid mailbox GUID: zz']);
    assert.deepEqual(parseUidlist('').problems, []);
  });

  it('reads version 1 files', () => {
    const p = parseUidlist('1 1234 5\n1 1000.abc:2,S\n4 1001.def\n');
    assert.equal(p.header?.version, 1);
    assert.equal(p.header?.uidValidity, 1234);
    assert.deepEqual(
      p.records.map((r) => [r.uid, r.base]),
      [
        [1, '1000.abc'],
        [4, '1001.def'],
      ],
    );
  });

  it('keeps the later UID of a duplicated file entry', () => {
    const p = parseUidlist(`3 V1 N5 G${'e'.repeat(32)}\n1 :same\n2 :other\n3 :same\n`);
    assert.deepEqual(
      p.records.map((r) => [r.uid, r.base]),
      [
        [2, 'other'],
        [3, 'same'],
      ],
    );
    assert.match(p.problems[0] ?? '', /^Duplicate file entry at line 4: same \(uid 1 -> 3\)/);
  });

  it('rewrites when at most 75% of the records are live (UIDLIST_COMPRESS_PERCENTAGE)', () => {
    assert.equal(wantCompress(4, 0, 3), true);
    assert.equal(wantCompress(4, 0, 4), false);
    assert.equal(wantCompress(10, 2, 9), true);
    assert.equal(wantCompress(10, 2, 10), false);
    assert.equal(wantCompress(0, 0, 0), false);
  });
});
