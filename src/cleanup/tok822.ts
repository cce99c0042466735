/**
 * cleanup/tok822.ts: RFC 822 address tokenizing and parsing the way
 * Postfix does it (global/tok822_parse.c, tok822_tree.c,
 * quote_822_local.c), so that header addresses extracted or rewritten by
 * cleanup and `sendmail -t` come out with Postfix's exact spacing and
 * quoting.
 *
 * Text is a byte string (latin1: one char per byte). The tokenizer keeps
 * every token (comments included) so a parsed header converts back to text;
 * the parser groups the tokens of each address under an ADDR node, working
 * from right to left: "<...>" routes, "name: a, b;" groups, and bare
 * words; missing commas between addresses are inserted.
 */

import { warn } from '../log/msg.js';

export const TOK_ATOM = 256;
export const TOK_QSTRING = 257;
export const TOK_COMMENT = 258;
export const TOK_DOMLIT = 259;
export const TOK_ADDR = 260;
export const TOK_STARTGRP = 261;

export const STR_NONE = 0;
export const STR_WIPE = 1 << 0;
export const STR_TERM = 1 << 1;
export const STR_LINE = 1 << 2;
export const STR_TRNC = 1 << 3;
export const STR_DEFL = STR_WIPE | STR_TERM;
export const STR_HEAD = STR_TERM | STR_LINE | STR_TRNC;

/** LEX_822_SPECIALS plus the "|%!" operators Postfix adds. */
const OPCHARS = '|%!()<>@,;:\\".[]';
const isOp = (c: string) => OPCHARS.includes(c);
const isSpTabCrLf = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isCntrl = (code: number) => code < 0x20 || code === 0x7f;

export class Tok {
  prev: Tok | null = null;
  next: Tok | null = null;
  head: Tok | null = null;
  tail: Tok | null = null;
  owner: Tok | null = null;
  constructor(
    public type: number,
    public text = '',
  ) {}
}

// Tree surgery (tok822_tree.c).

export function append(t1: Tok, t2: Tok): Tok {
  const next = t1.next;
  t1.next = t2;
  t2.prev = t1;
  t2.owner = t1.owner;
  let t = t2;
  while (t.next) {
    t = t.next;
    t.owner = t1.owner;
  }
  t.next = next;
  if (next) next.prev = t;
  return t;
}

export function prepend(t1: Tok, t2: Tok): Tok {
  const prev = t1.prev;
  if (prev) prev.next = t2;
  t2.prev = prev;
  t2.owner = t1.owner;
  let t = t2;
  while (t.next) {
    t = t.next;
    t.owner = t1.owner;
  }
  t.next = t1;
  t1.prev = t;
  return t;
}

export function cutBefore(tp: Tok): Tok | null {
  const prev = tp.prev;
  if (prev) {
    prev.next = null;
    tp.prev = null;
  }
  return prev;
}

export function cutAfter(tp: Tok): Tok | null {
  const next = tp.next;
  if (next) {
    next.prev = null;
    tp.next = null;
  }
  return next;
}

export function unlink(tp: Tok): Tok | null {
  const { prev, next } = tp;
  if (prev) prev.next = next;
  if (next) next.prev = prev;
  tp.prev = tp.next = null;
  return prev;
}

export function subAppend(t1: Tok, t2: Tok): Tok {
  if (t1.head && t1.tail) {
    t1.tail = append(t1.tail, t2);
    return t1.tail;
  }
  t1.head = t2;
  t2.owner = t1;
  let t = t2;
  while (t.next) {
    t = t.next;
    t.owner = t1;
  }
  t1.tail = t;
  return t;
}

export function subPrepend(t1: Tok, t2: Tok): Tok {
  if (t1.head) {
    const tp = prepend(t1.head, t2);
    t1.head = t2;
    return tp;
  }
  t1.head = t2;
  t2.owner = t1;
  let t = t2;
  while (t.next) {
    t = t.next;
    t.owner = t1;
  }
  t1.tail = t;
  return t;
}

export function subKeepBefore(t1: Tok, t2: Tok): void {
  t1.tail = cutBefore(t2);
  if (t1.tail === null) t1.head = null;
}

export function subKeepAfter(t1: Tok, t2: Tok): void {
  t1.head = cutAfter(t2);
  if (t1.head === null) t1.tail = null;
}

export function findType(from: Tok | null, type: number): Tok | null {
  for (let t = from; t; t = t.next) if (t.type === type) return t;
  return null;
}

export function rfindType(from: Tok | null, type: number): Tok | null {
  for (let t = from; t; t = t.prev) if (t.type === type) return t;
  return null;
}

/** tok822_grep(): the tokens of one level with the given type. */
export function grep(tree: Tok | null, type: number): Tok[] {
  const out: Tok[] = [];
  for (let t = tree; t; t = t.next) if (type === 0 || t.type === type) out.push(t);
  return out;
}

// Tokenizer.

/** COLLECT(): copy while `cond`, honour backslash, fold white space to ' '. */
function collect(s: string, i: number, cond: (c: string) => boolean, tp: Tok): number {
  let out = '';
  while (i < s.length) {
    let c = s[i]!;
    if (c === '\\') {
      i++;
      if (i >= s.length) break;
      c = s[i]!;
    } else if (!cond(c)) {
      break;
    }
    out += isSpTabCrLf(c) ? ' ' : c;
    i++;
  }
  tp.text = out;
  return i;
}

function comment(s: string, i: number, tp: Tok): number {
  let level = 1;
  let out = '(';
  while (i < s.length) {
    const c = s[i]!;
    out += c;
    i++;
    if (c === '(') level++;
    else if (c === ')') {
      if (--level === 0) break;
    } else if (c === '\\') {
      if (i >= s.length) break;
      out += s[i];
      i++;
    }
  }
  tp.text = out;
  return i;
}

/** tok822_scan_limit(): the flat token list of `str`. */
export function scan(str: string, limit = 0): { head: Tok | null; tail: Tok | null } {
  let head: Tok | null = null;
  let tail: Tok | null = null;
  let count = 0;
  let i = 0;
  // The C code stops at a NUL byte.
  const z = str.indexOf('\0');
  const s = z < 0 ? str : str.slice(0, z);
  while (i < s.length) {
    const c = s[i++]!;
    if (isSpTabCrLf(c)) continue;
    let tp: Tok;
    if (c === '(') {
      tp = new Tok(TOK_COMMENT);
      i = comment(s, i, tp);
    } else if (c === '[') {
      tp = new Tok(TOK_DOMLIT);
      i = collect(s, i, (ch) => ch !== ']', tp);
      if (i < s.length) i++;
    } else if (c === '"') {
      tp = new Tok(TOK_QSTRING);
      i = collect(s, i, (ch) => ch !== '"', tp);
      if (i < s.length) i++;
    } else if (c !== '\\' && isOp(c)) {
      tp = new Tok(c.charCodeAt(0));
    } else {
      tp = new Tok(TOK_ATOM);
      i = collect(s, i - 1, (ch) => !isSpTabCrLf(ch) && !isOp(ch), tp);
      for (const ch of tp.text) {
        if (ch === ' ' || isCntrl(ch.charCodeAt(0)) || isOp(ch)) {
          tp.type = TOK_QSTRING;
          break;
        }
      }
    }
    if (head === null) {
      head = tail = tp;
    } else {
      tail = append(tail!, tp);
    }
    if (limit > 0 && ++count >= limit) break;
  }
  return { head, tail };
}

/** tok822_group(): put the tokens strictly between left and right under a new node. */
function group(type: number, left: Tok, right: Tok, syncType: number): Tok {
  const first = left.next;
  if (left !== right && first && first !== right) {
    cutBefore(right);
    cutBefore(first);
    const g = new Tok(type);
    subAppend(g, first);
    append(left, g);
    append(g, right);
    if (syncType) append(left, new Tok(syncType));
  }
  return left;
}

const DO_WORD = 1;
const DO_GROUP = 2;
const COMMA = 0x2c;

/** tok822_parse_limit(): token tree with one ADDR node per address. */
export function parse(str: string, limit = 0): Tok | null {
  const { head: first, tail: last } = scan(str, limit);
  if (!first || !last) return null;
  const head = new Tok(0);
  head.next = first;
  first.prev = head;
  const tail = new Tok(0);
  last.next = tail;
  tail.prev = last;

  let state = DO_WORD;
  let right: Tok = tail;
  let tp: Tok = tail.prev!;
  const moveComment = () => {
    const prev = unlink(tp)!;
    prepend(right, tp);
    right = tp;
    tp = prev;
  };
  while (tp.type) {
    if (tp.type === TOK_COMMENT) {
      moveComment();
      continue;
    }
    if (tp.type === 0x3b /* ; */) {
      right = group(TOK_ADDR, tp, right, COMMA);
      state = DO_GROUP | DO_WORD;
    } else if (tp.type === 0x3a /* : */ && state & DO_GROUP) {
      tp.type = TOK_STARTGRP;
      group(TOK_ADDR, tp, right, 0);
      while (tp.type && tp.type !== COMMA) tp = tp.prev!;
      right = tp;
      continue;
    } else if (tp.type === 0x3e /* > */) {
      right = group(TOK_ADDR, tp, right, COMMA);
      while (tp.type && tp.type !== 0x3c /* < */) {
        if (tp.type === TOK_COMMENT) {
          moveComment();
          continue;
        }
        tp = tp.prev!;
      }
      group(TOK_ADDR, tp, right, 0);
      while (tp.type && (tp.type > 0xff || !'>;,:'.includes(String.fromCharCode(tp.type)))) tp = tp.prev!;
      right = tp;
      state |= DO_WORD;
      continue;
    } else if (tp.type === TOK_ATOM || tp.type === TOK_QSTRING || tp.type === TOK_DOMLIT) {
      if ((state & DO_WORD) === 0) right = group(TOK_ADDR, tp, right, COMMA).next!;
      state &= ~DO_WORD;
    } else if (tp.type === COMMA) {
      right = group(TOK_ADDR, tp, right, 0);
      state |= DO_WORD;
    } else {
      state |= DO_WORD;
    }
    tp = tp.prev!;
  }
  group(TOK_ADDR, tp, right, 0);
  const result = head.next !== tail ? head.next : null;
  if (head.next) cutBefore(head.next);
  cutBefore(tail);
  return result;
}

function appendSpace(tp: Tok): boolean {
  const next = tp.next;
  if (!next || tp.owner !== null) return false;
  if (tp.type === COMMA || tp.type === TOK_STARTGRP || next.type === 0x3c) return true;
  const nonOp = (t: Tok) =>
    t.type === TOK_ATOM || t.type === TOK_QSTRING || t.type === TOK_COMMENT || t.type === TOK_DOMLIT || t.type === TOK_ADDR;
  return nonOp(tp) && nonOp(next);
}

/** tok822_internalize(): tokens to text, unquoted. */
export function internalize(tree: Tok | null, flags = STR_NONE): string {
  let out = '';
  for (let tp = tree; tp; tp = tp.next) {
    switch (tp.type) {
      case COMMA:
        out += ',';
        if (flags & STR_LINE) {
          out += '\n';
          continue;
        }
        break;
      case TOK_ADDR:
        out += internalize(tp.head, STR_NONE);
        break;
      case TOK_COMMENT:
      case TOK_ATOM:
      case TOK_QSTRING:
        out += tp.text;
        break;
      case TOK_DOMLIT:
        out += `[${tp.text}]`;
        break;
      case TOK_STARTGRP:
        out += ':';
        break;
      default:
        out += String.fromCharCode(tp.type);
    }
    if (appendSpace(tp)) out += ' ';
  }
  return out;
}

function copyQuoted(text: string, quoteSet: string): string {
  let out = '';
  for (const c of text) out += quoteSet.includes(c) ? `\\${c}` : c;
  return out;
}

const MAX_NONADDR_LENGTH = 250;

/** tok822_externalize(): tokens to text, quoted as needed. */
export function externalize(tree: Tok | null, flags = STR_NONE): string {
  let out = '';
  let start = 0;
  let addr: Tok | null = null;
  let addrLen = 0;
  const reset = () => {
    start = out.length;
    addr = null;
    addrLen = 0;
  };
  const enforce = () => {
    if (addr && out.length - addrLen > start + MAX_NONADDR_LENGTH) {
      warn(`stripping too many comments from address: ${printable(out.slice(start)).slice(0, 100)}...`);
      out = `${out.slice(0, start)}<${addr.type === TOK_ADDR ? quote822Local(internalize(addr.head), true) : ''}>`;
    }
  };
  if (flags & STR_TRNC) reset();
  for (let tp = tree; tp; tp = tp.next) {
    switch (tp.type) {
      case COMMA:
        if (flags & STR_TRNC) enforce();
        out += `,${flags & STR_LINE ? '\n' : ' '}`;
        if (flags & STR_TRNC) reset();
        continue;
      case TOK_ADDR: {
        addr = tp;
        const q = quote822Local(internalize(tp.head), true);
        out += q;
        addrLen = q.length;
        break;
      }
      case TOK_ATOM:
      case TOK_COMMENT:
        out += tp.text;
        break;
      case TOK_QSTRING:
        out += `"${copyQuoted(tp.text, '"\\\r\n')}"`;
        break;
      case TOK_DOMLIT:
        out += `[${copyQuoted(tp.text, '\\\r\n')}]`;
        break;
      case TOK_STARTGRP:
        out += ':';
        break;
      case 0x3c:
        if (tp.next && tp.next.type === 0x3e) {
          addr = tp;
          addrLen = 0;
        }
        out += '<';
        break;
      default:
        out += String.fromCharCode(tp.type);
    }
    if (appendSpace(tp)) out += ' ';
  }
  if (flags & STR_TRNC) enforce();
  return out;
}

// quote_822_local.c

function isDotString(local: string, eightBitClean: boolean): boolean {
  if (local.length === 0 || local[0] === '.') return false;
  for (let i = 0; i < local.length; i++) {
    const ch = local.charCodeAt(i);
    if (ch === 0x2e && local.charCodeAt(i + 1) === 0x2e) return false;
    if (ch > 127 && !eightBitClean) return false;
    if (ch === 0x20 || isCntrl(ch)) return false;
    if ('()<>@,;:\\"[]'.includes(local[i]!)) return false;
  }
  return local[local.length - 1] !== '.';
}

/** printable(): non-printable bytes become '?'. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e\x80-\xff]/g, '?');
}

/** quote_822_local(): quote the local part when it is not a dot-string. */
export function quote822Local(mbox: string, eightBitClean = false): string {
  const z = mbox.indexOf('\0');
  const m = z < 0 ? mbox : mbox.slice(0, z);
  let start = 0;
  if (m[0] === '@') {
    const colon = m.indexOf(':');
    if (colon >= 0) start = colon + 1;
  }
  const at = m.lastIndexOf('@');
  const end = at >= start ? at : m.length;
  const local = m.slice(start, end);
  if (isDotString(local, eightBitClean)) return m;
  let q = '"';
  for (let i = 0; i < local.length; i++) {
    const c = local[i]!;
    const code = local.charCodeAt(i);
    if ((code > 127 && !eightBitClean) || c === '"' || c === '\\' || c === '\r') q += '\\';
    q += c;
  }
  return `${m.slice(0, start)}${q}"${m.slice(end)}`;
}

/** unquote_822_local(): remove quoting from the local part. */
export function unquote822Local(mbox: string): string {
  let start = 0;
  let out = '';
  if (mbox[0] === '@') {
    const colon = mbox.indexOf(':');
    if (colon >= 0) {
      start = colon + 1;
      out = mbox.slice(0, start);
    }
  }
  let inQuote = false;
  let bareAtDst = -1;
  let bareAtSrc = -1;
  for (let i = start; i < mbox.length; i++) {
    let c = mbox[i]!;
    if (c === '\0') break;
    if (c === '"') {
      inQuote = !inQuote;
      continue;
    }
    if (c === '@') {
      if (!inQuote) {
        bareAtDst = out.length;
        bareAtSrc = i;
      }
    } else if (c === '\\') {
      if (i + 1 >= mbox.length) continue;
      c = mbox[++i]!;
    }
    out += c;
  }
  if (bareAtDst >= 0) out = out.slice(0, bareAtDst) + mbox.slice(bareAtSrc);
  return out;
}

/** The internal (unquoted) form of each address in a header value or argument. */
export function extractAddresses(text: string, limit = 0): string[] {
  const tree = parse(text, limit);
  return grep(tree, TOK_ADDR).map((a) => internalize(a.head));
}
