/**
 * test/unit/maps-pattern.test.ts: the regexp:, pcre: and cidr: drivers
 * without real Postfix: fixture results against the .ref files captured from
 * real postmap (test/differential/maps-pattern.test.ts keeps them current),
 * opening (files, inline specs, errors), dict flags, and lookup speed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PatternTable } from '../../src/maps/regexp.js';
import { openTable } from '../../src/maps/registry.js';
import { DictError, DictFlag } from '../../src/maps/types.js';
import { formatRef, PATTERN_FIXTURES, patternCases, runOurs, runOursOnCase, runOursOpened } from '../helpers/pattern-maps.js';

describe('pattern table fixtures match real postmap (.ref)', () => {
  const cases = patternCases();
  it('has the fixtures', () => assert.ok(cases.length >= 10));
  for (const c of cases) {
    it(`${c.file}${c.headers ? ' (headers)' : ''}`, () => {
      const ref = readFileSync(join(PATTERN_FIXTURES, `${c.file}${c.headers ? '.msg' : ''}.ref`), 'latin1');
      assert.equal(formatRef(runOursOnCase(c)), ref);
    });
  }
});

describe('opening pattern tables', () => {
  it('registry: regexp and pcre share a driver, cidr has its own; PATTERN is set', async () => {
    for (const [type, name] of [
      ['regexp', '{{/a/ b}}'],
      ['pcre', '{{/a/ b}}'],
      ['cidr', '{{1.2.3.4 b}}'],
    ] as const) {
      const t = await openTable(type, name, { mode: 'read', dictFlags: DictFlag.FOLD_FIX });
      assert.equal(t.type, type);
      assert.equal(t.name, name);
      assert.equal(t.flags, DictFlag.FOLD_FIX | DictFlag.PATTERN);
      assert.equal(await t.lookup(type === 'cidr' ? '1.2.3.4' : 'xax'), 'b');
      await t.close();
    }
  });

  it('a missing file is a config error with open(2) words', async () => {
    await assert.rejects(openTable('pcre', '/nonexistent/x.pcre', { mode: 'read', dictFlags: 0 }), (err: unknown) => {
      assert.ok(err instanceof DictError);
      assert.equal(err.kind, 'config');
      assert.equal(err.table, 'pcre:/nonexistent/x.pcre');
      assert.equal(err.message, 'open /nonexistent/x.pcre: No such file or directory');
      return true;
    });
  });

  it('tables are read-only', async () => {
    await assert.rejects(openTable('regexp', '{{/a/ b}}', { mode: 'create', dictFlags: 0 }), /regexp:\{\{\/a\/ b\}\} map requires O_RDONLY access mode/);
    await assert.rejects(openTable('cidr', '{}', { mode: 'update', dictFlags: 0 }), /cidr:\{\} map requires O_RDONLY access mode/);
  });

  it('inline specs: rules split at top-level commas and blanks, braces stripped', async () => {
    const r = await runOursOpened('regexp', '{ {/^a/ x y}, {/^b/ {braced} z} ,{ }, {#comment}, {/^c/ c} }', 'a\nb\nc\n');
    assert.equal(r.stdout, 'a\tx y\nb\t{braced} z\nc\tc\n');
    assert.equal(r.stderr, '');
    const bad = await runOursOpened('pcre', '{{/a/ b}x}', 'a\n');
    assert.equal(bad.stderr, `postmap: fatal: pcre map: syntax error after '}' in "{/a/ b}x"\n`);
  });

  it('a PCRE construct JS cannot express fails the table, naming file, line and construct', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-pcre-'));
    try {
      const file = join(dir, 'rec.pcre');
      writeFileSync(file, '/^ok/ ok\n/^\\((?:[^()]|(?R))*\\)$/ balanced\n');
      await assert.rejects(openTable('pcre', file, { mode: 'read', dictFlags: 0 }), (err: unknown) => {
        assert.ok(err instanceof DictError);
        assert.equal(err.kind, 'config');
        assert.match(err.message, new RegExp(`^pcre map ${file}, line 2: unsupported PCRE construct \\(\\?R\\) \\(recursion\\)`));
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PCRE syntax errors still win over unsupported constructs (the rule is skipped, as in Postfix)', () => {
    const r = runOurs('pcre', 't', '/(?R)(/ x\n/^a/ a\n', 'a\n');
    assert.equal(r.stderr, 'postmap: warning: pcre map t, line 1: error in regex at offset 5: missing closing parenthesis\n');
    assert.equal(r.stdout, 'a\ta\n');
  });
});

describe('lookup details', () => {
  const table = (kind: 'regexp' | 'pcre', text: string, flags = 0): PatternTable =>
    PatternTable.fromText(kind, 't', text, 't', flags);

  it('an empty result is a hit with an empty value', () => {
    assert.equal(table('regexp', '/^e/\n').lookupSync('eek'), '');
    assert.equal(table('pcre', '/^e/\n').lookupSync('nope'), undefined);
  });

  it('FOLD_MUL lowercases the key (ASCII only) before matching', () => {
    const t = table('regexp', '/^(ABC)é$/i got-$1\n', DictFlag.FOLD_MUL);
    assert.equal(t.lookupSync('ABCé'), undefined); // folded to "abcé", pattern is case-sensitive
    const u = table('pcre', '/^(abc)\xc9$/i got-$1\n', DictFlag.FOLD_MUL);
    assert.equal(u.lookupSync('ABC\xc9'), 'got-abc'); // \xc9 is not an ASCII letter: kept
  });

  it('NO_REGSUB refuses $n results with Postfix words', () => {
    const r = runOurs('pcre', 't', '/^(a)/ $1\n/^b/ $$b\n', 'a\nb\n', DictFlag.NO_REGSUB);
    assert.equal(r.stderr, 'postmap: warning: pcre map t, line 1: regular expression substitution is not allowed: skipping this rule\n');
    assert.equal(r.stdout, 'b\t$b\n');
  });

  it('SRC_RHS_IS_FILE: the result is the base64 of the named files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-rhs-'));
    try {
      writeFileSync(join(dir, 'one'), 'hello');
      writeFileSync(join(dir, 'two'), 'world');
      const r = runOurs(
        'regexp',
        't',
        `/^a/ ${dir}/one, ${dir}/two\n/^b/ ${dir}/missing\n`,
        'a\nb\n',
        DictFlag.SRC_RHS_IS_FILE,
      );
      assert.equal(r.stdout, `a\t${Buffer.from('hello\nworld').toString('base64')}\n`);
      assert.equal(r.stderr, `postmap: warning: regexp map t, line 2: open ${dir}/missing: No such file or directory: skipping this rule\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keys are C strings: a NUL ends the key', () => {
    assert.equal(table('regexp', '/^ab$/ whole\n').lookupSync('ab\0cd'), 'whole');
  });

  it('REG_ICASE captures come from the original key', () => {
    assert.equal(table('regexp', '/^(Mi)xED(.*)$/ $1-$2\n').lookupSync('mIXed-CaSe'), 'mI--CaSe');
  });

  it('IF without ENDIF: a failed condition ends the search', () => {
    const t = table('pcre', '/^a/ a\nif /^b/\n/x/ bx\n');
    assert.equal(t.lookupSync('a'), 'a');
    assert.equal(t.lookupSync('bx'), 'bx');
    assert.equal(t.lookupSync('cx'), undefined);
  });
});

describe('lookup speed', () => {
  it('500-rule tables answer 4000 lookups quickly (patterns compiled once)', () => {
    let text = '';
    for (let k = 0; k < 500; k++) text += `/^user${k}@(sub\\.)?example${k % 7}\\.(com|net)$/ result-${k}-$1\n`;
    const re = PatternTable.fromText('regexp', 'big', text, 'big', 0);
    const pc = PatternTable.fromText('pcre', 'big', text, 'big', 0);
    const start = process.hrtime.bigint();
    let hits = 0;
    for (let n = 0; n < 2000; n++) {
      const k = n % 600;
      const key = `user${k}@example${k % 7}.com`;
      if (re.lookupSync(key) !== undefined) hits++;
      if (pc.lookupSync(key) !== undefined) hits++;
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(hits > 3000, `hits ${hits}`);
    assert.ok(ms < 5000, `4000 lookups took ${ms.toFixed(0)} ms`);
  });
});

describe('catastrophic backtracking', () => {
  // Without the linear-engine fallback (util/regex-guard.ts) each of these
  // lookups backtracks 2^40 times: the test would not finish.
  it('a nested-quantifier rule on a hostile key answers (and correctly)', { timeout: 30000 }, () => {
    const hostile = `${'a'.repeat(40)}!`;
    for (const kind of ['regexp', 'pcre'] as const) {
      const t = PatternTable.fromText(kind, 't', '/^(a+)+$/ REJECT evil\n/^(x|xx)+y$/ REJECT evil2\n/!$/ OK bang\n', 't', 0);
      assert.equal(t.lookupSync(hostile), 'OK bang', kind);
      assert.equal(t.lookupSync(`${'x'.repeat(40)}z`), undefined, kind);
      assert.equal(t.lookupSync('aaaa'), 'REJECT evil', kind);
    }
  });
});
