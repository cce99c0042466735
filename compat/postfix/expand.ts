/**
 * postfix/expand.ts: `$name` expansion in main.cf/master.cf values, as
 * Postfix's mac_parse(3) and mac_expand(3) do it.
 *
 * Forms (postconf(5) "Parameter expansion"):
 *   $name  ${name}  $(name)            value of name ('' and a warning if undefined)
 *   ${name?value} ${name?{value}}      value if name is non-empty
 *   ${name:value} ${name:{value}}      value if name is empty or undefined
 *   ${name?{a}:{b}}                    ternary
 *   ${{a} == {b}?{x}:{y}}              relational: == != < <= >= > (numeric when both
 *                                      sides are all digits), and <level … for
 *                                      compatibility levels (compat_level.c)
 *   $$                                 a literal $
 * Diagnostics use Postfix's exact words; the caller decides whether a parse
 * error is fatal ("macro processing error").
 */

import { compareBytes } from './strops.js';

export const MAC_PARSE_ERROR = 1;
export const MAC_PARSE_UNDEF = 2;

/** Lookup callback: mode 'use' for $name, 'test' for ${name?…}/${name:…}. */
export type MacroLookup = (name: string, mode: 'use' | 'test') => string | undefined;

export interface ExpandOptions {
  /** Expand the values that lookups return, recursively (MAC_EXP_FLAG_RECURSE). */
  recurse?: boolean;
  /** Only parse and call lookup for every name; produce no text (MAC_EXP_FLAG_SCAN). */
  scan?: boolean;
  /**
   * MAC_EXP_FLAG_PRINTABLE: replace unprintable characters in looked-up
   * values by '_' (printable(3)); 'utf8' keeps non-ASCII text.
   */
  printable?: 'ascii' | 'utf8';
  /** Receives warnings (Postfix: msg_warn). */
  warn: (text: string) => void;
}

export interface ExpandResult {
  value: string;
  status: number;
}

const WHITESPACE = ' \t\r\n\f\v';
const isSpace = (c: string | undefined) => c !== undefined && c !== '' && WHITESPACE.includes(c);
const isAlnum = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9]$/.test(c);

type Relop = '==' | '!=' | '<' | '<=' | '>=' | '>';
const RELOPS: readonly string[] = ['==', '!=', '<', '<=', '>=', '>'];
const OPS_EXPECTED = '"==" or "!=""" or "<"" or "<="" or ">="" or ">"';

function relopResult(op: Relop, delta: number): boolean {
  switch (op) {
    case '==':
      return delta === 0;
    case '!=':
      return delta !== 0;
    case '<':
      return delta < 0;
    case '<=':
      return delta <= 0;
    case '>=':
      return delta >= 0;
    case '>':
      return delta > 0;
  }
}

const allDigits = (s: string) => s.length > 0 && /^[0-9]+$/.test(s);

/** strtol-like prefix parse: optional blanks and sign, then digits. */
function strtolPrefix(s: string): { value: number; rest: string } | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  if (!m) return undefined;
  return { value: Number(m[1]), rest: s.slice(m[0].length) };
}

/**
 * compat_level_from_string(): "major[.minor[.patch]]" to a comparable number,
 * or undefined after warning "malformed compatibility level syntax".
 */
export function compatLevelFromString(str: string, warn?: (t: string) => void): number | undefined {
  const major = strtolPrefix(str);
  if (major && (major.rest === '' || major.rest[0] === '.') && major.value >= 0 && major.value < 2048) {
    let res = major.value * 2 ** 20;
    if (major.rest === '') return res;
    const minor = strtolPrefix(major.rest.slice(1));
    if (minor && (minor.rest === '' || minor.rest[0] === '.') && minor.value >= 0 && minor.value < 1024) {
      res += minor.value * 1024;
      if (minor.rest === '') return res;
      const patch = strtolPrefix(minor.rest.slice(1));
      if (patch && patch.rest === '' && patch.value >= 0 && patch.value < 1024) return res + patch.value;
    }
  }
  warn?.(`malformed compatibility level syntax: "${str}"`);
  return undefined;
}

interface Ctx {
  result: string[];
  opts: ExpandOptions;
  lookup: MacroLookup;
  status: number;
  level: number;
}

/** Split a value into literal text and macro references (mac_parse). */
function macParse(value: string, action: (type: 'literal' | 'expr', text: string) => number, warn: (t: string) => void): number {
  let status = 0;
  let buf = '';
  let vp = 0;
  const n = value.length;
  while (vp < n) {
    const c = value[vp]!;
    if (c !== '$') {
      buf += c;
      vp += 1;
    } else if (value[vp + 1] === '$') {
      buf += '$';
      vp += 2;
    } else {
      if (buf.length > 0) {
        status |= action('literal', buf);
        buf = '';
      }
      vp += 1;
      const open = value[vp];
      if (open === '{' || open === '(') {
        const close = open === '{' ? '}' : ')';
        let level = 1;
        vp += 1;
        let ep = vp;
        let truncated = false;
        while (level > 0) {
          if (ep >= n) {
            warn(`truncated macro reference: "${value}"`);
            status |= MAC_PARSE_ERROR;
            truncated = true;
            break;
          }
          if (value[ep] === open) level++;
          if (value[ep] === close) level--;
          ep++;
        }
        if (truncated) break;
        buf += value.slice(vp, ep - 1);
        vp = ep;
      } else {
        let ep = vp;
        while (ep < n && (isAlnum(value[ep]) || value[ep] === '_')) ep++;
        buf += value.slice(vp, ep);
        vp = ep;
      }
      if (buf.length === 0) {
        status |= MAC_PARSE_ERROR;
        warn(`empty macro name: "${value}"`);
        break;
      }
      status |= action('expr', buf);
      buf = '';
    }
  }
  if (buf.length > 0 && (status & MAC_PARSE_ERROR) === 0) status |= action('literal', buf);
  return status;
}

/** A cursor over the text of one macro expression. */
class Cursor {
  constructor(
    readonly s: string,
    public p = 0,
  ) {}
  get rest(): string {
    return this.s.slice(this.p);
  }
  spanWs(): number {
    let k = this.p;
    while (k < this.s.length && isSpace(this.s[k])) k++;
    return k - this.p;
  }
  /** MAC_EXP_FIND_LEFT_CURLY: skip blanks if a '{' follows them. */
  findLeftCurly(): boolean {
    const k = this.spanWs();
    if (this.s[this.p + k] === '{') {
      this.p += k;
      return true;
    }
    return false;
  }
}

function parseError(ctx: Ctx, text: string): number {
  ctx.opts.warn(text);
  return (ctx.status |= MAC_PARSE_ERROR);
}

/** Extract a balanced {payload}; skips blanks after the closing brace. */
function curlyPayload(ctx: Ctx, cur: Cursor): string | undefined {
  const start = cur.p;
  let level = 1;
  let k = start + 1;
  for (;; k++) {
    if (k >= cur.s.length) {
      parseError(ctx, `unbalanced {} in attribute expression: "${cur.s.slice(start)}"`);
      return undefined;
    }
    const ch = cur.s[k];
    if (ch === '{') level++;
    else if (ch === '}' && --level <= 0) break;
  }
  const payload = cur.s.slice(start + 1, k);
  cur.p = k + 1;
  cur.p += cur.spanWs();
  return payload;
}

function clip20(s: string): string {
  return s.slice(0, 20);
}

/** Relational expression {a} op {b}: returns 'true' / '' as a fake lookup, or undefined on error. */
function parseRelational(ctx: Ctx, cur: Cursor): { lookup: string | undefined } | undefined {
  const left = curlyPayload(ctx, cur);
  if (left === undefined) return undefined;
  const opPos = cur.p;
  let opLen = 0;
  while (opPos + opLen < cur.s.length && '<>!=?+-*/~&|%'.includes(cur.s[opPos + opLen]!)) opLen++;
  const opStr = cur.s.slice(opPos, opPos + opLen);
  if (!RELOPS.includes(opStr)) {
    parseError(ctx, `${OPS_EXPECTED} expected at: "...${left}}>>>${clip20(cur.rest)}"`);
    return undefined;
  }
  cur.p += opLen;
  let compatOp = false;
  if (isAlnum(cur.s[cur.p])) {
    const typePos = cur.p;
    let typeLen = 1;
    while (isAlnum(cur.s[cur.p + typeLen])) typeLen++;
    cur.p += typeLen;
    const suffix = cur.s.slice(typePos, typePos + typeLen);
    if (suffix !== 'level') {
      parseError(ctx, `bad operator suffix at: "...${opStr}>>>${suffix}"`);
      return undefined;
    }
    compatOp = true;
  }
  if (!cur.findLeftCurly()) {
    parseError(ctx, `"{expression}" expected at: "...{${left}} ${opStr}>>>${clip20(cur.rest)}"`);
    return undefined;
  }
  const right = curlyPayload(ctx, cur);
  if (right === undefined) return undefined;
  const l = expandInto(ctx, left);
  const r = expandInto(ctx, right);
  if (ctx.status & MAC_PARSE_ERROR) return undefined;
  if (ctx.opts.scan) return { lookup: undefined };
  let truth: boolean;
  if (compatOp) {
    const lv = compatLevelFromString(l, ctx.opts.warn);
    const rv = lv === undefined ? undefined : compatLevelFromString(r, ctx.opts.warn);
    if (lv === undefined || rv === undefined) {
      ctx.status |= MAC_PARSE_ERROR;
      return undefined;
    }
    truth = relopResult(opStr as Relop, lv - rv);
  } else {
    const delta = allDigits(l) && allDigits(r) ? Number(l) - Number(r) : compareBytes(l, r);
    truth = relopResult(opStr as Relop, delta);
  }
  return { lookup: truth ? 'true' : '' };
}

/** Expand a sub-expression (operand of a relational) into a separate string. */
function expandInto(ctx: Ctx, pattern: string): string {
  const saved = ctx.result;
  ctx.result = [];
  ctx.status |= macParse(pattern, (t, b) => callback(ctx, t, b), ctx.opts.warn);
  const text = ctx.result.join('');
  ctx.result = saved;
  return text;
}

function callback(ctx: Ctx, type: 'literal' | 'expr', buf: string): number {
  if (ctx.level++ > 100) parseError(ctx, `unreasonable macro call nesting: "${buf}"`);
  if (ctx.status & MAC_PARSE_ERROR) return ctx.status;

  if (type === 'expr') {
    const cur = new Cursor(buf);
    let lookup: string | undefined;
    let ch: string | undefined;
    if (cur.findLeftCurly()) {
      const rel = parseRelational(ctx, cur);
      if (rel === undefined) return ctx.status;
      lookup = rel.lookup;
      ch = cur.s[cur.p];
      if (ch !== undefined) {
        if (ch !== '?' && ch !== ':') return parseError(ctx, `"?" or ":" expected at: "...}>>>${clip20(cur.rest)}"`);
        cur.p++;
      }
    } else {
      cur.p += cur.spanWs();
      const start = cur.p;
      let nameEnd: number;
      let mode: 'use' | 'test';
      for (;; cur.p++) {
        const k = cur.spanWs();
        ch = cur.s[cur.p + k];
        if (ch === undefined) {
          nameEnd = cur.p;
          mode = 'use';
          break;
        }
        if (ch === '?' || ch === ':') {
          nameEnd = cur.p;
          cur.p += 1 + k;
          mode = 'test';
          break;
        }
        const c = cur.s[cur.p]!;
        if (!isAlnum(c) && c !== '_') {
          return parseError(ctx, `attribute name syntax error at: "...${buf.slice(0, cur.p)}>>>${clip20(cur.rest)}"`);
        }
      }
      lookup = ctx.lookup(buf.slice(start, nameEnd), mode);
    }

    // A result operand: {text} (blanks around it skipped), or the rest of the expression.
    const operand = (): string | undefined => {
      if (cur.findLeftCurly()) return curlyPayload(ctx, cur);
      const rest = cur.rest;
      cur.p = cur.s.length;
      return rest;
    };
    const parseIf = (text: string, wanted: boolean) => {
      if (wanted || ctx.opts.scan) ctx.status |= macParse(text, (t, b) => callback(ctx, t, b), ctx.opts.warn);
    };
    const isSet = lookup !== undefined && lookup !== '';
    // The '?' branch continues into the ':' branch, exactly as mac_expand.c does.
    const elseBranch = (): number | undefined => {
      const ifFalse = operand();
      if (ifFalse === undefined) return ctx.status;
      parseIf(ifFalse, !isSet);
      if (cur.p < cur.s.length) return parseError(ctx, `unexpected input at: "...${ifFalse}}>>>${clip20(cur.rest)}"`);
      return undefined;
    };
    switch (ch) {
      case '?': {
        const ifTrue = operand();
        if (ifTrue === undefined) return ctx.status;
        parseIf(ifTrue, isSet);
        if (cur.p >= cur.s.length) break;
        if (cur.s[cur.p] !== ':') return parseError(ctx, `":" expected at: "...${ifTrue}}>>>${clip20(cur.rest)}"`);
        cur.p += 1;
        const r = elseBranch();
        if (r !== undefined) return r;
        break;
      }
      case ':': {
        const r = elseBranch();
        if (r !== undefined) return r;
        break;
      }
      default:
        if (lookup === undefined) ctx.status |= MAC_PARSE_UNDEF;
        else if (lookup === '' || ctx.opts.scan) {
          /* nothing */
        } else if (ctx.opts.recurse) {
          ctx.status |= macParse(lookup, (t, b) => callback(ctx, t, b), ctx.opts.warn);
        } else ctx.result.push(ctx.opts.printable ? printable(lookup, ctx.opts.printable) : lookup);
    }
  } else if (!ctx.opts.scan) {
    ctx.result.push(buf);
  }
  ctx.level--;
  return ctx.status;
}

/** printable(3): control characters (and, for 'ascii', non-ASCII ones) become '_'. */
function printable(text: string, mode: 'ascii' | 'utf8'): string {
  return mode === 'ascii' ? text.replace(/[^\x20-\x7e]/g, '_') : text.replace(/[\x00-\x1f\x7f]/g, '_');
}

/** mac_expand(): expand `pattern`, calling `lookup` for each name. */
export function macExpand(pattern: string, lookup: MacroLookup, opts: ExpandOptions): ExpandResult {
  const ctx: Ctx = { result: [], opts, lookup, status: 0, level: 0 };
  const status = macParse(pattern, (t, b) => callback(ctx, t, b), opts.warn);
  return { value: ctx.result.join(''), status: status | ctx.status };
}
