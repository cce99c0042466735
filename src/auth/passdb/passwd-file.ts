/**
 * auth/passdb/passwd-file.ts: `passdb { driver = passwd-file
 * args = [scheme=X] [username_format=%u] /path }` (passdb-passwd-file.c).
 * The password field without a {SCHEME} uses `scheme=` (default CRYPT);
 * extra fields are %-expanded and set as passdb fields.
 */
import type { Auth } from '../engine.js';
import { AuthConfigError, type CredentialsLookup, type PassdbDriver } from '../drivers.js';
import type { PasswdFileDb, PasswdUser } from '../db/passwd-file.js';
import type { AuthRequest, PassdbResult } from '../request.js';
import { passwordGetScheme } from '../passwords.js';

export function addExtraFields(req: AuthRequest, fields: string[], userdbOnly: boolean): boolean {
  // One variable table for all the fields, taken before any of them is set.
  const table = req.varTable();
  for (const f of fields) {
    if (userdbOnly && !f.startsWith('userdb_')) continue;
    const body = userdbOnly ? f.slice(7) : f;
    const eq = body.indexOf('=');
    let key = body;
    let value = '';
    if (eq >= 0) {
      key = body.slice(0, eq);
      const r = req.expand(body.slice(eq + 1), undefined, undefined, table);
      if (r.ret <= 0) {
        req.logError('db', `Failed to expand extra field ${f}: ${r.error}`);
        return false;
      }
      value = r.value;
    }
    if (userdbOnly) req.setUserdbField(key, value);
    else req.setField(key, value);
  }
  return true;
}

class PasswdFilePassdb implements PassdbDriver {
  readonly name = 'passwd-file';
  constructor(
    readonly db: PasswdFileDb,
    readonly usernameFormat: string,
    public defaultPassScheme: string,
  ) {}

  init(): void {
    this.db.parse();
  }

  private saveResults(req: AuthRequest, pu: PasswdUser): { crypted: string; scheme: string } | undefined {
    const { scheme, rest } = passwordGetScheme(pu.password ?? '');
    const s = scheme ?? this.defaultPassScheme;
    req.setField('password', rest, s);
    if (pu.extraFields && !addExtraFields(req, pu.extraFields, false)) return undefined;
    return { crypted: rest, scheme: s };
  }

  async verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult> {
    const pu = this.db.lookup(req, this.usernameFormat);
    if (pu === undefined || pu === 'error') return pu === 'error' ? 'internal_failure' : 'user_unknown';
    const saved = this.saveResults(req, pu);
    if (!saved) return 'internal_failure';
    const ret = await req.auth.passwordVerify(req, password, saved.crypted, saved.scheme, 'db');
    return ret > 0 ? 'ok' : 'password_mismatch';
  }

  async lookupCredentials(req: AuthRequest): Promise<CredentialsLookup> {
    const pu = this.db.lookup(req, this.usernameFormat);
    if (pu === undefined || pu === 'error') return { result: pu === 'error' ? 'internal_failure' : 'user_unknown' };
    const saved = this.saveResults(req, pu);
    if (!saved) return { result: 'internal_failure' };
    return { result: 'ok', password: saved.crypted, scheme: saved.scheme };
  }
}

export function passwdFilePassdb(auth: Auth, args: string): PassdbDriver {
  let scheme = 'CRYPT';
  let format = '%u';
  let rest = args;
  while (rest !== '') {
    if (rest[0] === '/') break;
    const sp = rest.indexOf(' ');
    const tok = sp < 0 ? rest : rest.slice(0, sp);
    rest = sp < 0 ? '' : rest.slice(sp + 1);
    const eq = tok.indexOf('=');
    const key = eq < 0 ? tok : tok.slice(0, eq);
    const value = eq < 0 ? '' : tok.slice(eq + 1);
    if (key === 'scheme') scheme = value;
    else if (key === 'username_format') format = value;
    else throw new AuthConfigError(`passdb passwd-file: Unknown setting: ${key}`);
  }
  if (rest === '') throw new AuthConfigError('passdb passwd-file: Missing args');
  return new PasswdFilePassdb(auth.passwdFiles.get(rest, false, auth.set.userdbs.length), format, scheme);
}
