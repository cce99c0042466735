/**
 * smtpd/text.ts: byte-string helpers the SMTP server needs, after Postfix's
 * util library (printable.c, neuter.c, unescape.c escape(), is_header.c,
 * valid_utf8_string.c, alldig.c, allprint.c, xtext.c, uxtext.c).
 *
 * Protocol data is kept as "byte strings": JS strings whose char codes are
 * the bytes as received (latin1), the same convention as src/maps. Nothing
 * here decodes UTF-8; functions that care about UTF-8 look at the bytes.
 */

export const isAsciiPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;
export const isCntrl = (c: number): boolean => c < 0x20 || c === 0x7f;
export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
export const isAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** C isspace() in the C locale. */
export const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * printable_except(): replace every byte that is not printable ASCII (or in
 * `except`) by `repl`, keeping UTF-8 lead+continuation runs when utf8 is on
 * (util_utf8_enable, set from smtputf8_enable).
 */
export function printable(s: string, repl = '?', utf8 = true, except = ''): string {
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && (isAsciiPrint(c) || (except !== '' && except.includes(s[i])))) {
      out += s[i];
    } else if (utf8 && c >= 194 && c <= 254 && i + 1 < s.length && s.charCodeAt(i + 1) >= 128 && s.charCodeAt(i + 1) < 192) {
      out += s[i];
      while (i + 1 < s.length && s.charCodeAt(i + 1) >= 128 && s.charCodeAt(i + 1) < 192) out += s[++i];
    } else {
      out += repl;
      changed = true;
    }
  }
  return changed ? out : s;
}

/** neuter(): replace every byte of `bad` by `repl`. */
export function neuter(s: string, bad: string, repl: string): string {
  let out = '';
  for (const ch of s) out += bad.includes(ch) ? repl : ch;
  return out;
}

/** escape(): C-style escapes, as Postfix logs raw client input. */
export function cEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && isAsciiPrint(c)) {
      out += c === 0x5c ? '\\\\' : s[i];
      continue;
    }
    switch (c) {
      case 7:
        out += '\\a';
        continue;
      case 8:
        out += '\\b';
        continue;
      case 12:
        out += '\\f';
        continue;
      case 10:
        out += '\\n';
        continue;
      case 13:
        out += '\\r';
        continue;
      case 9:
        out += '\\t';
        continue;
      case 11:
        out += '\\v';
        continue;
    }
    out += '\\' + c.toString(8).padStart(3, '0');
  }
  return out;
}

/** is_header(): length of the header label when `s` starts "Label:", else 0. */
export function isHeader(s: string): number {
  let len = 0;
  let state = 0; // 0 INIT, 1 IN_CHAR, 2 IN_CHAR_SPACE
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) return state !== 0 ? len : 0;
    if (c === 0x20 || c === 0x09) {
      if (state === 1) state = 2;
      if (state === 2) continue;
      return 0;
    }
    if (c === 0 || c >= 0x80 || isCntrl(c)) return 0;
    if (state === 0) state = 1;
    if (state === 1) {
      len++;
      continue;
    }
    return 0;
  }
  return 0;
}

/** valid_utf8_string(). */
export function validUtf8(s: string): boolean {
  const end = s.length;
  for (let i = 0; i < end; i++) {
    const c0 = s.charCodeAt(i);
    if (c0 <= 0x7f) continue;
    if (c0 <= 0xdf) {
      if (c0 < 0xc2 || i + 1 >= end || (s.charCodeAt(++i) & 0xc0) !== 0x80) return false;
    } else if (c0 <= 0xef) {
      if (i + 2 >= end) return false;
      const c1 = s.charCodeAt(++i);
      if (c1 < (c0 === 0xe0 ? 0xa0 : 0x80) || c1 > (c0 === 0xed ? 0x9f : 0xbf)) return false;
      if ((s.charCodeAt(++i) & 0xc0) !== 0x80) return false;
    } else if (c0 <= 0xf4) {
      if (i + 3 >= end) return false;
      const c1 = s.charCodeAt(++i);
      if (c1 < (c0 === 0xf0 ? 0x90 : 0x80) || c1 > (c0 === 0xf4 ? 0x8f : 0xbf)) return false;
      if ((s.charCodeAt(++i) & 0xc0) !== 0x80) return false;
      if ((s.charCodeAt(++i) & 0xc0) !== 0x80) return false;
    } else {
      return false;
    }
  }
  return true;
}

export const allDigits = (s: string): boolean => s.length > 0 && /^[0-9]+$/.test(s);
export const allAscii = (s: string): boolean => !/[^\x00-\x7f]/.test(s);

/** allprint(): every byte printable ASCII (empty string counts as true). */
export function allPrint(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isAsciiPrint(s.charCodeAt(i))) return false;
  return true;
}

function hexVal(c: string | undefined): number {
  if (c === undefined) return -1;
  const n = c.charCodeAt(0);
  if (n >= 0x30 && n <= 0x39) return n - 0x30;
  if (n >= 0x61 && n <= 0x66) return n - 0x61 + 10;
  if (n >= 0x41 && n <= 0x46) return n - 0x41 + 10;
  return -1;
}

/** xtext_unquote() (RFC 3461 §4): undefined when malformed. */
export function xtextUnquote(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '+') {
      out += s[i];
      continue;
    }
    const h1 = hexVal(s[i + 1]);
    if (h1 < 0) return undefined;
    const h2 = hexVal(s[i + 2]);
    if (h2 < 0) return undefined;
    out += String.fromCharCode(h1 * 16 + h2);
    i += 2;
  }
  return out;
}

/** UTF-8 style bytes for a code point, as uxtext.c writes them (no surrogate check). */
function utf8Bytes(u: number): string {
  const b = (x: number) => String.fromCharCode(x & 0xff);
  if (u < 0x80) return b(u);
  if (u < 0x800) return b(0xc0 | (u >> 6)) + b(0x80 | (u & 0x3f));
  if (u < 0x10000) return b(0xe0 | (u >> 12)) + b(0x80 | ((u >> 6) & 0x3f)) + b(0x80 | (u & 0x3f));
  return b(0xf0 | (u >> 18)) + b(0x80 | ((u >> 12) & 0x3f)) + b(0x80 | ((u >> 6) & 0x3f)) + b(0x80 | (u & 0x3f));
}

/** uxtext_unquote() (RFC 6533 §3): "\\x{HEX}" escapes a code point. undefined when malformed. */
export function uxtextUnquote(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && s[i + 2] === '{') {
      let u = 0;
      i += 3;
      for (; s[i] !== '}'; i++) {
        const h = hexVal(s[i]);
        if (h < 0) return undefined;
        u = u * 16 + h;
        if (u > 0x10ffff) return undefined;
      }
      out += utf8Bytes(u);
    } else {
      out += s[i];
    }
  }
  return out;
}

/** A byte string as text for the mail log (the bytes are UTF-8 or already printable()d). */
export function logText(s: string): string {
  return /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Case-insensitive ASCII compare (strcasecmp() == 0). */
export const strcaseeq = (a: string, b: string): boolean => a.length === b.length && a.toLowerCase() === b.toLowerCase();

/** Lower-case ASCII letters only (byte strings must keep their 8-bit bytes). */
export const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
