/**
 * imap/mime/decode.ts: content decoding shared by BINARY, SNIPPET and
 * SEARCH: transfer encodings (RFC 2045 §6.7 quoted-printable, §6.8 base64),
 * charsets to UTF-8 (node's TextDecoder), and RFC 2047 encoded words in
 * header values.
 */

export type Cte = '78bit' | 'binary' | 'base64' | 'qp' | 'unknown';

/** A Content-Transfer-Encoding value as Dovecot classifies it (a lone token, parameters after ';' tolerated). */
export function classifyCte(value: string | null): Cte {
  if (value === null) return '78bit';
  const m = /^[ \t\r\n]*([^ \t\r\n;()<>@,:\\"/[\]?=]*)[ \t\r\n]*(.?)/.exec(value);
  if (!m) return 'unknown';
  if (m[2] !== '' && m[2] !== ';') return 'unknown';
  switch (m[1]!.toLowerCase()) {
    case '7bit':
    case '8bit':
      return '78bit';
    case 'binary':
      return 'binary';
    case 'base64':
      return 'base64';
    case 'quoted-printable':
      return 'qp';
    default:
      return 'unknown';
  }
}

const B64 = new Int16Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => {
  B64[c.charCodeAt(0)] = i;
});

/** Base64 body decoding; whitespace skipped; `error` on other junk (decoding stops there). */
export function decodeBase64(data: Buffer): { data: Buffer; error: boolean } {
  const out = Buffer.allocUnsafe(Math.ceil((data.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let bits = 0;
  let error = false;
  let pad = false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 32 || c === 9 || c === 13 || c === 10) continue;
    if (c === 0x3d) {
      pad = true;
      continue;
    }
    const v = B64[c]!;
    if (v < 0 || pad) {
      error = true;
      break;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return { data: out.subarray(0, o), error };
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Quoted-printable body decoding: soft breaks removed, trailing blanks dropped, hard breaks as CRLF. */
export function decodeQp(data: Buffer): { data: Buffer; error: boolean } {
  const out = Buffer.allocUnsafe(data.length + 16);
  let o = 0;
  let error = false;
  let lineStart = 0;
  const n = data.length;
  while (lineStart < n) {
    let lf = data.indexOf(10, lineStart);
    const hasLf = lf >= 0;
    if (!hasLf) lf = n;
    let end = lf;
    if (hasLf && end > lineStart && data[end - 1] === 13) end--;
    while (end > lineStart && (data[end - 1] === 32 || data[end - 1] === 9)) end--;
    let soft = false;
    for (let i = lineStart; i < end; i++) {
      const c = data[i]!;
      if (c !== 0x3d) {
        out[o++] = c;
        continue;
      }
      if (i + 1 === end) {
        soft = true;
        break;
      }
      const h = hexVal(data[i + 1] ?? -1);
      const l = hexVal(data[i + 2] ?? -1);
      if (h < 0 || l < 0 || i + 2 >= end) {
        error = true;
        out[o++] = c;
        continue;
      }
      out[o++] = (h << 4) | l;
      i += 2;
    }
    if (hasLf && !soft) {
      out[o++] = 13;
      out[o++] = 10;
    }
    lineStart = lf + 1;
  }
  return { data: out.subarray(0, o), error };
}

/** Bare LFs become CRLF (IMAP sends CRLF line ends; the store may keep LF). */
export function toCrlf(data: Buffer): Buffer {
  let bare = 0;
  let pos = data.indexOf(10);
  while (pos >= 0) {
    if (pos === 0 || data[pos - 1] !== 13) bare++;
    pos = data.indexOf(10, pos + 1);
  }
  if (bare === 0) return data;
  const out = Buffer.allocUnsafe(data.length + bare);
  let o = 0;
  let from = 0;
  pos = data.indexOf(10);
  while (pos >= 0) {
    if (pos === 0 || data[pos - 1] !== 13) {
      o += data.copy(out, o, from, pos);
      out[o++] = 13;
      out[o++] = 10;
      from = pos + 1;
    }
    pos = data.indexOf(10, pos + 1);
  }
  o += data.copy(out, o, from);
  return out;
}

const decoders = new Map<string, TextDecoder | null>();

/** A decoder for a charset name, or null when node does not know it. */
export function charsetDecoder(charset: string): TextDecoder | null {
  const key = charset.toLowerCase();
  let d = decoders.get(key);
  if (d === undefined) {
    try {
      d = new TextDecoder(key === 'utf8' ? 'utf-8' : key, { fatal: false });
    } catch {
      d = null;
    }
    decoders.set(key, d);
  }
  return d;
}

// node's TextDecoder reads windows-1252 as ISO-8859-1 (0x80-0x9F as C1 controls); the WHATWG table:
const CP1252_80 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeCp1252(data: Buffer | Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    out += c >= 0x80 && c < 0xa0 ? CP1252_80[c - 0x80] : String.fromCharCode(c);
  }
  return out;
}

/** Bytes in `charset` as a JS string; unknown charsets are read as UTF-8 with invalid bytes replaced. */
export function decodeCharset(data: Buffer | Uint8Array, charset: string | null): string {
  const d = charsetDecoder(charset ?? 'us-ascii') ?? charsetDecoder('utf-8')!;
  if (d.encoding === 'windows-1252') return decodeCp1252(data);
  return d.decode(data);
}

/**
 * A header value (byte string) with RFC 2047 encoded words decoded, as a JS
 * string. Whitespace between adjacent encoded words is dropped (§6.2);
 * undecodable words stay as written; other 8-bit text is read as UTF-8.
 */
export function decodeHeaderValue(value: string): string {
  const re = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  let out = '';
  let last = 0;
  let prevEncodedEnd = -1;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const between = value.slice(last, m.index);
    const decoded = decodeWord(m[1]!, m[2]!, m[3]!);
    if (decoded === null) continue;
    if (!(prevEncodedEnd === last && /^[ \t\r\n]*$/.test(between))) out += rawText(between);
    out += decoded;
    last = m.index + m[0].length;
    prevEncodedEnd = last;
  }
  return out + rawText(value.slice(last));
}

/** 8-bit header bytes outside encoded words are taken as UTF-8. */
function rawText(s: string): string {
  return /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

function decodeWord(charset: string, enc: string, text: string): string | null {
  const star = charset.indexOf('*');
  if (star >= 0) charset = charset.slice(0, star);
  let bytes: Buffer;
  if (enc === 'b' || enc === 'B') bytes = decodeBase64(Buffer.from(text, 'latin1')).data;
  else {
    const b: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5f) b.push(32);
      else if (c === 0x3d && i + 2 < text.length + 0 && hexVal(text.charCodeAt(i + 1)) >= 0 && hexVal(text.charCodeAt(i + 2)) >= 0) {
        b.push((hexVal(text.charCodeAt(i + 1)) << 4) | hexVal(text.charCodeAt(i + 2)));
        i += 2;
      } else b.push(c);
    }
    bytes = Buffer.from(b);
  }
  return decodeCharset(bytes, charset);
}
