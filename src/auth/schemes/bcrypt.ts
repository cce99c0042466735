/**
 * auth/schemes/bcrypt.ts: BLF-CRYPT (and CRYPT generation), as Dovecot's
 * password-scheme-crypt.c drives its bundled Openwall crypt_blowfish:
 * generate "$2y$NN$" + 22 salt characters from 16 random bytes, cost clamped
 * to [4, 31] with 5 as the default; verify by recomputing from the first 29
 * characters and comparing the whole string.
 *
 * The arithmetic is bcryptjs (pure JS, accepts "$2y$"; reference/
 * dependencies.md §2). It is loaded on first use. bcryptjs takes a JS string
 * and hashes its UTF-8 bytes, so a password that is not valid UTF-8 cannot
 * be given to it: we refuse such passwords rather than risk two different
 * byte strings mapping to the same text. "$2x$" (the pre-2011 sign-extension
 * variant) is not supported by bcryptjs either.
 */
import { randomBytes } from 'node:crypto';

export const BLF_ROUNDS_DEFAULT = 5;
export const BLF_ROUNDS_MIN = 4;
export const BLF_ROUNDS_MAX = 31;
const BLF_PREFIX_LEN = 29;

type BcryptJs = typeof import('bcryptjs');
let lib: BcryptJs | undefined;
async function bcryptjs(): Promise<BcryptJs> {
  lib ??= (await import('bcryptjs')).default as unknown as BcryptJs;
  return lib;
}

/** A password bcryptjs can take: its bytes as a string, or undefined if they are not UTF-8. */
function asUtf8(password: Buffer): string | undefined {
  const s = password.toString('utf8');
  return Buffer.from(s, 'utf8').equals(password) ? s : undefined;
}

export class BcryptInputError extends Error {}

export async function bcryptGenerate(password: Buffer, rounds: number): Promise<string> {
  let cost = rounds;
  if (cost === 0) cost = BLF_ROUNDS_DEFAULT;
  else if (cost < BLF_ROUNDS_MIN) cost = BLF_ROUNDS_MIN;
  else if (cost > BLF_ROUNDS_MAX) cost = BLF_ROUNDS_MAX;
  const pw = asUtf8(password);
  if (pw === undefined) throw new BcryptInputError('bcrypt: passwords that are not valid UTF-8 are not supported');
  const b = await bcryptjs();
  const salt = `$2y$${String(cost).padStart(2, '0')}$${b.encodeBase64(randomBytes(16), 16)}`;
  return b.hash(pw, salt);
}

const SETTING_RE = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{22}/;

/**
 * crypt_verify_blowfish(): 1 match, 0 mismatch, or an error text (verify
 * returns -1 in Dovecot) for hashes that are not bcrypt at all.
 */
export async function bcryptVerify(password: Buffer, stored: string): Promise<1 | 0 | string> {
  if (stored.length === 0) return 0;
  if (stored.length < BLF_PREFIX_LEN + 1 || !/^\$2[a-z]\$/.test(stored)) return 'Password is not blowfish password';
  if (!SETTING_RE.test(stored)) return 'crypt_blowfish_rn failed: Invalid argument';
  const pw = asUtf8(password);
  if (pw === undefined) return 0;
  const b = await bcryptjs();
  // Openwall's crypt_blowfish treats $2a$, $2b$ and $2y$ alike for this input.
  const setting = '$2b$' + stored.slice(4, BLF_PREFIX_LEN);
  const computed = await b.hash(pw, setting);
  return stored.slice(0, 4) + computed.slice(4) === stored ? 1 : 0;
}
