/**
 * auth/userdb/checkpassword.ts: `userdb { driver = checkpassword
 * args = /path/to/program }` (userdb-checkpassword.c): a lookup run with
 * AUTHORIZED=1; the reply's `userdb_*` fields become the userdb reply.
 */
import type { Auth } from '../engine.js';
import { CheckpasswordDb } from '../db/checkpassword.js';
import type { UserdbDriver } from '../drivers.js';
import type { AuthRequest, UserdbResult } from '../request.js';

class CheckpasswordUserdb implements UserdbDriver {
  readonly name = 'checkpassword';
  constructor(readonly db: CheckpasswordDb) {}

  async lookup(req: AuthRequest): Promise<UserdbResult> {
    const r = await this.db.call(req, undefined);
    if (r.status === 'internal_failure') return 'internal_failure';
    if (r.status === 'failure') return 'user_unknown';
    for (const f of r.fields) if (f.startsWith('userdb_')) req.setFieldKeyValue(f);
    return 'ok';
  }
}

export function checkpasswordUserdb(auth: Auth, args: string): UserdbDriver {
  return new CheckpasswordUserdb(new CheckpasswordDb(args, auth.checkpasswordReply));
}
