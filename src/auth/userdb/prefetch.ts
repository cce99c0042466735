/**
 * auth/userdb/prefetch.ts: `userdb { driver = prefetch }` (userdb-prefetch.c):
 * the userdb reply is whatever `userdb_*` fields the passdb returned; without
 * them the next userdb is asked (or, when prefetch is the only one, the
 * lookup fails).
 */
import type { Auth } from '../engine.js';
import { AuthConfigError, type UserdbDriver } from '../drivers.js';
import type { AuthRequest, UserdbResult } from '../request.js';

class PrefetchUserdb implements UserdbDriver {
  readonly name = 'prefetch';
  async lookup(req: AuthRequest): Promise<UserdbResult> {
    if (!req.userdbPrefetchSet) {
      if (req.auth.userdbs.length === 1) {
        req.logError('db', req.userdbLookup ? 'userdb lookup not possible with only userdb prefetch' : "passdb didn't return userdb entries");
        return 'internal_failure';
      }
      req.logDebug('db', "passdb didn't return userdb entries, trying the next userdb");
      return 'user_unknown';
    }
    req.logDebug('db', 'success');
    return 'ok';
  }
}

export function prefetchUserdb(_auth: Auth, args: string): UserdbDriver {
  if (args !== '') throw new AuthConfigError(`userdb prefetch: No args are supported: ${args}`);
  return new PrefetchUserdb();
}
