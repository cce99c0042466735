/**
 * maps/casefold.ts: Postfix's casefold() (util/casefold.c) for lookup keys.
 * With SMTPUTF8 enabled Postfix folds with ICU's ucasemap_utf8FoldCase,
 * i.e. Unicode full case folding (CaseFolding.txt status C+F): "Straße" ->
 * "strasse", final sigma -> sigma. Without it, ASCII letters only.
 *
 * Strings here are byte strings (one char per byte, latin1), as in the
 * LookupTable interface. Full folding = Unicode lowercase plus the code
 * points whose folding differs from their lowercase (the table below,
 * derived from CaseFolding.txt: for every code point c, fold(c) equals
 * the lowercase of c with this table applied to each resulting char).
 */

const FOLD_EXCEPTIONS =
  'b5:3bc,df:73 73,149:2bc 6e,17f:73,1f0:6a 30c,345:3b9,390:3b9 308 301,3b0:3c5 308 301,3c2:3c3,3d0:3b2' +
  ',3d1:3b8,3d5:3c6,3d6:3c0,3f0:3ba,3f1:3c1,3f5:3b5,587:565 582,13f8:13f0,13f9:13f1,13fa:13f2,13fb:13f3' +
  ',13fc:13f4,13fd:13f5,1c80:432,1c81:434,1c82:43e,1c83:441,1c84:442,1c85:442,1c86:44a,1c87:463,1c88:a6' +
  '4b,1e96:68 331,1e97:74 308,1e98:77 30a,1e99:79 30a,1e9a:61 2be,1e9b:1e61,1f50:3c5 313,1f52:3c5 313 3' +
  '00,1f54:3c5 313 301,1f56:3c5 313 342,1f80:1f00 3b9,1f81:1f01 3b9,1f82:1f02 3b9,1f83:1f03 3b9,1f84:1f' +
  '04 3b9,1f85:1f05 3b9,1f86:1f06 3b9,1f87:1f07 3b9,1f90:1f20 3b9,1f91:1f21 3b9,1f92:1f22 3b9,1f93:1f23' +
  ' 3b9,1f94:1f24 3b9,1f95:1f25 3b9,1f96:1f26 3b9,1f97:1f27 3b9,1fa0:1f60 3b9,1fa1:1f61 3b9,1fa2:1f62 3' +
  'b9,1fa3:1f63 3b9,1fa4:1f64 3b9,1fa5:1f65 3b9,1fa6:1f66 3b9,1fa7:1f67 3b9,1fb2:1f70 3b9,1fb3:3b1 3b9,' +
  '1fb4:3ac 3b9,1fb6:3b1 342,1fb7:3b1 342 3b9,1fbe:3b9,1fc2:1f74 3b9,1fc3:3b7 3b9,1fc4:3ae 3b9,1fc6:3b7' +
  ' 342,1fc7:3b7 342 3b9,1fd2:3b9 308 300,1fd3:3b9 308 301,1fd6:3b9 342,1fd7:3b9 308 342,1fe2:3c5 308 3' +
  '00,1fe3:3c5 308 301,1fe4:3c1 313,1fe6:3c5 342,1fe7:3c5 308 342,1ff2:1f7c 3b9,1ff3:3c9 3b9,1ff4:3ce 3' +
  'b9,1ff6:3c9 342,1ff7:3c9 342 3b9,ab70:13a0,ab71:13a1,ab72:13a2,ab73:13a3,ab74:13a4,ab75:13a5,ab76:13' +
  'a6,ab77:13a7,ab78:13a8,ab79:13a9,ab7a:13aa,ab7b:13ab,ab7c:13ac,ab7d:13ad,ab7e:13ae,ab7f:13af,ab80:13' +
  'b0,ab81:13b1,ab82:13b2,ab83:13b3,ab84:13b4,ab85:13b5,ab86:13b6,ab87:13b7,ab88:13b8,ab89:13b9,ab8a:13' +
  'ba,ab8b:13bb,ab8c:13bc,ab8d:13bd,ab8e:13be,ab8f:13bf,ab90:13c0,ab91:13c1,ab92:13c2,ab93:13c3,ab94:13' +
  'c4,ab95:13c5,ab96:13c6,ab97:13c7,ab98:13c8,ab99:13c9,ab9a:13ca,ab9b:13cb,ab9c:13cc,ab9d:13cd,ab9e:13' +
  'ce,ab9f:13cf,aba0:13d0,aba1:13d1,aba2:13d2,aba3:13d3,aba4:13d4,aba5:13d5,aba6:13d6,aba7:13d7,aba8:13' +
  'd8,aba9:13d9,abaa:13da,abab:13db,abac:13dc,abad:13dd,abae:13de,abaf:13df,abb0:13e0,abb1:13e1,abb2:13' +
  'e2,abb3:13e3,abb4:13e4,abb5:13e5,abb6:13e6,abb7:13e7,abb8:13e8,abb9:13e9,abba:13ea,abbb:13eb,abbc:13' +
  'ec,abbd:13ed,abbe:13ee,abbf:13ef,fb00:66 66,fb01:66 69,fb02:66 6c,fb03:66 66 69,fb04:66 66 6c,fb05:7' +
  '3 74,fb06:73 74,fb13:574 576,fb14:574 565,fb15:574 56b,fb16:57e 576,fb17:574 56d';

let exceptions: Map<number, string> | undefined;

function exceptionMap(): Map<number, string> {
  if (exceptions) return exceptions;
  exceptions = new Map();
  for (const item of FOLD_EXCEPTIONS.split(',')) {
    const [from, to] = item.split(':') as [string, string];
    exceptions.set(
      Number.parseInt(from, 16),
      String.fromCodePoint(...to.split(' ').map((h) => Number.parseInt(h, 16))),
    );
  }
  return exceptions;
}

const NON_ASCII = /[^\x00-\x7f]/;
const UPPER_ASCII = /[A-Z]/;

/** ASCII-only lowercase (Postfix lowercase()). */
export function lowercaseAscii(s: string): string {
  if (!UPPER_ASCII.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/** Full Unicode case folding of a JS (UTF-16) string. */
export function foldUnicode(s: string): string {
  const lower = s.toLowerCase();
  const table = exceptionMap();
  let out = '';
  let changed = false;
  for (const ch of lower) {
    const sub = table.get(ch.codePointAt(0)!);
    if (sub !== undefined) {
      out += sub;
      changed = true;
    } else out += ch;
  }
  return changed ? out : lower;
}

/**
 * casefold(): fold a byte string. utf8 = util_utf8_enable (smtputf8_enable).
 * Non-UTF-8 input is folded as ASCII only (ICU copies invalid bytes).
 */
export function casefold(s: string, utf8: boolean): string {
  if (!utf8 || !NON_ASCII.test(s)) return asciiFast(s);
  const bytes = Buffer.from(s, 'latin1');
  if (!validUtf8(bytes)) return lowercaseAscii(s);
  return Buffer.from(foldUnicode(bytes.toString('utf8')), 'utf8').toString('latin1');
}

function asciiFast(s: string): string {
  // For all-ASCII strings JavaScript's toLowerCase is ASCII-only; for
  // latin1 byte strings it would also fold 0xC0-0xDE, so guard it.
  return NON_ASCII.test(s) ? lowercaseAscii(s) : s.toLowerCase();
}

/** valid_utf8_string(3): RFC 3629 UTF-8, no overlongs, surrogates or > U+10FFFF. */
export function validUtf8(buf: Uint8Array, start = 0, end = buf.length): boolean {
  for (let i = start; i < end; i++) {
    const c0 = buf[i]!;
    if (c0 <= 0x7f) continue;
    if (c0 <= 0xdf) {
      if (c0 < 0xc2 || i + 1 >= end || (buf[++i]! & 0xc0) !== 0x80) return false;
    } else if (c0 <= 0xef) {
      if (i + 2 >= end) return false;
      const c1 = buf[++i]!;
      if (c1 < (c0 === 0xe0 ? 0xa0 : 0x80) || c1 > (c0 === 0xed ? 0x9f : 0xbf)) return false;
      if ((buf[++i]! & 0xc0) !== 0x80) return false;
    } else if (c0 <= 0xf4) {
      if (i + 3 >= end) return false;
      const c1 = buf[++i]!;
      if (c1 < (c0 === 0xf0 ? 0x90 : 0x80) || c1 > (c0 === 0xf4 ? 0x8f : 0xbf)) return false;
      if ((buf[++i]! & 0xc0) !== 0x80 || (buf[++i]! & 0xc0) !== 0x80) return false;
    } else return false;
  }
  return true;
}

/** validUtf8 for a byte string. */
export function validUtf8String(s: string): boolean {
  return !NON_ASCII.test(s) || validUtf8(Buffer.from(s, 'latin1'));
}
