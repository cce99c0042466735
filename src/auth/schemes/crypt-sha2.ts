/**
 * auth/schemes/crypt-sha2.ts: SHA-256-crypt ($5$) and SHA-512-crypt ($6$) as
 * libxcrypt 4.4 computes them (the specification is Ulrich Drepper's
 * "Unix crypt using SHA-256 and SHA-512"), including libxcrypt's refusals:
 * a `rounds=` value below 1000, above 999999999, empty or with a leading
 * zero makes crypt() fail. Salts stop at '$' and are cut to 16 bytes.
 *
 * No npm package gets all of this right (reference/dependencies.md §4).
 */
import { createHash } from 'node:crypto';
import { CRYPT_B64 } from './encoding.js';
import { Sha256 } from './sha2-block.js';
import { CRYPT_MAX_PASSWORD, sha512CryptRounds } from './sha512-wasm.js';

const ORDER256: ReadonlyArray<readonly [number, number, number]> = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const ORDER512: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** Append `n` crypt-base64 characters of the 24-bit group b2:b1:b0 (little end first). */
export function cryptB64Group(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let s = '';
  while (n-- > 0) {
    s += CRYPT_B64[w & 63];
    w >>>= 6;
  }
  return s;
}

export const SHA_CRYPT_ROUNDS_DEFAULT = 5000;
export const SHA_CRYPT_ROUNDS_MIN = 1000;
export const SHA_CRYPT_ROUNDS_MAX = 999999999;

/**
 * crypt() for a "$5$..." or "$6$..." setting. Returns the full hash string,
 * or undefined where libxcrypt fails (it returns "*0").
 */
export function shaCrypt(password: Buffer, setting: string): string | undefined {
  const id = setting.slice(0, 3);
  if (id !== '$5$' && id !== '$6$') return undefined;
  const alg = id === '$5$' ? 'sha256' : 'sha512';
  const len = id === '$5$' ? 32 : 64;
  let rest = setting.slice(3);
  let rounds = SHA_CRYPT_ROUNDS_DEFAULT;
  let custom = false;
  if (rest.startsWith('rounds=')) {
    const m = /^rounds=([1-9][0-9]*)\$/.exec(rest);
    if (!m) return undefined;
    rounds = Number(m[1]);
    if (m[1]!.length > 10 || rounds < SHA_CRYPT_ROUNDS_MIN || rounds > SHA_CRYPT_ROUNDS_MAX) return undefined;
    custom = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const saltStr = (end < 0 ? rest : rest.slice(0, end)).slice(0, 16);
  const salt = Buffer.from(saltStr, 'latin1');
  const P = password;
  const H = () => createHash(alg);

  const B = H().update(P).update(salt).update(P).digest();
  const a = H().update(P).update(salt);
  let n: number;
  for (n = P.length; n > len; n -= len) a.update(B);
  a.update(B.subarray(0, n));
  for (n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  let A: Buffer = a.digest();

  const dp = H();
  for (let i = 0; i < P.length; i++) dp.update(P);
  const DP = dp.digest();
  const Ps = Buffer.alloc(P.length);
  for (let i = 0; i < P.length; i += len) DP.copy(Ps, i, 0, Math.min(len, P.length - i));
  const ds = H();
  for (let i = 0; i < 16 + A[0]!; i++) ds.update(salt);
  const Ss = ds.digest().subarray(0, salt.length);

  // The rounds: at most two password copies, the salt and one digest per round.
  if (alg === 'sha512' && P.length <= CRYPT_MAX_PASSWORD) A = sha512CryptRounds(A, Ps, Ss, rounds);
  else {
    const h = alg === 'sha256' ? new Sha256(2 * len + 16 + 2 * P.length) : undefined;
    let cur: Uint8Array = A;
    const parts: Uint8Array[] = [];
    for (let r = 0; r < rounds; r++) {
      parts.length = 0;
      parts.push(r & 1 ? Ps : cur);
      if (r % 3) parts.push(Ss);
      if (r % 7) parts.push(Ps);
      parts.push(r & 1 ? cur : Ps);
      if (h) cur = h.digest(parts);
      else {
        const c = H();
        for (const p of parts) c.update(p);
        cur = c.digest();
      }
    }
    A = Buffer.from(cur);
  }
  let out = '';
  for (const [x, y, z] of id === '$5$' ? ORDER256 : ORDER512) out += cryptB64Group(A[x]!, A[y]!, A[z]!, 4);
  out += id === '$5$' ? cryptB64Group(0, A[31]!, A[30]!, 3) : cryptB64Group(0, 0, A[63]!, 2);
  return `${id}${custom ? `rounds=${rounds}$` : ''}${saltStr}$${out}`;
}
