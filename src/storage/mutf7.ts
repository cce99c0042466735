/**
 * storage/mutf7.ts: IMAP modified UTF-7 (RFC 3501 §5.1.3), the encoding
 * Dovecot uses for mailbox names on disk (`.Caf&AOk-`) and on the IMAP wire
 * (lib-imap/imap-utf7.c behaviour):
 *   - printable US-ASCII 0x20..0x7e stands for itself, except '&' → "&-";
 *   - anything else is UTF-16BE in base64 with ',' for '/', no padding,
 *     between '&' and '-'.
 * Decoding is strict, as imap_utf7_to_utf8(): a non-canonical encoding
 * (an encoded printable char, "&" followed by nothing, bad padding bits, an
 * empty "&-" used for something else) is rejected, so one name has exactly
 * one on-disk form.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const B64_INDEX = new Map<string, number>([...B64].map((c, i) => [c, i]));

const isDirect = (code: number): boolean => code >= 0x20 && code <= 0x7e;

/** UTF-8 (a JS string) → modified UTF-7. */
export function utf8ToMutf7(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const code = s.charCodeAt(i);
    if (isDirect(code)) {
      out += code === 0x26 ? '&-' : s[i];
      i++;
      continue;
    }
    // collect a run of non-direct characters as UTF-16 code units
    const units: number[] = [];
    while (i < s.length && !isDirect(s.charCodeAt(i))) {
      units.push(s.charCodeAt(i));
      i++;
    }
    const bytes: number[] = [];
    for (const u of units) bytes.push(u >> 8, u & 0xff);
    let bits = 0;
    let nbits = 0;
    out += '&';
    for (const b of bytes) {
      bits = (bits << 8) | b;
      nbits += 8;
      while (nbits >= 6) {
        nbits -= 6;
        out += B64[(bits >> nbits) & 0x3f];
      }
    }
    if (nbits > 0) out += B64[(bits << (6 - nbits)) & 0x3f];
    out += '-';
  }
  return out;
}

/** Modified UTF-7 → UTF-8, or undefined when the input is not valid mUTF-7. */
export function mutf7ToUtf8(s: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return undefined;
    if (code !== 0x26) {
      out += s[i];
      i++;
      continue;
    }
    i++;
    if (s[i] === '-') {
      out += '&';
      i++;
      continue;
    }
    let bits = 0;
    let nbits = 0;
    const units: number[] = [];
    let byteHi = -1;
    let sawAny = false;
    while (i < s.length && s[i] !== '-') {
      const v = B64_INDEX.get(s[i] as string);
      if (v === undefined) return undefined;
      sawAny = true;
      bits = (bits << 6) | v;
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        const byte = (bits >> nbits) & 0xff;
        if (byteHi < 0) byteHi = byte;
        else {
          units.push((byteHi << 8) | byte);
          byteHi = -1;
        }
      }
      bits &= (1 << nbits) - 1;
      i++;
    }
    if (i >= s.length || !sawAny) return undefined; // missing '-' or "&-" handled above
    i++; // '-'
    if (byteHi >= 0 || nbits >= 6 || bits !== 0) return undefined; // leftover bits must be zero padding
    // decode UTF-16, rejecting unpaired surrogates and directly-encodable chars
    for (let k = 0; k < units.length; k++) {
      const u = units[k] as number;
      if (u >= 0xd800 && u <= 0xdbff) {
        const lo = units[k + 1];
        if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return undefined;
        out += String.fromCharCode(u, lo);
        k++;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return undefined;
      } else {
        if (isDirect(u)) return undefined;
        out += String.fromCharCode(u);
      }
    }
    // two adjacent encoded runs are not canonical
    if (s[i] === '&' && s[i + 1] !== '-') return undefined;
  }
  return out;
}

/** Is the string valid UTF-8 text (no lone surrogates, no U+FFFD from a bad decode)? */
export function isValidUtf8Name(s: string): boolean {
  return !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')) && !s.includes('\ufffd');
}
