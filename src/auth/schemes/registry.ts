/**
 * auth/schemes/registry.ts: the password scheme table of Dovecot 2.3.19
 * (password-scheme.c builtin_schemes[], password-scheme-crypt.c,
 * password-scheme-sodium.c): per scheme its default encoding, the raw length
 * used to guess hex vs base64, and its generate/verify functions. Schemes
 * with the same `family` share a generate function, which is what makes them
 * aliases (password_scheme_is_alias): PLAIN = CLEAR = CLEARTEXT = PLAIN-TRUNC,
 * MD5 = MD5-CRYPT, SHA = SHA1, PLAIN-MD5 = LDAP-MD5, CRAM-MD5 = HMAC-MD5,
 * CRYPT = BLF-CRYPT.
 */
import { argon2Generate, argon2Verify } from './argon2.js';
import { bcryptGenerate, bcryptVerify } from './bcrypt.js';
import { failureToken, libcCrypt } from './crypt.js';
import { md5Crypt } from './crypt-md5.js';
import { SHA_CRYPT_ROUNDS_DEFAULT, SHA_CRYPT_ROUNDS_MAX, SHA_CRYPT_ROUNDS_MIN } from './crypt-sha2.js';
import { base64Decode, hexDecode } from './encoding.js';
import {
  cramMd5Context,
  digest,
  digestMd5,
  otpGenerate,
  otpVerify,
  pbkdf2Generate,
  pbkdf2Verify,
  plainMd4,
  randomSalt,
  saltedGenerate,
  saltedVerify,
  scramGenerate,
  scramVerify,
  type Verdict,
} from './salted.js';

export type Encoding = 'none' | 'base64' | 'hex';

export interface GenParams {
  /** The user name (DIGEST-MD5 needs it; `user@realm`). */
  user?: string;
  /** 0 = the scheme's default. */
  rounds: number;
}

export interface Scheme {
  readonly name: string;
  readonly encoding: Encoding;
  /** Raw (decoded) length when fixed, else 0. */
  readonly rawLen: number;
  /** Schemes with the same family are aliases of each other. */
  readonly family: string;
  generate(pw: Buffer, p: GenParams): Buffer | Promise<Buffer>;
  /** Absent: verify by generating and comparing (password_verify's generic path). */
  verify?(pw: Buffer, p: GenParams, raw: Buffer): Verdict | Promise<Verdict>;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Buffer): string => b.toString('latin1');

/** crypt_verify(): bcrypt strings go to BLF-CRYPT, everything else to libc crypt(). */
async function cryptVerify(pw: Buffer, _p: GenParams, raw: Buffer): Promise<Verdict> {
  if (raw.length > 4 && raw[0] === 0x24 && raw[1] === 0x32 && raw[3] === 0x24) return bcryptVerify(pw, str(raw));
  if (raw.length === 0) return 0;
  const c = libcCrypt(pw, str(raw));
  return c !== undefined && c === str(raw) ? 1 : 0;
}

function shaCryptGenerate(id: '5' | '6', pw: Buffer, p: GenParams): Buffer {
  let r = p.rounds;
  if (r === 0) r = SHA_CRYPT_ROUNDS_DEFAULT;
  else if (r < SHA_CRYPT_ROUNDS_MIN) r = SHA_CRYPT_ROUNDS_MIN;
  else if (r > SHA_CRYPT_ROUNDS_MAX) r = SHA_CRYPT_ROUNDS_MAX;
  const salt = randomSalt(16);
  const setting = r === SHA_CRYPT_ROUNDS_DEFAULT ? `$${id}$${salt}` : `$${id}$rounds=${r}$${salt}`;
  return latin1(libcCrypt(pw, setting) ?? failureToken(setting));
}

const md5CryptGenerate = (pw: Buffer): Buffer => latin1(md5Crypt(pw, latin1(randomSalt(8))));
const md5CryptVerify = (pw: Buffer, _p: GenParams, raw: Buffer): Verdict => (md5Crypt(pw, raw) === str(raw) ? 1 : 0);

function md5Verify(pw: Buffer, p: GenParams, raw: Buffer): Verdict {
  if (str(raw).startsWith('$1$')) return md5CryptVerify(pw, p, raw);
  const d = decodeRaw(str(raw), 'hex', 16, false);
  if (!(d instanceof Buffer)) return 'Not a valid MD5-CRYPT or PLAIN-MD5 password';
  return digest('md5', pw).equals(d) ? 1 : 0;
}

function plainVerify(pw: Buffer, _p: GenParams, raw: Buffer): Verdict {
  return pw.equals(raw) ? 1 : 0;
}

function plainTruncVerify(pw: Buffer, _p: GenParams, raw: Buffer): Verdict {
  let i = 0;
  let trunc = 0;
  for (; i < raw.length && raw[i]! >= 0x30 && raw[i]! <= 0x39; i++) trunc = trunc * 10 + raw[i]! - 0x30;
  if (i === raw.length || raw[i] !== 0x2d) return 'PLAIN-TRUNC missing length: prefix';
  const rest = raw.subarray(i + 1);
  if (rest.length === trunc && pw.length >= trunc) return pw.subarray(0, trunc).equals(rest) ? 1 : 0;
  return pw.equals(rest) ? 1 : 0;
}

const plainGenerate = (pw: Buffer): Buffer => Buffer.from(pw);

function def(
  name: string,
  encoding: Encoding,
  rawLen: number,
  family: string,
  generate: Scheme['generate'],
  verify?: Scheme['verify'],
): Scheme {
  return verify ? { name, encoding, rawLen, family, generate, verify } : { name, encoding, rawLen, family, generate };
}

const sha = (alg: string) => (pw: Buffer) => digest(alg, pw);

const SCHEMES: Scheme[] = [
  def('MD5', 'none', 0, 'md5-crypt', md5CryptGenerate, md5Verify),
  def('MD5-CRYPT', 'none', 0, 'md5-crypt', md5CryptGenerate, md5CryptVerify),
  def('SHA', 'base64', 20, 'sha1', sha('sha1')),
  def('SHA1', 'base64', 20, 'sha1', sha('sha1')),
  def('SHA256', 'base64', 32, 'sha256', sha('sha256')),
  def('SHA512', 'base64', 64, 'sha512', sha('sha512')),
  def('SMD5', 'base64', 0, 'smd5', (pw) => saltedGenerate('md5', pw), (pw, _p, raw) => saltedVerify('md5', 'SMD5', pw, raw)),
  def('SSHA', 'base64', 0, 'ssha', (pw) => saltedGenerate('sha1', pw), (pw, _p, raw) => saltedVerify('sha1', 'SSHA', pw, raw)),
  def('SSHA256', 'base64', 0, 'ssha256', (pw) => saltedGenerate('sha256', pw), (pw, _p, raw) =>
    saltedVerify('sha256', 'SSHA256', pw, raw),
  ),
  def('SSHA512', 'base64', 0, 'ssha512', (pw) => saltedGenerate('sha512', pw), (pw, _p, raw) =>
    saltedVerify('sha512', 'SSHA512', pw, raw),
  ),
  def('PLAIN', 'none', 0, 'plain', plainGenerate, plainVerify),
  def('CLEAR', 'none', 0, 'plain', plainGenerate, plainVerify),
  def('CLEARTEXT', 'none', 0, 'plain', plainGenerate, plainVerify),
  def('PLAIN-TRUNC', 'none', 0, 'plain', plainGenerate, plainTruncVerify),
  def('CRAM-MD5', 'hex', 32, 'cram-md5', cramMd5Context),
  def('SCRAM-SHA-1', 'none', 0, 'scram-sha-1', (pw) => scramGenerate('sha1', pw), (pw, _p, raw) =>
    scramVerify('sha1', 'SCRAM-SHA-1', pw, raw),
  ),
  def('SCRAM-SHA-256', 'none', 0, 'scram-sha-256', (pw) => scramGenerate('sha256', pw), (pw, _p, raw) =>
    scramVerify('sha256', 'SCRAM-SHA-256', pw, raw),
  ),
  def('HMAC-MD5', 'hex', 32, 'cram-md5', cramMd5Context),
  def('DIGEST-MD5', 'hex', 16, 'digest-md5', (pw, p) => digestMd5(pw, p.user)),
  def('PLAIN-MD4', 'hex', 16, 'plain-md4', plainMd4),
  def('PLAIN-MD5', 'hex', 16, 'plain-md5', sha('md5')),
  def('LDAP-MD5', 'base64', 16, 'plain-md5', sha('md5')),
  def('OTP', 'none', 0, 'otp', otpGenerate, (pw, _p, raw) => otpVerify(pw, raw)),
  def('PBKDF2', 'none', 0, 'pbkdf2', (pw, p) => pbkdf2Generate(pw, p.rounds), (pw, _p, raw) => pbkdf2Verify(pw, raw)),
  // password_scheme_register_crypt(): the libc ones pass the start-up self-test on glibc/libxcrypt.
  def('DES-CRYPT', 'none', 0, 'des-crypt', (pw) => {
    const salt = randomSalt(2);
    return latin1(libcCrypt(pw, salt) ?? failureToken(salt));
  }, cryptVerify),
  def('SHA256-CRYPT', 'none', 0, 'sha256-crypt', (pw, p) => shaCryptGenerate('5', pw, p), cryptVerify),
  def('SHA512-CRYPT', 'none', 0, 'sha512-crypt', (pw, p) => shaCryptGenerate('6', pw, p), cryptVerify),
  def('BLF-CRYPT', 'none', 0, 'blf-crypt', async (pw, p) => latin1(await bcryptGenerate(pw, p.rounds)), async (pw, _p, raw) =>
    bcryptVerify(pw, str(raw)),
  ),
  def('CRYPT', 'none', 0, 'blf-crypt', async (pw, p) => latin1(await bcryptGenerate(pw, p.rounds)), cryptVerify),
  def('ARGON2I', 'none', 0, 'argon2i', async (pw, p) => latin1(await argon2Generate('i', pw, p.rounds)), (pw, _p, raw) =>
    argon2Verify(pw, str(raw)),
  ),
  def('ARGON2ID', 'none', 0, 'argon2id', async (pw, p) => latin1(await argon2Generate('id', pw, p.rounds)), (pw, _p, raw) =>
    argon2Verify(pw, str(raw)),
  ),
];

const BY_NAME = new Map(SCHEMES.map((s) => [s.name, s]));

/**
 * `doveadm pw -l` order on Dovecot 2.3.19 (x86-64): the iteration order of
 * its hash table, which depends only on the names, so it is fixed.
 */
export const LIST_ORDER = [
  'SHA1', 'SSHA512', 'SCRAM-SHA-256', 'BLF-CRYPT', 'PLAIN', 'HMAC-MD5', 'OTP', 'SHA512', 'SHA', 'DES-CRYPT',
  'CRYPT', 'SSHA', 'MD5-CRYPT', 'PLAIN-MD4', 'PLAIN-MD5', 'SCRAM-SHA-1', 'SHA512-CRYPT', 'CLEAR', 'CLEARTEXT',
  'ARGON2I', 'ARGON2ID', 'SSHA256', 'MD5', 'PBKDF2', 'SHA256', 'CRAM-MD5', 'PLAIN-TRUNC', 'SHA256-CRYPT', 'SMD5',
  'DIGEST-MD5', 'LDAP-MD5',
] as const;

/** ASCII-only upper-casing, as C toupper() in the C locale. */
export const asciiUpper = (s: string): string => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

/** password_scheme_lookup(): scheme and encoding from "NAME[.b64|.base64|.hex]", case-insensitive. */
export function lookupScheme(name: string): { scheme: Scheme; encoding: Encoding } | undefined {
  const dot = name.indexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const scheme = BY_NAME.get(asciiUpper(base));
  if (!scheme) return undefined;
  if (dot < 0) return { scheme, encoding: scheme.encoding };
  const enc = name.slice(dot + 1).toLowerCase();
  if (enc === 'b64' || enc === 'base64') return { scheme, encoding: 'base64' };
  if (enc === 'hex') return { scheme, encoding: 'hex' };
  return undefined;
}

/**
 * The decoding half of password_decode(): the raw bytes, or Dovecot's error
 * text. Without an explicit ".hex"/".b64" suffix, a fixed-length scheme
 * guesses hex when the length is exactly twice the raw length (falling back
 * to base64 if that fails), else base64.
 */
export function decodeRaw(value: string | Buffer, encoding: Encoding, rawLen: number, explicit: boolean): Buffer | string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  let enc = encoding;
  let guessed = false;
  if (enc !== 'none' && rawLen !== 0 && !explicit) {
    enc = bytes.length === rawLen * 2 ? 'hex' : 'base64';
    guessed = true;
  }
  let raw: Buffer | undefined;
  if (enc === 'none') raw = bytes;
  else {
    if (enc === 'hex') {
      raw = hexDecode(bytes);
      if (raw === undefined && !guessed) return "Input isn't valid HEX encoded data";
    }
    if (raw === undefined) {
      raw = base64Decode(bytes);
      if (raw === undefined) return "Input isn't valid base64 encoded data";
    }
  }
  if (rawLen !== 0 && raw.length !== rawLen) return `Input length isn't valid (${raw.length} instead of ${rawLen})`;
  return raw;
}

export function allSchemes(): readonly Scheme[] {
  return SCHEMES;
}
