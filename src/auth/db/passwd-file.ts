/**
 * auth/db/passwd-file.ts: the passwd-file database shared by the passdb and
 * userdb drivers (db-passwd-file.c).
 *
 * Format, one user per line (lines that are empty or start with '#' or ':'
 * are skipped):
 *   user:password:uid:gid:(gecos):home:(shell):extra_fields
 * - password may be libpam-pwdfile style `hash[NN]` (34 = PLAIN-MD5,
 *   56 = DIGEST-MD5, other = CRYPT);
 * - uid/gid (numbers or names) are read only when a userdb uses the file and
 *   must not be 0; a line that stops before the gid refuses userdb lookups;
 * - extra fields: fields 8.. joined with ':' and split on spaces (new format),
 *   or, when field 8 is empty, fields 9.. are the userdb `mail` (old format).
 * The path may hold %variables (one file per domain, …); each file is
 * re-read when its mtime or size changes (checked at most once a second).
 */
import { readFileSync, statSync } from 'node:fs';
import { strerror } from '../../util/strerror.js';
import { varExpand, varGetKey } from '../../../compat/dovecot/var-expand.js';
import type { AuthRequest } from '../request.js';
import { escapeStr } from '../request.js';
import { lookupGid, lookupUid } from '../unix-users.js';

export interface PasswdUser {
  password: string | undefined;
  /** -1 = not given; 0 = userdb lookups refused. */
  uid: number;
  gid: number;
  home: string | undefined;
  extraFields: string[] | undefined;
}

export type DbLog = (level: 'info' | 'error' | 'warning' | 'debug', msg: string) => void;

class PasswdFile {
  users: Map<string, PasswdUser> | undefined;
  stamp = -1;
  size = -1;
  lastSync = -1;
  constructor(
    readonly db: PasswdFileDb,
    readonly path: string,
  ) {}

  /** passwd_file_open: returns an error text on failure. */
  open(): string | undefined {
    let text: Buffer;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.path);
      text = readFileSync(this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return `open(${this.path}) failed: Permission denied (euid=${process.geteuid?.() ?? 0})`;
      return `open(${this.path}) failed: ${strerror(e)}`;
    }
    this.stamp = Math.floor(Number(st.mtimeMs) / 1000);
    this.size = Number(st.size);
    this.users = new Map();
    for (const line of text.toString('utf8').split('\n')) {
      if (line === '' || line[0] === ':' || line[0] === '#') continue;
      const args = line.split(':');
      this.add(args[0]!, args.length > 1 ? args[1] : undefined, args.slice(2));
    }
    return undefined;
  }

  private add(username: string, pass: string | undefined, args: string[]): void {
    const users = this.users!;
    const log = (msg: string) => this.db.log('error', `passwd-file ${this.path}: ${msg}`);
    if (users.has(username)) {
      log(`User ${username} exists more than once`);
      return;
    }
    const pu: PasswdUser = { password: undefined, uid: -1, gid: -1, home: undefined, extraFields: undefined };
    const len = pass?.length ?? 0;
    if (pass !== undefined && len > 4 && pass[0] !== '{' && pass[0] !== '$' && pass[len - 1] === ']' && pass[len - 4] === '[') {
      const num = (pass.charCodeAt(len - 3) - 48) * 10 + (pass.charCodeAt(len - 2) - 48);
      const p = pass.slice(0, len - 4);
      if (num === 34) pu.password = `{PLAIN-MD5}${p}`;
      else if (num === 56) {
        pu.password = `{DIGEST-MD5}${p}`;
        if (pu.password.length !== 32 + 12) {
          log(`User ${username} has invalid password`);
          return;
        }
      } else pu.password = `{CRYPT}${p}`;
    } else pu.password = pass;
    const userdb = this.db.userdb;
    let i = 0;
    if (i >= args.length) {
      // nothing
    } else if (!userdb || args[i] === '') i++;
    else {
      const uid = lookupUid(args[i]!);
      if (uid === undefined || uid === 0) {
        if (uid === undefined) this.db.log('error', `Invalid UID value '${args[i]}'`);
        log(`User ${username} has invalid UID '${args[i]}'`);
        return;
      }
      pu.uid = uid;
      i++;
    }
    if (i >= args.length) {
      if (this.db.userdbWarnMissing) log(`User ${username} is missing userdb info`);
      pu.uid = 0;
      pu.gid = 0;
    } else if (!userdb || args[i] === '') i++;
    else {
      const gid = lookupGid(args[i]!);
      if (gid === undefined || gid === 0) {
        if (gid === undefined) this.db.log('error', `Invalid GID value '${args[i]}'`);
        log(`User ${username} has invalid GID '${args[i]}'`);
        return;
      }
      pu.gid = gid;
      i++;
    }
    // gecos
    if (i < args.length) i++;
    // home
    if (i < args.length) {
      if (userdb && args[i] !== '') pu.home = args[i];
      i++;
    }
    // shell
    if (i < args.length) i++;
    let extra: string | undefined;
    if (i < args.length && args[i] === '') {
      // Old format: an empty field, then the mail location.
      i++;
      if (i < args.length && args[i] !== '' && userdb) extra = `userdb_mail=${args.slice(i).join(':')}`;
    } else if (i < args.length) {
      extra = args.slice(i).join(':');
    }
    if (extra !== undefined) pu.extraFields = extra.split(' ').filter(Boolean);
    users.set(username, pu);
  }
}

export class PasswdFileDb {
  userdb = false;
  userdbWarnMissing = false;
  /** The path has %variables (one file per expansion). */
  readonly vars: boolean;
  readonly path: string;
  readonly defaultFile: PasswdFile | undefined;
  private readonly files = new Map<string, PasswdFile>();
  refcount = 1;

  constructor(
    path: string,
    readonly log: DbLog,
  ) {
    let percents = false;
    let vars = false;
    for (let i = 0; i < path.length; i++) {
      if (path[i] === '%' && i + 1 < path.length) {
        if (varGetKey(path.slice(++i)) === '%') percents = true;
        else vars = true;
      }
    }
    // Only escaped %% characters: remove the escapes.
    this.path = percents && !vars ? varExpand(path, []).value : path;
    this.vars = vars;
    if (!vars) this.defaultFile = new PasswdFile(this, this.path);
  }

  setUserdb(userdbCount: number): void {
    this.userdb = true;
    this.userdbWarnMissing = userdbCount === 1;
  }

  /** db_passwd_file_parse: read a fixed-path file at start-up. */
  parse(): void {
    const f = this.defaultFile;
    if (f && f.stamp === -1) {
      const err = f.open();
      if (err) this.log('error', `passwd-file ${f.path}: ${err}`);
    }
  }

  /** passwd_file_sync: 1 = usable, 0 = the file does not exist, -1 = error. */
  private sync(req: AuthRequest, pw: PasswdFile): number {
    const now = Math.floor(Date.now() / 1000);
    if (pw.lastSync === now) return pw.users ? 1 : -1;
    pw.lastSync = now;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(pw.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      let ret = -1;
      if (code === 'ENOENT') {
        req.logInfo('passwd-file', `missing passwd file: ${pw.path}`);
        ret = 0;
      } else if (code === 'EACCES') req.logError('db', `stat(${pw.path}) failed: Permission denied`);
      else req.logError('db', `stat(${pw.path}) failed: ${strerror(e)}`);
      if (pw !== this.defaultFile) this.files.delete(pw.path);
      pw.users = undefined;
      pw.stamp = -1;
      return ret;
    }
    if (Math.floor(Number(st.mtimeMs) / 1000) !== pw.stamp || Number(st.size) !== pw.size) {
      pw.users = undefined;
      const err = pw.open();
      if (err) {
        req.logError('db', err);
        return -1;
      }
    }
    return 1;
  }

  /** db_passwd_file_lookup: the user, undefined when unknown, 'error' on failure. */
  lookup(req: AuthRequest, usernameFormat: string): PasswdUser | undefined | 'error' {
    let pw: PasswdFile;
    if (!this.vars) pw = this.defaultFile!;
    else {
      const r = req.expand(this.path, (s) => {
        const slash = s.indexOf('/');
        return slash < 0 ? s : s.slice(0, slash);
      });
      if (r.ret <= 0) {
        req.logError('db', `Failed to expand passwd-file path ${this.path}: ${r.error}`);
        return 'error';
      }
      let f = this.files.get(r.value);
      if (!f) {
        f = new PasswdFile(this, r.value);
        this.files.set(r.value, f);
      }
      pw = f;
    }
    const ret = this.sync(req, pw);
    if (ret <= 0) return ret < 0 ? 'error' : undefined;
    const u = req.expand(usernameFormat, escapeStr);
    if (u.ret <= 0) {
      req.logError('db', `Failed to expand username_format=${usernameFormat}: ${u.error}`);
      return 'error';
    }
    req.logDebug('db', `lookup: user=${u.value} file=${pw.path}`);
    const user = pw.users!.get(u.value);
    if (!user) req.logInfo('db', 'unknown user');
    return user;
  }

  /** Lines of the fixed-path file for userdb iteration (passwd_file_iterate_*). */
  iterate(req: AuthRequest): { users: string[]; failed: boolean } {
    const f = this.defaultFile;
    if (!f) {
      req.logError('db', 'passwd-file: User iteration isn\'t currently supported with %variable paths');
      return { users: [], failed: true };
    }
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch (e) {
      req.logError('db', `open(${f.path}) failed: ${strerror(e)}`);
      return { users: [], failed: true };
    }
    const skipPassdbEntries = !this.userdbWarnMissing;
    const users: string[] = [];
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      if (line === '' || line[0] === ':' || line[0] === '#') continue;
      if (skipPassdbEntries) {
        const p = line.indexOf(':');
        if (p < 0 || line.indexOf(':', p + 1) < 0) continue;
      }
      const c = line.indexOf(':');
      users.push(c < 0 ? line : line.slice(0, c));
    }
    return { users, failed: false };
  }
}

/** One database object per path, shared by the passdb and userdb using it (db_passwd_file_init). */
export class PasswdFileRegistry {
  private readonly dbs = new Map<string, PasswdFileDb>();
  constructor(readonly log: DbLog) {}
  get(path: string, userdb: boolean, userdbCount: number): PasswdFileDb {
    let db = this.dbs.get(path);
    if (db) db.refcount++;
    else {
      db = new PasswdFileDb(path, this.log);
      this.dbs.set(path, db);
    }
    if (userdb) db.setUserdb(userdbCount);
    return db;
  }
}
