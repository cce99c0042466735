/**
 * imap/mime/decode.ts: content decoding shared by BINARY, SNIPPET and
 * SEARCH: transfer encodings (RFC 2045 §6.7 quoted-printable, §6.8 base64),
 * charsets to UTF-8 (node's TextDecoder), and RFC 2047 encoded words in
 * header values.
 */
import { Rfc822Parser } from './rfc822.js';

export type Cte = '78bit' | 'binary' | 'base64' | 'qp' | 'unknown';

/** A Content-Transfer-Encoding value as Dovecot classifies it (a lone token; comments and parameters after ';' tolerated). */
export function classifyCte(value: string | null): Cte {
  if (value === null) return '78bit';
  const p = new Rfc822Parser(value);
  p.skipLwsp();
  const token = { s: '' };
  if (p.mimeToken(token) === 1) {
    p.skipLwsp();
    if (p.cur() !== 0x3b) return 'unknown';
  }
  switch (token.s.toLowerCase()) {
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

const QP_MAX_WHITESPACE = 1000;

function isHex(c: number): boolean {
  return hexVal(c) >= 0;
}

/**
 * Quoted-printable body decoding (RFC 2045 §6.7) with Dovecot's tolerance:
 * invalid "=" sequences are kept as written (and flagged), soft line breaks
 * ("=" [blanks] [CR]LF) vanish, trailing blanks are dropped, every line break
 * becomes CRLF. An incomplete sequence at the very end is left out (flagged).
 */
export function decodeQp(data: Buffer): { data: Buffer; error: boolean } {
  const out = Buffer.allocUnsafe(data.length * 2 + 2);
  let o = 0;
  let error = false;
  let ws = '';
  let hex1 = 0;
  type State = 'text' | 'ws' | 'eq' | 'hex2' | 'eqws' | 'cr' | 'softcr';
  let state: State = 'text';
  const put = (c: number) => {
    out[o++] = c;
  };
  const putStr = (str: string) => {
    for (let k = 0; k < str.length; k++) out[o++] = str.charCodeAt(k);
  };
  const invalid = () => {
    error = true;
    if (state === 'eq') put(0x3d);
    else if (state === 'hex2') {
      put(0x3d);
      put(hex1);
    } else if (state === 'eqws' || state === 'softcr') {
      put(0x3d);
      putStr(ws);
      if (state === 'softcr') put(13);
    } else if (state === 'cr') {
      putStr(ws);
      put(13);
    }
    ws = '';
    state = 'text';
  };
  for (let i = 0; i < data.length; ) {
    const c = data[i]!;
    switch (state) {
      case 'text':
        if (c === 0x3d) state = 'eq';
        else if (c === 13) state = 'cr';
        else if (c === 10) {
          put(13);
          put(10);
        } else if (c === 32 || c === 9) {
          state = 'ws';
          ws = String.fromCharCode(c);
        } else put(c);
        break;
      case 'ws':
        if (c === 32 || c === 9) {
          if (ws.length <= QP_MAX_WHITESPACE) ws += String.fromCharCode(c);
        } else if (c === 13) state = 'cr';
        else if (c === 10) {
          put(13);
          put(10);
          ws = '';
          state = 'text';
        } else {
          if (ws.length > QP_MAX_WHITESPACE) error = true;
          putStr(ws);
          ws = '';
          state = 'text';
          continue;
        }
        break;
      case 'eq':
        if (isHex(c)) {
          hex1 = c;
          state = 'hex2';
        } else if (c === 32 || c === 9) {
          ws = String.fromCharCode(c);
          state = 'eqws';
        } else if (c === 13) state = 'softcr';
        else if (c === 10) state = 'text';
        else {
          invalid();
          continue;
        }
        break;
      case 'hex2':
        if (isHex(c)) {
          put((hexVal(hex1) << 4) | hexVal(c));
          state = 'text';
        } else {
          invalid();
          continue;
        }
        break;
      case 'eqws':
        if (c === 32 || c === 9) {
          if (ws.length <= QP_MAX_WHITESPACE) ws += String.fromCharCode(c);
        } else if (c === 13) state = 'softcr';
        else if (c === 10) {
          ws = '';
          state = 'text';
        } else {
          invalid();
          continue;
        }
        break;
      case 'cr':
      case 'softcr':
        if (c === 10) {
          ws = '';
          if (state === 'cr') {
            put(13);
            put(10);
          }
          state = 'text';
        } else {
          invalid();
          continue;
        }
        break;
    }
    i++;
  }
  if (state !== 'text' && state !== 'ws') error = true;
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
