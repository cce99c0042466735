/**
 * Unit tests: the LMDB file writer/reader (lmdb-format.ts), the key sort
 * (byte-sort.ts), the postmap source reader (source-file.ts), casefold,
 * the aliases(5) line parser and the lmdb driver's TRY0NULL/TRY1NULL
 * rules, without the real Postfix (the differential and interchange
 * tests cover that).
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAliasLine } from '../../src/maps/aliases.js';
import { sortByteKeys } from '../../src/maps/byte-sort.js';
import { casefold, validUtf8 } from '../../src/maps/casefold.js';
import { LmdbBulkWriter, LmdbReader } from '../../src/maps/lmdb-format.js';
import { open as openLmdb } from '../../src/maps/lmdb.js';
import { Split, scanLogicalLines, split, splitKeyValue } from '../../src/maps/source-file.js';
import { DictFlag } from '../../src/maps/types.js';
import { tempDir } from '../helpers/postfix-diff.js';

function writeFile(path: string, records: Array<[string, string]>, nul = true): void {
  const fd = openSync(path, 'w');
  const w = new LmdbBulkWriter(fd);
  for (const [k, v] of records) {
    const kb = Buffer.from(k, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    w.add(kb, 0, kb.length, vb, 0, vb.length, nul);
  }
  w.finish(16 << 20);
  closeSync(fd);
}

describe('lmdb-format', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir('postern-lmdb-unit-')));
  after(() => cleanup());

  for (const n of [0, 1, 2, 300, 40_000]) {
    it(`round-trips ${n} records (with overflow values)`, () => {
      const records: Array<[string, string]> = [];
      for (let i = 0; i < n; i++) records.push([`key${String(i).padStart(6, '0')}`, i % 997 === 5 ? 'B'.repeat(9000 + i) : `v${i}`]);
      const path = join(dir, `rt${n}.lmdb`);
      writeFile(path, records);
      const r = LmdbReader.open(path);
      assert.equal(r.entries, n);
      const got = [...r.records()].map(([k, v]) => [k.toString('latin1'), v.toString('latin1')]);
      assert.deepEqual(
        got,
        records.map(([k, v]) => [`${k}\0`, `${v}\0`]),
      );
      for (const [k, v] of records.filter((_, i) => i % 101 === 0 || i % 997 === 5)) {
        assert.equal(r.getString(Buffer.from(`${k}\0`)), v);
      }
      assert.equal(r.get(Buffer.from('key\0')), undefined);
      assert.equal(r.get(Buffer.from('zzz')), undefined);
      r.close();
    });
  }

  it('sees a file rewritten in place after refresh()', () => {
    const path = join(dir, 'refresh.lmdb');
    writeFile(path, [['a', '1']]);
    const r = LmdbReader.open(path);
    writeFile(path, [['a', '2'], ['b', '3']]);
    r.refresh();
    assert.equal(r.getString(Buffer.from('b\0')), '3');
    r.close();
  });

  it('rejects files that are not LMDB', () => {
    const path = join(dir, 'junk.lmdb');
    writeFileSync(path, Buffer.alloc(8192, 7));
    assert.throws(() => LmdbReader.open(path), /MDB_INVALID/);
    writeFileSync(path, '');
    assert.throws(() => LmdbReader.open(path), /Bad file descriptor/);
  });
});

describe('byte-sort', () => {
  it('sorts like memcmp (shorter first) and keeps equal keys in input order', () => {
    const keys = ['b', 'a', 'ab', '', 'a', 'b\u00ff', 'b\u0001', 'aa', 'a'];
    for (let i = 0; i < 200; i++) keys.push(`k${(i * 37) % 50}`);
    const arena = Buffer.from(keys.join(''), 'latin1');
    const off = new Int32Array(keys.length);
    const len = new Int32Array(keys.length);
    let at = 0;
    keys.forEach((k, i) => {
      off[i] = at;
      len[i] = k.length;
      at += k.length;
    });
    const order = [...sortByteKeys(arena, off, len, keys.length)];
    const expected = keys.map((k, i) => [k, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    assert.deepEqual(
      order,
      expected.map(([, i]) => i),
    );
  });
});

describe('source-file', () => {
  const lines = (text: string) => {
    const out: Array<[number, string]> = [];
    const warns: string[] = [];
    scanLogicalLines(Buffer.from(text, 'latin1'), 'f', (b, s, e, n) => out.push([n, b.toString('latin1', s, e)]), (w) => warns.push(w));
    return { out, warns };
  };
  it('joins continuation lines, skips comments and blank lines', () => {
    assert.deepEqual(lines('a 1\n  b\n# c\n\td\n\n e\nf 2\n#x\n').out, [
      [1, 'a 1  b\td e'],
      [7, 'f 2'],
    ]);
  });
  it('reports a logical line that starts with whitespace', () => {
    const r = lines('  x y\nk v');
    assert.deepEqual(r.warns, ['f: logical line must not start with whitespace: "  x y"']);
    assert.deepEqual(r.out, [[2, 'k v']]);
  });
  it('splits key and value as postmap does', () => {
    const sp = (t: string) => {
      const b = Buffer.from(t, 'latin1');
      const r = splitKeyValue(b, 0, b.length);
      return r === Split.OK ? [b.toString('latin1', 0, split.keyEnd), b.toString('latin1', split.valueStart, split.valueEnd)] : r;
    };
    assert.deepEqual(sp('"a b" c d  '), ['"a b"', 'c d']);
    assert.deepEqual(sp('k\\ v w'), ['k\\ v', 'w']);
    assert.equal(sp('"open x'), Split.UNBALANCED);
    assert.equal(sp('onlykey'), Split.FORMAT);
    assert.deepEqual(sp('nul\0x y'), Split.FORMAT);
  });
});

describe('casefold', () => {
  it('folds like ICU full case folding when UTF-8 is on, ASCII only otherwise', () => {
    const fold = (s: string, u: boolean) => Buffer.from(casefold(Buffer.from(s).toString('latin1'), u), 'latin1').toString();
    assert.equal(fold('Straße', true), 'strasse');
    assert.equal(fold('ΣΊΣΥΦΟΣ', true), 'σίσυφοσ');
    assert.equal(fold('İstanbul', true), 'i̇stanbul');
    assert.equal(fold('ＡＢＣ', true), 'ａｂｃ');
    assert.equal(fold('Straße', false), 'straße');
    assert.equal(casefold('\xc0BC', true), '\xc0bc'); // not UTF-8: ASCII only
  });
  it('validates UTF-8 as valid_utf8_string', () => {
    const ok = (s: number[]) => validUtf8(Buffer.from(s));
    assert.equal(ok([0x61, 0xc3, 0xa9]), true);
    assert.equal(ok([0xc0, 0xaf]), false);
    assert.equal(ok([0xed, 0xa0, 0x80]), false);
    assert.equal(ok([0xf4, 0x90, 0x80, 0x80]), false);
  });
});

describe('aliases(5) lines', () => {
  it('splits name and value with Postfix quoting and spacing', () => {
    assert.deepEqual(parseAliasLine('"quoted name": z'), { key: 'quoted name', value: 'z' });
    assert.deepEqual(parseAliasLine('list: a@x,    b@y'), { key: 'list', value: 'a@x, b@y' });
    assert.deepEqual(parseAliasLine('p: "|/bin/prog arg", :include:/etc/l'), {
      key: 'p',
      value: '"|/bin/prog arg", :include:/etc/l',
    });
    assert.deepEqual(parseAliasLine('x@y: z'), { error: 'name must be local' });
    assert.deepEqual(parseAliasLine('nocolon z'), { error: 'need name:value pair' });
    assert.deepEqual(parseAliasLine('a, b: c'), { error: 'need name:value pair' });
  });
});

describe('lmdb driver', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir('postern-lmdb-drv-')));
  after(() => cleanup());

  it('tries key+NUL then key and latches the first that hits', async () => {
    writeFile(join(dir, 'nonul.lmdb'), [['alpha', 'one'], ['beta', 'two']], false);
    const t = await openLmdb('lmdb', join(dir, 'nonul'), { mode: 'read', dictFlags: DictFlag.FOLD_FIX });
    assert.equal(await t.lookup('ALPHA'), 'one');
    assert.equal(t.flags & DictFlag.TRY1NULL, 0);
    assert.equal(await t.lookup('beta'), 'two');
    await t.close();
  });

  it('update/delete go to a new file on close; readers of the old file are undisturbed', async () => {
    const name = join(dir, 'upd');
    const w = await openLmdb('lmdb', name, { mode: 'create', dictFlags: DictFlag.FOLD_FIX | DictFlag.DUP_WARN });
    await w.update!('Key', 'v1');
    await w.close();
    const r = await openLmdb('lmdb', name, { mode: 'read', dictFlags: DictFlag.FOLD_FIX });
    const u = await openLmdb('lmdb', name, { mode: 'update', dictFlags: DictFlag.FOLD_FIX | DictFlag.DUP_REPLACE });
    await u.update!('key', 'v2');
    assert.equal(await u.delete!('nope'), 1);
    assert.equal(await r.lookup('key'), 'v1');
    await u.close();
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(await r.lookup('key'), 'v2');
    await r.close();
  });
});
