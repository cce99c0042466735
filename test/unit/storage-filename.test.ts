/**
 * storage/maildir/filename.ts: Maildir file names as Dovecot 2.3 writes and
 * changes them (maildir-filename-flags.c): flag letters in ASCII order,
 * keyword letters sorted after the system flags, unknown flags kept in
 * place, a second flag set kept, sizes from ,S= and ,W=.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseName, filenameSize, generateBaseName, parseFlags, setFlags, sizesOf, sortCompare, toLf } from '../../src/storage/maildir/filename.js';

const B = '1795366624.M136523P25288.vm,S=447,W=462';

describe('maildir file names', () => {
  it('parses the flags of the captured files', () => {
    assert.deepEqual(parseFlags(`${B}:2,DRS`).flags, ['\\Draft', '\\Answered', '\\Seen']);
    assert.deepEqual(parseFlags(`${B}:2,abc`), { flags: [], keywordChars: ['a', 'b', 'c'], hasInfo: true });
    assert.deepEqual(parseFlags(`${B}:2,Sd`), { flags: ['\\Seen'], keywordChars: ['d'], hasInfo: true });
    assert.deepEqual(parseFlags(`${B}:2,`), { flags: [], keywordChars: [], hasInfo: true });
    assert.deepEqual(parseFlags(B), { flags: [], keywordChars: [], hasInfo: false });
    assert.deepEqual(parseFlags(`${B}:2,FT`).flags, ['\\Flagged', '\\Deleted']);
    assert.deepEqual(parseFlags(`${B}:1,S`).flags, []);
  });

  it('sets flags in ASCII order with keywords after them', () => {
    assert.equal(setFlags(B, ['\\Seen', '\\Draft', '\\Answered']), `${B}:2,DRS`);
    assert.equal(setFlags(`${B}:2,S`, ['\\Seen'], ['d']), `${B}:2,Sd`);
    assert.equal(setFlags(`${B}:2,S`, [], ['c', 'a', 'b']), `${B}:2,abc`);
    assert.equal(setFlags(`${B}:2,DRS`, []), `${B}:2,`);
    assert.equal(setFlags(`${B}:2,abc`, ['\\Flagged'], ['b']), `${B}:2,Fb`);
  });

  it('keeps unknown flags in place and a second flag set', () => {
    assert.equal(setFlags(`${B}:2,PS`, ['\\Seen', '\\Flagged']), `${B}:2,FPS`);
    assert.equal(setFlags(`${B}:2,P`, ['\\Draft', '\\Trashed' as string, '\\Deleted']), `${B}:2,DPT`);
    assert.equal(setFlags(`${B}:2,S,xyz`, ['\\Answered']), `${B}:2,R,xyz`);
  });

  it('reads sizes from the base name only', () => {
    assert.equal(filenameSize(`${B}:2,S`, 'S'), 447);
    assert.equal(filenameSize(`${B}:2,S`, 'W'), 462);
    assert.equal(filenameSize('1.M1P1.host:2,S', 'S'), undefined);
    assert.equal(filenameSize('1.M1P1.host,S=12x', 'S'), undefined);
    assert.equal(baseName(`${B}:2,S`), B);
  });

  it('sorts by time, then microseconds, then name', () => {
    const names = ['10.M5P1.h', '9.M9P1.h', '10.M40P1.h', '10.M5P0.h'];
    assert.deepEqual([...names].sort(sortCompare), ['9.M9P1.h', '10.M5P0.h', '10.M5P1.h', '10.M40P1.h']);
  });

  it('generates unique names in this process', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(generateBaseName(1_700_000_000_000, 'host', 42));
    assert.equal(seen.size, 2000);
    assert.match(generateBaseName(), /^\d+\.M\d+P\d+\.[^/:]+$/);
  });

  it('stores LF and counts the CRLF size', () => {
    const lf = toLf(Buffer.from('a\r\nb\r\n\r\nc\rd\n'));
    assert.equal(lf.toString(), 'a\nb\n\nc\rd\n');
    assert.deepEqual(sizesOf(lf), { size: 9, vsize: 13 });
  });
});
