/**
 * auth/schemes/crypt.ts: what Dovecot's mycrypt() gets from libc crypt(3) on
 * Debian 12 (libxcrypt 4.4.33), for the CRYPT, DES-CRYPT, SHA256-CRYPT and
 * SHA512-CRYPT schemes: the stored hash is the setting, and a password
 * matches when crypt() reproduces the stored string exactly.
 *
 * Supported settings: "$1$" (MD5-crypt), "$5$", "$6$" (SHA-crypt) and
 * traditional DES (2 salt characters). libxcrypt refuses any setting that
 * holds a byte <= 0x20 or >= 0x7f or one of `! * : ; \`, and so do we.
 * Passphrases of 512 bytes or more fail, as in libxcrypt (doveadm then prints
 * the failure token: "{SHA512-CRYPT}*0").
 * Not supported (crypt() "fails", so the password does not match):
 * yescrypt "$y$", gost-yescrypt "$gy$", scrypt "$7$", "$sha1$", SunMD5
 * "$md5", BSDi "_", NT "$3$". bcrypt "$2?$" never reaches crypt(): Dovecot
 * hands it to its own BLF-CRYPT code first (see schemes/bcrypt.ts).
 */
import { md5Crypt } from './crypt-md5.js';
import { desCrypt } from './crypt-des.js';
import { shaCrypt } from './crypt-sha2.js';

/** libxcrypt's check_badsalt_chars(). */
export function badSettingChars(setting: string): boolean {
  for (let i = 0; i < setting.length; i++) {
    const c = setting.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return /[!*:;\\]/.test(setting);
}

/** libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE: longer passphrases (with their NUL) fail. */
const MAX_PASSPHRASE = 512;

/** crypt(3)'s failure token for a setting: "*0", or "*1" if the setting starts with "*0". */
export function failureToken(setting: string): string {
  return setting.startsWith('*0') ? '*1' : '*0';
}

/** crypt(3): the hash string, or undefined where libxcrypt returns a failure token. */
export function libcCrypt(password: Buffer, setting: string): string | undefined {
  if (setting.length === 0 || badSettingChars(setting)) return undefined;
  if (password.length >= MAX_PASSPHRASE) return undefined;
  if (setting.startsWith('$1$')) return md5Crypt(password, Buffer.from(setting, 'latin1'));
  if (setting.startsWith('$5$') || setting.startsWith('$6$')) return shaCrypt(password, setting);
  if (setting[0] === '$' || setting[0] === '_') return undefined;
  return desCrypt(password, setting);
}
