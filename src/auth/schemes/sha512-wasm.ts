/**
 * auth/schemes/sha512-wasm.ts: SHA-512 for the 5000 rounds of SHA-512-crypt,
 * on a 2 KB WebAssembly module (built by sha512-wasm-build.ts). JavaScript
 * has no 64-bit integers short of BigInt, so SHA-512 in JS emulates every
 * operation with two 32-bit halves and runs slowly until the optimizing
 * compiler has caught up; WebAssembly's i64 instructions are fast at once,
 * which matters because `doveadm pw` hashes once in a fresh process.
 */
import { CRYPT_A, CRYPT_P, CRYPT_S, MSG, OUT, PS_MAX } from './sha512-wasm-layout.js';
import { SHA512_WASM_BASE64 } from './sha512-wasm.gen.js';

type Run = (msg: number, nblocks: number, out: number) => void;
type Crypt = (plen: number, slen: number, rounds: number) => void;
interface Compiled {
  run: Run;
  crypt: Crypt;
  mem: WebAssembly.Memory;
}
let compiled: Compiled | undefined;

function instance(): Compiled {
  if (!compiled) {
    const bytes = Buffer.from(SHA512_WASM_BASE64, 'base64');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    compiled = { run: inst.exports.run as Run, crypt: inst.exports.crypt as Crypt, mem: inst.exports.mem as WebAssembly.Memory };
  }
  return compiled;
}

const MAX_MSG = 65536 - MSG;

/** Longest P sequence (password) sha512CryptRounds() takes. */
export const CRYPT_MAX_PASSWORD = PS_MAX;

/**
 * SHA-512-crypt's rounds loop (steps 21a-21f): from the digest A, the P and
 * S sequences, `rounds` times A = SHA-512(...). Returns the final A.
 */
export function sha512CryptRounds(A: Uint8Array, P: Uint8Array, S: Uint8Array, rounds: number): Buffer {
  if (P.length > PS_MAX || S.length > 64 || A.length !== 64) throw new RangeError('sha512CryptRounds: input too long');
  const i = instance();
  const m = new Uint8Array(i.mem.buffer);
  m.set(A, CRYPT_A);
  m.set(P, CRYPT_P);
  m.set(S, CRYPT_S);
  i.crypt(P.length, S.length, rounds);
  return Buffer.from(m.subarray(CRYPT_A, CRYPT_A + 64));
}

/** A SHA-512 hasher for messages up to 64 KiB minus padding, backed by the module above. */
export class Sha512 {
  private readonly run: Run;
  private readonly mem: Uint8Array;
  readonly out: Uint8Array;

  constructor(maxLen: number) {
    if (maxLen + 17 > MAX_MSG) throw new RangeError('Sha512: message too long');
    const i = instance();
    this.run = i.run;
    this.mem = new Uint8Array(i.mem.buffer);
    this.out = this.mem.subarray(OUT, OUT + 64);
  }

  /** Hash the concatenation of `parts`; the result (this.out) is overwritten by the next call. */
  digest(parts: readonly Uint8Array[]): Uint8Array {
    const m = this.mem;
    let len = 0;
    for (const p of parts) {
      m.set(p, MSG + len);
      len += p.length;
    }
    const total = ((len + 17 + 127) >> 7) << 7;
    m.fill(0, MSG + len, MSG + total);
    m[MSG + len] = 0x80;
    const bits = len * 8;
    m[MSG + total - 1] = bits & 0xff;
    m[MSG + total - 2] = (bits >>> 8) & 0xff;
    m[MSG + total - 3] = (bits >>> 16) & 0xff;
    m[MSG + total - 4] = (bits >>> 24) & 0xff;
    this.run(MSG, total >> 7, OUT);
    return this.out;
  }
}
