/**
 * auth/passwords.ts: the auth service's door to the password schemes
 * (src/auth/schemes): verify a plaintext against a stored `{SCHEME}hash`
 * and turn a stored password into the credentials a mechanism needs
 * (CRAM-MD5 context, SCRAM keys, or the plaintext itself), plus
 * password_get_scheme's `{SCHEME}` / `$1$` prefix rules.
 */
import { type CredentialsResult, getCredentialsResult, isAlias, verifyPassword } from './schemes/index.js';

/** password_get_scheme: the `{SCHEME}` prefix (or MD5-CRYPT for a `$1$salt$hash` string). */
export function passwordGetScheme(pw: string): { scheme: string | undefined; rest: string } {
  if (pw.startsWith('$1$')) {
    const p = pw.indexOf('$', 3);
    if (p >= 0) {
      const q = pw.indexOf('$', p + 1);
      return { scheme: 'MD5-CRYPT', rest: q >= 0 ? pw.slice(0, q) : pw };
    }
  }
  if (!pw.startsWith('{')) return { scheme: undefined, rest: pw };
  const close = pw.indexOf('}');
  if (close < 0) return { scheme: undefined, rest: pw };
  return { scheme: pw.slice(1, close), rest: pw.slice(close + 1) };
}

/** Verify `plain` against `stored` ("{SCHEME}data"); ok false with error = invalid data or unknown scheme. */
export function verifyPlain(plain: Buffer, stored: string, user: string): Promise<{ ok: boolean; error?: string }> {
  return verifyPassword(plain, stored, { user });
}

/** Raw credentials of `stored` in `wanted` scheme ('' = as stored), with what to log when there are none. */
export function credentialsFor(stored: string, wanted: string, user: string): CredentialsResult {
  return getCredentialsResult(stored, wanted, { user });
}

/** password_scheme_is_alias. */
export function schemeIsAlias(a: string, b: string): boolean {
  return isAlias(a, b);
}
