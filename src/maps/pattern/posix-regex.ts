/**
 * maps/pattern/posix-regex.ts: POSIX regular expressions as glibc's
 * regcomp(3) reads them (the regexp: table of regexp_table(5)), translated
 * to a JavaScript RegExp source.
 *
 * The parser follows glibc 2.36 posix/regcomp.c token by token so that the
 * same patterns are accepted, the same ones are rejected with the same
 * regerror() words, and operators mean the same thing:
 * - REG_EXTENDED (ERE) or basic (BRE, when the table's "x" flag turns
 *   extended syntax off), with the GNU extensions glibc enables: \w \W \s \S
 *   \b \B \< \> \` \' and back-references \1..\9 in both syntaxes, \| \+ \?
 *   in BRE; an unmatched ")" is an ordinary character in ERE.
 * - The "C" locale: bytes are characters, ranges compare byte values,
 *   [[:class:]] are the ASCII ctype classes, [[.x.]] and [[=x=]] accept one
 *   character only.
 * - REG_ICASE: glibc upper-cases the pattern (except the character after a
 *   backslash and class names) and the subject. The translation keeps that
 *   model: the caller matches the JS RegExp against the upper-cased key, so
 *   quirks such as "[[:lower:]] means [[:alpha:]]" and "\a never matches"
 *   come out as glibc has them.
 * - REG_NEWLINE: "." and "[^...]" do not match newline; "^"/"$" also match
 *   after/before one.
 *
 * - A back-reference to a group that did not take part fails (see finish()).
 *
 * Captures ($n): glibc takes the longest match at the leftmost start, then
 * the first path (alternatives in order, repetitions greedy) that ends
 * there. A JS match is the first path, full stop, so the driver
 * (maps/regexp.ts, PosixMatcher) first looks for a longer match and then
 * re-runs the pattern pinned to that end, unless the pattern can only end at
 * the end of the subject ("endAnchored"), where the two agree.
 */
import { asciiUpper, ByteSet, CTYPE_CLASSES, isSpace, regexpChar } from './byteset.js';

export interface PosixOptions {
  extended: boolean;
  icase: boolean;
  newline: boolean;
}

/**
 * groupIndex[n] is the JS group holding POSIX group n (extra JS groups mark
 * the groups that back-references use, see finish()).
 */
export type PosixResult =
  | { ok: true; source: string; nsub: number; groupIndex: number[]; endAnchored: boolean }
  | { ok: false; error: string };

/** regerror() texts of glibc, by REG_* code. */
const REG_TEXT = {
  BADPAT: 'Invalid regular expression',
  ECOLLATE: 'Invalid collation character',
  ECTYPE: 'Invalid character class name',
  EESCAPE: 'Trailing backslash',
  ESUBREG: 'Invalid back reference',
  EBRACK: 'Unmatched [, [^, [:, [., or [=',
  EPAREN: 'Unmatched ( or \\(',
  EBRACE: 'Unmatched \\{',
  BADBR: 'Invalid content of \\{\\}',
  ERANGE: 'Invalid range end',
  ESPACE: 'Memory exhausted',
  BADRPT: 'Invalid preceding regular expression',
  EEND: 'Premature end of regular expression',
  ESIZE: 'Regular expression too big',
} as const;
type RegErr = keyof typeof REG_TEXT;

class RegError extends Error {
  constructor(readonly code: RegErr) {
    super(REG_TEXT[code]);
  }
}

const RE_DUP_MAX = 0x7fff;

enum T {
  END,
  CHAR,
  BACK_SLASH,
  ALT,
  BACKREF,
  ANCHOR,
  WORD,
  NOTWORD,
  SPACE,
  NOTSPACE,
  OPEN_SUB,
  CLOSE_SUB,
  DUP_ASTERISK,
  DUP_PLUS,
  DUP_QUESTION,
  OPEN_DUP_NUM,
  CLOSE_DUP_NUM,
  OPEN_BRACKET,
  PERIOD,
}

enum B {
  END,
  CHAR,
  RANGE,
  CLOSE,
  NON_MATCH,
  OPEN_COLL,
  OPEN_EQUIV,
  OPEN_CLASS,
}

type Anchor = 'line_first' | 'line_last' | 'buf_first' | 'buf_last' | 'word_first' | 'word_last' | 'word_delim' | 'not_word_delim';

interface Token {
  type: T;
  c: number;
  len: number;
  idx: number;
  anchor: Anchor;
}

interface BToken {
  type: B;
  c: number;
  len: number;
}

/** A translated subexpression; atom: can take a quantifier as it is. */
interface Node {
  s: string;
  atom: boolean;
  /** Ends with an anchor that only matches at the end of the subject. */
  endAnchor?: boolean;
}

type Element =
  | { kind: 'char'; ch: number }
  | { kind: 'coll'; name: string }
  | { kind: 'equiv'; name: string }
  | { kind: 'class'; name: string };

const WORD_CLASS = '[0-9A-Z_a-z]';

class Parser {
  private readonly pat: string;
  private readonly raw: string;
  private readonly len: number;
  private pos = 0;
  private tok!: Token;
  private nsub = 0;
  private completed = 0;
  /* Syntax bits (RE_SYNTAX_POSIX_EXTENDED or _BASIC, plus REG_* options). */
  private readonly ere: boolean;
  /** Groups (0-based) that back-references use. */
  private readonly referenced = new Set<number>();

  constructor(
    pattern: string,
    private readonly opts: PosixOptions,
  ) {
    this.raw = pattern;
    this.pat = opts.icase ? asciiUpper(pattern) : pattern;
    this.len = pattern.length;
    this.ere = opts.extended;
  }

  run(): PosixResult {
    try {
      this.fetch(true);
      const tree = this.parseRegExp(0);
      return this.finish(tree?.s ?? '', tree?.endAnchor === true);
    } catch (err) {
      if (err instanceof RegError) return { ok: false, error: err.message };
      throw err;
    }
  }

  /**
   * Replace the group and back-reference placeholders (NUL never occurs in
   * the emitted source otherwise). A back-reference to a group that did not
   * take part must fail, as in glibc, while JS lets it match the empty
   * string; so a referenced group starts with a marker capturing the whole
   * subject, and the back-reference first checks the marker spans it.
   */
  private finish(src: string, endAnchored: boolean): PosixResult {
    const groupIndex = [0];
    const markerIndex = new Map<number, number>();
    let n = 0;
    const source = src.replace(/\0([GR])(\d+)\0/g, (_m, kind: string, num: string) => {
      const g = Number(num);
      if (kind === 'G') {
        groupIndex[g + 1] = ++n;
        if (!this.referenced.has(g)) return '(';
        markerIndex.set(g, ++n);
        return '((?<=^(?=([^]*))[^]*)';
      }
      return `(?:(?<=^(?=\\${markerIndex.get(g)}$)[^]*)\\${groupIndex[g + 1]})`;
    });
    return { ok: true, source, nsub: this.nsub, groupIndex, endAnchored };
  }

  private code(i: number): number {
    return this.pat.charCodeAt(i);
  }

  private peek(at: number, caretHere: boolean): Token {
    const t: Token = { type: T.END, c: 0, len: 0, idx: 0, anchor: 'line_first' };
    if (at >= this.len) return t;
    const c = this.code(at);
    t.c = c;
    t.type = T.CHAR;
    t.len = 1;
    if (c === 0x5c) {
      if (at + 1 >= this.len) {
        t.type = T.BACK_SLASH;
        return t;
      }
      // The character after a backslash keeps its case (peek_byte_case).
      const c2 = this.raw.charCodeAt(at + 1);
      t.c = c2;
      t.len = 2;
      const ch = String.fromCharCode(c2);
      switch (ch) {
        case '|':
          if (!this.ere) t.type = T.ALT;
          break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
          t.type = T.BACKREF;
          t.idx = c2 - 0x31;
          break;
        case '<':
          t.type = T.ANCHOR;
          t.anchor = 'word_first';
          break;
        case '>':
          t.type = T.ANCHOR;
          t.anchor = 'word_last';
          break;
        case 'b':
          t.type = T.ANCHOR;
          t.anchor = 'word_delim';
          break;
        case 'B':
          t.type = T.ANCHOR;
          t.anchor = 'not_word_delim';
          break;
        case 'w':
          t.type = T.WORD;
          break;
        case 'W':
          t.type = T.NOTWORD;
          break;
        case 's':
          t.type = T.SPACE;
          break;
        case 'S':
          t.type = T.NOTSPACE;
          break;
        case '`':
          t.type = T.ANCHOR;
          t.anchor = 'buf_first';
          break;
        case "'":
          t.type = T.ANCHOR;
          t.anchor = 'buf_last';
          break;
        case '(':
          if (!this.ere) t.type = T.OPEN_SUB;
          break;
        case ')':
          if (!this.ere) t.type = T.CLOSE_SUB;
          break;
        case '+':
          if (!this.ere) t.type = T.DUP_PLUS;
          break;
        case '?':
          if (!this.ere) t.type = T.DUP_QUESTION;
          break;
        case '{':
          if (!this.ere) t.type = T.OPEN_DUP_NUM;
          break;
        case '}':
          if (!this.ere) t.type = T.CLOSE_DUP_NUM;
          break;
      }
      return t;
    }
    switch (String.fromCharCode(c)) {
      case '|':
        if (this.ere) t.type = T.ALT;
        break;
      case '*':
        t.type = T.DUP_ASTERISK;
        break;
      case '+':
        if (this.ere) t.type = T.DUP_PLUS;
        break;
      case '?':
        if (this.ere) t.type = T.DUP_QUESTION;
        break;
      case '{':
        if (this.ere) t.type = T.OPEN_DUP_NUM;
        break;
      case '}':
        if (this.ere) t.type = T.CLOSE_DUP_NUM;
        break;
      case '(':
        if (this.ere) t.type = T.OPEN_SUB;
        break;
      case ')':
        if (this.ere) t.type = T.CLOSE_SUB;
        break;
      case '[':
        t.type = T.OPEN_BRACKET;
        break;
      case '.':
        t.type = T.PERIOD;
        break;
      case '^':
        if (!(this.ere || caretHere) && at !== 0) break;
        t.type = T.ANCHOR;
        t.anchor = 'line_first';
        break;
      case '$':
        if (!this.ere && at + 1 !== this.len) {
          const next = this.peek(at + 1, caretHere);
          if (next.type !== T.ALT && next.type !== T.CLOSE_SUB) break;
        }
        t.type = T.ANCHOR;
        t.anchor = 'line_last';
        break;
    }
    return t;
  }

  /* Read through methods so that TypeScript does not narrow across fetch(). */
  private tt(): T {
    return this.tok.type;
  }
  private tc(): number {
    return this.tok.c;
  }

  private fetch(caretHere = false): void {
    this.tok = this.peek(this.pos, caretHere);
    this.pos += this.tok.len;
  }

  private parseRegExp(nest: number): Node | null {
    const initial = this.completed;
    const branches: (Node | null)[] = [this.parseBranch(nest)];
    while (this.tt() === T.ALT) {
      this.fetch(true);
      const t = this.tt();
      if (t !== T.ALT && t !== T.END && (nest === 0 || t !== T.CLOSE_SUB)) {
        const accumulated = this.completed;
        this.completed = initial;
        branches.push(this.parseBranch(nest));
        this.completed |= accumulated;
      } else {
        branches.push(null);
      }
    }
    if (branches.length === 1) return branches[0]!;
    const endAnchor = branches.every((b) => b?.endAnchor === true);
    return { s: branches.map((b) => b?.s ?? '').join('|'), atom: false, endAnchor };
  }

  private parseBranch(nest: number): Node | null {
    const parts: Node[] = [];
    const first = this.parseExpression(nest);
    if (first) parts.push(first);
    while (this.tt() !== T.ALT && this.tt() !== T.END && (nest === 0 || this.tt() !== T.CLOSE_SUB)) {
      const e = this.parseExpression(nest);
      if (e) parts.push(e);
    }
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0]!;
    return { s: parts.map((p) => p.s).join(''), atom: false, endAnchor: parts[parts.length - 1]!.endAnchor === true };
  }

  private parseExpression(nest: number): Node | null {
    let tree: Node | null;
    const tok = this.tok;
    switch (tok.type) {
      case T.CHAR:
        tree = { s: regexpChar(tok.c), atom: true };
        break;
      case T.OPEN_SUB:
        tree = this.parseSubExp(nest + 1);
        break;
      case T.OPEN_BRACKET:
        tree = { s: this.parseBracket().toRegExp(), atom: true };
        break;
      case T.BACKREF:
        if (!(this.completed & (1 << tok.idx))) throw new RegError('ESUBREG');
        this.referenced.add(tok.idx);
        tree = { s: `\0R${tok.idx}\0`, atom: true };
        break;
      case T.OPEN_DUP_NUM:
      case T.DUP_ASTERISK:
      case T.DUP_PLUS:
      case T.DUP_QUESTION:
        if (tok.type === T.OPEN_DUP_NUM && !this.ere) throw new RegError('BADRPT');
        if (this.ere) throw new RegError('BADRPT');
        tree = { s: regexpChar(tok.c), atom: true };
        break;
      case T.CLOSE_SUB:
        if (!this.ere) throw new RegError('EPAREN'); // REG_ERPAREN, reported as REG_EPAREN
        tree = { s: regexpChar(tok.c), atom: true };
        break;
      case T.CLOSE_DUP_NUM:
        tree = { s: regexpChar(tok.c), atom: true };
        break;
      case T.ANCHOR: {
        const s = this.anchor(tok.anchor);
        const endAnchor = tok.anchor === 'buf_last' || (tok.anchor === 'line_last' && !this.opts.newline);
        this.fetch();
        return { s, atom: false, endAnchor };
      }
      case T.PERIOD:
        tree = { s: this.opts.newline ? '[^\\n]' : '[^]', atom: true };
        break;
      case T.WORD:
      case T.NOTWORD:
        tree = { s: tok.type === T.WORD ? WORD_CLASS : '[^0-9A-Z_a-z]', atom: true };
        break;
      case T.SPACE:
      case T.NOTSPACE: {
        const set = ByteSet.of(isSpace);
        if (tok.type === T.NOTSPACE) set.invert();
        tree = { s: set.toRegExp(), atom: true };
        break;
      }
      case T.ALT:
      case T.END:
        return null;
      case T.BACK_SLASH:
        throw new RegError('EESCAPE');
      default:
        return null;
    }
    this.fetch();
    while (
      this.tt() === T.DUP_ASTERISK ||
      this.tt() === T.DUP_PLUS ||
      this.tt() === T.DUP_QUESTION ||
      this.tt() === T.OPEN_DUP_NUM
    ) {
      tree = this.parseDupOp(tree);
      // In BRE consecutive duplications are not allowed.
      if (!this.ere && (this.tt() === T.DUP_ASTERISK || this.tt() === T.OPEN_DUP_NUM)) {
        throw new RegError('BADRPT');
      }
    }
    return tree;
  }

  private anchor(a: Anchor): string {
    switch (a) {
      case 'line_first':
        return this.opts.newline ? '(?:^|(?<=\\n))' : '^';
      case 'line_last':
        return this.opts.newline ? '(?=\\n|$)' : '$';
      case 'buf_first':
        return '^';
      case 'buf_last':
        return '$';
      case 'word_first':
        return `(?<!${WORD_CLASS})(?=${WORD_CLASS})`;
      case 'word_last':
        return `(?<=${WORD_CLASS})(?!${WORD_CLASS})`;
      case 'word_delim':
        return '\\b';
      case 'not_word_delim':
        return '\\B';
    }
  }

  private parseSubExp(nest: number): Node {
    const cur = this.nsub++;
    this.fetch(true);
    let inner: Node | null = null;
    if (this.tt() !== T.CLOSE_SUB) {
      inner = this.parseRegExp(nest);
      if (this.tt() !== T.CLOSE_SUB) throw new RegError('EPAREN');
    }
    if (cur <= 8) this.completed |= 1 << cur;
    return { s: `\0G${cur}\0${inner?.s ?? ''})`, atom: true };
  }

  /** fetch_number(): -1 empty, -2 error, at most RE_DUP_MAX + 1. */
  private fetchNumber(): number {
    let num = -1;
    for (;;) {
      this.fetch();
      const c = this.tc();
      if (this.tt() === T.END) return -2;
      if (this.tt() === T.CLOSE_DUP_NUM || c === 0x2c) break;
      num =
        this.tt() !== T.CHAR || c < 0x30 || c > 0x39 || num === -2
          ? -2
          : num === -1
            ? c - 0x30
            : Math.min(RE_DUP_MAX + 1, num * 10 + c - 0x30);
    }
    return num;
  }

  private parseDupOp(elem: Node | null): Node | null {
    let start: number;
    let end: number;
    if (this.tt() === T.OPEN_DUP_NUM) {
      end = 0;
      start = this.fetchNumber();
      if (start === -1) {
        if (this.tt() === T.CHAR && this.tc() === 0x2c) start = 0;
        else throw new RegError('BADBR');
      }
      if (start !== -2) {
        end =
          this.tt() === T.CLOSE_DUP_NUM
            ? start
            : this.tt() === T.CHAR && this.tc() === 0x2c
              ? this.fetchNumber()
              : -2;
      }
      if (start === -2 || end === -2) {
        throw new RegError(this.tt() === T.END ? 'EBRACE' : 'BADBR');
      }
      if ((end !== -1 && start > end) || this.tt() !== T.CLOSE_DUP_NUM) throw new RegError('BADBR');
      if (RE_DUP_MAX < (end === -1 ? start : end)) throw new RegError('ESIZE');
    } else {
      start = this.tt() === T.DUP_PLUS ? 1 : 0;
      end = this.tt() === T.DUP_QUESTION ? 1 : -1;
    }
    this.fetch();
    if (elem === null) return null;
    if (start === 0 && end === 0) return null;
    const q =
      start === 0 && end === -1
        ? '*'
        : start === 1 && end === -1
          ? '+'
          : start === 0 && end === 1
            ? '?'
            : end === -1
              ? `{${start},}`
              : start === end
                ? `{${start}}`
                : `{${start},${end}}`;
    return { s: (elem.atom ? elem.s : `(?:${elem.s})`) + q, atom: false };
  }

  /* Bracket expressions. */

  private peekBracket(at: number): BToken {
    if (at >= this.len) return { type: B.END, c: 0, len: 0 };
    const c = this.code(at);
    if (c === 0x5b) {
      const c2 = at + 1 < this.len ? this.code(at + 1) : 0;
      if (c2 === 0x2e) return { type: B.OPEN_COLL, c: c2, len: 2 };
      if (c2 === 0x3d) return { type: B.OPEN_EQUIV, c: c2, len: 2 };
      if (c2 === 0x3a) return { type: B.OPEN_CLASS, c: c2, len: 2 };
      return { type: B.CHAR, c, len: 1 };
    }
    if (c === 0x2d) return { type: B.RANGE, c, len: 1 };
    if (c === 0x5d) return { type: B.CLOSE, c, len: 1 };
    if (c === 0x5e) return { type: B.NON_MATCH, c, len: 1 };
    return { type: B.CHAR, c, len: 1 };
  }

  private parseBracket(): ByteSet {
    const set = new ByteSet();
    let nonMatch = false;
    let tok = this.peekBracket(this.pos);
    if (tok.type === B.END) throw new RegError('BADPAT');
    if (tok.type === B.NON_MATCH) {
      nonMatch = true;
      if (this.opts.newline) set.add(0x0a);
      this.pos += tok.len;
      tok = this.peekBracket(this.pos);
      if (tok.type === B.END) throw new RegError('BADPAT');
    }
    if (tok.type === B.CLOSE) tok = { ...tok, type: B.CHAR };
    let firstRound = true;
    for (;;) {
      const start = this.parseBracketElement(tok, firstRound);
      firstRound = false;
      tok = this.peekBracket(this.pos);
      let isRange = false;
      let tok2: BToken | undefined;
      if (start.kind !== 'class' && start.kind !== 'equiv') {
        if (tok.type === B.END) throw new RegError('EBRACK');
        if (tok.type === B.RANGE) {
          this.pos += tok.len;
          tok2 = this.peekBracket(this.pos);
          if (tok2.type === B.END) throw new RegError('EBRACK');
          if (tok2.type === B.CLOSE) {
            // A '-' before the closing ']' is an ordinary character.
            this.pos -= tok.len;
            tok = { ...tok, type: B.CHAR };
          } else {
            isRange = true;
          }
        }
      }
      if (isRange) {
        const end = this.parseBracketElement(tok2!, true);
        tok = this.peekBracket(this.pos);
        this.addRange(set, start, end);
      } else {
        this.addElement(set, start);
      }
      if (tok.type === B.END) throw new RegError('EBRACK');
      if (tok.type === B.CLOSE) break;
    }
    this.pos += tok.len;
    if (nonMatch) set.invert();
    return set;
  }

  private parseBracketElement(tok: BToken, acceptHyphen: boolean): Element {
    this.pos += tok.len;
    if (tok.type === B.OPEN_COLL || tok.type === B.OPEN_CLASS || tok.type === B.OPEN_EQUIV) {
      return this.parseBracketSymbol(tok);
    }
    if (tok.type === B.RANGE && !acceptHyphen) {
      // A '-' must only appear as anything but a range indicator before the closing bracket.
      if (this.peekBracket(this.pos).type !== B.CLOSE) throw new RegError('ERANGE');
    }
    return { kind: 'char', ch: tok.c };
  }

  private parseBracketSymbol(tok: BToken): Element {
    const delim = tok.c;
    if (this.pos >= this.len) throw new RegError('EBRACK');
    let name = '';
    for (let i = 0; ; i++) {
      if (i >= 32) throw new RegError('EBRACK');
      // Class names keep their case (fetch_byte_case); other names do not.
      const ch = tok.type === B.OPEN_CLASS ? this.raw.charCodeAt(this.pos) : this.code(this.pos);
      this.pos++;
      if (this.pos >= this.len) throw new RegError('EBRACK');
      if (ch === delim && this.code(this.pos) === 0x5d) break;
      name += String.fromCharCode(ch);
    }
    this.pos++;
    if (tok.type === B.OPEN_COLL) return { kind: 'coll', name };
    if (tok.type === B.OPEN_EQUIV) return { kind: 'equiv', name };
    return { kind: 'class', name };
  }

  private addElement(set: ByteSet, e: Element): void {
    switch (e.kind) {
      case 'char':
        set.add(e.ch);
        return;
      case 'coll':
      case 'equiv':
        if (e.name.length !== 1) throw new RegError('ECOLLATE');
        set.add(e.name.charCodeAt(0));
        return;
      case 'class': {
        let name = e.name;
        if (this.opts.icase && (name === 'upper' || name === 'lower')) name = 'alpha';
        const pred = Object.hasOwn(CTYPE_CLASSES, name) ? CTYPE_CLASSES[name] : undefined;
        if (pred === undefined) throw new RegError('ECTYPE');
        for (let c = 0; c < 256; c++) if (pred(c)) set.add(c);
        return;
      }
    }
  }

  private collSeq(e: Element): number {
    if (e.kind === 'char') return e.ch;
    if (e.kind === 'coll' && e.name.length === 1) return e.name.charCodeAt(0);
    return -1;
  }

  private addRange(set: ByteSet, start: Element, end: Element): void {
    if (start.kind === 'equiv' || start.kind === 'class' || end.kind === 'equiv' || end.kind === 'class') {
      throw new RegError('ERANGE');
    }
    const a = this.collSeq(start);
    const b = this.collSeq(end);
    if (a < 0 || b < 0) throw new RegError('ECOLLATE');
    if (a > b) throw new RegError('ERANGE');
    set.addRange(a, b);
  }
}

/** regcomp(3) of a byte-string pattern, as a JS RegExp source (no flags needed). */
export function compilePosix(pattern: string, opts: PosixOptions): PosixResult {
  return new Parser(pattern, opts).run();
}

