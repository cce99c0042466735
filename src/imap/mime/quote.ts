/**
 * imap/mime/quote.ts: writing header-derived text as IMAP strings the way
 * Dovecot 2.3's lib-imap does (RFC 3501 §4.3: quoted string or literal).
 *
 * All text here is a "byte string": a JS string whose char codes are the
 * bytes 0-255 (Buffer latin1). Callers turn the result into bytes with
 * Buffer.from(s, 'latin1'), so 8-bit header bytes pass through unchanged.
 *
 * Rules (observed from Dovecot, RFC 3501 §9 quoted-specials):
 * - CR, LF or any 8-bit byte forces a literal; so do more than 4 quote or
 *   backslash characters (a literal is then shorter than the escapes).
 * - "nolf" variants first join folded lines (a space is put between lines
 *   unless the next line starts with whitespace).
 * - "for humans" (display names, subjects) collapses whitespace runs to one
 *   space, trims both ends, turns NUL into byte 0x80, and writes "" for a
 *   value of only whitespace.
 */

const MAX_QUOTED_ESCAPES = 4;

export function literal(s: string): string {
  return `{${s.length}}\r\n${s}`;
}

/** Nothing to escape or drop: printable ASCII without quote or backslash. */
const PLAIN = /^[\x01-\x09\x0b\x0c\x0e-\x21\x23-\x5b\x5d-\x7f]*$/;

/** A quoted string with CR, LF and 8-bit bytes dropped. */
export function quoted(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c >= 0x80) continue;
    if (c === 0x22 || c === 0x5c) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/** NIL, a quoted string or a literal. */
export function nstring(s: string | null | undefined): string {
  if (s === null || s === undefined) return 'NIL';
  if (PLAIN.test(s)) return `"${s}"`;
  let escapes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return quoted(s.slice(0, i));
    if (c === 0x22 || c === 0x5c) {
      if (escapes++ < MAX_QUOTED_ESCAPES) continue;
      return literal(cString(s));
    }
    if (c === 13 || c === 10 || c >= 0x80) return literal(cString(s));
  }
  return quoted(s);
}

/** A C string stops at the first NUL. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** nstring after unfolding: CR/LF removed, a space added where the next line does not start with whitespace. */
export function nstringNolf(s: string | null | undefined): string {
  if (s === null || s === undefined) return 'NIL';
  if (s.indexOf('\r') < 0 && s.indexOf('\n') < 0) return nstring(s);
  s = cString(s);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\r' && ch !== '\n') {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    if (next !== undefined && next !== ' ' && next !== '\t' && next !== '\r' && next !== '\n') out += ' ';
  }
  return nstring(out);
}

function isHumanLwsp(c: number): boolean {
  return c === 13 || c === 10 || c === 9 || c === 32;
}

/** Display names and subjects: whitespace collapsed and trimmed; quoted when nothing needs changing, else a literal. */
export function forHumans(s: string): string {
  let modify = false;
  let lastLwsp = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x22 || c === 0x5c || c >= 0x80 || c === 13 || c === 10 || c === 9) {
      modify = true;
      break;
    }
    if (c === 32) {
      if (lastLwsp) {
        modify = true;
        break;
      }
      lastLwsp = true;
    } else lastLwsp = false;
  }
  if (!modify && lastLwsp && s.length > 0) modify = true;
  if (!modify) return `"${s}"`;
  let out = '';
  lastLwsp = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      out += '\x80';
      lastLwsp = false;
    } else if (isHumanLwsp(c)) {
      if (!lastLwsp) out += ' ';
      lastLwsp = true;
    } else {
      out += s[i];
      lastLwsp = false;
    }
  }
  if (lastLwsp && out.length > 0) out = out.slice(0, -1);
  if (out.length === 0) return '""';
  return literal(out);
}

/** An astring: an atom when every byte is an ASTRING-CHAR and it is not NIL, else a string. */
export function astring(s: string): string {
  if (s.length === 0 || s.toUpperCase() === 'NIL') return nstring(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 0x28 || c === 0x29 || c === 0x7b || c === 0x25 || c === 0x2a || c === 0x22 || c === 0x5c) {
      return nstring(s);
    }
  }
  return s;
}

/** A JS (Unicode) string as an IMAP string in UTF-8 bytes: quoted, or a literal when it has 8-bit, CR/LF or many specials. */
export function imapString(text: string): Buffer {
  return Buffer.from(nstring(Buffer.from(text, 'utf8').toString('latin1')), 'latin1');
}
