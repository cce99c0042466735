/**
 * maps/pattern/byteset.ts: sets of byte values (0..255) and the C-locale
 * <ctype.h> classes, for translating bracket expressions of POSIX and PCRE
 * patterns into JavaScript character classes.
 *
 * Postfix's regexp and pcre tables run in the "C" locale (Postfix never calls
 * setlocale()) and PCRE2 is used without PCRE2_UTF, so every byte is one
 * character and only ASCII letters have a case. The lookup keys are byte
 * strings (one JS char per byte, see maps/types.ts), so a class computed
 * here over 0..255 matches exactly the bytes the C library would.
 */

export class ByteSet {
  private readonly bits = new Uint32Array(8);

  static of(pred: (c: number) => boolean): ByteSet {
    const s = new ByteSet();
    for (let c = 0; c < 256; c++) if (pred(c)) s.add(c);
    return s;
  }

  add(c: number): this {
    this.bits[c >> 5]! |= 1 << (c & 31);
    return this;
  }
  addRange(lo: number, hi: number): this {
    for (let c = lo; c <= hi; c++) this.add(c);
    return this;
  }
  addSet(other: ByteSet): this {
    for (let i = 0; i < 8; i++) this.bits[i]! |= other.bits[i]!;
    return this;
  }
  has(c: number): boolean {
    return (this.bits[c >> 5]! & (1 << (c & 31))) !== 0;
  }
  invert(): this {
    for (let i = 0; i < 8; i++) this.bits[i] = ~this.bits[i]!;
    return this;
  }
  clone(): ByteSet {
    return new ByteSet().addSet(this);
  }
  size(): number {
    let n = 0;
    for (let c = 0; c < 256; c++) if (this.has(c)) n++;
    return n;
  }
  /** Add the other ASCII case of every ASCII letter in the set. */
  foldAscii(): this {
    for (let c = 0x41; c <= 0x5a; c++) {
      if (this.has(c) || this.has(c + 32)) {
        this.add(c);
        this.add(c + 32);
      }
    }
    return this;
  }

  /**
   * The set as a JavaScript (non-unicode mode) regexp atom. An empty set is
   * `[]` (matches nothing), a full one `[^]`.
   */
  toRegExp(): string {
    const n = this.size();
    if (n === 0) return '[]';
    if (n === 256) return '[^]';
    if (n === 1) {
      for (let c = 0; c < 256; c++) if (this.has(c)) return regexpChar(c);
    }
    // Write the smaller of the set and its complement.
    if (n > 128) return '[^' + ranges(this.clone().invert()) + ']';
    return '[' + ranges(this) + ']';
  }
}

function ranges(s: ByteSet): string {
  let out = '';
  for (let c = 0; c < 256; c++) {
    if (!s.has(c)) continue;
    let e = c;
    while (e + 1 < 256 && s.has(e + 1)) e++;
    out += classChar(c);
    if (e > c + 1) out += '-' + classChar(e);
    else if (e === c + 1) out += classChar(e);
    c = e;
  }
  return out;
}

const hex2 = (c: number): string => c.toString(16).padStart(2, '0');

/** One byte as a literal regexp atom (outside a class). */
export function regexpChar(c: number): string {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) {
    return String.fromCharCode(c);
  }
  return '\\x' + hex2(c);
}

function classChar(c: number): string {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
    return String.fromCharCode(c);
  }
  return '\\x' + hex2(c);
}

/* C-locale <ctype.h>: ASCII only. */
export const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;
export const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
export const isAlpha = (c: number): boolean => isUpper(c) || isLower(c);
export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
export const isAlnum = (c: number): boolean => isAlpha(c) || isDigit(c);
export const isXdigit = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** isspace(): space, \t, \n, \v, \f, \r. */
export const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
export const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;
export const isCntrl = (c: number): boolean => c < 0x20 || c === 0x7f;
export const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;
export const isGraph = (c: number): boolean => c > 0x20 && c < 0x7f;
export const isPunct = (c: number): boolean => isGraph(c) && !isAlnum(c);
export const isWord = (c: number): boolean => isAlnum(c) || c === 0x5f;

/** ctype class names as in wctype(3) for the C locale. */
export const CTYPE_CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alnum: isAlnum,
  alpha: isAlpha,
  blank: isBlank,
  cntrl: isCntrl,
  digit: isDigit,
  graph: isGraph,
  lower: isLower,
  print: isPrint,
  punct: isPunct,
  space: isSpace,
  upper: isUpper,
  xdigit: isXdigit,
};

/** toupper() in the C locale, over a whole byte string. */
export function asciiUpper(s: string): string {
  return /[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s;
}

/** lowercase() (stringops.h) in the C locale. */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}
