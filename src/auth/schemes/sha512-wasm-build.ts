/**
 * auth/schemes/sha512-wasm-build.ts: writes the WebAssembly module that
 * sha512-wasm.ts runs: the SHA-512 compression function (FIPS 180-4 §6.4)
 * in 64-bit integer instructions. This is its source; sha512-wasm.gen.ts
 * holds the bytes (base64) so that no process pays for building them, and a
 * unit test checks that the two agree. Regenerate after a change with:
 *   npx tsc -p tsconfig.json && node -e "import('./dist/src/auth/schemes/sha512-wasm-build.js').then((m) => m.writeGenerated('src/auth/schemes/sha512-wasm.gen.ts'))"
 *
 * The function run(msg, nblocks, out) hashes nblocks 128-byte blocks at
 * `msg` (already padded) from the initial value and stores the digest
 * big-endian at `out`. The code is kept small (loops, not unrolled rounds)
 * so that V8's baseline compiler runs it well and its optimizing compiler
 * takes little time. Unit tests compare it with node:crypto.
 */
import { writeFileSync } from 'node:fs';
import { CRYPT_A, CRYPT_P, CRYPT_S, KTAB, MSG, WTAB } from './sha512-wasm-layout.js';

// FIPS 180-4 §4.2.3 and §5.3.5 (the first 64 bits of the fractional parts of
// the cube / square roots of the first 80 / 8 primes).
const K = [
  '428a2f98d728ae22', '7137449123ef65cd', 'b5c0fbcfec4d3b2f', 'e9b5dba58189dbbc', '3956c25bf348b538', '59f111f1b605d019',
  '923f82a4af194f9b', 'ab1c5ed5da6d8118', 'd807aa98a3030242', '12835b0145706fbe', '243185be4ee4b28c', '550c7dc3d5ffb4e2',
  '72be5d74f27b896f', '80deb1fe3b1696b1', '9bdc06a725c71235', 'c19bf174cf692694', 'e49b69c19ef14ad2', 'efbe4786384f25e3',
  '0fc19dc68b8cd5b5', '240ca1cc77ac9c65', '2de92c6f592b0275', '4a7484aa6ea6e483', '5cb0a9dcbd41fbd4', '76f988da831153b5',
  '983e5152ee66dfab', 'a831c66d2db43210', 'b00327c898fb213f', 'bf597fc7beef0ee4', 'c6e00bf33da88fc2', 'd5a79147930aa725',
  '06ca6351e003826f', '142929670a0e6e70', '27b70a8546d22ffc', '2e1b21385c26c926', '4d2c6dfc5ac42aed', '53380d139d95b3df',
  '650a73548baf63de', '766a0abb3c77b2a8', '81c2c92e47edaee6', '92722c851482353b', 'a2bfe8a14cf10364', 'a81a664bbc423001',
  'c24b8b70d0f89791', 'c76c51a30654be30', 'd192e819d6ef5218', 'd69906245565a910', 'f40e35855771202a', '106aa07032bbd1b8',
  '19a4c116b8d2d0c8', '1e376c085141ab53', '2748774cdf8eeb99', '34b0bcb5e19b48a8', '391c0cb3c5c95a63', '4ed8aa4ae3418acb',
  '5b9cca4f7763e373', '682e6ff3d6b2b8a3', '748f82ee5defb2fc', '78a5636f43172f60', '84c87814a1f0ab72', '8cc702081a6439ec',
  '90befffa23631e28', 'a4506cebde82bde9', 'bef9a3f7b2c67915', 'c67178f2e372532b', 'ca273eceea26619c', 'd186b8c721c0c207',
  'eada7dd6cde0eb1e', 'f57d4f7fee6ed178', '06f067aa72176fba', '0a637dc5a2c898a6', '113f9804bef90dae', '1b710b35131c471b',
  '28db77f523047d84', '32caab7b40c72493', '3c9ebe0a15c9bebc', '431d67c49c100d4c', '4cc5d4becb3e42b6', '597f299cfc657e2a',
  '5fcb6fab3ad6faec', '6c44198c4a475817',
];
const IV = [
  '6a09e667f3bcc908', 'bb67ae8584caa73b', '3c6ef372fe94f82b', 'a54ff53a5f1d36f1',
  '510e527fade682d1', '9b05688c2b3e6c1f', '1f83d9abfb41bd6b', '5be0cd19137e2179',
];

// Opcodes (WebAssembly 1.0).
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  get: 0x20, set: 0x21, tee: 0x22,
  i32const: 0x41, i64const: 0x42,
  i64load: 0x29, i64load8u: 0x31, i64store: 0x37, i64store8: 0x3c,
  i32eqz: 0x45, i32ltU: 0x49, i32add: 0x6a, i32sub: 0x6b, i32remU: 0x70, i32and: 0x71, i32shl: 0x74, i32shrU: 0x76,
  i32store8: 0x3a, if: 0x04, else: 0x05, call: 0x10,
  i64add: 0x7c, i64and: 0x83, i64or: 0x84, i64xor: 0x85, i64shl: 0x86, i64shrU: 0x88, i64rotr: 0x8a,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a non-negative value below 2^31 (i32.const operands, shift counts). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if (n === 0 && (b & 0x40) === 0) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}


function body(): number[] {
  // Locals: 0 msg, 1 nblocks, 2 out (params); 3 t (i32); 4..11 H0..H7; 12..19 a..h; 20 T1 (i64).
  const T = 3;
  const H = (i: number) => 4 + i;
  const [A, B, C, D, E, F, G, HH] = [12, 13, 14, 15, 16, 17, 18, 19];
  const T1 = 20;
  const c: number[] = [];
  const get = (l: number) => c.push(OP.get, l);
  const set = (l: number) => c.push(OP.set, l);
  const i64k = (n: number) => c.push(OP.i64const, ...sleb(n));
  const i32k = (n: number) => c.push(OP.i32const, ...sleb(n));
  const loadW = (delta: number) => {
    // W[t + delta]: t is a byte offset into the schedule
    get(T);
    c.push(OP.i64load, 0x03, ...uleb(WTAB + delta));
  };
  /** XOR of rotations ('r') and shifts ('s') of the value pushed by `push`. */
  const sigma = (push: () => void, parts: Array<['r' | 's', number]>) => {
    parts.forEach(([k, n], i) => {
      push();
      i64k(n);
      c.push(k === 'r' ? OP.i64rotr : OP.i64shrU);
      if (i > 0) c.push(OP.i64xor);
    });
  };
  /** for (t = from; t < to; t += 8) { inner() } */
  const forT = (from: number, to: number, inner: () => void) => {
    i32k(from);
    set(T);
    c.push(OP.loop, 0x40);
    inner();
    get(T);
    i32k(8);
    c.push(OP.i32add, OP.tee, T);
    i32k(to);
    c.push(OP.i32ltU, OP.brIf, 0x00, OP.end);
  };

  for (let i = 0; i < 8; i++) {
    c.push(OP.i64const, ...sleb64(BigInt.asIntN(64, BigInt(`0x${IV[i]}`))));
    set(H(i));
  }
  c.push(OP.block, 0x40, OP.loop, 0x40);
  // W[0..15]: the block's big-endian words
  forT(0, 128, () => {
    get(T);
    for (let j = 0; j < 8; j++) {
      get(0);
      get(T);
      c.push(OP.i32add, OP.i64load8u, 0x00, ...uleb(j));
      if (j < 7) {
        i64k(56 - 8 * j);
        c.push(OP.i64shl);
      }
      if (j > 0) c.push(OP.i64or);
    }
    c.push(OP.i64store, 0x03, ...uleb(WTAB));
  });
  // W[16..79] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
  forT(128, 640, () => {
    get(T);
    sigma(() => loadW(-16), [['r', 19], ['r', 61], ['s', 6]]);
    loadW(-56);
    c.push(OP.i64add);
    sigma(() => loadW(-120), [['r', 1], ['r', 8], ['s', 7]]);
    c.push(OP.i64add);
    loadW(-128);
    c.push(OP.i64add, OP.i64store, 0x03, ...uleb(WTAB));
  });
  for (let i = 0; i < 8; i++) {
    get(H(i));
    set(A + i);
  }
  forT(0, 640, () => {
    // T1 = h + S1(e) + Ch(e,f,g) + K[t] + W[t], Ch = g ^ (e & (f ^ g))
    get(HH);
    sigma(() => get(E), [['r', 14], ['r', 18], ['r', 41]]);
    c.push(OP.i64add);
    get(G);
    get(E);
    get(F);
    get(G);
    c.push(OP.i64xor, OP.i64and, OP.i64xor, OP.i64add);
    get(T);
    c.push(OP.i64load, 0x03, ...uleb(KTAB), OP.i64add);
    loadW(0);
    c.push(OP.i64add);
    set(T1);
    // h = g; g = f; f = e; e = d + T1; d = c; c = b; b = a
    get(G);
    set(HH);
    get(F);
    set(G);
    get(E);
    set(F);
    get(D);
    get(T1);
    c.push(OP.i64add);
    set(E);
    get(C);
    set(D);
    get(B);
    set(C);
    get(A);
    set(B);
    // a = T1 + S0(b) + Maj(b, c, d) (the old a, b, c), Maj = (a & b) | (c & (a | b))
    get(T1);
    sigma(() => get(B), [['r', 28], ['r', 34], ['r', 39]]);
    c.push(OP.i64add);
    get(B);
    get(C);
    c.push(OP.i64and);
    get(D);
    get(B);
    get(C);
    c.push(OP.i64or, OP.i64and, OP.i64or, OP.i64add);
    set(A);
  });
  for (let i = 0; i < 8; i++) {
    get(H(i));
    get(A + i);
    c.push(OP.i64add);
    set(H(i));
  }
  // msg += 128; if (--nblocks == 0) break; else continue
  get(0);
  i32k(128);
  c.push(OP.i32add);
  set(0);
  get(1);
  i32k(1);
  c.push(OP.i32sub, OP.tee, 0x01, OP.i32eqz, OP.brIf, 0x01, OP.br, 0x00, OP.end, OP.end);
  // the digest, big-endian
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      get(2);
      get(H(i));
      if (j < 7) {
        i64k(56 - 8 * j);
        c.push(OP.i64shrU);
      }
      c.push(OP.i64store8, 0x00, ...uleb(i * 8 + j));
    }
  }
  c.push(OP.end);
  return [0x02, 0x01, 0x7f, ...uleb(17), 0x7e, ...c];
}

/**
 * crypt(plen, slen, rounds): the rounds loop of SHA-512-crypt (Drepper's
 * specification, steps 21a-21f) over A at CRYPT_A, P at CRYPT_P and S at
 * CRYPT_S, calling run() (function 0) once per round so that V8 can tier
 * run() up while the loop goes on.
 */
function cryptBody(): number[] {
  // Locals: 0 plen, 1 slen, 2 rounds (params); 3 r, 4 pos, 5 len, 6 total (i32).
  const [PLEN, SLEN, ROUNDS, R, POS, LEN, TOTAL] = [0, 1, 2, 3, 4, 5, 6];
  const c: number[] = [];
  const get = (l: number) => c.push(OP.get, l);
  const set = (l: number) => c.push(OP.set, l);
  const i32k = (n: number) => c.push(OP.i32const, ...sleb(n));
  /** memory[pos..] = memory[src..src+len]; pos += len */
  const append = (src: number, lenLocal: number | undefined, constLen = 0) => {
    get(POS);
    i32k(src);
    if (lenLocal === undefined) i32k(constLen);
    else get(lenLocal);
    c.push(0xfc, 0x0a, 0x00, 0x00); // memory.copy
    get(POS);
    if (lenLocal === undefined) i32k(constLen);
    else get(lenLocal);
    c.push(OP.i32add);
    set(POS);
  };
  const appendA = () => append(CRYPT_A, undefined, 64);
  const appendP = () => append(CRYPT_P, PLEN);
  i32k(0);
  set(R);
  c.push(OP.block, 0x40);
  get(ROUNDS);
  c.push(OP.i32eqz, OP.brIf, 0x00);
  c.push(OP.loop, 0x40);
  i32k(MSG);
  set(POS);
  // odd rounds start with P, even ones with A
  get(R);
  i32k(1);
  c.push(OP.i32and, OP.if, 0x40);
  appendP();
  c.push(OP.else);
  appendA();
  c.push(OP.end);
  // not a multiple of 3: S; not a multiple of 7: P
  get(R);
  i32k(3);
  c.push(OP.i32remU, OP.if, 0x40);
  append(CRYPT_S, SLEN);
  c.push(OP.end);
  get(R);
  i32k(7);
  c.push(OP.i32remU, OP.if, 0x40);
  appendP();
  c.push(OP.end);
  // odd rounds end with A, even ones with P
  get(R);
  i32k(1);
  c.push(OP.i32and, OP.if, 0x40);
  appendA();
  c.push(OP.else);
  appendP();
  c.push(OP.end);
  // padding: 0x80, zeros, 64-bit big-endian bit count (the high 32 bits are zero)
  get(POS);
  i32k(MSG);
  c.push(OP.i32sub);
  set(LEN);
  get(LEN);
  i32k(17 + 127);
  c.push(OP.i32add);
  i32k(7);
  c.push(OP.i32shrU);
  i32k(7);
  c.push(OP.i32shl);
  set(TOTAL);
  get(POS);
  i32k(0);
  get(TOTAL);
  get(LEN);
  c.push(OP.i32sub);
  c.push(0xfc, 0x0b, 0x00); // memory.fill
  get(POS);
  i32k(0x80);
  c.push(OP.i32store8, 0x00, 0x00);
  for (let j = 0; j < 4; j++) {
    i32k(MSG - 4 + j);
    get(TOTAL);
    c.push(OP.i32add);
    get(LEN);
    i32k(3);
    c.push(OP.i32shl);
    if (j < 3) {
      i32k(24 - 8 * j);
      c.push(OP.i32shrU);
    }
    c.push(OP.i32store8, 0x00, 0x00);
  }
  // A = SHA-512(message)
  i32k(MSG);
  get(TOTAL);
  i32k(7);
  c.push(OP.i32shrU);
  i32k(CRYPT_A);
  c.push(OP.call, 0x00);
  // while (++r < rounds)
  get(R);
  i32k(1);
  c.push(OP.i32add, OP.tee, R);
  get(ROUNDS);
  c.push(OP.i32ltU, OP.brIf, 0x00, OP.end, OP.end, OP.end);
  return [0x01, 0x04, 0x7f, ...c];
}

function sleb64(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** The module: type, function, memory, exports "mem" and "run", code, and K as data. */
export function moduleBytes(): Uint8Array {
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
  const fn = body();
  const crypt = cryptBody();
  const k = Buffer.alloc(640);
  K.forEach((h, i) => {
    k.writeBigUInt64LE(BigInt(`0x${h}`), i * 8);
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]),
    ...section(3, [0x02, 0x00, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x03, ...name('mem'), 0x02, 0x00, ...name('run'), 0x00, 0x00, ...name('crypt'), 0x00, 0x01]),
    ...section(10, [0x02, ...uleb(fn.length), ...fn, ...uleb(crypt.length), ...crypt]),
    ...section(11, [0x01, 0x00, OP.i32const, ...sleb(KTAB), OP.end, ...uleb(k.length), ...k]),
  ]);
}

/** Write sha512-wasm.gen.ts (the module as base64). */
export function writeGenerated(path: string): void {
  const b64 = Buffer.from(moduleBytes()).toString('base64');
  const lines = b64.match(/.{1,100}/g)!.map((l) => `  '${l}'`);
  writeFileSync(
    path,
    `/** auth/schemes/sha512-wasm.gen.ts: generated by sha512-wasm-build.ts (do not edit). */\nexport const SHA512_WASM_BASE64 =\n${lines.join(' +\n')};\n`,
  );
}
