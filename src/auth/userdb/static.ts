/**
 * auth/userdb/static.ts: `userdb { driver = static args = uid=vmail
 * gid=vmail home=/var/vmail/%d/%n [allow_all_users=yes] }` (userdb-static.c).
 * A lookup that did not come from a successful login first asks the passdbs
 * whether the user exists, unless allow_all_users=yes.
 */
import type { Auth } from '../engine.js';
import type { UserdbDriver } from '../drivers.js';
import type { AuthRequest, UserdbResult } from '../request.js';
import { FieldTemplate } from '../template.js';

class StaticUserdb implements UserdbDriver {
  readonly name = 'static';
  constructor(
    readonly tmpl: FieldTemplate,
    readonly allowAllUsers: boolean,
  ) {}

  private real(req: AuthRequest): UserdbResult {
    const err = this.tmpl.exportUserdb(req);
    if (err !== undefined) {
      req.logError('db', `Failed to expand template: ${err}`);
      return 'internal_failure';
    }
    return 'ok';
  }

  async lookup(req: AuthRequest): Promise<UserdbResult> {
    if (req.successful || this.allowAllUsers) return this.real(req);
    // A userdb-only lookup: does the user exist in a passdb?
    let result: string;
    if (req.passdb !== undefined) {
      req.userdbLookup = false;
      const r = await req.auth.lookupCredentials(req, '');
      req.userdbLookup = true;
      result = r.result;
    } else result = 'scheme_not_available';
    switch (result) {
      case 'ok':
        return this.real(req);
      case 'user_unknown':
      case 'user_disabled':
      case 'pass_expired':
        return 'user_unknown';
      case 'scheme_not_available':
        req.logError('db', "passdb doesn't support lookups, can't verify user's existence");
        return 'internal_failure';
      default:
        return 'internal_failure';
    }
  }
}

export function staticUserdb(_auth: Auth, args: string): UserdbDriver {
  const tmpl = FieldTemplate.userdb('static', args);
  const [found, value] = tmpl.remove('allow_all_users');
  return new StaticUserdb(tmpl, found && (value === undefined || value.toLowerCase() === 'yes'));
}
