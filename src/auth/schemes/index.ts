/**
 * auth/schemes/index.ts: Dovecot 2.3 password schemes, the API the auth
 * service and `doveadm pw` use (password-scheme.c, auth-request.c
 * auth_request_password_verify(), passdb.c passdb_get_credentials()).
 *
 * A stored password is "{SCHEME}value" or a bare value that takes the
 * passdb's default scheme; a bare "$1$salt$hash" is always MD5-CRYPT
 * (password_get_scheme()). SCHEME may carry an encoding suffix: ".b64",
 * ".base64" or ".hex". Plaintexts are byte strings that end at the first NUL,
 * as C strings do. Strings passed in as stored passwords are taken as UTF-8.
 */
import { type GenParams, LIST_ORDER, asciiUpper, decodeRaw, lookupScheme } from './registry.js';
import { base64Encode, hexEncode } from './encoding.js';
import { SchemeFatal, type Verdict } from './salted.js';

export { SchemeFatal, scramParse, type ScramCredentials } from './salted.js';
export type { GenParams } from './registry.js';

/** The plaintext as Dovecot sees it: up to the first NUL. */
export function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

const toBytes = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

/**
 * password_get_scheme(): split "{SCHEME}value". A "$1$salt$hash[$...]" value
 * is MD5-CRYPT (cut after the hash). Returns undefined scheme if neither.
 */
export function getScheme(stored: Buffer): { scheme: string | undefined; value: Buffer } {
  if (stored.subarray(0, 3).toString('latin1') === '$1$') {
    const p = stored.indexOf(0x24, 3);
    if (p >= 0) {
      const q = stored.indexOf(0x24, p + 1);
      return { scheme: 'MD5-CRYPT', value: q < 0 ? stored : stored.subarray(0, q) };
    }
  }
  if (stored[0] !== 0x7b) return { scheme: undefined, value: stored };
  const close = stored.indexOf(0x7d);
  if (close < 0) return { scheme: undefined, value: stored };
  return { scheme: stored.toString('utf8', 1, close), value: stored.subarray(close + 1) };
}

export type DecodeResult = { raw: Buffer } | { unknown: true } | { error: string };

/** password_decode(): the raw credentials of `value` under `scheme`. */
export function passwordDecode(value: Buffer, scheme: string): DecodeResult {
  const s = lookupScheme(scheme);
  if (!s) return { unknown: true };
  const r = decodeRaw(cString(value), s.encoding, s.scheme.rawLen, scheme.includes('.'));
  return typeof r === 'string' ? { error: r } : { raw: r };
}

/**
 * password_verify(): 1 match, 0 mismatch, or an error text ("Unknown
 * password scheme" or the scheme's own words). May throw SchemeFatal where
 * Dovecot would i_fatal() (DIGEST-MD5 without a user name).
 */
export async function passwordVerify(plain: Buffer, params: GenParams, scheme: string, raw: Buffer): Promise<Verdict> {
  const s = lookupScheme(scheme);
  if (!s) return 'Unknown password scheme';
  const pw = cString(plain);
  if (s.scheme.verify) return s.scheme.verify(pw, params, raw);
  const generated = await s.scheme.generate(pw, params);
  return generated.equals(raw) ? 1 : 0;
}

/** password_generate(): the raw (unencoded) credentials, or undefined for an unknown scheme. */
export function passwordGenerateRaw(plain: Buffer, params: GenParams, scheme: string): Buffer | Promise<Buffer> | undefined {
  const s = lookupScheme(scheme);
  return s ? s.scheme.generate(cString(plain), params) : undefined;
}

/** password_generate_encoded(): the stored form (encoding applied), or undefined for an unknown scheme. */
export async function passwordGenerateEncoded(plain: Buffer, params: GenParams, scheme: string): Promise<Buffer | undefined> {
  const s = lookupScheme(scheme);
  if (!s) return undefined;
  const raw = await s.scheme.generate(cString(plain), params);
  if (s.encoding === 'base64') return Buffer.from(base64Encode(raw), 'latin1');
  if (s.encoding === 'hex') return Buffer.from(hexEncode(raw), 'latin1');
  return raw;
}

/** password_scheme_is_alias(): same name (encoding ignored) or same generate function. */
export function isAlias(scheme1: string, scheme2: string): boolean {
  if (scheme1 === '' || scheme2 === '') return false;
  const a = scheme1.split('.')[0]!;
  const b = scheme2.split('.')[0]!;
  if (asciiUpper(a) === asciiUpper(b)) return true;
  const s1 = lookupScheme(a);
  const s2 = lookupScheme(b);
  return s1 !== undefined && s2 !== undefined && s1.scheme.family === s2.scheme.family;
}

/** `doveadm pw -l`: every scheme, in Dovecot's order. */
export function listSchemes(): string[] {
  return [...LIST_ORDER];
}

/** Split a stored password into scheme and value, applying the passdb default scheme. */
export function parseStored(stored: string | Buffer, defaultScheme = 'CRYPT'): { scheme: string; value: Buffer } {
  const g = getScheme(toBytes(stored));
  return { scheme: g.scheme ?? defaultScheme, value: g.value };
}

export interface VerifyOptions {
  /** The user name as the client gave it (original_username); DIGEST-MD5 hashes it. */
  user: string;
  /** The passdb's default_pass_scheme (passwd-file: CRYPT, SQL: MD5). Default CRYPT. */
  defaultScheme?: string;
}

/**
 * Check a plaintext against a stored password, as auth_request_password_verify()
 * does. `error` is set where Dovecot logs an error rather than "Password
 * mismatch" (the auth service still answers a failure, not a temporary error):
 * "Unknown scheme X", "Password data is not valid for scheme X: ...",
 * "Invalid password in passdb: ...".
 */
export async function verifyPassword(plain: Buffer, stored: string | Buffer, opts: VerifyOptions): Promise<{ ok: boolean; error?: string }> {
  const { scheme, value } = parseStored(stored, opts.defaultScheme);
  const d = passwordDecode(value, scheme);
  if ('unknown' in d) return { ok: false, error: `Unknown scheme ${scheme}` };
  if ('error' in d) return { ok: false, error: `Password data is not valid for scheme ${scheme}: ${d.error}` };
  let v: Verdict;
  try {
    v = await passwordVerify(plain, { user: opts.user, rounds: 0 }, scheme, d.raw);
  } catch (e) {
    if (e instanceof SchemeFatal || e instanceof Error) return { ok: false, error: `Invalid password in passdb: ${e.message}` };
    throw e;
  }
  if (typeof v === 'string') return { ok: false, error: `Invalid password in passdb: ${v}` };
  return { ok: v === 1 };
}

export interface GenerateOptions {
  user: string;
  /** 0 or absent: the scheme's default. */
  rounds?: number;
}

/** The stored form of `plain` under `scheme` (with its encoding), without the "{SCHEME}" prefix. */
export async function generatePasswordRaw(scheme: string, plain: Buffer, opts: GenerateOptions): Promise<Buffer> {
  const r = await passwordGenerateEncoded(plain, { user: opts.user, rounds: opts.rounds ?? 0 }, scheme);
  if (r === undefined) throw new SchemeFatal(`Unknown scheme: ${asciiUpper(scheme)}`);
  return r;
}

/** As generatePasswordRaw(), as a string (UTF-8; only PLAIN-family values can hold non-ASCII bytes). */
export async function generatePassword(scheme: string, plain: Buffer, opts: GenerateOptions): Promise<string> {
  return (await generatePasswordRaw(scheme, plain, opts)).toString('utf8');
}

export interface CredentialsResult {
  credentials?: Buffer;
  /** The scheme the credentials are in (the wanted one, or the stored one when none was wanted). */
  scheme?: string;
  /** What Dovecot logs when it cannot give them, and at which level. */
  log?: { level: 'info' | 'error'; text: string };
}

/**
 * passdb_get_credentials() for the credentials-based mechanisms (CRAM-MD5,
 * DIGEST-MD5, SCRAM-*): the raw credentials in `wantedScheme` ('' = as
 * stored), generated from a plaintext password when that is what is stored:
 * CRAM-MD5 gives the 32-byte HMAC context, DIGEST-MD5 the 16-byte
 * MD5(user:realm:password), SCRAM-* the "iter,salt,StoredKey,ServerKey" text
 * (parse it with scramParse()). For DIGEST-MD5 pass `user` as Dovecot does:
 * the original user name, with "@<realm>" appended when it has a domain and
 * the domain is not the realm.
 */
export function getCredentialsResult(stored: string | Buffer, wantedScheme: string, opts: VerifyOptions): CredentialsResult {
  const { scheme, value } = parseStored(stored, opts.defaultScheme);
  const d = passwordDecode(value, scheme);
  if ('unknown' in d) return { log: { level: 'error', text: `Unknown scheme ${scheme}` } };
  if ('error' in d) return { log: { level: 'error', text: `Password data is not valid for scheme ${scheme}: ${d.error}` } };
  if (wantedScheme === '') return { credentials: d.raw, scheme: scheme.split('.')[0]! };
  if (isAlias(scheme, wantedScheme)) return { credentials: d.raw, scheme: wantedScheme };
  if (!isAlias(scheme, 'PLAIN')) {
    return { log: { level: 'info', text: `Requested ${wantedScheme} scheme, but we have only ${scheme}` } };
  }
  let gen: Buffer | Promise<Buffer> | undefined;
  try {
    gen = passwordGenerateRaw(d.raw, { user: opts.user, rounds: 0 }, wantedScheme);
  } catch (e) {
    return { log: { level: 'error', text: (e as Error).message } };
  }
  if (gen === undefined) return { log: { level: 'error', text: `Requested unknown scheme ${wantedScheme}` } };
  if (gen instanceof Promise) {
    gen.catch(() => {});
    return { log: { level: 'error', text: `Requested ${wantedScheme} scheme, which cannot be generated synchronously` } };
  }
  return { credentials: gen, scheme: wantedScheme };
}

/** getCredentialsResult() reduced to the credentials (undefined when not derivable). */
export function getCredentials(stored: string | Buffer, wantedScheme: string, opts: VerifyOptions): Buffer | undefined {
  return getCredentialsResult(stored, wantedScheme, opts).credentials;
}
