/**
 * test/unit/maps-pattern-translate.test.ts: the POSIX (glibc) and PCRE2
 * translators to JS RegExp, and glibc's inet_pton/inet_ntop for cidr:. The
 * expectations follow glibc 2.36 and PCRE2 10.42, checked with real postmap
 * wherever `postmap -q` can take the key; the differential test covers many
 * more patterns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asciiUpper } from '../../src/maps/pattern/byteset.js';
import { ntop6, pton4, pton6 } from '../../src/maps/pattern/inet.js';
import { compilePcre, type PcreOptions } from '../../src/maps/pattern/pcre-regex.js';
import { compilePosix, type PosixOptions } from '../../src/maps/pattern/posix-regex.js';

const ERE: PosixOptions = { extended: true, icase: true, newline: false };
const PCRE: PcreOptions = {
  caseless: true,
  multiline: false,
  dotall: true,
  extended: false,
  anchored: false,
  dollarEndonly: false,
  ungreedy: false,
};

/** Does the POSIX pattern match the key (icase runs on the upper-cased key, as the driver does)? */
function posixMatch(pattern: string, key: string, opts: Partial<PosixOptions> = {}): RegExpExecArray | null {
  const o = { ...ERE, ...opts };
  const r = compilePosix(pattern, o);
  assert.ok(r.ok, `compile ${pattern}: ${r.ok ? '' : r.error}`);
  return new RegExp(r.source).exec(o.icase ? asciiUpper(key) : key);
}

function pcre(pattern: string, opts: Partial<PcreOptions> = {}) {
  return compilePcre(pattern, { ...PCRE, ...opts });
}

function pcreMatch(pattern: string, key: string, opts: Partial<PcreOptions> = {}): (string | undefined)[] | null {
  const r = pcre(pattern, opts);
  assert.ok(r.ok, `compile ${pattern}: ${JSON.stringify(r)}`);
  const m = new RegExp(r.source, r.flags).exec(key);
  return m ? r.groupIndex.map((j) => m[j]) : null;
}

describe('POSIX regcomp translation', () => {
  it('regerror() words for bad patterns', () => {
    const cases: [string, string, Partial<PosixOptions>?][] = [
      ['a(b', 'Unmatched ( or \\('],
      ['a\\)b', 'Unmatched ( or \\(', { extended: false }],
      ['*a', 'Invalid preceding regular expression'],
      ['a{2,1}', 'Invalid content of \\{\\}'],
      ['a{1', 'Unmatched \\{'],
      ['a{99999}', 'Regular expression too big'],
      ['[a', 'Unmatched [, [^, [:, [., or [='],
      ['[', 'Invalid regular expression'],
      ['[[:foo:]]', 'Invalid character class name'],
      ['[[.ab.]]', 'Invalid collation character'],
      ['[z-a]', 'Invalid range end'],
      ['(a)|\\1', 'Invalid back reference'],
      ['a\\', 'Trailing backslash'],
      ['a**', 'Invalid preceding regular expression', { extended: false }],
    ];
    for (const [pat, msg, opts] of cases) {
      const r = compilePosix(pat, { ...ERE, ...opts });
      assert.deepEqual(r, { ok: false, error: msg }, pat);
    }
  });

  it('glibc quirks: ERE ")" is literal, BRE "*" at the start is literal, a** is fine in ERE', () => {
    assert.ok(posixMatch('^a)b$', 'a)b'));
    assert.ok(posixMatch('^*b$', '*b', { extended: false }));
    assert.ok(posixMatch('^a**b$', 'aab'));
    assert.ok(posixMatch('^a{,2}c$', 'aac'));
    assert.ok(!posixMatch('^a{,2}c$', 'aaac'));
  });

  it('REG_ICASE: upper-cased pattern and key, [[:lower:]] means [[:alpha:]], an escaped letter keeps its case', () => {
    assert.ok(posixMatch('^[[:lower:]]$', 'Q'));
    assert.ok(posixMatch('^Abc$', 'aBC'));
    assert.ok(!posixMatch('^\\a$', 'a'));
    assert.ok(!posixMatch('^\\a$', 'A'));
    assert.ok(posixMatch('^\\a$', 'a', { icase: false }));
    assert.ok(!posixMatch('^é$', 'É')); // bytes: no case outside ASCII in the C locale
  });

  it('REG_NEWLINE: "." and [^x] stop at newline, ^ and $ match at it', () => {
    assert.ok(posixMatch('^a.b$', 'a\nb'));
    assert.ok(!posixMatch('^a.b$', 'a\nb', { newline: true }));
    assert.ok(posixMatch('^a[^x]b$', 'a\nb'));
    assert.ok(!posixMatch('a[^x]b', 'a\nb', { newline: true }));
    assert.ok(posixMatch('^b$', 'a\nb\nc', { newline: true }));
    assert.ok(!posixMatch('^b$', 'a\nb\nc'));
  });

  it('GNU extensions: \\w \\s \\< \\> \\` \\\' and BRE \\| \\+ \\?', () => {
    assert.ok(posixMatch('\\<wo\\w+\\>', 'a word.'));
    assert.ok(!posixMatch('\\<ord', 'word'));
    assert.ok(posixMatch('^a\\sb$', 'a\tb'));
    assert.ok(posixMatch("\\`x\\'", 'x'));
    assert.ok(posixMatch('^a\\|b$', 'b', { extended: false }));
    assert.ok(posixMatch('^a\\+$', 'aaa', { extended: false }));
    assert.ok(posixMatch('^a+$', 'a+', { extended: false }));
  });

  it('back-references: to an unset group they fail, captures keep POSIX numbering', () => {
    assert.ok(!posixMatch('^(a)?b\\1$', 'b'));
    assert.ok(posixMatch('^(a)?b\\1$', 'aba'));
    const r = compilePosix('^(x)(a)?b\\2(c)$', ERE);
    assert.ok(r.ok);
    const m = new RegExp(r.source).exec('XABAC')!;
    assert.deepEqual(r.groupIndex.map((j) => m[j]), ['XABAC', 'X', 'A', 'C']);
  });
});

describe('PCRE2 translation', () => {
  it('"error in regex at offset N" as pcre2_compile() reports it', () => {
    const cases: [string, string][] = [
      ['a(b', 'error in regex at offset 3: missing closing parenthesis'],
      ['a)b', 'error in regex at offset 1: unmatched closing parenthesis'],
      ['*a', 'error in regex at offset 0: quantifier does not follow a repeatable item'],
      ['(?i)*', 'error in regex at offset 4: quantifier does not follow a repeatable item'],
      ['a{2,1}', 'error in regex at offset 5: numbers out of order in {} quantifier'],
      ['a{99999}', 'error in regex at offset 7: number too big in {} quantifier'],
      ['[a', 'error in regex at offset 2: missing terminating ] for character class'],
      ['[z-a]', 'error in regex at offset 3: range out of order in character class'],
      ['\\i', 'error in regex at offset 1: unrecognized character follows \\'],
      ['(?<=a+)b', 'error in regex at offset 0: lookbehind assertion is not fixed length'],
      ['[[:foo:]]', 'error in regex at offset 3: unknown POSIX class name'],
      ['(a)\\2', 'error in regex at offset 4: reference to non-existent subpattern'],
      ['\\x{100}', 'error in regex at offset 6: character code point value in \\x{} or \\o{} is too large'],
      ['[\\d-z]', 'error in regex at offset 3: invalid range in character class'],
    ];
    for (const [pat, msg] of cases) assert.deepEqual(pcre(pat), { ok: false, error: msg }, pat);
  });

  it('caseless by default, ASCII only; (?-i) and (?i:...) switch it inside the pattern', () => {
    assert.ok(pcreMatch('^admin@', 'ADMIN@x'));
    assert.ok(!pcreMatch('^é$', 'É'));
    assert.ok(!pcreMatch('^(?-i)Exact', 'exact'));
    assert.ok(pcreMatch('^(?-i)Ex(?i:ACT)$', 'Exact'));
    assert.ok(!pcreMatch('^admin', 'ADMIN', { caseless: false }));
    assert.deepEqual(pcre('a(?-i)b'), { ok: true, source: '[Aa]b', sourceNoNewline: '[Aa]b', flags: '', captureCount: 0, groupIndex: [0] });
    // "$" needs a lookahead only for a subject with a newline in it.
    const dollar = pcre('(?-i)a$');
    assert.ok(dollar.ok && dollar.source === 'a(?=\\n?$)' && dollar.sourceNoNewline === 'a$', JSON.stringify(dollar));
  });

  it('DOTALL by default, MULTILINE, DOLLAR_ENDONLY, ANCHORED, UNGREEDY', () => {
    assert.ok(pcreMatch('^a.b$', 'a\nb'));
    assert.ok(!pcreMatch('^a.b$', 'a\nb', { dotall: false }));
    assert.ok(pcreMatch('^a$', 'a\n'));
    assert.ok(!pcreMatch('^a$', 'a\n', { dollarEndonly: true }));
    assert.ok(pcreMatch('^b$', 'a\nb\nc', { multiline: true }));
    assert.ok(!pcreMatch('b', 'ab', { anchored: true }));
    assert.deepEqual(pcreMatch('^(a+)(a*)$', 'aaa', { ungreedy: true }), ['aaa', 'a', 'aa']);
  });

  it('possessive quantifiers and atomic groups never give back', () => {
    assert.ok(!pcreMatch('^a++a', 'aaa'));
    assert.ok(!pcreMatch('^(?>a+)a', 'aaa'));
    assert.ok(pcreMatch('^a++b', 'aab'));
    // The JS groups that emulate them are not $n.
    assert.deepEqual(pcreMatch('^(?>(a))(b)++(c)$', 'abc'), ['abc', 'a', 'b', 'c']);
  });

  it('\\Q...\\E, /x comments, named groups, \\g and \\k references', () => {
    assert.ok(pcreMatch('^\\Q*.*\\E$', '*.*'));
    assert.ok(pcreMatch('^ a  b # comment', 'ab', { extended: true }));
    assert.deepEqual(pcreMatch('^(?<w>\\w)-\\k<w>-\\g{-1}-\\g1$', 'x-x-x-x'), ['x-x-x-x', 'x']);
    assert.ok(!pcreMatch('^(?<w>\\w)-\\k<w>$', 'x-y'));
  });

  it('a caseless back-reference compares caselessly (JS "i" flag), unset ones fail', () => {
    const r = pcre('^(a)\\1$');
    assert.ok(r.ok && r.flags === 'i');
    assert.ok(pcreMatch('^(a)\\1$', 'aA'));
    assert.ok(!pcreMatch('^(a)?b\\1$', 'b'));
    assert.ok(!pcreMatch('^(?-i)(a)\\1$', 'aA'));
    assert.deepEqual(pcre('^(?-i)X(?i)(a)\\1$'), {
      ok: false,
      unsupported: 'a caseless back-reference in a pattern with case-sensitive parts',
    });
  });

  it('constructs JS cannot express are reported, not approximated', () => {
    const cases: [string, string][] = [
      ['(a|(?R))', '(?R) (recursion)'],
      ['(a)(?1)', '(?1) (subroutine call)'],
      ['(?&n)(?<n>a)', '(?&n) (subroutine call)'],
      ['(a)?(?(1)b|c)', '(?(...) conditional group'],
      ['(?|(a)|(b))', '(?| branch reset group'],
      ['a\\Kb', '\\K'],
      ['\\X', '\\X'],
      ['(*UTF)a', '(*UTF)'],
      ['a(*COMMIT)b', '(*COMMIT) (backtracking control verb)'],
    ];
    for (const [pat, what] of cases) assert.deepEqual(pcre(pat), { ok: false, unsupported: what }, pat);
    // ... but (*FAIL), (*MARK) and callouts (no callout function in Postfix) are fine.
    assert.ok(!pcreMatch('a(*FAIL)|b', 'a'));
    assert.ok(pcreMatch('a(*MARK:m)(?C1)b', 'ab'));
  });

  it('byte classes: \\d \\w \\s are ASCII, \\h \\v include 0xA0 and 0x85, \\R is atomic', () => {
    assert.ok(!pcreMatch('^\\w$', '\xe9'));
    assert.ok(pcreMatch('^\\h$', '\xa0'));
    assert.ok(pcreMatch('^\\v$', '\x85'));
    assert.ok(pcreMatch('^a\\Rb$', 'a\r\nb'));
    assert.ok(!pcreMatch('^a\\R\\nb$', 'a\r\nb'));
    assert.ok(pcreMatch('^\\p{Lu}$', '\xc9')); // properties use Latin-1 code points
  });
});

describe('glibc inet_pton / inet_ntop', () => {
  it('IPv4 is four decimal parts without leading zeros', () => {
    assert.deepEqual(pton4('192.0.2.1'), Uint8Array.from([192, 0, 2, 1]));
    for (const bad of ['01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1.2.3.4 ', '', '1..2.3', '0x1.2.3.4']) {
      assert.equal(pton4(bad), undefined, bad);
    }
    assert.deepEqual(pton4('0.0.0.0'), new Uint8Array(4));
  });

  it('IPv6 with "::", dotted tails and upper-case hex; no zones or brackets', () => {
    assert.equal(ntop6(pton6('2001:DB8::1')!), '2001:db8::1');
    assert.equal(ntop6(pton6('::ffff:192.0.2.1')!), '::ffff:192.0.2.1');
    assert.equal(ntop6(pton6('::1.2.3.4')!), '::1.2.3.4');
    assert.equal(ntop6(pton6('1:0:0:2:0:0:0:3')!), '1:0:0:2::3');
    assert.equal(ntop6(pton6('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7');
    assert.equal(ntop6(pton6('::')!), '::');
    for (const bad of ['1::2::3', ':::1', '[::1]', 'fe80::1%eth0', '12345::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:1.2.3.4', '1:']) {
      assert.equal(pton6(bad), undefined, bad);
    }
  });
});
