/**
 * auth/schemes/crypt-md5.ts: Poul-Henning Kamp's FreeBSD MD5-crypt ("$1$").
 *
 * Dovecot's MD5 and MD5-CRYPT schemes use their own copy
 * (password-scheme-md5crypt.c): the "$1$" magic in the setting is optional,
 * the salt is everything up to the next '$', at most 8 bytes, and any byte
 * is accepted. libc crypt() (the CRYPT scheme) computes the same function
 * but first rejects settings with forbidden characters (see crypt.ts).
 */
import { createHash } from 'node:crypto';
import { cryptB64Group } from './crypt-sha2.js';

const MAGIC = Buffer.from('$1$');

/** Dovecot's password_generate_md5_crypt(pw, salt). `setting` is a raw salt or a "$1$salt[$...]" string. */
export function md5Crypt(password: Buffer, setting: Buffer): string {
  let sp = setting;
  if (sp.subarray(0, 3).equals(MAGIC)) sp = sp.subarray(3);
  let sl = 0;
  while (sl < sp.length && sl < 8 && sp[sl] !== 0x24 && sp[sl] !== 0) sl++;
  const salt = sp.subarray(0, sl);
  const P = password;
  const H = () => createHash('md5');

  const alt = H().update(P).update(salt).update(P).digest();
  const ctx = H().update(P).update(MAGIC).update(salt);
  for (let n = P.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(16, n)));
  // "Then something really weird": a zero byte or the first password byte.
  const zero = Buffer.alloc(1);
  for (let n = P.length; n > 0; n >>= 1) ctx.update(n & 1 ? zero : P.subarray(0, 1));
  let f = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = H();
    c.update(i & 1 ? P : f);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(P);
    c.update(i & 1 ? f : P);
    f = c.digest();
  }
  let out = '';
  for (const [x, y, z] of [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]] as const) {
    out += cryptB64Group(f[x]!, f[y]!, f[z]!, 4);
  }
  out += cryptB64Group(0, 0, f[11]!, 2);
  return `$1$${salt.toString('latin1')}$${out}`;
}
