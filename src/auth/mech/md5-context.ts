/**
 * auth/mech/md5-context.ts: HMAC-MD5 from a precomputed context, the form
 * CRAM-MD5 credentials are stored in (lib/hmac-cram-md5.c): 32 bytes, the
 * MD5 state (a, b, c, d little-endian) after the opad block, then after the
 * ipad block. Node's crypto cannot resume MD5 from a state, so the
 * compression function (RFC 1321 §3.4) is written out here.
 */
import { createHash } from 'node:crypto';

const S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

function compress(state: Uint32Array, block: Buffer, off: number): void {
  let [a, b, c, d] = [state[0]!, state[1]!, state[2]!, state[3]!];
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const m = block.readUInt32LE(off + g * 4);
    const tmp = d;
    d = c;
    c = b;
    const x = (a + f + K[i]! + m) >>> 0;
    b = (b + ((x << S[i]!) | (x >>> (32 - S[i]!)))) >>> 0;
    a = tmp;
  }
  state[0] = (state[0]! + a) >>> 0;
  state[1] = (state[1]! + b) >>> 0;
  state[2] = (state[2]! + c) >>> 0;
  state[3] = (state[3]! + d) >>> 0;
}

/** MD5 of `data`, continuing from `state` after `doneBytes` (a multiple of 64). */
function md5From(state: Uint32Array, doneBytes: number, data: Buffer): Buffer {
  const st = Uint32Array.from(state);
  const total = doneBytes + data.length;
  const padLen = (data.length % 64 < 56 ? 56 : 120) - (data.length % 64);
  const buf = Buffer.alloc(data.length + padLen + 8);
  data.copy(buf);
  buf[data.length] = 0x80;
  const bits = BigInt(total) * 8n;
  buf.writeUInt32LE(Number(bits & 0xffffffffn), buf.length - 8);
  buf.writeUInt32LE(Number(bits >> 32n), buf.length - 4);
  for (let off = 0; off < buf.length; off += 64) compress(st, buf, off);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(st[i]!, i * 4);
  return out;
}

/** HMAC-MD5(key, message) where the key is given as its 32-byte CRAM-MD5 context. */
export function hmacMd5FromContext(context: Buffer, message: Buffer): Buffer {
  const outer = new Uint32Array(4);
  const inner = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    outer[i] = context.readUInt32LE(i * 4);
    inner[i] = context.readUInt32LE(16 + i * 4);
  }
  const innerDigest = md5From(inner, 64, message);
  return md5From(outer, 64, innerDigest);
}

/** The 32-byte context of a key (what {CRAM-MD5} stores, hex-encoded). */
export function cramMd5Context(key: Buffer): Buffer {
  let k = key;
  if (k.length > 64) k = createHash('md5').update(k).digest();
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i]! ^= k[i]!;
    opad[i]! ^= k[i]!;
  }
  const init = () => Uint32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const o = init();
  compress(o, opad, 0);
  const i = init();
  compress(i, ipad, 0);
  const out = Buffer.alloc(32);
  for (let n = 0; n < 4; n++) {
    out.writeUInt32LE(o[n]!, n * 4);
    out.writeUInt32LE(i[n]!, 16 + n * 4);
  }
  return out;
}
