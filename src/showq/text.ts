/**
 * showq/text.ts: the string helpers showq and its output adapters use,
 * on byte strings (latin1-decoded queue file data):
 * - printable(): control characters and, outside valid UTF-8 sequences,
 *   8-bit bytes become '?' (util_utf8_enable, smtputf8_enable = yes);
 * - quote822Local(): quote_822_local() with QUOTE_FLAG_8BITCLEAN: the local
 *   part is quoted when it is not an RFC 822 dot-string;
 * - asctime24(): asctime(localtime(t)) without the newline.
 */

/** Length of the valid UTF-8 sequence at i, or 0. */
function utf8Len(s: string, i: number): number {
  const c = s.charCodeAt(i);
  let n: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else return 0;
  if (i + n > s.length) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const b = s.charCodeAt(i + k);
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/** printable(s, '?') on a byte string. */
export function printable(s: string, utf8 = true): string {
  if (!/[^\x20-\x7e]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      out += s[i];
      i++;
      continue;
    }
    const n = utf8 && c >= 0x80 ? utf8Len(s, i) : 0;
    if (n > 0) {
      out += s.slice(i, i + n);
      i += n;
    } else {
      out += '?';
      i++;
    }
  }
  return out;
}

const SPECIALS = new Set(['(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '[', ']']);

function isDotString(local: string): boolean {
  if (local.length === 0 || local[0] === '.') return false;
  for (let i = 0; i < local.length; i++) {
    const ch = local[i]!;
    const c = local.charCodeAt(i);
    if (ch === '.' && local[i + 1] === '.') return false;
    if (ch === ' ' || c < 0x20 || c === 0x7f || SPECIALS.has(ch)) return false;
  }
  return local[local.length - 1] !== '.';
}

/** quote_822_local(): quote the part before the last '@' when needed. */
export function quote822Local(addr: string): string {
  const at = addr.lastIndexOf('@');
  const local = at < 0 ? addr : addr.slice(0, at);
  if (isDotString(local)) return addr;
  let q = '"';
  for (const ch of local) {
    if (ch === '"' || ch === '\\' || ch === '\r') q += '\\';
    q += ch;
  }
  q += '"';
  return at < 0 ? q : q + addr.slice(at);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** asctime(localtime(&t)) without the trailing newline: "Sun Nov  2 16:55:09 2026". */
export function asctime24(t: number): string {
  const d = new Date(t * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`
  );
}
