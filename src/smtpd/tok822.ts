/**
 * smtpd/tok822.ts: the RFC 822 address tokenizer and parser Postfix uses
 * for envelope addresses (tok822_parse.c, tok822_tree.c), plus
 * quote_822_local()/unquote_822_local() (quote_822_local.c).
 *
 * Tokens live in doubly linked lists, as in Postfix, because the address
 * rewriting and resolving code (resolve.ts) edits them in place: cut a list
 * before a token, append a saved domain, swap "site!user" around. Token
 * types below 256 are single-character operators (their char code); the
 * others are ATOM, QSTRING, DOMLIT, COMMENT, STARTGRP and ADDR (a group
 * whose children hang off head/tail).
 *
 * Standards: RFC 822 §3 (lexical tokens), with Postfix's extensions: "%",
 * "!" and "|" are operators, 8-bit data is passed through.
 */

export const TOK_ATOM = 256;
export const TOK_QSTRING = 257;
export const TOK_DOMLIT = 258;
export const TOK_COMMENT = 259;
export const TOK_STARTGRP = 260;
export const TOK_ADDR = 261;
const TOK_MINTOK = 256;

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

const code = (c: string): number => c.charCodeAt(0);
const SPECIALS = '()<>@,;:\\".[]';
const OPCHARS = '|%!' + SPECIALS;
const isSpaceTabCrLf = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

// --- list operations (tok822_tree.c) ---

export function tokAppend(t1: Tok, t2: Tok): Tok {
  const next = t1.next;
  t1.next = t2;
  t2.prev = t1;
  t2.owner = t1.owner;
  while (t2.next) (t2 = t2.next).owner = t1.owner;
  t2.next = next;
  if (next) next.prev = t2;
  return t2;
}

export function tokPrepend(t1: Tok, t2: Tok): Tok {
  const prev = t1.prev;
  if (prev) prev.next = t2;
  t2.prev = prev;
  t2.owner = t1.owner;
  while (t2.next) (t2 = t2.next).owner = t1.owner;
  t2.next = t1;
  t1.prev = t2;
  return t2;
}

export function tokCutBefore(tp: Tok): Tok | null {
  const prev = tp.prev;
  if (prev) {
    prev.next = null;
    tp.prev = null;
  }
  return prev;
}

export function tokCutAfter(tp: Tok): Tok | null {
  const next = tp.next;
  if (next) {
    next.prev = null;
    tp.next = null;
  }
  return next;
}

export function tokUnlink(tp: Tok): Tok | null {
  const prev = tp.prev;
  const next = tp.next;
  if (prev) prev.next = next;
  if (next) next.prev = prev;
  tp.prev = tp.next = null;
  return prev;
}

export function tokSubAppend(t1: Tok, t2: Tok): Tok {
  if (t1.head) return (t1.tail = tokAppend(t1.tail!, t2));
  t1.head = t2;
  t2.owner = t1;
  while (t2.next) (t2 = t2.next).owner = t1;
  return (t1.tail = t2);
}

export function tokSubPrepend(t1: Tok, t2: Tok): Tok {
  if (t1.head) {
    const tp = tokPrepend(t1.head, t2);
    t1.head = t2;
    return tp;
  }
  t1.head = t2;
  t2.owner = t1;
  while (t2.next) (t2 = t2.next).owner = t1;
  return (t1.tail = t2);
}

/** Keep the tokens before t2; returns the old tail (t2 and after are detached). */
export function tokSubKeepBefore(t1: Tok, t2: Tok): Tok | null {
  const tail = t1.tail;
  if ((t1.tail = tokCutBefore(t2)) === null) t1.head = null;
  return tail;
}

/** Keep the tokens after t2; returns the old head. */
export function tokSubKeepAfter(t1: Tok, t2: Tok): Tok | null {
  const head = t1.head;
  if ((t1.head = tokCutAfter(t2)) === null) t1.tail = null;
  return head;
}

export function tokFindType(head: Tok | null, type: number): Tok | null {
  for (let tp = head; tp; tp = tp.next) if (tp.type === type) return tp;
  return null;
}

export function tokRfindType(tail: Tok | null, type: number): Tok | null {
  for (let tp = tail; tp; tp = tp.prev) if (tp.type === type) return tp;
  return null;
}

// --- tokenizer ---

/** COLLECT(): copy chars while cond holds; backslash quotes the next char. */
function collect(tp: Tok, s: string, i: number, cond: (c: string) => boolean): number {
  let out = '';
  while (i < s.length) {
    let c = s[i];
    if (c === '\\') {
      if (++i >= s.length) break;
      c = s[i];
    } else if (!cond(c)) {
      break;
    }
    out += isSpaceTabCrLf(c) ? ' ' : c;
    i++;
  }
  tp.text += out;
  return i;
}

function scanComment(tp: Tok, s: string, i: number): number {
  let level = 1;
  let out = '(';
  while (i < s.length) {
    const c = s[i++];
    out += c;
    if (c === '(') level++;
    else if (c === ')') {
      if (--level === 0) break;
    } else if (c === '\\') {
      if (i >= s.length) break;
      out += s[i++];
    }
  }
  tp.text = out;
  return i;
}

function quoteAtom(tp: Tok): void {
  for (let i = 0; i < tp.text.length; i++) {
    const c = tp.text.charCodeAt(i);
    if (c === 0x20 || c < 0x20 || c === 0x7f || OPCHARS.includes(tp.text[i])) {
      tp.type = TOK_QSTRING;
      return;
    }
  }
}

/** tok822_scan_limit(): tokenize a string into a flat list; returns [head, tail]. */
export function tokScan(s: string, limit = 0): [Tok | null, Tok | null] {
  let head: Tok | null = null;
  let tail: Tok | null = null;
  let count = 0;
  let i = 0;
  while (i < s.length) {
    const ch = s[i++];
    if (isSpaceTabCrLf(ch)) continue;
    let tp: Tok;
    if (ch === '(') {
      tp = new Tok(TOK_COMMENT);
      i = scanComment(tp, s, i);
    } else if (ch === '[') {
      tp = new Tok(TOK_DOMLIT);
      i = collect(tp, s, i, (c) => c !== ']');
      if (i < s.length) i++;
    } else if (ch === '"') {
      tp = new Tok(TOK_QSTRING);
      i = collect(tp, s, i, (c) => c !== '"');
      if (i < s.length) i++;
    } else if (ch !== '\\' && OPCHARS.includes(ch)) {
      tp = new Tok(code(ch));
    } else {
      tp = new Tok(TOK_ATOM);
      i = collect(tp, s, i - 1, (c) => !isSpaceTabCrLf(c) && !OPCHARS.includes(c));
      quoteAtom(tp);
    }
    if (head === null) {
      head = tail = tp;
    } else {
      tail = tokAppend(tail!, tp);
    }
    if (limit > 0 && ++count >= limit) break;
  }
  return [head, tail];
}

/** tok822_scan_addr(): one ADDR node holding the tokens of an address. */
export function tokScanAddr(s: string): Tok {
  const tree = new Tok(TOK_ADDR);
  const [h, t] = tokScan(s);
  tree.head = h;
  tree.tail = t;
  return tree;
}

// --- parser (right to left, as tok822_parse_limit) ---

function group(type: number, left: Tok, right: Tok, sync: number): Tok {
  const first = left.next;
  if (left !== right && first !== right && first) {
    tokCutBefore(right);
    tokCutBefore(first);
    const g = new Tok(type);
    tokSubAppend(g, first);
    tokAppend(left, g);
    tokAppend(g, right);
    if (sync) tokAppend(left, new Tok(sync));
  }
  return left;
}

const DO_WORD = 1;
const DO_GROUP = 2;
const COMMA = code(',');

/** tok822_parse_limit(): a token list with addresses grouped into ADDR nodes. */
export function tokParse(s: string, limit = 0): Tok | null {
  const [first, last] = tokScan(s, limit);
  if (first === null) return null;
  const head = new Tok(0);
  const tail = new Tok(0);
  head.next = first;
  first.prev = head;
  last!.next = tail;
  tail.prev = last;

  let state = DO_WORD;
  let right: Tok = tail;
  let tp: Tok = tail.prev!;
  const moveComment = () => {
    const prev = tokUnlink(tp)!;
    right = tokPrepend(right, tp);
    tp = prev;
  };
  while (tp.type) {
    if (tp.type === TOK_COMMENT) {
      moveComment();
      continue;
    }
    if (tp.type === code(';')) {
      right = group(TOK_ADDR, tp, right, COMMA);
      state = DO_GROUP | DO_WORD;
    } else if (tp.type === code(':') && state & DO_GROUP) {
      tp.type = TOK_STARTGRP;
      group(TOK_ADDR, tp, right, 0);
      while (tp.type && tp.type !== COMMA) tp = tp.prev!;
      right = tp;
      continue;
    } else if (tp.type === code('>')) {
      right = group(TOK_ADDR, tp, right, COMMA);
      while (tp.type && tp.type !== code('<')) {
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
  if (head.next) tokCutBefore(head.next);
  tokCutBefore(tail);
  return result;
}

// --- unparsers ---

const NON_OPERATOR = (t: Tok): boolean =>
  t.type === TOK_ATOM || t.type === TOK_QSTRING || t.type === TOK_COMMENT || t.type === TOK_DOMLIT || t.type === TOK_ADDR;

function appendSpace(tp: Tok): boolean {
  const next = tp.next;
  if (next === null || tp.owner !== null) return false;
  if (tp.type === COMMA || tp.type === TOK_STARTGRP || next.type === code('<')) return true;
  return NON_OPERATOR(tp) && NON_OPERATOR(next);
}

/** tok822_internalize(): tokens to the unquoted (internal) string form. */
export function tokInternalize(tree: Tok | null): string {
  let out = '';
  for (let tp = tree; tp; tp = tp.next) {
    switch (tp.type) {
      case TOK_ADDR:
        out += tokInternalize(tp.head);
        break;
      case TOK_COMMENT:
      case TOK_ATOM:
      case TOK_QSTRING:
        out += tp.text;
        break;
      case TOK_DOMLIT:
        out += '[' + tp.text + ']';
        break;
      case TOK_STARTGRP:
        out += ':';
        break;
      default:
        if (tp.type >= TOK_MINTOK) throw new Error(`tok822_internalize: unknown operator ${tp.type}`);
        out += String.fromCharCode(tp.type);
    }
    if (appendSpace(tp)) out += ' ';
  }
  return out;
}

function copyQuoted(s: string, set: string): string {
  let out = '';
  for (const c of s) out += set.includes(c) ? '\\' + c : c;
  return out;
}

/** tok822_externalize() without line breaks or truncation: tokens to quoted form. */
export function tokExternalize(tree: Tok | null): string {
  let out = '';
  for (let tp = tree; tp; tp = tp.next) {
    switch (tp.type) {
      case COMMA:
        out += ', ';
        continue;
      case TOK_ADDR:
        out += quote822Local(tokInternalize(tp.head));
        break;
      case TOK_ATOM:
      case TOK_COMMENT:
        out += tp.text;
        break;
      case TOK_QSTRING:
        out += '"' + copyQuoted(tp.text, '"\\\r\n') + '"';
        break;
      case TOK_DOMLIT:
        out += '[' + copyQuoted(tp.text, '\\\r\n') + ']';
        break;
      case TOK_STARTGRP:
        out += ':';
        break;
      default:
        if (tp.type >= TOK_MINTOK) throw new Error(`tok822_externalize: unknown operator ${tp.type}`);
        out += String.fromCharCode(tp.type);
    }
    if (appendSpace(tp)) out += ' ';
  }
  return out;
}

// --- quote_822_local.c ---

function isDotString(s: string): boolean {
  if (s === '' || s[0] === '.') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e && s[i + 1] === '.') return false;
    if (c === 0x20 || c < 0x20 || c === 0x7f) return false;
    if ('()<>@,;:\\"[]'.includes(s[i])) return false;
  }
  return s[s.length - 1] !== '.';
}

function quotedString(s: string): string {
  let out = '"';
  for (const c of s) out += c === '"' || c === '\\' || c === '\r' ? '\\' + c : c;
  return out + '"';
}

/** quote_822_local(): quote the local part when it is not a dot-string (8-bit clean). */
export function quote822Local(mbox: string): string {
  let start = 0;
  if (mbox[0] === '@') {
    const colon = mbox.indexOf(':');
    if (colon >= 0) start = colon + 1;
  }
  const at = mbox.lastIndexOf('@');
  const end = at >= start ? at : mbox.length;
  const local = mbox.slice(start, end);
  if (isDotString(local)) return mbox;
  return mbox.slice(0, start) + quotedString(local) + mbox.slice(end);
}

/** unquote_822_local(): remove quoting from the local part. */
export function unquote822Local(mbox: string): string {
  let out = '';
  let start = 0;
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
    const c = mbox[i];
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
      i++;
    }
    out += mbox[i];
  }
  if (bareAtDst >= 0) out = out.slice(0, bareAtDst) + mbox.slice(bareAtSrc);
  return out;
}
