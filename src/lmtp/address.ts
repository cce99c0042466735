/**
 * lmtp/address.ts: SMTP paths as Dovecot's lib-smtp parses and prints them
 * (smtp-address.c, smtp-parser.c), with its error texts, which LMTP puts
 * in "501 5.5.4 Invalid FROM: <error>" replies.
 *
 *   Path      = "<" [ A-d-l ":" ] Mailbox ">"      RFC 5321 §4.1.2
 *   Mailbox   = Local-part "@" ( Domain / address-literal )
 *   Local-part: Dot-string (atext and '.', dots anywhere: Dovecot is
 *               lenient) or Quoted-string
 *   Domain    : sub-domains of ALPHA/DIGIT/'-'/'_' (lenient, as Dovecot)
 *
 * Security: untrusted input; linear scanning only, no backtracking.
 */

export interface SmtpAddress {
  localpart: string;
  /** undefined for a bare local part ("RCPT TO:<bob>", LMTP allows it). */
  domain?: string;
}

export interface PathParse {
  /** null path "<>" gives localpart '' and no domain. */
  address?: SmtpAddress;
  error?: string;
  /** Text after the path. */
  rest: string;
}

const ATEXT = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/;
export const isAtext = (c: string | undefined): boolean => c !== undefined && (ATEXT.test(c) || c.charCodeAt(0) >= 0x80);
const isQtext = (c: number): boolean => c === 32 || c === 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) || c >= 0x80;
const isQpair = (c: number): boolean => (c >= 32 && c <= 126) || c >= 0x80;
const isDomainChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_-]/.test(c);

class Parser {
  cur = 0;
  error = '';
  constructor(readonly s: string) {}
  get c(): string | undefined {
    return this.peek();
  }
  peek(): string | undefined {
    return this.s[this.cur];
  }
  get end(): boolean {
    return this.cur >= this.s.length;
  }
}

/** Quoted-string; 0 = not one, -1 error, 1 ok. */
function parseQuoted(p: Parser): { ret: number; value?: string } {
  if (p.c !== '"') return { ret: 0 };
  p.cur++;
  let v = '';
  for (;;) {
    if (p.end) {
      p.error = 'Premature end of quoted string';
      return { ret: -1 };
    }
    const ch = p.s.charCodeAt(p.cur);
    if (p.s[p.cur] === '"') {
      p.cur++;
      return { ret: 1, value: v };
    }
    if (p.s[p.cur] === '\\') {
      p.cur++;
      if (p.end || !isQpair(p.s.charCodeAt(p.cur))) {
        p.error = 'Invalid character in quoted string';
        return { ret: -1 };
      }
      v += p.s[p.cur];
      p.cur++;
      continue;
    }
    if (!isQtext(ch)) {
      p.error = 'Invalid character in quoted string';
      return { ret: -1 };
    }
    v += p.s[p.cur];
    p.cur++;
  }
}

function parseDotString(p: Parser): { ret: number; value?: string } {
  const start = p.cur;
  if (!isAtext(p.c) && p.c !== '.') return { ret: 0 };
  p.cur++;
  while (!p.end && (isAtext(p.c) || p.c === '.')) p.cur++;
  return { ret: 1, value: p.s.slice(start, p.cur) };
}

/** smtp_parser_parse_domain: 0 none, -1 error, 1 ok. */
export function parseDomainAt(p: Parser): { ret: number; value?: string } {
  if (!isDomainChar(p.c)) return { ret: 0 };
  const start = p.cur;
  for (;;) {
    if (p.end || p.c === '.') {
      p.error = 'Empty sub-domain';
      return { ret: -1 };
    }
    if (!isDomainChar(p.c)) {
      p.error = 'Invalid character in domain';
      return { ret: -1 };
    }
    p.cur++;
    while (!p.end && isDomainChar(p.c)) p.cur++;
    if (p.end || p.c !== '.') break;
    p.cur++;
  }
  return { ret: 1, value: p.s.slice(start, p.cur) };
}

/** address-literal "[...]": 0 none, -1 error, 1 ok. */
function parseAddressLiteral(p: Parser): { ret: number; value?: string } {
  if (p.c !== '[') return { ret: 0 };
  const start = p.cur;
  p.cur++;
  const close = p.s.indexOf(']', p.cur);
  if (close < 0) {
    while (!p.end && /[\x21-\x5a\x5e-\x7e]/.test(p.c as string)) p.cur++;
    p.error = p.end ? "Missing ']' at end of address literal" : 'Invalid character in address literal';
    return { ret: -1 };
  }
  const inner = p.s.slice(p.cur, close);
  if (inner === '') {
    p.error = 'Empty address literal';
    return { ret: -1 };
  }
  if (/^\d/.test(inner)) {
    if (!/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(inner)) {
      p.error = 'Invalid IPv4 address literal';
      return { ret: -1 };
    }
  } else {
    const colon = inner.indexOf(':');
    if (colon <= 0 || !/^[A-Za-z0-9-]+$/.test(inner.slice(0, colon))) {
      p.error = 'Invalid address literal';
      return { ret: -1 };
    }
    if (/^IPv6$/i.test(inner.slice(0, colon)) && !/^[0-9A-Fa-f:.]+$/.test(inner.slice(colon + 1))) {
      p.error = 'Invalid IPv6 address literal';
      return { ret: -1 };
    }
    if (!/^[\x21-\x5a\x5e-\x7e]+$/.test(inner.slice(colon + 1))) {
      p.error = 'Invalid character in address literal';
      return { ret: -1 };
    }
  }
  p.cur = close + 1;
  return { ret: 1, value: p.s.slice(start, p.cur) };
}

export interface PathFlags {
  /** MAIL FROM:<> */
  allowEmpty?: boolean;
  /** LMTP RCPT TO:<user> without a domain. */
  allowLocalpart?: boolean;
  /** "user@domain" without angle brackets (dovecot-lda -a/-f/-r). */
  bracketsOptional?: boolean;
}

/** Local-part [ "@" domain ]; returns undefined and sets p.error on failure. */
function parseMailboxAt(p: Parser, flags: PathFlags, inPath: boolean): { ret: number; address?: SmtpAddress } {
  let local = parseQuoted(p);
  if (local.ret === 0) local = parseDotString(p);
  if (local.ret <= 0) return { ret: local.ret };
  const address: SmtpAddress = { localpart: local.value ?? '' };
  if (p.peek() !== '@') {
    if (!flags.allowLocalpart) {
      p.error = p.end || (inPath && p.peek() === '>') ? 'Missing domain' : 'Invalid character in localpart';
      return { ret: -1 };
    }
    return { ret: 1, address };
  }
  p.cur++;
  let d = parseDomainAt(p);
  if (d.ret === 0) d = parseAddressLiteral(p);
  if (d.ret < 0) return { ret: -1 };
  if (d.ret === 0) {
    p.error = p.end || (inPath && p.peek() === '>') ? "Missing domain after '@'" : 'Invalid domain';
    return { ret: -1 };
  }
  address.domain = d.value;
  return { ret: 1, address };
}

/** smtp_address_parse_path_full (no workarounds). `rest` is what follows the path. */
export function parsePath(text: string, flags: PathFlags = {}): PathParse {
  if (text === '') {
    if (flags.allowEmpty && flags.bracketsOptional) return { address: { localpart: '' }, rest: '' };
    return { error: 'Path is empty string', rest: '' };
  }
  const p = new Parser(text);
  let inPath = false;
  if (p.peek() === '<') {
    inPath = true;
    p.cur++;
  } else if (!flags.bracketsOptional) {
    return { error: "Missing '<' at beginning of path", rest: text };
  }
  // [ A-d-l ":" ]
  let sret = 0;
  if (inPath && p.peek() === '@') {
    p.cur++;
    for (;;) {
      const d = parseDomainAt(p);
      if (d.ret <= 0) return { error: "Missing domain after '@' in source route", rest: text };
      if (p.peek() !== ',') break;
      p.cur++;
      if (p.peek() !== '@') return { error: "Missing '@' after ',' in source route", rest: text };
      p.cur++;
    }
    if (p.peek() !== ':') return { error: "Missing ':' at end of source route", rest: text };
    p.cur++;
    sret = 1;
  }
  const mb = parseMailboxAt(p, flags, inPath);
  if (mb.ret < 0) return { error: p.error, rest: text };
  let address = mb.address;
  if (mb.ret === 0) {
    if (p.peek() === '>') {
      if (sret > 0) return { error: 'Path only consists of source route', rest: text };
      if (!flags.allowEmpty) return { error: 'Null path not allowed', rest: text };
      address = { localpart: '' };
    } else {
      return { error: 'Invalid character in localpart', rest: text };
    }
  }
  if (inPath) {
    if (p.peek() !== '>') return { error: "Missing '>' at end of path", rest: text };
    p.cur++;
  } else if (p.peek() === '>') {
    return { error: "Unmatched '>' at end of path", rest: text };
  }
  const rest = text.slice(p.cur);
  if (rest !== '' && rest[0] !== ' ') return { error: 'Invalid character in path', rest };
  return { address: address as SmtpAddress, rest };
}

/** smtp_address_encode: the local part quoted only when it must be. */
export function encodeAddress(a: SmtpAddress | undefined): string {
  if (!a || (a.localpart === '' && a.domain === undefined)) return '';
  const lp = a.localpart;
  let needQuote = lp === '';
  let prevDot = true;
  for (let i = 0; i < lp.length; i++) {
    const c = lp[i] as string;
    if (c === '.') {
      if (prevDot) needQuote = true;
      prevDot = true;
    } else {
      if (!isAtext(c)) needQuote = true;
      prevDot = false;
    }
  }
  if (lp.endsWith('.')) needQuote = true;
  let out = lp;
  if (needQuote) {
    out = '"';
    for (const c of lp) out += isQtext(c.charCodeAt(0)) ? c : `\\${c}`;
    out += '"';
  }
  return a.domain === undefined ? out : `${out}@${a.domain}`;
}

/** smtp_helo_domain_parse (LHLO argument): the domain, or undefined when not valid. */
export function parseHeloDomain(text: string): string | undefined {
  const p = new Parser(text);
  let d = parseDomainAt(p);
  if (d.ret === 0) d = parseAddressLiteral(p);
  if (d.ret <= 0 || (!p.end && p.c !== ' ')) return undefined;
  return d.value;
}

/** smtp_address_detail_parse: user and detail split at the first delimiter character. */
export function detailParse(delimiters: string, a: SmtpAddress): { username: string; delim: string; detail: string } {
  const lp = a.localpart;
  let user = lp;
  let detail = '';
  let delim = '';
  let idx = -1;
  if (delimiters !== '') {
    for (let i = 0; i < lp.length; i++) {
      if (delimiters.includes(lp[i] as string)) {
        idx = i;
        break;
      }
    }
  }
  if (idx >= 0) {
    delim = lp[idx] as string;
    user = lp.slice(0, idx);
    detail = lp.slice(idx + 1);
  }
  if (a.domain === undefined || a.domain === '') return { username: user, delim, detail };
  if (!user.includes('@')) return { username: `${user}@${a.domain}`, delim, detail };
  return { username: encodeAddress({ localpart: user, domain: a.domain }), delim, detail };
}

/** smtp_address_parse_any: the end of a "<…>" path, quotes respected; undefined when there is none. */
function parseAnyEnd(text: string): number | undefined {
  let p = 0;
  let path = false;
  let quoted = false;
  if (text[p] === '<') {
    path = true;
    p++;
  }
  if (text[p] === '"') {
    quoted = true;
    p++;
  }
  while (p < text.length) {
    if (quoted && text[p] === '\\') {
      p++;
      if (p === text.length || text.charCodeAt(p) < 0x20) return undefined;
      p++;
      if (p === text.length) break;
    }
    const c = text[p] as string;
    if (c === '"') quoted = false;
    else if (c === ' ' && !quoted) {
      if (path) return undefined;
      return p;
    } else if (c === '>' && !quoted) return p + 1;
    else if (c.charCodeAt(0) < 0x20) return undefined;
    p++;
  }
  if (quoted || path) return undefined;
  return p;
}

/**
 * MAIL FROM path as Dovecot's LMTP reads it (mail_path_allow_broken=yes):
 * a path that is not valid but still a "<…>" is accepted as the null
 * sender instead of refused.
 */
export function parseMailPath(text: string, flags: PathFlags = {}): PathParse & { broken?: boolean } {
  const r = parsePath(text, { allowEmpty: true, ...flags });
  if (!r.error) return r;
  if (text[0] !== '<' && !flags.bracketsOptional) return r;
  const end = parseAnyEnd(text);
  if (end === undefined) return r;
  const rest = text.slice(end);
  if (rest !== '' && rest[0] !== ' ') return { error: 'Invalid character in path', rest };
  return { address: { localpart: '' }, rest, broken: true };
}
