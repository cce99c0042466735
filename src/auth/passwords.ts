/**
 * auth/passwords.ts: the auth service's door to the password schemes
 * (src/auth/schemes): verify a plaintext against a stored `{SCHEME}hash`
 * and turn a stored password into the credentials a mechanism needs
 * (CRAM-MD5 context, SCRAM keys, or the plaintext itself), plus
 * password_get_scheme's `{SCHEME}` / `$1$` prefix rules.
 */

interface SchemesApi {
  verifyPassword(plain: Buffer, stored: string, opts: { user: string; defaultScheme?: string }): Promise<{ ok: boolean; error?: string }>;
  getCredentials(stored: string, wantedScheme: string, opts: { user: string; defaultScheme?: string }): Buffer | undefined;
}

/** Until the schemes module lands: {PLAIN} only. */
const plainOnly: SchemesApi = {
  async verifyPassword(plain, stored) {
    const { scheme, rest } = passwordGetScheme(stored);
    const s = (scheme ?? 'PLAIN').toUpperCase();
    if (s !== 'PLAIN' && s !== 'CLEAR' && s !== 'CLEARTEXT') return { ok: false, error: 'Unknown scheme' };
    return { ok: Buffer.from(rest, 'utf8').equals(plain) };
  },
  getCredentials(stored, wanted) {
    const { scheme, rest } = passwordGetScheme(stored);
    const s = (scheme ?? 'PLAIN').toUpperCase();
    return s === wanted.toUpperCase() || ['PLAIN', 'CLEAR', 'CLEARTEXT'].includes(wanted.toUpperCase()) ? Buffer.from(rest) : undefined;
  },
};

const schemesPath = './schemes/index.js';
const api: SchemesApi = await import(schemesPath).then(
  (m: SchemesApi) => m,
  () => plainOnly,
);
const { getCredentials, verifyPassword } = api;

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
export async function verifyPlain(plain: Buffer, stored: string, user: string): Promise<{ ok: boolean; error?: string }> {
  return verifyPassword(plain, stored, { user });
}

/** Raw credentials of `stored` in `wanted` scheme ('' = as stored); undefined when they can't be had. */
export function credentialsFor(stored: string, wanted: string, user: string): Buffer | undefined {
  const scheme = wanted === '' ? (passwordGetScheme(stored).scheme ?? 'PLAIN') : wanted;
  return getCredentials(stored, scheme, { user });
}

/** Scheme names equal up to the encoding suffix (password_scheme_is_alias for the cases auth needs). */
export function schemeIsAlias(a: string, b: string): boolean {
  if (a === '' || b === '') return false;
  const ca = a.split('.')[0]!.toUpperCase();
  const cb = b.split('.')[0]!.toUpperCase();
  if (ca === cb) return true;
  const plain = new Set(['PLAIN', 'CLEAR', 'CLEARTEXT']);
  return plain.has(ca) && plain.has(cb);
}
