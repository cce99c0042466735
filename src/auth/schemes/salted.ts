/**
 * auth/schemes/salted.ts: the schemes built from one hash function call or a
 * standard KDF: SHA*, SSHA*, SMD5, PLAIN-MD4/MD5, DIGEST-MD5, CRAM-MD5,
 * PBKDF2, SCRAM-SHA-1/256 and OTP. Each follows password-scheme.c,
 * password-scheme-pbkdf2.c, password-scheme-scram.c and lib-otp of Dovecot
 * 2.3.19; the error texts are Dovecot's, because the auth log shows them.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { md4, md5StateAfterBlock } from './digests.js';
import { base64Decode, base64DecodePartial, base64Encode, hexDecode, hexEncode } from './encoding.js';

/** Thrown where Dovecot calls i_fatal() while generating (doveadm prints "Fatal: <message>"). */
export class SchemeFatal extends Error {}

/** A verify result: 1 match, 0 mismatch, or Dovecot's error text (its -1). */
export type Verdict = 1 | 0 | string;

const SALT_CHARS = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** password_generate_salt(): `len` random characters of the crypt alphabet. */
export function randomSalt(len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += SALT_CHARS[randomInt(64)];
  return s;
}

export const digest = (alg: string, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};

export const plainMd4 = (pw: Buffer): Buffer => md4(pw);

/** SSHA, SSHA256, SSHA512, SMD5: H(pw || salt) || salt, with a 4-byte salt. */
export function saltedGenerate(alg: string, pw: Buffer): Buffer {
  const salt = randomBytes(4);
  return Buffer.concat([digest(alg, pw, salt), salt]);
}

export function saltedVerify(alg: string, name: string, pw: Buffer, raw: Buffer): Verdict {
  const len = createHash(alg).digest().length;
  if (raw.length <= len) return `${name} password is too short`;
  const d = digest(alg, pw, raw.subarray(len));
  return d.equals(raw.subarray(0, len)) ? 1 : 0;
}

/** DIGEST-MD5: MD5("user:realm:password"), the realm after the last '@' of the user name. */
export function digestMd5(pw: Buffer, user: string | undefined): Buffer {
  if (user === undefined) throw new SchemeFatal('digest_md5_generate(): username not given');
  const at = user.lastIndexOf('@');
  const name = at < 0 ? user : user.slice(0, at);
  const realm = at < 0 ? '' : user.slice(at + 1);
  return digest('md5', Buffer.from(`${name}:${realm}:`, 'utf8'), pw);
}

/** CRAM-MD5 / HMAC-MD5: the HMAC-MD5 outer then inner MD5 states, little-endian words. */
export function cramMd5Context(pw: Buffer): Buffer {
  const key = pw.length > 64 ? digest('md5', pw) : pw;
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < key.length; i++) {
    ipad[i]! ^= key[i]!;
    opad[i]! ^= key[i]!;
  }
  const out = Buffer.alloc(32);
  const o = md5StateAfterBlock(opad);
  const i = md5StateAfterBlock(ipad);
  for (let k = 0; k < 4; k++) {
    out.writeUInt32LE(o[k]!, k * 4);
    out.writeUInt32LE(i[k]!, 16 + k * 4);
  }
  return out;
}

/** str_to_uint(): decimal digits only, within 32 bits. */
export function strToUint(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0xffffffff ? undefined : n;
}

const PBKDF2_KEY = 20;

function pbkdf2Run(pw: Buffer, salt: Buffer, rounds: number): Buffer {
  // pkcs5_pbkdf() refuses 0 iterations and leaves the zeroed key.
  if (rounds < 1) return Buffer.alloc(PBKDF2_KEY);
  return pbkdf2Sync(pw, salt, rounds, PBKDF2_KEY, 'sha1');
}

/** "$1$<16 salt chars>$<rounds>$<40 hex>", PBKDF2-HMAC-SHA1 with the salt's characters as bytes. */
export function pbkdf2Generate(pw: Buffer, rounds: number): Buffer {
  const r = rounds === 0 ? 5000 : rounds;
  const salt = randomSalt(16);
  const key = pbkdf2Run(pw, Buffer.from(salt, 'latin1'), r);
  return Buffer.from(`$1$${salt}$${r}$${hexEncode(key)}`, 'latin1');
}

export function pbkdf2Verify(pw: Buffer, raw: Buffer): Verdict {
  if (raw.length < 3 || raw.toString('latin1', 0, 3) !== '$1$') return 'Invalid PBKDF2 passdb entry prefix';
  const fields = raw.toString('latin1', 3).split('$');
  const rounds = fields.length === 3 ? strToUint(fields[1]!) : undefined;
  if (rounds === undefined) return 'Invalid PBKDF2 passdb entry format';
  const key1 = fields[2]!.length === PBKDF2_KEY * 2 ? hexDecode(fields[2]!) : undefined;
  if (key1 === undefined) return 'PBKDF2 hash not 160bit hex-encoded';
  return pbkdf2Run(pw, Buffer.from(fields[0]!, 'latin1'), rounds).equals(key1) ? 1 : 0;
}

const SCRAM_ITER = 4096;
const SCRAM_MAX_ITER = 0x7fffffff;

function scramKeys(alg: 'sha1' | 'sha256', pw: Buffer, salt: Buffer, iter: number) {
  const len = alg === 'sha1' ? 20 : 32;
  const salted = pbkdf2Sync(pw, salt, iter, len, alg);
  const clientKey = createHmac(alg, salted).update('Client Key').digest();
  const storedKey = digest(alg, clientKey);
  const serverKey = createHmac(alg, salted).update('Server Key').digest();
  return { storedKey, serverKey };
}

/** RFC 5802 credentials: "4096,<b64 salt>,<b64 StoredKey>,<b64 ServerKey>". */
export function scramGenerate(alg: 'sha1' | 'sha256', pw: Buffer): Buffer {
  const salt = randomBytes(16);
  const k = scramKeys(alg, pw, salt, SCRAM_ITER);
  return Buffer.from(`${SCRAM_ITER},${base64Encode(salt)},${base64Encode(k.storedKey)},${base64Encode(k.serverKey)}`, 'latin1');
}

export interface ScramCredentials {
  iter: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** scram_scheme_parse(): the stored SCRAM credentials, or Dovecot's error text. */
export function scramParse(alg: 'sha1' | 'sha256', name: string, raw: Buffer): ScramCredentials | string {
  const len = alg === 'sha1' ? 20 : 32;
  const fields = raw.toString('latin1').split(',');
  if (fields.length !== 4) return `Invalid ${name} passdb entry format`;
  const iter = strToUint(fields[0]!);
  if (iter === undefined || iter < SCRAM_ITER || iter > SCRAM_MAX_ITER) return `Invalid ${name} iteration count in passdb`;
  const storedKey = base64Decode(fields[2]!);
  if (storedKey?.length !== len) return `Invalid ${name} StoredKey in passdb`;
  const serverKey = base64Decode(fields[3]!);
  if (serverKey?.length !== len) return `Invalid ${name} ServerKey in passdb`;
  return { iter, salt: base64DecodePartial(fields[1]!).data, storedKey, serverKey };
}

export function scramVerify(alg: 'sha1' | 'sha256', name: string, pw: Buffer, raw: Buffer): Verdict {
  const c = scramParse(alg, name, raw);
  if (typeof c === 'string') return c;
  return scramKeys(alg, pw, c.salt, c.iter).storedKey.equals(c.storedKey) ? 1 : 0;
}

// --- OTP (RFC 2289), lib-otp ---

const OTP_ALGOS = ['md4', 'md5', 'sha1'] as const;
type OtpAlgo = (typeof OTP_ALGOS)[number];
/** Above this sequence number we refuse rather than spin (Dovecot would loop that many times). */
const OTP_MAX_SEQ = 1_000_000;

function otpFold(algo: OtpAlgo, data: Uint8Array): Buffer {
  const out = Buffer.alloc(8);
  if (algo === 'sha1') {
    const d = digest('sha1', data);
    for (let j = 0; j < 4; j++) {
      out[3 - j] = d[j]! ^ d[j + 8]! ^ d[j + 16]!;
      out[7 - j] = d[j + 4]! ^ d[j + 12]!;
    }
  } else {
    const d = algo === 'md4' ? md4(data) : digest('md5', data);
    for (let j = 0; j < 8; j++) out[j] = d[j]! ^ d[j + 8]!;
  }
  return out;
}

function otpHash(algo: OtpAlgo, seed: string, pw: Buffer, seq: number): Buffer {
  let r = otpFold(algo, Buffer.concat([Buffer.from(seed, 'latin1'), pw]));
  for (let i = 0; i < seq; i++) r = otpFold(algo, r);
  return r;
}

export function otpGenerate(pw: Buffer): Buffer {
  const seed = hexEncode(randomBytes(8));
  return Buffer.from(`sha1 1024 ${seed} ${hexEncode(otpHash('sha1', seed, pw, 1024))}`, 'latin1');
}

/** otp_parse_dbentry(): "<algo> <seq> <seed> <16 hex>", or undefined. */
function otpParse(s: string): { algo: OtpAlgo; seq: number; seed: string } | undefined {
  const m = /^([^ \t]*)[ \t](-?[0-9]+)[ \t]([A-Za-z0-9]{0,16})/.exec(s);
  if (!m || !(OTP_ALGOS as readonly string[]).includes(m[1]!)) return undefined;
  const seq = Number(m[2]);
  if (seq < 0 || seq > OTP_MAX_SEQ) return undefined;
  let rest = s.slice(m[0].length);
  if (rest[0] !== ' ') return undefined;
  rest = rest.slice(1);
  let hex = 0;
  for (const ch of rest) {
    if (/[0-9A-Fa-f]/.test(ch)) {
      if (++hex === 16) break;
    } else if (ch !== ' ' && ch !== '\t') return undefined;
  }
  if (hex < 16) return undefined;
  return { algo: m[1] as OtpAlgo, seq, seed: m[3]!.toLowerCase() };
}

export function otpVerify(pw: Buffer, raw: Buffer): Verdict {
  const stored = raw.toString('latin1');
  const st = otpParse(stored);
  if (!st) return 'Invalid OTP data in passdb';
  const generated = `${st.algo} ${st.seq} ${st.seed} ${hexEncode(otpHash(st.algo, st.seed, pw, st.seq))}`;
  return stored.toLowerCase() === generated.toLowerCase() ? 1 : 0;
}
