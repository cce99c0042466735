/**
 * auth/schemes/argon2.ts: ARGON2I and ARGON2ID as Dovecot builds them with
 * libsodium (password-scheme-sodium.c): crypto_pwhash_argon2i(d)_str() with
 * a 16-byte random salt, 32-byte output, parallelism 1, and the ops/memory
 * limit pairs of libsodium's INTERACTIVE / MODERATE / SENSITIVE levels:
 *
 *   ARGON2I:  ops default 4; >= 6 -> 128 MiB, >= 8 -> 512 MiB, else 32 MiB;
 *             ops < 3 fails ("crypto_pwhash_argon2i_str failed: Invalid argument").
 *   ARGON2ID: ops default 2, then raised to 3 (Dovecot's libsodium 1.0.13
 *             workaround); >= 3 -> 256 MiB, >= 4 -> 1 GiB, else 64 MiB.
 *
 * Verification is crypto_pwhash_str_verify(): either variant verifies under
 * either scheme name. The arithmetic is @node-rs/argon2 (a napi-rs prebuilt;
 * `argon2` 0.45's prebuilt crashes here, reference/dependencies.md §2),
 * loaded on first use.
 */
import { randomBytes } from 'node:crypto';

type NodeRsArgon2 = typeof import('@node-rs/argon2');
let lib: NodeRsArgon2 | undefined;
async function argon2(): Promise<NodeRsArgon2> {
  lib ??= await import('@node-rs/argon2');
  return lib;
}

const MiB = 1024; // @node-rs/argon2 takes memory in KiB

export class Argon2ParamError extends Error {}

/** The (ops, KiB) pair Dovecot asks libsodium for. */
export function argon2Params(variant: 'i' | 'id', rounds: number): { ops: number; mem: number } {
  if (variant === 'i') {
    const ops = rounds === 0 ? 4 : rounds;
    const mem = ops >= 8 ? 512 * MiB : ops >= 6 ? 128 * MiB : 32 * MiB;
    return { ops, mem };
  }
  let ops = rounds === 0 ? 2 : rounds;
  const mem = ops >= 4 ? 1024 * MiB : ops >= 3 ? 256 * MiB : 64 * MiB;
  if (ops < 3) ops = 3;
  return { ops, mem };
}

export async function argon2Generate(variant: 'i' | 'id', password: Buffer, rounds: number): Promise<string> {
  const { ops, mem } = argon2Params(variant, rounds);
  // libsodium: argon2i needs at least 3 passes; both cap ops at 2^32-1.
  if ((variant === 'i' && ops < 3) || ops > 0xffffffff) {
    throw new Argon2ParamError(`crypto_pwhash_argon2${variant}_str failed: Invalid argument`);
  }
  const a = await argon2();
  return a.hash(password, {
    algorithm: variant === 'i' ? 1 : 2,
    version: 1,
    timeCost: ops,
    memoryCost: mem,
    parallelism: 1,
    outputLen: 32,
    salt: randomBytes(16),
  });
}

/** verify_argon2(): 1 on match, 0 otherwise (libsodium's -1 covers malformed strings too). */
export async function argon2Verify(password: Buffer, stored: string): Promise<1 | 0> {
  if (!/^\$argon2id?\$/.test(stored)) return 0;
  const a = await argon2();
  try {
    return (await a.verify(stored, password)) ? 1 : 0;
  } catch {
    return 0;
  }
}
