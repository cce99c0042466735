/**
 * maps/regexp.ts: the regexp: and pcre: lookup tables (regexp_table(5),
 * pcre_table(5); Postfix's dict_regexp.c and dict_pcre.c).
 *
 * File format, one rule per logical line (see pattern/source.ts):
 *   /pattern/flags result        first matching rule wins
 *   !/pattern/flags result       matches when the pattern does not
 *   /pat1/!/pat2/ result         regexp: only; pat1 matches and pat2 does not
 *   if /pattern/flags ... endif  (nestable, "if !/pattern/" too)
 * Any character after the optional "!" delimits the pattern; "\" escapes it
 * (the backslash stays in the pattern). Results may use $1..$n, ${n}, $(n)
 * and $$ (pattern/replacement.ts).
 *
 * Flags toggle Postfix's defaults. regexp: i (REG_ICASE, on), x (REG_EXTENDED,
 * on), m (REG_NEWLINE, off). pcre: i (CASELESS, on), s (DOTALL, on), m
 * (MULTILINE), x (EXTENDED), A (ANCHORED), E (DOLLAR_ENDONLY), U (UNGREEDY),
 * X (obsolete, ignored with a warning).
 *
 * The key is searched (not anchored) as one string: pattern tables get the
 * whole lookup key once (DICT_FLAG_PATTERN), never the user@domain/parent
 * variants of indexed tables. Bad rules are skipped with Postfix's warning
 * and the rest of the table works. A pattern that JavaScript cannot express
 * (pattern/pcre-regex.ts lists them) makes the table fail to open, naming the
 * file, line and construct, rather than behave differently from Postfix.
 */
import { warn } from '../log/msg.js';
import '../util/regex-guard.js';
import { asciiLower, asciiUpper } from './pattern/byteset.js';
import { compilePcre } from './pattern/pcre-regex.js';
import { compilePosix } from './pattern/posix-regex.js';
import { expandReplacement, parseReplacement, type Replacement } from './pattern/replacement.js';
import { filesToBase64 } from './rhs-file.js';
import { isSpaceCode, logicalLines, readTableSource, trimTrailing } from './pattern/source.js';
import { requireReadOnly } from './driver-util.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from './types.js';

type Kind = 'regexp' | 'pcre';

/** The lookup key, with its upper-cased form computed on demand (REG_ICASE). */
class KeyCtx {
  private up: string | undefined;
  constructor(readonly key: string) {}
  upper(): string {
    if (this.up === undefined) this.up = asciiUpper(this.key);
    return this.up;
  }
}

interface Matcher {
  /** Number of capture groups ($n may go up to this). */
  readonly nsub: number;
  test(k: KeyCtx): boolean;
  /** Match again and return the text of group n (undefined: unset). */
  groups(k: KeyCtx): ((n: number) => string | undefined) | undefined;
}

/**
 * A glibc regcomp() pattern; REG_ICASE ones run on the upper-cased key.
 *
 * For $n, glibc's captures are those of the first path (in JS's order) that
 * ends where the longest match at the leftmost start ends. JS stops at its
 * first path, which may be shorter: "^(foo|foobar)" on "foobar" gives JS
 * $1 = "foo", glibc "foobar". So, unless the pattern can only end at the end
 * of the key, groups() asks for a longer match until there is none, then
 * re-runs the pattern pinned to that end. Those two RegExps depend on the
 * key and are built only when a rule with $n has matched.
 */
class PosixMatcher implements Matcher {
  private readonly re: RegExp;
  private indexed: RegExp | undefined;
  constructor(
    private readonly source: string,
    private readonly icase: boolean,
    readonly nsub: number,
    private readonly groupIndex: number[],
    private readonly endAnchored: boolean,
  ) {
    this.re = new RegExp(source);
  }
  test(k: KeyCtx): boolean {
    return this.re.test(this.icase ? k.upper() : k.key);
  }
  groups(k: KeyCtx): ((n: number) => string | undefined) | undefined {
    const subject = this.icase ? k.upper() : k.key;
    // Indices are needed to take REG_ICASE captures from the original key.
    this.indexed ??= new RegExp(this.source, 'd');
    let m = this.indexed.exec(subject);
    if (!m) return undefined;
    if (!this.endAnchored) {
      const start = m.index;
      const firstEnd = start + m[0].length;
      let end = firstEnd;
      for (;;) {
        const longer = new RegExp(`^[^]{${start}}(?:${this.source})(?<=^[^]{${end + 1},})`).exec(subject);
        if (!longer) break;
        end = longer[0].length;
      }
      if (end !== firstEnd) m = new RegExp(`^[^]{${start}}(?:${this.source})(?<=^[^]{${end}})`, 'd').exec(subject)!;
    }
    const idx = m.indices!;
    return (n) => {
      const span = idx[this.groupIndex[n] ?? -1];
      return span ? k.key.slice(span[0], span[1]) : undefined;
    };
  }
}

class PcreMatcher implements Matcher {
  private readonly re: RegExp;
  /** For keys without a newline: no lookarounds for "$", so V8 can fall back to its linear engine. */
  private readonly reNoNewline: RegExp;
  constructor(
    source: string,
    sourceNoNewline: string,
    flags: string,
    readonly nsub: number,
    private readonly groupIndex: number[],
  ) {
    this.re = new RegExp(source, flags);
    this.reNoNewline = sourceNoNewline === source ? this.re : new RegExp(sourceNoNewline, flags);
  }
  private pick(key: string): RegExp {
    return key.includes('\n') ? this.re : this.reNoNewline;
  }
  test(k: KeyCtx): boolean {
    return this.pick(k.key).test(k.key);
  }
  groups(k: KeyCtx): ((n: number) => string | undefined) | undefined {
    const m = this.pick(k.key).exec(k.key);
    if (!m) return undefined;
    return (n) => m[this.groupIndex[n] ?? -1];
  }
}

type Rule =
  | {
      op: 'match';
      lineno: number;
      first: Matcher;
      firstMatch: boolean;
      second: Matcher | undefined;
      secondMatch: boolean;
      repl: Replacement;
    }
  | { op: 'if'; lineno: number; expr: Matcher; match: boolean; endif: number }
  | { op: 'endif'; lineno: number };

interface Pattern {
  regexp: string;
  match: boolean;
  /* regexp: */
  icase: boolean;
  extended: boolean;
  newline: boolean;
  /* pcre: */
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  pextended: boolean;
  anchored: boolean;
  dollarEndonly: boolean;
  ungreedy: boolean;
}

class Compiler {
  constructor(
    private readonly kind: Kind,
    private readonly map: string,
    private readonly dictFlags: number,
  ) {}

  private where(lineno: number): string {
    return `${this.kind} map ${this.map}, line ${lineno}`;
  }

  /** dict_regexp_get_pat() / dict_pcre_get_pattern(): one delimited pattern and its flags. */
  private getPattern(line: string, at: number, lineno: number): { pat: Pattern; next: number } | undefined {
    let i = at;
    let match = true;
    for (;;) {
      if (line[i] === '!') match = !match;
      else if (i >= line.length || !isSpaceCode(line.charCodeAt(i))) break;
      i++;
    }
    if (i >= line.length) {
      warn(`${this.where(lineno)}: no regexp: skipping this rule`);
      return undefined;
    }
    const delim = line[i++]!;
    const start = i;
    let closed: boolean;
    let patEnd: number;
    if (this.kind === 'regexp') {
      while (i < line.length) {
        if (line[i] === '\\') {
          if (i + 1 < line.length) i++;
          else break;
        } else if (line[i] === delim) break;
        i++;
      }
      // A trailing backslash ends the pattern without complaint (dict_regexp.c).
      closed = i < line.length;
      patEnd = i;
    } else {
      while (i < line.length) {
        if (line[i] === '\\') {
          i++;
          if (i >= line.length) break;
        } else if (line[i] === delim) break;
        i++;
      }
      closed = i < line.length;
      patEnd = i;
    }
    if (!closed) {
      warn(`${this.where(lineno)}: no closing regexp delimiter "${delim}": ${this.kind === 'regexp' ? 'skipping' : 'ignoring'} this rule`);
      return undefined;
    }
    const pat: Pattern = {
      regexp: line.slice(start, patEnd),
      match,
      icase: true,
      extended: true,
      newline: false,
      caseless: true,
      multiline: false,
      dotall: true,
      pextended: false,
      anchored: false,
      dollarEndonly: false,
      ungreedy: false,
    };
    i = patEnd + 1;
    while (i < line.length && !isSpaceCode(line.charCodeAt(i)) && (this.kind === 'pcre' || line[i] !== '!')) {
      const f = line[i]!;
      if (this.kind === 'regexp') {
        if (f === 'i') pat.icase = !pat.icase;
        else if (f === 'm') pat.newline = !pat.newline;
        else if (f === 'x') pat.extended = !pat.extended;
        else {
          warn(`${this.where(lineno)}: unknown regexp option "${f}": skipping this rule`);
          return undefined;
        }
      } else if (f === 'i') pat.caseless = !pat.caseless;
      else if (f === 'm') pat.multiline = !pat.multiline;
      else if (f === 's') pat.dotall = !pat.dotall;
      else if (f === 'x') pat.pextended = !pat.pextended;
      else if (f === 'A') pat.anchored = !pat.anchored;
      else if (f === 'E') pat.dollarEndonly = !pat.dollarEndonly;
      else if (f === 'U') pat.ungreedy = !pat.ungreedy;
      else if (f === 'X') warn(`${this.where(lineno)}: ignoring obsolete regexp option "${f}"`);
      else {
        warn(`${this.where(lineno)}: unknown regexp option "${f}": skipping this rule`);
        return undefined;
      }
      i++;
    }
    return { pat, next: i };
  }

  /** Compile one pattern, or warn (Postfix's words) and return undefined. */
  private compile(pat: Pattern, lineno: number): Matcher | undefined {
    if (this.kind === 'regexp') {
      const r = compilePosix(pat.regexp, { extended: pat.extended, icase: pat.icase, newline: pat.newline });
      if (!r.ok) {
        warn(`${this.where(lineno)}: ${r.error}`);
        return undefined;
      }
      return this.guard(lineno, pat.regexp, () => new PosixMatcher(r.source, pat.icase, r.nsub, r.groupIndex, r.endAnchored));
    }
    const r = compilePcre(pat.regexp, {
      caseless: pat.caseless,
      multiline: pat.multiline,
      dotall: pat.dotall,
      extended: pat.pextended,
      anchored: pat.anchored,
      dollarEndonly: pat.dollarEndonly,
      ungreedy: pat.ungreedy,
    });
    if (!r.ok) {
      if ('unsupported' in r) {
        throw new DictError(
          'config',
          `pcre:${this.map}`,
          `${this.where(lineno)}: unsupported PCRE construct ${r.unsupported} in "${pat.regexp}": Postern cannot translate it to a JavaScript regular expression`,
        );
      }
      warn(`${this.where(lineno)}: ${r.error}`);
      return undefined;
    }
    return this.guard(lineno, pat.regexp, () => new PcreMatcher(r.source, r.sourceNoNewline, r.flags, r.captureCount, r.groupIndex));
  }

  /** A translation JS refuses is our bug, not the table's: fail loudly. */
  private guard(lineno: number, regexp: string, make: () => Matcher): Matcher {
    try {
      return make();
    } catch (err) {
      throw new DictError(
        'config',
        `${this.kind}:${this.map}`,
        `${this.where(lineno)}: cannot translate "${regexp}" to a JavaScript regular expression: ${(err as Error).message}`,
      );
    }
  }

  parseLine(line: string, lineno: number, nesting: number): Rule | undefined {
    const c0 = line.charCodeAt(0);
    const alnum = /[A-Za-z0-9]/.test(line[0]!) && c0 < 0x80;
    if (!alnum) return this.matchRule(line, lineno);
    if (/^if(?![A-Za-z0-9])/i.test(line)) {
      let i = 2;
      while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
      const got = this.getPattern(line, i, lineno);
      if (!got) return undefined;
      i = got.next;
      while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
      if (i < line.length) {
        warn(`${this.where(lineno)}: ignoring extra text after IF statement: "${line.slice(i)}"`);
        warn(`${this.where(lineno)}: do not prepend whitespace to statements between IF and ENDIF`);
      }
      const expr = this.compile(got.pat, lineno);
      if (!expr) return undefined;
      return { op: 'if', lineno, expr, match: got.pat.match, endif: -1 };
    }
    if (/^endif(?![A-Za-z0-9])/i.test(line)) {
      if (nesting === 0) {
        warn(`${this.where(lineno)}: ignoring ENDIF without matching IF`);
        return undefined;
      }
      let i = 5;
      while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
      if (i < line.length) warn(`${this.where(lineno)}: ignoring extra text after ENDIF`);
      return { op: 'endif', lineno };
    }
    warn(`${this.where(lineno)}: ignoring unrecognized request`);
    return undefined;
  }

  private matchRule(line: string, lineno: number): Rule | undefined {
    const first = this.getPattern(line, 0, lineno);
    if (!first) return undefined;
    let i = first.next;
    let second: Pattern | undefined;
    if (this.kind === 'regexp' && line[i] === '!') {
      const got = this.getPattern(line, i, lineno);
      if (!got) return undefined;
      second = got.pat;
      i = got.next;
    }
    while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
    if (i >= line.length) warn(`${this.where(lineno)}: no replacement text: using empty string`);
    let text = line.slice(i);
    if (this.dictFlags & DictFlag.SRC_RHS_IS_FILE) {
      const got = filesToBase64(text);
      if ('err' in got) {
        warn(`${this.where(lineno)}: ${got.err}: skipping this rule`);
        return undefined;
      }
      text = got.value;
    }
    const repl = parseReplacement(text, this.kind, this.map, lineno);
    if (!repl) {
      warn(`${this.where(lineno)}: bad replacement syntax: skipping this rule`);
      return undefined;
    }
    if (repl.maxSub > 0 && !first.pat.match) {
      warn(`${this.where(lineno)}: $number found in negative match replacement text: skipping this rule`);
      return undefined;
    }
    if (repl.maxSub > 0 && this.dictFlags & DictFlag.NO_REGSUB) {
      warn(`${this.where(lineno)}: regular expression substitution is not allowed: skipping this rule`);
      return undefined;
    }
    const firstExp = this.compile(first.pat, lineno);
    if (!firstExp) return undefined;
    if (repl.maxSub > firstExp.nsub) {
      warn(`${this.where(lineno)}: out of range replacement index "${repl.maxSubPrint}": skipping this rule`);
      return undefined;
    }
    let secondExp: Matcher | undefined;
    if (second) {
      secondExp = this.compile(second, lineno);
      if (!secondExp) return undefined;
    }
    return {
      op: 'match',
      lineno,
      first: firstExp,
      firstMatch: first.pat.match,
      second: secondExp,
      secondMatch: second?.match ?? true,
      repl,
    };
  }
}

/** A compiled regexp or pcre table. */
export class PatternTable implements LookupTable {
  flags: number;
  private constructor(
    readonly type: string,
    readonly name: string,
    flags: number,
    private readonly rules: Rule[],
  ) {
    this.flags = flags;
  }

  /** Parse and compile the table text (warnings go to msg.warn). */
  static fromText(kind: Kind, name: string, text: string, path: string, dictFlags: number): PatternTable {
    const compiler = new Compiler(kind, name, dictFlags);
    const rules: Rule[] = [];
    const stack: number[] = [];
    for (const { text: raw, lineno } of logicalLines(text, path)) {
      const line = trimTrailing(raw);
      if (line === '') continue;
      const rule = compiler.parseLine(line, lineno, stack.length);
      if (!rule) continue;
      if (rule.op === 'if') stack.push(rules.length);
      else if (rule.op === 'endif') {
        const at = stack.pop()!;
        (rules[at] as Extract<Rule, { op: 'if' }>).endif = rules.length;
      }
      rules.push(rule);
    }
    while (stack.length > 0) {
      const at = stack.pop()!;
      warn(`${kind} map ${name}, line ${rules[at]!.lineno}: IF has no matching ENDIF`);
    }
    return new PatternTable(kind, name, dictFlags | DictFlag.PATTERN, rules);
  }

  /** dict_regexp_lookup() / dict_pcre_lookup(), synchronously. */
  lookupSync(key: string): string | undefined {
    const nul = key.indexOf('\0');
    if (nul >= 0) key = key.slice(0, nul);
    if (this.flags & DictFlag.FOLD_MUL) key = asciiLower(key);
    const k = new KeyCtx(key);
    const rules = this.rules;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      switch (rule.op) {
        case 'match': {
          if (rule.first.test(k) !== rule.firstMatch) continue;
          if (rule.second && rule.second.test(k) !== rule.secondMatch) continue;
          if (rule.repl.maxSub === 0) return rule.repl.literal;
          const group = rule.first.groups(k);
          return expandReplacement(rule.repl, (n) => {
            const s = group?.(n);
            return s === undefined || s === '' ? undefined : s;
          });
        }
        case 'if':
          if (rule.expr.test(k) === rule.match) continue;
          // An IF without a matching ENDIF ends the search.
          if (rule.endif < 0) return undefined;
          r = rule.endif;
          continue;
        case 'endif':
          continue;
      }
    }
    return undefined;
  }

  async lookup(key: string): Promise<string | undefined> {
    return this.lookupSync(key);
  }

  async close(): Promise<void> {}
}

/** MapDriver.open for "regexp" and "pcre". */
export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  if (type !== 'regexp' && type !== 'pcre') {
    throw new DictError('config', `${type}:${name}`, `unsupported dictionary type: ${type}`);
  }
  requireReadOnly(type, name, opts);
  const { text, path } = await readTableSource(type, name);
  return PatternTable.fromText(type, name, text, path, opts.dictFlags);
}
