/**
 * auth/schemes/encoding.ts: the byte encodings password hashes are stored in,
 * with Dovecot's exact acceptance rules (lib/base64.c, lib/hex-binary.c in
 * 2.3.19), because they decide whether a stored hash is "valid" at all:
 *
 * - base64 (RFC 4648 alphabet) decoding skips SP, TAB, CR and LF anywhere,
 *   requires full padding ("ab==", "abc="), rejects anything after the
 *   padding except whitespace, and rejects any other character.
 * - hex decoding takes pairs of [0-9a-fA-F]; an odd length fails.
 * - encoding writes standard padded base64 and lower-case hex.
 */

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECMAP = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) DECMAP[B64_ALPHABET.charCodeAt(i)] = i;

const isEmpty = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09;

/**
 * base64_decode() with no flags: returns the decoded bytes, or undefined when
 * Dovecot would return -1 (invalid character, bad padding, or trailing data).
 */
export function base64Decode(src: Buffer | string): Buffer | undefined {
  const r = base64DecodePartial(src);
  return r.ok ? r.data : undefined;
}

/**
 * The decoder proper. `data` holds what was decoded before any failure, as
 * t_base64_decode_str() returns it (it ignores the error).
 */
export function base64DecodePartial(src: Buffer | string): { ok: boolean; data: Buffer } {
  const s = typeof src === 'string' ? Buffer.from(src, 'latin1') : src;
  const out: number[] = [];
  let subPos = 0;
  let buf = 0;
  let pos = 0;
  let failed = false;
  for (; pos < s.length; pos++) {
    const c = s[pos]!;
    const dm = DECMAP[c]!;
    if (dm < 0) {
      if (isEmpty(c)) continue;
      failed = true;
      break;
    }
    switch (subPos) {
      case 0:
        buf = dm;
        subPos = 1;
        break;
      case 1:
        out.push(((buf << 2) | (dm >> 4)) & 0xff);
        buf = dm;
        subPos = 2;
        break;
      case 2:
        out.push(((buf << 4) & 0xff) | (dm >> 2));
        buf = dm;
        subPos = 3;
        break;
      default:
        out.push(((buf << 6) & 0xc0) | dm);
        buf = 0;
        subPos = 0;
        break;
    }
  }
  const data = Buffer.from(out);
  if (!failed) return { ok: subPos === 0, data };
  // An invalid character: it may be the start of the padding.
  if (subPos === 0 || subPos === 1) return { ok: false, data };
  if (subPos === 2) {
    if (s[pos] !== 0x3d) return { ok: false, data };
    pos++;
    while (pos < s.length && isEmpty(s[pos]!)) pos++;
    // "ab=" alone leaves sub_pos at 3: base64_decode_finish() fails.
    if (pos === s.length) return { ok: false, data };
  }
  if (s[pos] !== 0x3d) return { ok: false, data };
  pos++;
  while (pos < s.length && isEmpty(s[pos]!)) pos++;
  return { ok: pos === s.length, data };
}

export function base64Encode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

const hexVal = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;

/** hex_to_binary(): undefined on any non-hex character or an odd length. */
export function hexDecode(src: Buffer | string): Buffer | undefined {
  const s = typeof src === 'string' ? Buffer.from(src, 'latin1') : src;
  if (s.length % 2 !== 0) return undefined;
  const out = Buffer.alloc(s.length / 2);
  for (let i = 0; i < s.length; i += 2) {
    const hi = hexVal(s[i]!);
    const lo = hexVal(s[i + 1]!);
    if (hi < 0 || lo < 0) return undefined;
    out[i / 2] = (hi << 4) | lo;
  }
  return out;
}

export function hexEncode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** The crypt(3) alphabet used by salts and by the crypt-family output encodings. */
export const CRYPT_B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
