/**
 * auth/schemes/sha2-block.ts: SHA-256 and SHA-512 (FIPS 180-4) in plain
 * JavaScript over preallocated buffers, for the 5000-round inner loop of
 * SHA-crypt. Each round hashes under 130 bytes; node:crypto's createHash()
 * costs several microseconds of set-up per call, which made a "$6$" hash
 * ten times slower than libxcrypt. Here a round is one or two compressions.
 *
 * The round constants and initial values are computed, not typed in: the
 * first 32 (SHA-256) or 64 (SHA-512) bits of the fractional parts of the
 * square roots (initial values) and cube roots (constants) of the primes.
 * Unit tests compare both functions with node:crypto.
 */

function primes(n: number): number[] {
  const out: number[] = [];
  for (let c = 2; out.length < n; c++) if (out.every((p) => c % p !== 0)) out.push(c);
  return out;
}

function iroot(x: bigint, k: bigint): bigint {
  // Newton's method for floor(x^(1/k)), starting above the root.
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n);
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (next >= r) return r;
    r = next;
  }
}

/** Fractional bits of p^(1/k): 64 bits as [hi, lo] signed 32-bit words. */
function fracBits(p: number, k: bigint): [number, number] {
  const scaled = iroot(BigInt(p) << (64n * k), k);
  const f = scaled & ((1n << 64n) - 1n);
  return [Number(f >> 32n) | 0, Number(f & 0xffffffffn) | 0];
}

const P80 = primes(80);
const K512 = new Int32Array(160);
P80.forEach((p, i) => {
  const [h, l] = fracBits(p, 3n);
  K512[2 * i] = h;
  K512[2 * i + 1] = l;
});
const IV512 = new Int32Array(16);
P80.slice(0, 8).forEach((p, i) => {
  const [h, l] = fracBits(p, 2n);
  IV512[2 * i] = h;
  IV512[2 * i + 1] = l;
});
const K256 = Int32Array.from({ length: 64 }, (_, i) => K512[2 * i]!);
const IV256 = Int32Array.from({ length: 8 }, (_, i) => IV512[2 * i]!);

/** A reusable SHA-512 hasher for messages of bounded length. */
export class Sha512 {
  private readonly h = new Int32Array(16);
  private readonly w = new Int32Array(160);
  private buf: Uint8Array;
  private view: DataView;
  readonly out = new Uint8Array(64);

  constructor(maxLen: number) {
    this.buf = new Uint8Array(((maxLen + 17 + 127) >> 7) << 7);
    this.view = new DataView(this.buf.buffer);
  }

  /** Hash the concatenation of `parts` into this.out (overwritten by the next call). */
  digest(parts: readonly Uint8Array[]): Uint8Array {
    let len = 0;
    for (const p of parts) {
      this.buf.set(p, len);
      len += p.length;
    }
    const total = ((len + 17 + 127) >> 7) << 7;
    this.buf.fill(0, len, total);
    this.buf[len] = 0x80;
    this.view.setUint32(total - 4, len * 8);
    this.view.setUint32(total - 8, Math.floor((len * 8) / 2 ** 32));
    this.h.set(IV512);
    for (let off = 0; off < total; off += 128) this.block(off);
    const o = new DataView(this.out.buffer);
    for (let i = 0; i < 16; i++) o.setInt32(i * 4, this.h[i]!);
    return this.out;
  }

  private block(off: number): void {
    const w = this.w;
    const b = this.buf;
    for (let i = 0; i < 32; i++) {
      const o = off + i * 4;
      w[i] = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
    }
    // All arithmetic stays in int32: 64-bit sums carry by unsigned comparison.
    for (let i = 32; i < 160; i += 2) {
      let xh = w[i - 30]!;
      let xl = w[i - 29]!;
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
      xh = w[i - 4]!;
      xl = w[i - 3]!;
      const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
      const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
      let l = (s0l + s1l) | 0;
      let h = (s0h + s1h + (l >>> 0 < s0l >>> 0 ? 1 : 0)) | 0;
      let y = w[i - 13]!;
      let nl = (l + y) | 0;
      h = (h + w[i - 14]! + (nl >>> 0 < l >>> 0 ? 1 : 0)) | 0;
      l = nl;
      y = w[i - 31]!;
      nl = (l + y) | 0;
      h = (h + w[i - 32]! + (nl >>> 0 < l >>> 0 ? 1 : 0)) | 0;
      w[i] = h;
      w[i + 1] = nl;
    }
    const H = this.h;
    let ah = H[0]!, al = H[1]!, bh = H[2]!, bl = H[3]!, ch = H[4]!, cl = H[5]!, dh = H[6]!, dl = H[7]!;
    let eh = H[8]!, el = H[9]!, fh = H[10]!, fl = H[11]!, gh = H[12]!, gl = H[13]!, hh = H[14]!, hl = H[15]!;
    for (let i = 0; i < 160; i += 2) {
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      const chh = (eh & fh) ^ (~eh & gh);
      const chl = (el & fl) ^ (~el & gl);
      // t1 = h + Sigma1(e) + Ch(e,f,g) + K[t] + W[t]
      let t1l = (hl + S1l) | 0;
      let t1h = (hh + S1h + (t1l >>> 0 < hl >>> 0 ? 1 : 0)) | 0;
      let nl = (t1l + chl) | 0;
      t1h = (t1h + chh + (nl >>> 0 < t1l >>> 0 ? 1 : 0)) | 0;
      t1l = nl;
      nl = (t1l + K512[i + 1]!) | 0;
      t1h = (t1h + K512[i]! + (nl >>> 0 < t1l >>> 0 ? 1 : 0)) | 0;
      t1l = nl;
      nl = (t1l + w[i + 1]!) | 0;
      t1h = (t1h + w[i]! + (nl >>> 0 < t1l >>> 0 ? 1 : 0)) | 0;
      t1l = nl;
      // t2 = Sigma0(a) + Maj(a,b,c)
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      const mjh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
      const mjl = (al & bl) ^ (al & cl) ^ (bl & cl);
      const t2l = (S0l + mjl) | 0;
      const t2h = (S0h + mjh + (t2l >>> 0 < S0l >>> 0 ? 1 : 0)) | 0;
      hh = gh;
      hl = gl;
      gh = fh;
      gl = fl;
      fh = eh;
      fl = el;
      el = (dl + t1l) | 0;
      eh = (dh + t1h + (el >>> 0 < dl >>> 0 ? 1 : 0)) | 0;
      dh = ch;
      dl = cl;
      ch = bh;
      cl = bl;
      bh = ah;
      bl = al;
      al = (t1l + t2l) | 0;
      ah = (t1h + t2h + (al >>> 0 < t1l >>> 0 ? 1 : 0)) | 0;
    }
    addTo(H, 0, ah, al);
    addTo(H, 2, bh, bl);
    addTo(H, 4, ch, cl);
    addTo(H, 6, dh, dl);
    addTo(H, 8, eh, el);
    addTo(H, 10, fh, fl);
    addTo(H, 12, gh, gl);
    addTo(H, 14, hh, hl);
  }
}

function addTo(H: Int32Array, i: number, h: number, l: number): void {
  const ol = H[i + 1]!;
  const nl = (ol + l) | 0;
  H[i] = (H[i]! + h + (nl >>> 0 < ol >>> 0 ? 1 : 0)) | 0;
  H[i + 1] = nl;
}

/** A reusable SHA-256 hasher for messages of bounded length. */
export class Sha256 {
  private readonly h = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private buf: Uint8Array;
  private view: DataView;
  readonly out = new Uint8Array(32);

  constructor(maxLen: number) {
    this.buf = new Uint8Array(((maxLen + 9 + 63) >> 6) << 6);
    this.view = new DataView(this.buf.buffer);
  }

  digest(parts: readonly Uint8Array[]): Uint8Array {
    let len = 0;
    for (const p of parts) {
      this.buf.set(p, len);
      len += p.length;
    }
    const total = ((len + 9 + 63) >> 6) << 6;
    this.buf.fill(0, len, total);
    this.buf[len] = 0x80;
    this.view.setUint32(total - 4, len * 8);
    this.view.setUint32(total - 8, Math.floor((len * 8) / 2 ** 32));
    this.h.set(IV256);
    for (let off = 0; off < total; off += 64) this.block(off);
    const o = new DataView(this.out.buffer);
    for (let i = 0; i < 8; i++) o.setInt32(i * 4, this.h[i]!);
    return this.out;
  }

  private block(off: number): void {
    const w = this.w;
    const bb = this.buf;
    for (let i = 0; i < 16; i++) {
      const o = off + i * 4;
      w[i] = (bb[o]! << 24) | (bb[o + 1]! << 16) | (bb[o + 2]! << 8) | bb[o + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const H = this.h;
    let a = H[0]!, b = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    H[0] = (H[0]! + a) | 0;
    H[1] = (H[1]! + b) | 0;
    H[2] = (H[2]! + c) | 0;
    H[3] = (H[3]! + d) | 0;
    H[4] = (H[4]! + e) | 0;
    H[5] = (H[5]! + f) | 0;
    H[6] = (H[6]! + g) | 0;
    H[7] = (H[7]! + h) | 0;
  }
}
