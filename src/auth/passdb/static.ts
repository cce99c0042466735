/**
 * auth/passdb/static.ts: `passdb { driver = static args = password=X
 * [key=value …] }` (passdb-static.c): every user exists with the given
 * (%-expanded) password and fields; `nopassword` accepts any password.
 */
import type { Auth } from '../engine.js';
import type { CredentialsLookup, PassdbDriver } from '../drivers.js';
import { passwordGetScheme } from '../passwords.js';
import type { AuthRequest, PassdbResult } from '../request.js';
import { FieldTemplate } from '../template.js';

class StaticPassdb implements PassdbDriver {
  readonly name = 'static';
  defaultPassScheme = 'PLAIN';
  constructor(
    readonly tmpl: FieldTemplate,
    readonly passwordTmpl: string | undefined,
  ) {}

  private save(req: AuthRequest): { result: PassdbResult; password?: string; scheme?: string } {
    req.logDebug('db', 'lookup');
    const err = this.tmpl.exportPassdb(req);
    if (err !== undefined) {
      req.logError('db', `Failed to expand template: ${err}`);
      return { result: 'internal_failure' };
    }
    let password: string;
    if (this.passwordTmpl !== undefined) {
      const r = req.expand(this.passwordTmpl);
      if (r.ret <= 0) {
        req.logError('db', `Failed to expand password=${this.passwordTmpl}: ${r.error}`);
        return { result: 'internal_failure' };
      }
      password = r.value;
    } else if (req.extraFields.exists('nopassword')) {
      password = '';
    } else {
      return { result: req.auth.passwordMissing(req) };
    }
    const { scheme, rest } = passwordGetScheme(password);
    const s = scheme ?? 'PLAIN';
    req.setField('password', rest, s);
    return { result: 'ok', password: rest, scheme: s };
  }

  async verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult> {
    const r = this.save(req);
    if (r.result !== 'ok') return r.result;
    const ret = await req.auth.passwordVerify(req, password, r.password!, r.scheme!, 'db');
    return ret > 0 ? 'ok' : 'password_mismatch';
  }

  async lookupCredentials(req: AuthRequest): Promise<CredentialsLookup> {
    const r = this.save(req);
    return r.result === 'ok' ? { result: 'ok', password: r.password!, scheme: r.scheme! } : { result: r.result };
  }
}

export function staticPassdb(_auth: Auth, args: string): PassdbDriver {
  const tmpl = FieldTemplate.passdb(args);
  const [found, value] = tmpl.remove('password');
  return new StaticPassdb(tmpl, found ? (value ?? '') : undefined);
}
