/**
 * auth/schemes/digests.ts: the two hash primitives node:crypto cannot give us.
 *
 * - MD4 (RFC 1320): OpenSSL 3 in Node 20 has it only in the legacy provider,
 *   but PLAIN-MD4 and OTP's md4 mode need it.
 * - The raw MD5 compression state after one 64-byte block: Dovecot's CRAM-MD5
 *   / HMAC-MD5 scheme stores the HMAC-MD5 inner and outer contexts, not a
 *   digest (lib/hmac-cram-md5.c), and crypto.createHash() never exposes them.
 */

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

function md4Block(st: Uint32Array, w: Uint32Array): void {
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number) => x ^ y ^ z;
  for (const i of [0, 4, 8, 12]) {
    a = rotl((a + F(b, c, d) + w[i]!) | 0, 3);
    d = rotl((d + F(a, b, c) + w[i + 1]!) | 0, 7);
    c = rotl((c + F(d, a, b) + w[i + 2]!) | 0, 11);
    b = rotl((b + F(c, d, a) + w[i + 3]!) | 0, 19);
  }
  for (const i of [0, 1, 2, 3]) {
    a = rotl((a + G(b, c, d) + w[i]! + 0x5a827999) | 0, 3);
    d = rotl((d + G(a, b, c) + w[i + 4]! + 0x5a827999) | 0, 5);
    c = rotl((c + G(d, a, b) + w[i + 8]! + 0x5a827999) | 0, 9);
    b = rotl((b + G(c, d, a) + w[i + 12]! + 0x5a827999) | 0, 13);
  }
  for (const i of [0, 2, 1, 3]) {
    a = rotl((a + H(b, c, d) + w[i]! + 0x6ed9eba1) | 0, 3);
    d = rotl((d + H(a, b, c) + w[i + 8]! + 0x6ed9eba1) | 0, 9);
    c = rotl((c + H(d, a, b) + w[i + 4]! + 0x6ed9eba1) | 0, 11);
    b = rotl((b + H(c, d, a) + w[i + 12]! + 0x6ed9eba1) | 0, 15);
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
}

/** Pad a message MD-style (little-endian bit length) into 64-byte blocks. */
function mdPad(data: Uint8Array): Buffer {
  const len = data.length;
  const total = (((len + 8) >> 6) + 1) << 6;
  const buf = Buffer.alloc(total);
  buf.set(data);
  buf[len] = 0x80;
  const bits = BigInt(len) * 8n;
  buf.writeBigUInt64LE(bits, total - 8);
  return buf;
}

export function md4(data: Uint8Array): Buffer {
  const st = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const buf = mdPad(data);
  const w = new Uint32Array(16);
  for (let off = 0; off < buf.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = buf.readUInt32LE(off + i * 4);
    md4Block(st, w);
  }
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(st[i]!, i * 4);
  return out;
}

const MD5_K = Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));
const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

function md5Block(st: Uint32Array, w: Uint32Array): void {
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const s = MD5_S[(i >> 4) * 4 + (i & 3)]!;
    const t = d;
    d = c;
    c = b;
    b = (b + rotl((a + f + MD5_K[i]! + w[g]!) | 0, s)) | 0;
    a = t;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
}

/** MD5 state words (a, b, c, d) after compressing exactly one 64-byte block. */
export function md5StateAfterBlock(block: Uint8Array): Uint32Array {
  const st = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const w = new Uint32Array(16);
  const b = Buffer.from(block.buffer, block.byteOffset, 64);
  for (let i = 0; i < 16; i++) w[i] = b.readUInt32LE(i * 4);
  md5Block(st, w);
  return st;
}
