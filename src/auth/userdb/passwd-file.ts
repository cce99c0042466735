/**
 * auth/userdb/passwd-file.ts: `userdb { driver = passwd-file
 * args = [username_format=%u] /path }` (userdb-passwd-file.c): uid, gid,
 * home and the `userdb_*` extra fields; iteration lists the file's users.
 */
import type { Auth } from '../engine.js';
import { AuthConfigError, type UserdbDriver, type UserIteration } from '../drivers.js';
import type { PasswdFileDb } from '../db/passwd-file.js';
import type { AuthRequest, UserdbResult } from '../request.js';
import { addExtraFields } from '../passdb/passwd-file.js';

class PasswdFileUserdb implements UserdbDriver {
  readonly name = 'passwd-file';
  constructor(
    readonly db: PasswdFileDb,
    readonly usernameFormat: string,
  ) {}

  init(): void {
    this.db.parse();
  }

  async lookup(req: AuthRequest): Promise<UserdbResult> {
    const pu = this.db.lookup(req, this.usernameFormat);
    if (pu === 'error') return 'internal_failure';
    if (pu === undefined || pu.uid === 0) return 'user_unknown';
    if (pu.uid !== -1) req.setUserdbField('uid', String(pu.uid));
    if (pu.gid !== -1) req.setUserdbField('gid', String(pu.gid));
    if (pu.home !== undefined) req.setUserdbField('home', pu.home);
    if (pu.extraFields && !addExtraFields(req, pu.extraFields, true)) return 'internal_failure';
    return 'ok';
  }

  iterate(req: AuthRequest): UserIteration {
    const r = this.db.iterate(req);
    return { users: r.users, failed: () => r.failed };
  }
}

export function passwdFileUserdb(auth: Auth, args: string): UserdbDriver {
  let format = '%u';
  let rest = args;
  if (rest.startsWith('username_format=')) {
    rest = rest.slice(16);
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      format = rest;
      rest = '';
    } else {
      format = rest.slice(0, sp);
      rest = rest.slice(sp + 1);
    }
  }
  if (rest === '') throw new AuthConfigError('userdb passwd-file: Missing args');
  return new PasswdFileUserdb(auth.passwdFiles.get(rest, true, auth.set.userdbs.length), format);
}
