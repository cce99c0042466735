/**
 * auth/passdb/checkpassword.ts: `passdb { driver = checkpassword
 * args = /path/to/program }` (passdb-checkpassword.c).
 */
import type { Auth } from '../engine.js';
import { CheckpasswordDb } from '../db/checkpassword.js';
import type { CredentialsLookup, PassdbDriver } from '../drivers.js';
import { passwordGetScheme } from '../passwords.js';
import type { AuthRequest, PassdbResult } from '../request.js';

class CheckpasswordPassdb implements PassdbDriver {
  readonly name = 'checkpassword';
  defaultPassScheme = 'PLAIN';
  constructor(readonly db: CheckpasswordDb) {}

  private applyFields(req: AuthRequest, fields: string[]): string | undefined {
    let crypted: string | undefined;
    for (const f of fields) {
      if (f.startsWith('password=')) crypted = f.slice(9);
      else if (f !== '') req.setFieldKeyValue(f);
    }
    return crypted;
  }

  async verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult> {
    const r = await this.db.call(req, password);
    if (r.status === 'internal_failure') return 'internal_failure';
    if (r.status === 'failure') return 'password_mismatch';
    const crypted = this.applyFields(req, r.fields);
    if (crypted !== undefined) {
      const { scheme, rest } = passwordGetScheme(crypted);
      if (scheme !== undefined) req.setField('password', rest, scheme);
      else req.logError('db', 'password field returned without {scheme} prefix');
    }
    return 'ok';
  }

  async lookupCredentials(req: AuthRequest): Promise<CredentialsLookup> {
    const r = await this.db.call(req, undefined);
    if (r.status === 'internal_failure') return { result: 'internal_failure' };
    if (r.status === 'failure') return { result: 'user_unknown' };
    const crypted = this.applyFields(req, r.fields);
    if (crypted === undefined) return { result: 'ok' };
    const { scheme, rest } = passwordGetScheme(crypted);
    return { result: 'ok', password: rest, scheme: scheme ?? req.wantedCredentialsScheme ?? '' };
  }
}

export function checkpasswordPassdb(auth: Auth, args: string): PassdbDriver {
  return new CheckpasswordPassdb(new CheckpasswordDb(args, auth.checkpasswordReply));
}
