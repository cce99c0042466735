/**
 * maps/pattern/pcre-regex.ts: PCRE2 patterns (the pcre: table of
 * pcre_table(5)) translated to a JavaScript RegExp source.
 *
 * Postfix compiles each pattern with pcre2_compile() in 8-bit mode without
 * PCRE2_UTF and with the built-in "C" locale tables: a character is a byte,
 * only ASCII letters have a case, \d \w \s and the POSIX classes are ASCII.
 * The parser follows PCRE2 10.42's parse_regex() (the library Debian 12
 * links postfix-pcre.so against) closely enough to reject the same patterns
 * with the same "error in regex at offset N: ..." words.
 *
 * Translation, item by item (the JS RegExp gets no flags; see below for the
 * one exception):
 * - case-insensitivity, which PCRE lets (?i) switch inside a pattern, is
 *   spelt out: a caseless "a" becomes [Aa]; classes get both cases;
 * - "." is [^\n] or, with DOTALL (on by default in Postfix), [^];
 * - ^ $ \A \Z \z \G and the MULTILINE / DOLLAR_ENDONLY variants become JS
 *   anchors and lookarounds; \h \v \R \N \C become byte classes;
 * - atomic groups (?>X) and possessive quantifiers X*+ become (?=(X))\k,
 *   with the extra JS groups hidden from the $n numbering;
 * - \Q...\E, (?#...), /x white space and comments, named groups and
 *   back-references by name or relative number are resolved here;
 * - a back-reference to a group that did not take part fails, as in PCRE
 *   (JS would match the empty string): see Marker below.
 * A back-reference in a caseless part compares case-insensitively in PCRE;
 * JS can do that only with its global "i" flag, which is used when every
 * other part of the pattern is caseless too (JS then also folds the Latin-1
 * letters à/À ..., where PCRE's C tables do not); otherwise the pattern is
 * reported as unsupported.
 *
 * Not translatable (reported as unsupported, never silently changed):
 * recursion and subroutine calls, conditionals, (?| branch reset, \K, \X,
 * backtracking verbs other than (*FAIL) and (*MARK), non-atomic and script
 * run assertions, (*UTF) / (*UCP) / non-LF newline settings, back-references
 * inside lookbehinds.
 */
import { ByteSet, CTYPE_CLASSES, isAlpha, isWord, regexpChar } from './byteset.js';

export interface PcreOptions {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
  anchored: boolean;
  dollarEndonly: boolean;
  ungreedy: boolean;
}

export type PcreResult =
  | {
      ok: true;
      source: string;
      /** The same pattern for subjects without a newline (line assertions as plain anchors). */
      sourceNoNewline: string;
      flags: string;
      captureCount: number;
      groupIndex: number[];
    }
  | { ok: false; error: string }
  | { ok: false; unsupported: string };

/* PCRE2 10.42 compile error texts (pcre2_error.c), by ERR number. */
const ERR: Readonly<Record<number, string>> = {
  1: '\\ at end of pattern',
  2: '\\c at end of pattern',
  3: 'unrecognized character follows \\',
  4: 'numbers out of order in {} quantifier',
  5: 'number too big in {} quantifier',
  6: 'missing terminating ] for character class',
  7: 'escape sequence is invalid in character class',
  8: 'range out of order in character class',
  9: 'quantifier does not follow a repeatable item',
  11: 'unrecognized character after (? or (?-',
  12: 'POSIX named classes are supported only within a class',
  13: 'POSIX collating elements are not supported',
  14: 'missing closing parenthesis',
  15: 'reference to non-existent subpattern',
  18: 'missing ) after (?# comment',
  22: 'unmatched closing parenthesis',
  24: 'missing closing parenthesis for condition',
  25: 'lookbehind assertion is not fixed length',
  26: 'a relative value of zero is not allowed',
  29: 'digit expected after (?+ or (?-',
  30: 'unknown POSIX class name',
  34: 'character code point value in \\x{} or \\o{} is too large',
  37: 'PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u',
  38: 'number after (?C is greater than 255',
  39: 'closing parenthesis for (?C expected',
  41: 'unrecognized character after (?P',
  42: 'syntax error in subpattern name (missing terminator?)',
  43: 'two named subpatterns have the same name (PCRE2_DUPNAMES not set)',
  44: 'subpattern name must start with a non-digit',
  46: 'malformed \\P or \\p sequence',
  47: 'unknown property after \\P or \\p',
  48: 'subpattern name is too long (maximum 32 code units)',
  50: 'invalid range in character class',
  51: 'octal value is greater than \\377 in 8-bit non-UTF-8 mode',
  55: 'missing opening brace after \\o',
  57: '\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number',
  58: '(?R (recursive pattern call) must be followed by a closing parenthesis',
  60: '(*VERB) not recognized or malformed',
  61: 'subpattern number is too big',
  62: 'subpattern name expected',
  64: 'non-octal character in \\o{} (closing brace missing?)',
  65: 'different names for subpatterns of the same number are not allowed',
  66: '(*MARK) must have an argument',
  67: 'non-hex character in \\x{} (closing brace missing?)',
  68: '\\c must be followed by a printable ASCII character',
  69: '\\k is not followed by a braced, angle-bracketed, or quoted name',
  71: '\\N is not supported in a class',
  78: 'digits missing in \\x{} or \\o{} or \\N{U+}',
  82: 'unrecognized string delimiter follows (?C',
  87: 'lookbehind assertion is too long',
  93: '\\N{U+dddd} is supported only in Unicode (UTF) mode',
  94: 'invalid hyphen in option setting',
  95: '(*alpha_assertion) not recognized',
  97: 'too many capturing groups (maximum 65535)',
  99: '\\K is not allowed in lookarounds (but see PCRE2_EXTRA_ALLOW_LOOKAROUND_BSK)',
};

class PcreError extends Error {
  constructor(
    readonly code: number,
    readonly offset: number,
  ) {
    super(ERR[code] ?? `internal error ${code}`);
  }
}

class Unsupported extends Error {}

const MAX_REPEAT_COUNT = 65535;
const MAX_GROUP_NUMBER = 65535;
const MAX_NAME_SIZE = 32;

/* Escape codes returned by escape(). */
type Esc =
  | 'A' | 'B' | 'b' | 'C' | 'D' | 'd' | 'E' | 'G' | 'H' | 'h' | 'K' | 'N' | 'P' | 'p' | 'Q'
  | 'R' | 'S' | 's' | 'V' | 'v' | 'W' | 'w' | 'X' | 'Z' | 'z' | 'g' | 'k';

const SPECIAL_ESCAPES: Readonly<Record<string, Esc>> = {
  A: 'A', B: 'B', C: 'C', D: 'D', E: 'E', G: 'G', H: 'H', K: 'K', N: 'N', P: 'P', Q: 'Q', R: 'R',
  S: 'S', V: 'V', W: 'W', X: 'X', Z: 'Z', b: 'b', d: 'd', h: 'h', k: 'k', p: 'p', s: 's', v: 'v',
  w: 'w', z: 'z',
};
const DATA_ESCAPES: Readonly<Record<string, number>> = { a: 7, e: 0x1b, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };

type EscapeResult = { kind: 'char'; c: number } | { kind: 'esc'; esc: Esc } | { kind: 'ref'; n: number };

/*
 * Output pieces: text, a capturing group opening, a back-reference, and the
 * "this group took part" marker of a group that is referred back to.
 *
 * A back-reference to a group that did not take part fails in PCRE (and
 * glibc) but matches the empty string in JS. So each referenced group starts
 * with a marker that captures the whole subject, (?<=^(?=([^]*))[^]*), and
 * the back-reference first checks that the marker spans the subject, which an
 * unset marker (matching empty) cannot do unless the subject is empty.
 */
class Grp {
  js = 0;
  /** The group's marker, when something refers back to it. */
  marker: Grp | undefined;
}
class Ref {
  constructor(
    public grp: Grp | undefined,
    readonly caseless: boolean,
  ) {}
}
class Marker {
  constructor(readonly of: Grp) {}
}
/**
 * A line assertion whose exact form needs a lookaround ("$" is
 * (?=\n?$) in PCRE). On a subject without a newline it is the plain
 * anchor, which V8's linear-time engine can run (util/regex-guard.ts).
 */
class LineAssert {
  constructor(
    readonly exact: string,
    readonly noNewline: string,
  ) {}
}
type Part = string | Grp | Ref | Marker | LineAssert;

/** Number the JS groups in "(" order and write the source. */
export function serializeParts(parts: Part[], noNewline = false): string {
  let n = 0;
  for (const part of parts) {
    if (part instanceof Grp) part.js = ++n;
    else if (part instanceof Marker && part.of.marker) part.of.marker.js = ++n;
  }
  let source = '';
  for (const part of parts) {
    if (typeof part === 'string') source += part;
    else if (part instanceof LineAssert) source += noNewline ? part.noNewline : part.exact;
    else if (part instanceof Grp) source += '(';
    else if (part instanceof Marker) source += part.of.marker ? '(?<=^(?=([^]*))[^]*)' : '';
    else if (!part.grp) source += '';
    else if (part.grp.marker) source += `(?:(?<=^(?=\\${part.grp.marker.js}$)[^]*)\\${part.grp.js})`;
    else source += `(?:\\${part.grp.js})`;
  }
  return source;
}

interface Item {
  parts: Part[];
  /** May a quantifier follow (PCRE's okquantifier)? */
  quant: boolean;
  /** Fixed length in characters, or null when variable. */
  len: number | null;
  /** A back-reference is inside (not allowed in a lookbehind here). */
  hasRef: boolean;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  xx: boolean;
  n: boolean;
  U: boolean;
  J: boolean;
}

const WORD = ByteSet.of(isWord);
const DIGIT = ByteSet.of((c) => c >= 0x30 && c <= 0x39);
const SPACE = ByteSet.of((c) => c === 0x20 || (c >= 0x09 && c <= 0x0d));
const HSPACE = ByteSet.of((c) => c === 0x09 || c === 0x20 || c === 0xa0);
const VSPACE = ByteSet.of((c) => (c >= 0x0a && c <= 0x0d) || c === 0x85);
const NOT_NL = ByteSet.of((c) => c !== 0x0a);

/* POSIX class names PCRE2 knows, over the C-locale tables. */
const POSIX_CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  ...CTYPE_CLASSES,
  ascii: (c) => c < 0x80,
  word: isWord,
};

const isDigitCode = (c: number): boolean => c >= 0x30 && c <= 0x39;
const xdigit = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
};

/** Unicode property sets over the code points 0..255 (non-UTF PCRE2 treats bytes as code points). */
function propertySet(name: string): ByteSet | undefined {
  const loose = name;
  const X: Record<string, string[]> = {
    any: ['Any'],
    'l&': ['LC'],
    lc: ['LC'],
    xan: ['L', 'N'],
    xsp: ['Z', 'White_Space'],
    xps: ['Z', 'White_Space'],
    xwd: ['L', 'N'],
    xuc: [],
  };
  let props: string[] | undefined = X[loose];
  const extra: number[] = [];
  if (loose === 'xwd') extra.push(0x5f);
  if (loose === 'xuc') extra.push(0x24, 0x40, 0x60, ...Array.from({ length: 256 - 0xa0 }, (_, k) => 0xa0 + k));
  if (props === undefined) {
    const gc = /^[a-z]{1,2}$/.test(loose) ? loose[0]!.toUpperCase() + (loose[1] ?? '') : undefined;
    const scriptName = loose.replace(/(^|_)([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase());
    for (const cand of [gc, gc && `General_Category=${gc}`, `Script=${scriptName}`]) {
      if (!cand) continue;
      try {
        new RegExp(`\\p{${cand}}`, 'u');
        props = [cand];
        break;
      } catch {
        /* not a property name JS knows */
      }
    }
  }
  if (props === undefined) return undefined;
  const res = props.map((p) => new RegExp(`^\\p{${p}}$`, 'u'));
  const set = ByteSet.of((c) => res.some((re) => re.test(String.fromCharCode(c))));
  for (const c of extra) set.add(c);
  return set;
}

class Parser {
  private i = 0;
  private readonly end: number;
  private flags: Flags;
  private readonly anchored: boolean;
  private readonly dollarEndonly: boolean;
  private bracount = 0;
  private readonly groups = new Map<number, Grp>();
  private readonly names: { name: string; num: number }[] = [];
  private readonly refs: { ref: Ref; num?: number; name?: string; offset: number; code?: number }[] = [];
  private lookaroundDepth = 0;
  private sawKInLookaround = false;
  private readonly lookbehinds: { offset: number; item: Item; branches: Item[] }[] = [];
  private caselessRef = false;
  /** Sets emitted (letters included) while not caseless: block the global "i" flag. */
  private readonly emittedSets: { set: ByteSet; caseless: boolean }[] = [];
  private bsrAnyCrlf = false;
  /** The first construct JS cannot express; reported only if PCRE would accept the pattern. */
  private unsupportedWhat: string | undefined;

  private unsupported(what: string): Item {
    this.unsupportedWhat ??= what;
    return { parts: [], quant: true, len: null, hasRef: false };
  }

  /** A subroutine call: its group must exist, checked with the back-references. */
  private call(what: string, target: { num?: number; name?: string }, offset: number): Item {
    if (target.num !== 0) this.refs.push({ ref: new Ref(undefined, false), ...target, offset });
    return this.unsupported(what);
  }

  constructor(
    private readonly p: string,
    opts: PcreOptions,
  ) {
    this.end = p.length;
    this.flags = { i: opts.caseless, m: opts.multiline, s: opts.dotall, x: opts.extended, xx: false, n: false, U: opts.ungreedy, J: false };
    this.anchored = opts.anchored;
    this.dollarEndonly = opts.dollarEndonly;
  }

  private c(at: number): number {
    return at < this.end ? this.p.charCodeAt(at) : -1;
  }

  run(): PcreResult {
    try {
      this.startOptions();
      const body = this.parseAlternation(0);
      if (this.i < this.end) throw new PcreError(22, this.i); // an unmatched ")"
      // Compile-phase checks, in PCRE2's order: lookbehind lengths, then references.
      for (const lb of this.lookbehinds) this.checkLookbehind(lb);
      for (const r of this.refs) {
        if (r.code !== undefined) throw new PcreError(r.code, r.offset);
        if (r.name !== undefined) {
          const hit = this.names.find((n) => n.name === r.name);
          if (!hit) throw new PcreError(15, r.offset);
          r.ref.grp = this.groups.get(hit.num);
        } else {
          if (r.num! > this.bracount) throw new PcreError(15, r.offset);
          r.ref.grp = this.groups.get(r.num!);
        }
        if (r.ref.grp) r.ref.grp.marker ??= new Grp();
      }
      if (this.unsupportedWhat !== undefined) throw new Unsupported(this.unsupportedWhat);
      let flags = '';
      if (this.caselessRef) {
        // JS compares back-references case-insensitively only under its "i" flag.
        if (this.emittedSets.some((e) => !closedUnderJsFold(e.set))) {
          throw new Unsupported('a caseless back-reference in a pattern with case-sensitive parts');
        }
        flags = 'i';
      }
      const parts: Part[] = this.anchored ? ['^(?:', ...body.parts, ')'] : body.parts;
      const source = serializeParts(parts);
      const sourceNoNewline = serializeParts(parts, true);
      const groupIndex: number[] = [0];
      for (let g = 1; g <= this.bracount; g++) groupIndex.push(this.groups.get(g)!.js);
      return { ok: true, source, sourceNoNewline, flags, captureCount: this.bracount, groupIndex };
    } catch (err) {
      if (err instanceof PcreError) return { ok: false, error: `error in regex at offset ${err.offset}: ${err.message}` };
      if (err instanceof Unsupported) return { ok: false, unsupported: err.message };
      throw err;
    }
  }

  /** Leading (*UTF), (*LF), (*LIMIT_MATCH=n), ... items (pcre2_compile's pso_list). */
  private startOptions(): void {
    const ignorable = ['NO_AUTO_POSSESS)', 'NO_DOTSTAR_ANCHOR)', 'NO_JIT)', 'NO_START_OPT)', 'LF)', 'BSR_UNICODE)'];
    const unsupported = ['UTF8)', 'UTF)', 'UCP)', 'NOTEMPTY)', 'NOTEMPTY_ATSTART)', 'CR)', 'CRLF)', 'ANY)', 'NUL)', 'ANYCRLF)'];
    for (;;) {
      if (!this.p.startsWith('(*', this.i)) return;
      const rest = this.p.slice(this.i + 2);
      const ign = ignorable.find((s) => rest.startsWith(s));
      if (ign) {
        this.i += 2 + ign.length;
        continue;
      }
      if (rest.startsWith('BSR_ANYCRLF)')) {
        this.bsrAnyCrlf = true;
        this.i += 2 + 'BSR_ANYCRLF)'.length;
        continue;
      }
      const lim = /^LIMIT_(HEAP|MATCH|DEPTH|RECURSION)=[0-9]+\)/.exec(rest);
      if (lim) {
        this.i += 2 + lim[0].length;
        continue;
      }
      const uns = unsupported.find((s) => rest.startsWith(s));
      if (uns) {
        this.unsupported(`(*${uns}`);
        this.i += 2 + uns.length;
        continue;
      }
      return;
    }
  }

  /* Sequences and alternatives. */

  private parseAlternation(depth: number): Item {
    const branches: Item[] = [];
    for (;;) {
      const branch = this.parseSequence(depth);
      branches.push(branch);
      if (this.i < this.end && this.p[this.i] === '|') {
        this.i++;
        continue;
      }
      break;
    }
    if (depth > 0 && this.i >= this.end) throw new PcreError(14, this.end);
    const parts: Part[] = [];
    branches.forEach((b, k) => {
      if (k > 0) parts.push('|');
      parts.push(...b.parts);
    });
    const lens = branches.map((b) => b.len);
    const len = lens.every((l) => l !== null && l === lens[0]) ? lens[0]! : null;
    const item: Item = { parts, quant: false, len, hasRef: branches.some((b) => b.hasRef) };
    this.lastBranches = branches;
    return item;
  }

  private lastBranches: Item[] = [];

  /** Parse items up to "|", ")" or the end. */
  private parseSequence(depth: number): Item {
    const items: Item[] = [];
    let lastQuant: { item: Item; index: number; min: number; max: number; lazy: boolean; possessive: boolean; base: Item; modified: boolean } | undefined;
    let inQ = false;
    while (this.i < this.end) {
      const at = this.i;
      const ch = this.p[at]!;
      if (inQ) {
        if (ch === '\\' && this.p[at + 1] === 'E') {
          inQ = false;
          this.i += 2;
          continue;
        }
        this.i++;
        items.push(this.literal(ch.charCodeAt(0)));
        lastQuant = undefined;
        continue;
      }
      // \Q and \E do not change the quantification state.
      if (ch === '\\' && (this.p[at + 1] === 'Q' || this.p[at + 1] === 'E')) {
        inQ = this.p[at + 1] === 'Q';
        this.i += 2;
        continue;
      }
      if (this.flags.x) {
        const code = ch.charCodeAt(0);
        if (code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85) {
          this.i++;
          continue;
        }
        if (ch === '#') {
          const nl = this.p.indexOf('\n', at);
          this.i = nl < 0 ? this.end : nl + 1;
          continue;
        }
      }
      if (ch === '(' && this.p[at + 1] === '?' && this.p[at + 2] === '#') {
        const close = this.p.indexOf(')', at + 3);
        if (close < 0) throw new PcreError(18, this.end);
        this.i = close + 1;
        continue;
      }
      // A following ? or + modifies the previous quantifier.
      if (lastQuant && !lastQuant.modified && (ch === '?' || ch === '+')) {
        this.i++;
        lastQuant.modified = true;
        if (ch === '?') lastQuant.lazy = !lastQuant.lazy;
        else lastQuant.possessive = true;
        items[lastQuant.index] = this.quantified(lastQuant.base, lastQuant.min, lastQuant.max, lastQuant.lazy, lastQuant.possessive);
        continue;
      }
      lastQuant = undefined;
      if (ch === '|' || ch === ')') break;
      // Quantifiers.
      let q: { min: number; max: number } | undefined;
      if (ch === '*') q = { min: 0, max: -1 };
      else if (ch === '+') q = { min: 1, max: -1 };
      else if (ch === '?') q = { min: 0, max: 1 };
      else if (ch === '{') q = this.readRepeatCounts(at + 1);
      if (q) {
        if (ch !== '{') this.i++;
        const prev = items[items.length - 1];
        if (!prev?.quant) throw new PcreError(9, this.i - 1);
        const lazy = this.flags.U;
        items[items.length - 1] = this.quantified(prev, q.min, q.max, lazy, false);
        lastQuant = { item: items[items.length - 1]!, index: items.length - 1, min: q.min, max: q.max, lazy, possessive: false, base: prev, modified: false };
        continue;
      }
      items.push(this.parseAtom(depth));
    }
    const parts: Part[] = [];
    let len: number | null = 0;
    let hasRef = false;
    for (const it of items) {
      parts.push(...it.parts);
      len = len === null || it.len === null ? null : len + it.len;
      hasRef ||= it.hasRef;
    }
    return { parts, quant: false, len, hasRef };
  }

  /** read_repeat_counts(): a {n}, {n,} or {n,m} quantifier at "{", or undefined (a literal "{"). */
  private readRepeatCounts(from: number): { min: number; max: number } | undefined {
    let p = from;
    let hadComma = false;
    for (;; p++) {
      if (p >= this.end) return undefined;
      const c = this.p[p]!;
      if (c >= '0' && c <= '9') continue;
      if (c === '}') break;
      if (c === ',') {
        if (hadComma) return undefined;
        hadComma = true;
      } else return undefined;
    }
    p = from;
    const readNum = (): number | undefined => {
      if (!isDigitCode(this.c(p))) return undefined;
      let n = 0;
      while (isDigitCode(this.c(p))) {
        n = n * 10 + this.c(p++) - 0x30;
        if (n > MAX_REPEAT_COUNT) throw new PcreError(5, p);
      }
      return n;
    };
    const min = readNum();
    if (min === undefined) return undefined;
    let max: number;
    if (this.p[p] === '}') {
      p++;
      max = min;
    } else {
      p++;
      if (this.p[p] !== '}') {
        const m = readNum();
        if (m === undefined) return undefined;
        if (m < min) throw new PcreError(4, p);
        max = m;
      } else max = -1;
      p++;
    }
    this.i = p;
    return { min, max };
  }

  private quantified(base: Item, min: number, max: number, lazy: boolean, possessive: boolean): Item {
    const q = max === -1 ? (min === 0 ? '*' : min === 1 ? '+' : `{${min},}`) : min === 0 && max === 1 ? '?' : min === max ? `{${min}}` : `{${min},${max}}`;
    const atom = base.parts.length === 1 && typeof base.parts[0] === 'string' && isSingleAtom(base.parts[0]);
    const inner: Part[] = atom ? [...base.parts] : ['(?:', ...base.parts, ')'];
    let parts: Part[] = [...inner, q + (lazy && !possessive ? '?' : '')];
    if (possessive) parts = atomic(parts);
    const len = min === max && base.len !== null ? base.len * min : null;
    return { parts, quant: false, len, hasRef: base.hasRef };
  }

  /* Atoms. */

  private set(s: ByteSet): Item {
    this.emittedSets.push({ set: s, caseless: this.flags.i });
    return { parts: [s.toRegExp()], quant: true, len: 1, hasRef: false };
  }

  private literal(c: number): Item {
    const s = new ByteSet().add(c);
    if (this.flags.i && isAlpha(c)) s.foldAscii();
    this.emittedSets.push({ set: s, caseless: this.flags.i });
    return { parts: [s.size() === 1 ? regexpChar(c) : s.toRegExp()], quant: true, len: 1, hasRef: false };
  }

  private assertion(s: string | LineAssert): Item {
    return { parts: [s], quant: false, len: 0, hasRef: false };
  }

  private parseAtom(depth: number): Item {
    const at = this.i;
    const ch = this.p[at]!;
    this.i++;
    switch (ch) {
      case '\\':
        return this.escapeItem();
      case '^':
        return this.assertion(this.flags.m ? new LineAssert('(?:^|(?<=\\n)(?!$))', '^') : '^');
      case '$':
        return this.assertion(this.flags.m ? new LineAssert('(?=\\n|$)', '$') : this.dollarEndonly ? '$' : new LineAssert('(?=\\n?$)', '$'));
      case '.':
        return this.set(this.flags.s ? new ByteSet().invert() : NOT_NL.clone());
      case '[':
        return this.parseClass();
      case '(':
        return this.parseGroup(depth, at);
      default:
        return this.literal(ch.charCodeAt(0));
    }
  }

  /** check_escape(): the escape after a backslash (this.i is after the "\"). */
  private escape(isClass: boolean): EscapeResult {
    if (this.i >= this.end) throw new PcreError(1, this.end);
    const c = this.p.charCodeAt(this.i++);
    const ch = String.fromCharCode(c);
    if (c < 0x30 || c > 0x7a || !/[0-9A-Za-z]/.test(ch)) return { kind: 'char', c };
    if (Object.hasOwn(DATA_ESCAPES, ch)) return { kind: 'char', c: DATA_ESCAPES[ch]! };
    if (Object.hasOwn(SPECIAL_ESCAPES, ch)) {
      const esc = SPECIAL_ESCAPES[ch]!;
      if (esc === 'N' && this.p[this.i] === '{') {
        if (this.p[this.i + 1] === 'U' && this.p[this.i + 2] === '+') throw new PcreError(93, this.i);
        const save = this.i;
        let ok = false;
        try {
          ok = this.readRepeatCounts(this.i + 1) !== undefined;
        } finally {
          this.i = save;
        }
        if (!ok) throw new PcreError(37, this.i);
      }
      return { kind: 'esc', esc };
    }
    switch (ch) {
      case 'F':
      case 'l':
      case 'L':
      case 'u':
      case 'U':
        throw new PcreError(37, this.i);
      case 'g': {
        if (isClass) return { kind: 'char', c };
        if (this.i >= this.end) throw new PcreError(57, this.i);
        const nx = this.p[this.i];
        if (nx === '<' || nx === "'") return { kind: 'esc', esc: 'g' };
        if (nx === '{') {
          const save = this.i;
          this.i++;
          const n = this.readNumber(this.bracount, 61);
          if (n === undefined) {
            this.i = save;
            return { kind: 'esc', esc: 'k' };
          }
          if (this.p[this.i] !== '}') throw new PcreError(57, this.i);
          this.i++;
          if (n <= 0) throw new PcreError(15, this.i);
          return { kind: 'ref', n };
        }
        const n = this.readNumber(this.bracount, 61);
        if (n === undefined) throw new PcreError(57, this.i);
        if (n <= 0) throw new PcreError(15, this.i);
        return { kind: 'ref', n };
      }
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9': {
        if (!isClass) {
          const old = this.i;
          let p = old - 1;
          let s = 0;
          let big = false;
          while (isDigitCode(this.c(p))) {
            s = s * 10 + this.c(p++) - 0x30;
            if (s > Math.floor(0x7fffffff / 10) - 1) {
              big = true;
              break;
            }
          }
          if (!big && (s < 10 || c >= 0x38 || s <= this.bracount)) {
            this.i = p;
            if (s > MAX_GROUP_NUMBER) throw new PcreError(61, this.i);
            return { kind: 'ref', n: s };
          }
          this.i = old;
        }
        if (c >= 0x38) return { kind: 'char', c };
        return this.octal(c - 0x30);
      }
      case '0':
        return this.octal(0);
      case 'o': {
        if (this.p[this.i] !== '{') throw new PcreError(55, this.i);
        this.i++;
        if (this.i >= this.end || this.p[this.i] === '}') throw new PcreError(78, this.i);
        let v = 0;
        let overflow = false;
        while (this.i < this.end && this.c(this.i) >= 0x30 && this.c(this.i) <= 0x37) {
          const d = this.c(this.i++) - 0x30;
          if (v === 0 && d === 0) continue;
          v = v * 8 + d;
          if (v > 0xff) {
            overflow = true;
            break;
          }
        }
        if (overflow) {
          while (this.i < this.end && this.c(this.i) >= 0x30 && this.c(this.i) <= 0x37) this.i++;
          throw new PcreError(34, this.i);
        }
        if (this.p[this.i] === '}') {
          this.i++;
          return { kind: 'char', c: v };
        }
        throw new PcreError(64, this.i);
      }
      case 'x': {
        if (this.p[this.i] === '{') {
          this.i++;
          if (this.i >= this.end || this.p[this.i] === '}') throw new PcreError(78, this.i);
          let v = 0;
          let overflow = false;
          while (this.i < this.end && xdigit(this.c(this.i)) >= 0) {
            const d = xdigit(this.c(this.i++));
            if (v === 0 && d === 0) continue;
            v = v * 16 + d;
            if (v > 0xff) {
              overflow = true;
              break;
            }
          }
          if (overflow) {
            while (this.i < this.end && xdigit(this.c(this.i)) >= 0) this.i++;
            throw new PcreError(34, this.i);
          }
          if (this.p[this.i] === '}') {
            this.i++;
            return { kind: 'char', c: v };
          }
          throw new PcreError(67, this.i);
        }
        let v = 0;
        for (let k = 0; k < 2 && xdigit(this.c(this.i)) >= 0; k++) v = v * 16 + xdigit(this.c(this.i++));
        return { kind: 'char', c: v };
      }
      case 'c': {
        if (this.i >= this.end) throw new PcreError(2, this.end);
        let v = this.c(this.i);
        if (v >= 0x61 && v <= 0x7a) v -= 32;
        if (v < 32 || v > 126) throw new PcreError(68, this.i);
        this.i++;
        return { kind: 'char', c: v ^ 0x40 };
      }
      default:
        throw new PcreError(3, this.i - 1);
    }
  }

  /** Up to three octal digits, the first already read. */
  private octal(first: number): EscapeResult {
    let v = first;
    for (let k = 0; k < 2 && this.c(this.i) >= 0x30 && this.c(this.i) <= 0x37; k++) v = v * 8 + this.c(this.i++) - 0x30;
    if (v > 0xff) throw new PcreError(51, this.i);
    return { kind: 'char', c: v };
  }

  /** read_number() with PCRE's relative-number rules (allowSign < 0: plain number). */
  private readNumber(allowSign: number, maxError: number): number | undefined {
    let sign = 0;
    let max = MAX_GROUP_NUMBER;
    if (allowSign >= 0) {
      if (this.p[this.i] === '+') {
        sign = 1;
        max -= allowSign;
        this.i++;
      } else if (this.p[this.i] === '-') {
        sign = -1;
        this.i++;
      }
    }
    if (!isDigitCode(this.c(this.i))) return undefined;
    let n = 0;
    while (isDigitCode(this.c(this.i))) {
      n = n * 10 + this.c(this.i++) - 0x30;
      if (n > max) throw new PcreError(maxError, this.i);
    }
    if (allowSign >= 0 && sign !== 0) {
      if (n === 0) throw new PcreError(26, this.i);
      if (sign > 0) n += allowSign;
      else if (n > allowSign) throw new PcreError(15, this.i);
      else n = allowSign + 1 - n;
    }
    return n;
  }

  private escapeItem(): Item {
    const start = this.i - 1;
    const e = this.escape(false);
    if (e.kind === 'char') return this.literal(e.c);
    if (e.kind === 'ref') return this.backref(e.n, undefined, this.i - 1);
    switch (e.esc) {
      case 'd':
        return this.set(DIGIT.clone());
      case 'D':
        return this.set(DIGIT.clone().invert());
      case 's':
        return this.set(SPACE.clone());
      case 'S':
        return this.set(SPACE.clone().invert());
      case 'w':
        return this.set(WORD.clone());
      case 'W':
        return this.set(WORD.clone().invert());
      case 'h':
        return this.set(HSPACE.clone());
      case 'H':
        return this.set(HSPACE.clone().invert());
      case 'v':
        return this.set(VSPACE.clone());
      case 'V':
        return this.set(VSPACE.clone().invert());
      case 'N':
        return this.set(NOT_NL.clone());
      case 'C':
        return this.set(new ByteSet().invert());
      case 'R': {
        const alt = this.bsrAnyCrlf ? '\\r\\n|[\\n\\r]' : '\\r\\n|[\\n\\x0b\\x0c\\r\\x85]';
        return { parts: atomic([alt]), quant: true, len: null, hasRef: false };
      }
      case 'b':
        return this.assertion('\\b');
      case 'B':
        return this.assertion('\\B');
      case 'A':
      case 'G':
        return this.assertion('^');
      case 'z':
        return this.assertion('$');
      case 'Z':
        return this.assertion(new LineAssert('(?=\\n?$)', '$'));
      case 'p':
      case 'P':
        return this.set(this.property(e.esc === 'P'));
      case 'k':
      case 'g':
        return this.namedRef(e.esc);
      case 'K':
        if (this.lookaroundDepth > 0) this.sawKInLookaround = true;
        return { ...this.unsupported('\\K'), quant: false, len: 0 };
      case 'X':
        return this.unsupported('\\X');
      default:
        return this.unsupported(this.p.slice(start, this.i));
    }
  }

  /** \p{..} / \P{..} after the letter (get_ucp). */
  private property(negated: boolean): ByteSet {
    let name: string;
    if (this.i >= this.end) throw new PcreError(46, this.i);
    let c = this.p[this.i++]!;
    if (c === '{') {
      if (this.p[this.i] === '^') {
        negated = !negated;
        this.i++;
      }
      name = '';
      for (;;) {
        if (this.i >= this.end) throw new PcreError(46, this.i);
        c = this.p[this.i++]!;
        if (c === '_' || c === '-' || /\s/.test(c)) continue;
        if (c === '}') break;
        name += c.toLowerCase();
        if (name.length > 48) throw new PcreError(46, this.i);
      }
    } else if (/[A-Za-z]/.test(c)) {
      name = c.toLowerCase();
    } else throw new PcreError(46, this.i);
    const set = propertySet(name.replace(/^(script|sc)[:=]/, ''));
    if (!set) throw new PcreError(47, this.i);
    return negated ? set.invert() : set;
  }

  private backref(n: number | undefined, name: string | undefined, offset: number): Item {
    const ref = new Ref(undefined, this.flags.i);
    if (this.flags.i) this.caselessRef = true;
    const entry: { ref: Ref; num?: number; name?: string; offset: number } = { ref, offset };
    if (n !== undefined) entry.num = n;
    if (name !== undefined) entry.name = name;
    this.refs.push(entry);
    return { parts: [ref], quant: true, len: null, hasRef: true };
  }

  /** read_name(): a group name up to its terminator. */
  private readName(terminator: string): { name: string; offset: number } {
    if (++this.i >= this.end) throw new PcreError(62, this.i);
    const offset = this.i;
    if (isDigitCode(this.c(this.i))) throw new PcreError(44, this.i);
    while (this.i < this.end && isWord(this.c(this.i))) this.i++;
    if (this.i > offset + MAX_NAME_SIZE) throw new PcreError(48, this.i);
    if (this.i === offset) throw new PcreError(62, this.i);
    if (this.i >= this.end || this.p[this.i] !== terminator) throw new PcreError(42, this.i);
    const name = this.p.slice(offset, this.i);
    this.i++;
    return { name, offset };
  }

  private namedRef(esc: 'k' | 'g'): Item {
    const open = this.p[this.i];
    if (this.i >= this.end || (open !== '{' && open !== '<' && open !== "'")) throw new PcreError(esc === 'g' ? 57 : 69, this.i);
    const terminator = open === '<' ? '>' : open === "'" ? "'" : '}';
    if (esc === 'g' && terminator !== '}') {
      // \g<n>, \g'-1': a numbered subroutine call; otherwise a name.
      const save = this.i;
      this.i++;
      const n = this.readNumber(this.bracount, 61);
      if (n !== undefined) {
        if (this.p[this.i] !== terminator) throw new PcreError(57, this.i);
        this.i++;
        return this.call(`\\g${open}${n}${terminator} (subroutine call)`, { num: n }, this.i - 1);
      }
      this.i = save;
      const { name, offset } = this.readName(terminator);
      return this.call(`\\g${open}${name}${terminator} (subroutine call)`, { name }, offset);
    }
    const { name, offset } = this.readName(terminator);
    return this.backref(undefined, name, offset);
  }

  /* Character classes. */

  private parseClass(): Item {
    const p = this.p;
    if (this.end - this.i >= 6 && (p.startsWith('[:<:]]', this.i) || p.startsWith('[:>:]]', this.i))) {
      const startWord = p[this.i + 2] === '<';
      this.i += 6;
      return this.assertion(startWord ? '\\b(?=[0-9A-Z_a-z])' : '\\b(?<=[0-9A-Z_a-z])');
    }
    if (this.i < this.end && ':.='.includes(p[this.i]!) && this.posixSyntaxEnd(this.i) >= 0) {
      throw new PcreError(p[this.i] === ':' ? 12 : 13, this.i - 1);
    }
    let negate = false;
    let c = -1;
    let inQ = false;
    while (this.i < this.end) {
      c = this.c(this.i++);
      if (c === 0x5c) {
        if (p[this.i] === 'E') this.i++;
        else if (p.startsWith('Q\\E', this.i)) this.i += 3;
        else break;
      } else if (this.flags.xx && (c === 0x20 || c === 0x09)) continue;
      else if (!negate && c === 0x5e) negate = true;
      else break;
    }
    if (c < 0) throw new PcreError(6, this.end);
    const lits = new ByteSet(); // literal characters and ranges: folded when caseless
    const others = new ByteSet(); // \d, [:alpha:], \p{..}: never folded
    const RANGE_NO = 0;
    const RANGE_STARTED = 1;
    const RANGE_OK = 2;
    let rangeState = RANGE_NO;
    let rangeStart = -1;
    let lastLiteral = -1;
    const addLiteral = (v: number): void => {
      if (rangeState === RANGE_STARTED) {
        if (v < rangeStart) throw new PcreError(8, this.i - 1);
        lits.addRange(rangeStart, v);
        rangeState = RANGE_NO;
      } else {
        rangeState = RANGE_OK;
        lits.add(v);
        lastLiteral = v;
      }
    };
    for (;;) {
      let handled = false;
      if (inQ) {
        if (c === 0x5c && p[this.i] === 'E') {
          inQ = false;
          this.i++;
          handled = true;
        } else {
          addLiteral(c);
          handled = true;
        }
      } else if (this.flags.xx && (c === 0x20 || c === 0x09)) {
        handled = true;
      } else if (c === 0x5b && this.end - this.i >= 3 && ':.='.includes(p[this.i]!) && this.posixSyntaxEnd(this.i) >= 0) {
        const tempEnd = this.posixSyntaxEnd(this.i);
        if (rangeState === RANGE_STARTED) throw new PcreError(50, this.i);
        if (p[this.i] !== ':') throw new PcreError(13, this.i - 1);
        this.i++;
        let neg = false;
        if (p[this.i] === '^') {
          neg = true;
          this.i++;
        }
        let name = p.slice(this.i, tempEnd);
        const pred = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
        if (!pred) throw new PcreError(30, this.i);
        this.i = tempEnd + 2;
        if (this.i < this.end - 1 && p[this.i] === '-' && p[this.i + 1] !== ']') throw new PcreError(50, this.i);
        rangeState = RANGE_NO;
        if (this.flags.i && (name === 'upper' || name === 'lower')) name = 'alpha';
        const set = ByteSet.of(POSIX_CLASSES[name]!);
        others.addSet(neg ? set.invert() : set);
        handled = true;
      } else if (c === 0x2d && rangeState === RANGE_OK) {
        rangeState = RANGE_STARTED;
        rangeStart = lastLiteral;
        handled = true;
      } else if (c !== 0x5c) {
        addLiteral(c);
        handled = true;
      }
      if (!handled) {
        const e = this.escape(true);
        let setItem: ByteSet | undefined;
        if (e.kind === 'char') {
          addLiteral(e.c);
        } else if (e.kind === 'ref') {
          /* never: digits in a class are octal */
        } else if (e.esc === 'b') {
          addLiteral(0x08);
        } else if (e.esc === 'Q') {
          inQ = true;
        } else if (e.esc === 'E') {
          /* orphan \E */
        } else if (e.esc === 'B' || e.esc === 'R' || e.esc === 'X') {
          throw new PcreError(7, this.i - 1);
        } else {
          if (rangeState === RANGE_STARTED) throw new PcreError(50, this.i);
          rangeState = RANGE_NO;
          switch (e.esc) {
            case 'N':
              throw new PcreError(71, this.i);
            case 'h':
              setItem = HSPACE.clone();
              break;
            case 'H':
              setItem = HSPACE.clone().invert();
              break;
            case 'v':
              setItem = VSPACE.clone();
              break;
            case 'V':
              setItem = VSPACE.clone().invert();
              break;
            case 'd':
              setItem = DIGIT.clone();
              break;
            case 'D':
              setItem = DIGIT.clone().invert();
              break;
            case 's':
              setItem = SPACE.clone();
              break;
            case 'S':
              setItem = SPACE.clone().invert();
              break;
            case 'w':
              setItem = WORD.clone();
              break;
            case 'W':
              setItem = WORD.clone().invert();
              break;
            case 'p':
            case 'P':
              setItem = this.property(e.esc === 'P');
              break;
            default:
              throw new PcreError(7, this.i - 1);
          }
          others.addSet(setItem);
          if (this.i < this.end - 1 && p[this.i] === '-' && p[this.i + 1] !== ']') throw new PcreError(50, this.i);
        }
      }
      if (this.i >= this.end) throw new PcreError(6, this.end);
      c = this.c(this.i++);
      if (c === 0x5d && !inQ) break;
    }
    if (rangeState === RANGE_STARTED) lits.add(0x2d);
    if (this.flags.i) lits.foldAscii();
    const set = lits.addSet(others);
    if (negate) set.invert();
    return this.set(set);
  }

  /** check_posix_syntax(): index of the closing ":" (or "." "="), or -1. */
  private posixSyntaxEnd(at: number): number {
    const p = this.p;
    const terminator = p[at];
    for (let k = at + 1; this.end - k >= 2; k++) {
      if (p[k] === '\\' && (p[k + 1] === ']' || p[k + 1] === '\\')) k++;
      else if ((p[k] === '[' && p[k + 1] === terminator) || p[k] === ']') return -1;
      else if (p[k] === terminator && p[k + 1] === ']') return k;
    }
    return -1;
  }

  /* Groups. */

  private parseGroup(depth: number, open: number): Item {
    const p = this.p;
    if (this.i >= this.end) throw new PcreError(14, this.end);
    if (p[this.i] === '*') return this.parseStarGroup(depth, open);
    if (p[this.i] !== '?') {
      if (this.flags.n) return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
      return this.capture(depth);
    }
    if (++this.i >= this.end) throw new PcreError(14, this.end);
    const ch = p[this.i]!;
    switch (ch) {
      case ':':
        this.i++;
        return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
      case '>':
        this.i++;
        return this.groupBody(depth, (body) => atomic(body), false);
      case '=':
        this.i++;
        return this.groupBody(depth, (body) => ['(?=', ...body, ')'], true);
      case '!':
        this.i++;
        return this.groupBody(depth, (body) => ['(?!', ...body, ')'], true);
      case '<': {
        const nx = p[this.i + 1];
        if (nx === '=' || nx === '!') {
          this.i += 2;
          return this.lookbehind(depth, open, nx === '!');
        }
        if (nx === '*') {
          this.i += 2;
          this.unsupported('(?<* (non-atomic lookbehind)');
          return this.lookbehind(depth, open, false);
        }
        return this.namedCapture(depth, '>');
      }
      case "'":
        return this.namedCapture(depth, "'");
      case 'P': {
        if (++this.i >= this.end) throw new PcreError(14, this.end);
        const nx = p[this.i];
        if (nx === '<') return this.namedCapture(depth, '>');
        if (nx === '>') {
          const { name, offset } = this.readName(')');
          return this.call(`(?P>${name}) (subroutine call)`, { name }, offset);
        }
        if (nx !== '=') throw new PcreError(41, this.i);
        const { name, offset } = this.readName(')');
        return this.backref(undefined, name, offset);
      }
      case 'R':
        this.i++;
        if (this.p[this.i] !== ')') throw new PcreError(58, this.i);
        this.i++;
        return this.unsupported('(?R) (recursion)');
      case '&': {
        const { name, offset } = this.readName(')');
        return this.call(`(?&${name}) (subroutine call)`, { name }, offset);
      }
      case '+':
        if (this.end - this.i < 2 || !isDigitCode(this.c(this.i + 1))) throw new PcreError(29, this.i);
        return this.recursionByNumber();
      case '(':
        return this.conditional(depth);
      case '|':
        this.i++;
        this.unsupported('(?| branch reset group');
        return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
      case 'C':
        return this.callout();
      case '*':
        this.i++;
        this.unsupported('(?* non-atomic lookahead');
        return this.groupBody(depth, (body) => ['(?=', ...body, ')'], true);
      default:
        if ((ch === '-' && isDigitCode(this.c(this.i + 1))) || isDigitCode(ch.charCodeAt(0))) return this.recursionByNumber();
        return this.optionGroup(depth);
    }
  }

  /** (?C), (?Cn), (?C"text"): callouts do nothing without a callout function (Postfix sets none). */
  private callout(): Item {
    if (++this.i >= this.end) throw new PcreError(14, this.end);
    const p = this.p;
    if (p[this.i] !== ')' && !isDigitCode(this.c(this.i))) {
      const delims: Record<string, string> = { '`': '`', "'": "'", '"': '"', '^': '^', '%': '%', '#': '#', $: '$', '{': '}' };
      const d = delims[p[this.i]!];
      if (d === undefined) throw new PcreError(82, this.i);
      const startPtr = this.i;
      for (;;) {
        if (++this.i >= this.end) throw new PcreError(81, startPtr);
        if (p[this.i] === d && (++this.i >= this.end || p[this.i] !== d)) break;
      }
    } else {
      let n = 0;
      while (isDigitCode(this.c(this.i))) {
        n = n * 10 + this.c(this.i++) - 0x30;
        if (n > 255) throw new PcreError(38, this.i);
      }
    }
    if (p[this.i] !== ')') throw new PcreError(39, this.i);
    this.i++;
    return { parts: [], quant: false, len: 0, hasRef: false };
  }

  private capture(depth: number): Item {
    if (this.bracount >= MAX_GROUP_NUMBER) throw new PcreError(97, this.i);
    const num = ++this.bracount;
    const grp = new Grp();
    this.groups.set(num, grp);
    return this.groupBody(depth, (body) => [grp, new Marker(grp), ...body, ')'], false);
  }

  private namedCapture(depth: number, terminator: string): Item {
    const { name } = this.readName(terminator);
    if (this.bracount >= MAX_GROUP_NUMBER) throw new PcreError(97, this.i);
    const num = ++this.bracount;
    for (const ng of this.names) {
      if (ng.name === name) {
        if (ng.num === num) break;
        if (!this.flags.J) throw new PcreError(43, this.i);
        this.unsupported('duplicate group names (?J)');
      } else if (ng.num === num) throw new PcreError(65, this.i);
    }
    this.names.push({ name, num });
    const grp = new Grp();
    this.groups.set(num, grp);
    return this.groupBody(depth, (body) => [grp, new Marker(grp), ...body, ')'], false);
  }

  /** The body of a group up to its ")"; options set inside end with it. */
  private groupBody(depth: number, wrap: (body: Part[]) => Part[], assertion: boolean): Item {
    const saved = { ...this.flags };
    if (assertion) this.lookaroundDepth++;
    const body = this.parseAlternation(depth + 1);
    if (this.i >= this.end) throw new PcreError(14, this.end);
    this.i++; // ")"
    this.flags = saved;
    if (assertion) this.endLookaround();
    return { parts: wrap(body.parts), quant: true, len: assertion ? 0 : body.len, hasRef: body.hasRef };
  }

  /** A \\K inside a lookaround is a compile-time error (ERR99) at the lookaround's end. */
  private endLookaround(): void {
    if (--this.lookaroundDepth === 0 && this.sawKInLookaround) {
      this.sawKInLookaround = false;
      this.refs.push({ ref: new Ref(undefined, false), offset: this.i, code: 99 });
    }
  }

  private lookbehind(depth: number, open: number, negative: boolean): Item {
    const saved = { ...this.flags };
    this.lookaroundDepth++;
    const body = this.parseAlternation(depth + 1);
    const branches = this.lastBranches;
    if (this.i >= this.end) throw new PcreError(14, this.end);
    this.i++;
    this.flags = saved;
    this.endLookaround();
    const item: Item = { parts: [negative ? '(?<!' : '(?<=', ...body.parts, ')'], quant: true, len: 0, hasRef: body.hasRef };
    this.lookbehinds.push({ offset: open, item, branches });
    return item;
  }

  private checkLookbehind(lb: { offset: number; branches: Item[] }): void {
    for (const b of lb.branches) {
      if (b.hasRef) this.unsupported('back-reference inside a lookbehind');
      if (b.len === null) throw new PcreError(25, lb.offset);
      if (b.len > 65535) throw new PcreError(87, lb.offset);
    }
  }

  /** (?imnsxJU-imnsx) or (?imnsx-imnsx: ...) */
  private optionGroup(depth: number): Item {
    const p = this.p;
    const f = { ...this.flags };
    let hyphenOk = true;
    let unset = false;
    if (p[this.i] === '^') {
      f.i = f.m = f.n = f.s = f.x = f.xx = false;
      hyphenOk = false;
      this.i++;
    }
    let setX = false;
    let setXX = false;
    let unsetX = false;
    while (this.i < this.end && p[this.i] !== ')' && p[this.i] !== ':') {
      const o = p[this.i++]!;
      const v = !unset;
      switch (o) {
        case '-':
          if (!hyphenOk) throw new PcreError(94, this.i - 1);
          unset = true;
          hyphenOk = false;
          break;
        case 'J':
          f.J = v;
          break;
        case 'i':
          f.i = v;
          break;
        case 'm':
          f.m = v;
          break;
        case 'n':
          f.n = v;
          break;
        case 's':
          f.s = v;
          break;
        case 'U':
          f.U = v;
          break;
        case 'x':
          if (v) setX = true;
          else unsetX = true;
          if (p[this.i] === 'x') {
            if (v) setXX = true;
            this.i++;
          }
          break;
        default:
          throw new PcreError(11, this.i - 1);
      }
    }
    if (setX) f.x = true;
    if (setXX) f.xx = true;
    if ((setX && !setXX) || unsetX) f.xx = false;
    if (unsetX) f.x = false;
    if (this.i >= this.end) throw new PcreError(14, this.end);
    if (p[this.i++] === ')') {
      this.flags = f;
      return { parts: [], quant: false, len: 0, hasRef: false };
    }
    const saved = this.flags;
    this.flags = f;
    const body = this.parseAlternation(depth + 1);
    if (this.i >= this.end) throw new PcreError(14, this.end);
    this.i++;
    this.flags = saved;
    return { parts: ['(?:', ...body.parts, ')'], quant: true, len: body.len, hasRef: body.hasRef };
  }

  /** (*VERB), (*VERB:NAME), (*alpha_assertion: ...). */
  private parseStarGroup(depth: number, open: number): Item {
    const p = this.p;
    // "(*" followed by the end or ")": the "(" is dropped and the "*" then
    // gives "quantifier does not follow a repeatable item".
    if (this.end - this.i <= 1 || p[this.i + 1] === ')') {
      return { parts: [], quant: false, len: 0, hasRef: false };
    }
    const first = this.c(this.i + 1);
    let k = this.i + 1;
    while (k < this.end && isWord(this.c(k))) k++;
    const name = p.slice(this.i + 1, k);
    if (first >= 0x61 && first <= 0x7a) {
      if (k >= this.end || p[k] !== ':') throw new PcreError(95, k);
      this.i = k + 1;
      switch (name) {
        case 'pla':
        case 'positive_lookahead':
          return this.groupBody(depth, (body) => ['(?=', ...body, ')'], true);
        case 'nla':
        case 'negative_lookahead':
          return this.groupBody(depth, (body) => ['(?!', ...body, ')'], true);
        case 'plb':
        case 'positive_lookbehind':
          return this.lookbehind(depth, open, false);
        case 'nlb':
        case 'negative_lookbehind':
          return this.lookbehind(depth, open, true);
        case 'atomic':
          return this.groupBody(depth, (body) => atomic(body), false);
        case 'napla':
        case 'naplb':
        case 'non_atomic_positive_lookahead':
        case 'non_atomic_positive_lookbehind':
        case 'sr':
        case 'asr':
        case 'script_run':
        case 'atomic_script_run':
          this.unsupported(`(*${name}:`);
          return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
        default:
          throw new PcreError(95, k);
      }
    }
    if (k >= this.end || (p[k] !== ':' && p[k] !== ')')) throw new PcreError(60, k);
    const verbs = ['', 'MARK', 'ACCEPT', 'F', 'FAIL', 'COMMIT', 'PRUNE', 'SKIP', 'THEN'];
    if (!verbs.includes(name)) throw new PcreError(60, k);
    let j = k;
    if (p[j] === ':' && p[j + 1] === ')') j++; // an empty argument is no argument
    if ((name === '' || name === 'MARK') && p[j] !== ':') throw new PcreError(66, j);
    if (p[j] === ':') {
      // The argument (a name, without escapes) runs to the next ")".
      const close = p.indexOf(')', j + 1);
      if (close < 0) throw new PcreError(60, this.end);
      j = close;
    }
    this.i = j + 1;
    if (name === 'F' || name === 'FAIL') return { parts: ['(?!)'], quant: false, len: 0, hasRef: false };
    if (name === '' || name === 'MARK') return { parts: [], quant: false, len: 0, hasRef: false };
    return { ...this.unsupported(`(*${name}) (backtracking control verb)`), quant: name === 'ACCEPT' };
  }

  /** (?n), (?+n), (?-n): recursion or subroutine call by number (this.i at the sign or first digit). */
  private recursionByNumber(): Item {
    const n = this.readNumber(isDigitCode(this.c(this.i)) ? -1 : this.bracount, 61);
    if (n === undefined || n < 0) throw new PcreError(15, this.i - 1);
    if (this.p[this.i] !== ')') throw new PcreError(14, this.end);
    this.i++;
    return this.call(`(?${n}) (subroutine call)`, { num: n }, this.i - 1);
  }

  /** (?(condition)yes|no): parsed for PCRE's errors, not translatable. */
  private conditional(depth: number): Item {
    this.i++;
    if (this.i >= this.end) throw new PcreError(14, this.end);
    this.unsupported('(?(...) conditional group');
    if (/[-+0-9]/.test(this.p[this.i] ?? '')) {
      const n = this.readNumber(this.bracount, 61);
      if (n !== undefined) {
        if (n <= 0) throw new PcreError(15, this.i);
        this.refs.push({ ref: new Ref(undefined, false), num: n, offset: this.i - 2 });
        if (this.p[this.i] !== ')') throw new PcreError(24, this.i);
        this.i++;
        return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
      }
    }
    if (this.p[this.i] !== '?' && this.p[this.i] !== '*') {
      const close = this.p.indexOf(')', this.i);
      if (close < 0) throw new PcreError(24, this.end);
      this.i = close + 1;
    }
    return this.groupBody(depth, (body) => ['(?:', ...body, ')'], false);
  }
}

/** (?=(X))\k: X matched once, never backtracked into (an atomic group). */
function atomic(body: Part[]): Part[] {
  const g = new Grp();
  return ['(?=', g, ...body, ')', ')', new Ref(g, false)];
}

/** Is s one JS regexp atom that a quantifier may follow directly? */
function isSingleAtom(s: string): boolean {
  if (/^\\x[0-9a-f]{2}$/.test(s) || /^[0-9A-Za-z_]$/.test(s)) return true;
  if (s === '[^]' || s === '[]') return true;
  if (s.startsWith('[') && s.endsWith(']') && s.indexOf(']') === s.length - 1) return true;
  return false;
}

/** Does JS's case folding (non-unicode "i": Latin-1 pairs too) leave the set unchanged? */
function closedUnderJsFold(s: ByteSet): boolean {
  for (let c = 0; c < 256; c++) {
    if (!s.has(c)) continue;
    const u = String.fromCharCode(c).toUpperCase();
    if (u.length !== 1) continue;
    const uc = u.charCodeAt(0);
    if (uc > 255) continue;
    if (!s.has(uc)) return false;
    const l = String.fromCharCode(c).toLowerCase().charCodeAt(0);
    if (l <= 255 && !s.has(l)) return false;
  }
  return true;
}

/** pcre2_compile() of a byte-string pattern with Postfix's options. */
export function compilePcre(pattern: string, opts: PcreOptions): PcreResult {
  return new Parser(pattern, opts).run();
}
