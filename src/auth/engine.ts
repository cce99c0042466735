/**
 * auth/engine.ts: the passdb and userdb chains (auth.c, auth-request.c):
 * which db is asked next, what `result_success/failure/internalfail`,
 * `skip`, `deny`, `pass` and `master` do, default/override fields, the
 * cache, and how a stored password is turned into credentials
 * (passdb.c passdb_handle_credentials). A failed backend is an internal
 * failure, never a wrong password.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { strerror } from '../util/strerror.js';
import { AuthCache, parseCacheKey } from './cache.js';
import { PasswdFileRegistry } from './db/passwd-file.js';
import { defaultReplyCommand } from './db/checkpassword.js';
import { AuthConfigError, type PassdbDriver, type PassdbFactory, type UserdbDriver, type UserdbFactory } from './drivers.js';
import { FIELD_CHANGED } from './fields.js';
import { checkpasswordPassdb } from './passdb/checkpassword.js';
import { passwdFilePassdb } from './passdb/passwd-file.js';
import { sqlPassdb } from './passdb/sql.js';
import { ldapPassdb } from './passdb/ldap.js';
import { staticPassdb } from './passdb/static.js';
import { credentialsFor, passwordGetScheme, schemeIsAlias } from './passwords.js';
import { VerifyPool } from './verify-pool.js';
import type { AuthRequest, PassdbResult, UserdbResult } from './request.js';
import type { AuthSettings, DbRule, PassdbSettings, UserdbSettings } from './settings.js';
import { FieldTemplate, TemplateError } from './template.js';
import { checkpasswordUserdb } from './userdb/checkpassword.js';
import { passwdFileUserdb } from './userdb/passwd-file.js';
import { prefetchUserdb } from './userdb/prefetch.js';
import { sqlUserdb } from './userdb/sql.js';
import { ldapUserdb } from './userdb/ldap.js';
import { staticUserdb } from './userdb/static.js';
import { LdapRegistry } from './db/ldap.js';
import { SqlRegistry } from './db/sql.js';
import { tabEscape, splitTabEscaped } from './protocol.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';
export type AuthLog = (level: LogLevel, msg: string) => void;

export interface AuthPassdb {
  id: number;
  set: PassdbSettings;
  driver: PassdbDriver;
  defaultTmpl: FieldTemplate;
  overrideTmpl: FieldTemplate;
  resultSuccess: DbRule;
  resultFailure: DbRule;
  resultInternalfail: DbRule;
  mechanisms: string[] | undefined;
  usernameFilter: string[] | undefined;
  cacheKey: string | undefined;
  next: AuthPassdb | undefined;
}

export interface AuthUserdb {
  id: number;
  set: UserdbSettings;
  driver: UserdbDriver;
  defaultTmpl: FieldTemplate;
  overrideTmpl: FieldTemplate;
  resultSuccess: DbRule;
  resultFailure: DbRule;
  resultInternalfail: DbRule;
  cacheKey: string | undefined;
  next: AuthUserdb | undefined;
}

/** Drivers by name. */
export const passdbFactories: Record<string, PassdbFactory> = {
  'passwd-file': passwdFilePassdb,
  static: staticPassdb,
  checkpassword: checkpasswordPassdb,
  sql: sqlPassdb,
  ldap: ldapPassdb,
};
export const userdbFactories: Record<string, UserdbFactory> = {
  'passwd-file': passwdFileUserdb,
  static: staticUserdb,
  checkpassword: checkpasswordUserdb,
  sql: sqlUserdb,
  prefetch: prefetchUserdb,
  ldap: ldapUserdb,
};

/** Drivers Dovecot 2.3 has but Postern does not (yet): "Unknown passdb driver" would mislead. */
const KNOWN_PASSDBS = ['pam', 'passwd', 'shadow', 'bsdauth', 'dict', 'imap', 'lua', 'oauth2'];
const KNOWN_USERDBS = ['passwd', 'dict', 'lua'];

const ILLEGAL_PASSWORD_CHARS = [1, 9, 13, 10];

/** A user name matches the passdb's username_filter (wildcards, `!` excludes). */
export function usernameAccepted(filter: string[], username: string): boolean {
  let haveIncludes = false;
  let matchedInc = false;
  for (const f of filter) {
    const exclude = f.startsWith('!');
    if (!exclude) haveIncludes = true;
    const mask = exclude ? f.slice(1) : f;
    const re = new RegExp(`^${mask.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 's');
    if (re.test(username)) {
      if (exclude) return false;
      matchedInc = true;
    }
  }
  return matchedInc || !haveIncludes;
}

export interface AuthOptions {
  log?: AuthLog;
  /** The checkpassword-reply command (default: ours, run with this Node). */
  checkpasswordReply?: string;
}

export class Auth {
  passdbs: AuthPassdb[] = [];
  masterdbs: AuthPassdb[] = [];
  userdbs: AuthUserdb[] = [];
  readonly passwdFiles: PasswdFileRegistry;
  readonly sqlDbs = new SqlRegistry();
  readonly ldapDbs = new LdapRegistry();
  /** Slow password schemes are checked on worker threads. */
  readonly verifyPool = new VerifyPool();
  readonly cache: AuthCache | undefined;
  readonly translationMap: Record<number, number> = {};
  /** undefined = every character allowed. */
  readonly usernameCharsMap: Uint8Array | undefined;
  readonly checkpasswordReply: string;
  readonly log: AuthLog;
  private nextId = 0;

  constructor(
    readonly set: AuthSettings,
    opts: AuthOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.checkpasswordReply = opts.checkpasswordReply ?? defaultReplyCommand();
    this.passwdFiles = new PasswdFileRegistry((level, msg) => this.log(level, msg));
    if (set.usernameChars !== '') {
      const m = new Uint8Array(256);
      for (const b of Buffer.from(set.usernameChars, 'utf8')) m[b] = 1;
      this.usernameCharsMap = m;
    }
    const t = Buffer.from(set.usernameTranslation, 'utf8');
    for (let i = 0; i + 1 < t.length; i += 2) this.translationMap[t[i]!] = t[i + 1]!;
    if (set.cacheSize > 0 && set.cacheSize < 1024) throw new AuthConfigError(`auth_cache_size value is too small (${set.cacheSize} bytes)`);
    this.cache = set.cacheSize > 0 && set.cacheTtl > 0 ? new AuthCache(set.cacheSize, set.cacheTtl, set.cacheNegativeTtl) : undefined;
    this.preinit();
  }

  private newPassdb(s: PassdbSettings): AuthPassdb {
    const factory = passdbFactories[s.driver];
    if (!factory) {
      if (KNOWN_PASSDBS.includes(s.driver)) throw new AuthConfigError(`Support not compiled in for passdb driver '${s.driver}'`);
      throw new AuthConfigError(`Unknown passdb driver '${s.driver}'`);
    }
    try {
      const driver = factory(this, s.args);
      const db: AuthPassdb = {
        id: ++this.nextId,
        set: s,
        driver,
        defaultTmpl: FieldTemplate.passdb(s.defaultFields),
        overrideTmpl: FieldTemplate.passdb(s.overrideFields),
        resultSuccess: s.pass ? 'continue' : s.resultSuccess,
        resultFailure: s.resultFailure,
        resultInternalfail: s.resultInternalfail,
        mechanisms: s.mechanisms === '' ? undefined : s.mechanisms.toLowerCase() === 'none' ? [] : s.mechanisms.split(/[ ,]+/).filter(Boolean),
        usernameFilter: s.usernameFilter === '' ? undefined : s.usernameFilter.split(/[ ,]+/).filter(Boolean),
        cacheKey: driver.defaultCacheKey === undefined ? undefined : parseCacheKey(driver.defaultCacheKey + s.defaultFields),
        next: undefined,
      };
      return db;
    } catch (e) {
      if (e instanceof TemplateError) throw new AuthConfigError(e.message);
      throw e;
    }
  }

  private preinit(): void {
    const chain = (list: AuthPassdb[], db: AuthPassdb) => {
      if (list.length) list[list.length - 1]!.next = db;
      list.push(db);
    };
    let lastPass = false;
    for (const s of this.set.passdbs) {
      if (s.master) continue;
      if (this.passdbs.length === 0 && s.skip === 'unauthenticated') continue;
      chain(this.passdbs, this.newPassdb(s));
      lastPass = s.pass;
    }
    if (this.passdbs.length && lastPass) throw new AuthConfigError('Last passdb can\'t have pass=yes');
    for (const s of this.set.passdbs) {
      if (!s.master) continue;
      if (this.masterdbs.length === 0 && s.skip === 'unauthenticated') continue;
      if (s.deny) throw new AuthConfigError('Master passdb can\'t have deny=yes');
      if (s.pass && this.passdbs.length === 0) throw new AuthConfigError('Master passdb can\'t have pass=yes if there are no passdbs');
      chain(this.masterdbs, this.newPassdb(s));
    }
    const userdbSets: UserdbSettings[] = this.set.userdbs.length
      ? this.set.userdbs
      : [
          {
            name: '',
            driver: 'static',
            args: '',
            defaultFields: '',
            overrideFields: '',
            skip: 'never',
            resultSuccess: 'return-ok',
            resultFailure: 'continue',
            resultInternalfail: 'continue',
            authVerbose: 'default',
          },
        ];
    for (const s of userdbSets) {
      const factory = userdbFactories[s.driver];
      if (!factory) {
        if (KNOWN_USERDBS.includes(s.driver)) throw new AuthConfigError(`Support not compiled in for userdb driver '${s.driver}'`);
        throw new AuthConfigError(`Unknown userdb driver '${s.driver}'`);
      }
      try {
        const driver = factory(this, s.args);
        const db: AuthUserdb = {
          id: ++this.nextId,
          set: s,
          driver,
          defaultTmpl: FieldTemplate.userdb(s.driver, s.defaultFields),
          overrideTmpl: FieldTemplate.userdb(s.driver, s.overrideFields),
          resultSuccess: s.resultSuccess,
          resultFailure: s.resultFailure,
          resultInternalfail: s.resultInternalfail,
          cacheKey: driver.defaultCacheKey === undefined ? undefined : parseCacheKey(driver.defaultCacheKey + s.defaultFields),
          next: undefined,
        };
        if (this.userdbs.length) this.userdbs[this.userdbs.length - 1]!.next = db;
        this.userdbs.push(db);
      } catch (e) {
        if (e instanceof TemplateError) throw new AuthConfigError(e.message);
        throw e;
      }
    }
  }

  /** passdb_init/userdb_init: open files etc. */
  init(): void {
    for (const p of [...this.masterdbs, ...this.passdbs]) p.driver.init?.();
    for (const u of this.userdbs) u.driver.init?.();
  }

  async deinit(): Promise<void> {
    await this.verifyPool.close();
    for (const p of [...this.masterdbs, ...this.passdbs]) await p.driver.deinit?.();
    for (const u of this.userdbs) await u.driver.deinit?.();
  }

  /** Does any passdb support what a mechanism needs (auth_mech_verify_passdb)? */
  passdbsSupport(need: 'nothing' | 'verify_plain' | 'lookup_credentials'): boolean {
    if (need === 'nothing') return true;
    if (need === 'verify_plain') return this.passdbs.length > 0;
    return this.passdbs.some((p) => p.driver.lookupCredentials !== undefined);
  }

  /* ---------- passwords ---------- */

  /** auth_request_password_verify: 1 = match, 0 = mismatch, -1 = invalid stored data. */
  async passwordVerify(req: AuthRequest, plain: string, crypted: string, scheme: string, subsys: string): Promise<number> {
    if (req.skipPasswordCheck) return 1;
    if (req.passdb?.set.deny) return 0;
    if (req.extraFields.exists('nopassword')) {
      req.logDebug(subsys, 'Allowing any password');
      return 1;
    }
    const raw = req.mechPasswordRaw && req.mechPassword === plain ? req.mechPasswordRaw : Buffer.from(plain, 'utf8');
    const r = await this.verifyPool.verify(raw, `{${scheme}}${crypted}`, req.originalUsername ?? req.user ?? '', scheme);
    if (r.ok) return 1;
    if (r.error !== undefined) {
      req.logError(subsys, r.error);
      return -1;
    }
    this.logLoginFailure(req, subsys, 'Password mismatch');
    return 0;
  }

  passwordMissing(req: AuthRequest): PassdbResult {
    if (req.skipPasswordCheck) return 'ok';
    req.logInfo('db', 'No password returned (and no nopassword)');
    return 'password_mismatch';
  }

  logLoginFailure(req: AuthRequest, subsys: string, message: string): void {
    const vp = this.set.verbosePasswords;
    if (vp === 'no' || vp === '') {
      req.logInfo(subsys, message);
      return;
    }
    let msg = `${message} `;
    if (req.mechPassword !== undefined) {
      const [type, max] = vp.split(':') as [string, string | undefined];
      const lim = max === undefined ? 1024 : Number(max);
      if (type === 'plain') msg += `(given password: ${req.mechPassword.slice(0, lim)})`;
      else if (type === 'sha1') {
        msg += `(SHA1 of given password: ${createHash('sha1').update(req.mechPassword).digest('hex').slice(0, lim)})`;
      }
    }
    if (req.userdbLookup ? req.userdb?.next : req.passdb?.next) msg += req.userdbLookup ? ' - trying the next userdb' : ' - trying the next passdb';
    this.log('info', `${req.logPrefix(subsys)}${msg}`);
  }

  /** passdb_handle_credentials + passdb_get_credentials. */
  handleCredentials(req: AuthRequest, result: PassdbResult, password: string | undefined, scheme: string | undefined): { result: PassdbResult; credentials?: Buffer } {
    if (result !== 'ok') return { result };
    if (req.extraFields.exists('noauthenticate')) return { result: 'next' };
    if (password !== undefined) {
      const inScheme = scheme ?? '';
      let wanted = req.wantedCredentialsScheme ?? '';
      if (req.preferPlainCredentials && schemeIsAlias(inScheme, 'PLAIN')) wanted = '';
      let user = req.originalUsername ?? '';
      if (!req.domainIsRealm && user.includes('@')) user = `${user}@${req.realm ?? ''}`;
      const r = credentialsFor(`{${inScheme}}${password}`, wanted, user);
      if (r.credentials === undefined) {
        if (r.log?.level === 'info') req.logInfo('db', r.log.text);
        else req.logError('db', r.log?.text ?? `Unknown scheme ${inScheme}`);
        return { result: 'scheme_not_available' };
      }
      if (wanted === '') req.wantedCredentialsScheme = inScheme.split('.')[0];
      return { result: 'ok', credentials: r.credentials };
    }
    if ((req.wantedCredentialsScheme ?? '') === '') return { result: 'ok' };
    if (req.delayedCredentials !== undefined) return { result: 'ok' };
    req.logInfo('db', `Requested ${req.wantedCredentialsScheme} scheme, but we have a NULL password`);
    return { result: 'scheme_not_available' };
  }

  /* ---------- the passdb chain ---------- */

  private wantSkipPassdb(req: AuthRequest, p: AuthPassdb): boolean {
    if (p.mechanisms !== undefined) {
      const m = req.mech?.name;
      const ok = m === undefined ? p.mechanisms.some((x) => x.toLowerCase() === 'none') : p.mechanisms.some((x) => x.toUpperCase() === m.toUpperCase());
      if (!ok) {
        req.logDebug(req.mech ? 'mech' : 'none', 'skipping passdb: mechanism filtered');
        return true;
      }
    }
    if (p.usernameFilter !== undefined && !usernameAccepted(p.usernameFilter, req.user ?? '')) {
      req.logDebug(req.mech ? 'mech' : 'none', 'skipping passdb: username filtered');
      return true;
    }
    switch (p.set.skip) {
      case 'authenticated':
        return req.skipPasswordCheck;
      case 'unauthenticated':
        return !req.skipPasswordCheck;
      default:
        return false;
    }
  }

  /** auth_request_handle_passdb_callback: true = done (with the final result), false = try req.passdb next. */
  private handlePassdbCallback(req: AuthRequest, result: PassdbResult): { done: boolean; result: PassdbResult } {
    const p = req.passdb!;
    if (p.set.deny && result !== 'user_unknown') {
      if (result !== 'internal_failure') {
        req.logInfo('db', 'User found from deny passdb');
        result = 'user_disabled';
      }
      return { done: true, result };
    }
    if (req.failed) {
      if (result === 'ok') result = 'user_unknown';
      req.failed = false;
    }
    let rule: DbRule;
    switch (result) {
      case 'user_disabled':
        return { done: true, result };
      case 'pass_expired':
        req.setField('reason', 'Password expired');
        return { done: true, result };
      case 'ok':
        rule = p.resultSuccess;
        break;
      case 'internal_failure':
        rule = p.resultInternalfail;
        break;
      case 'next':
        req.logDebug('db', 'Not performing authentication (noauthenticate set)');
        rule = 'continue';
        break;
      default:
        rule = p.resultFailure;
    }
    let cont = false;
    switch (rule) {
      case 'return':
        break;
      case 'return-ok':
        req.passdbSuccess = true;
        break;
      case 'return-fail':
        req.passdbSuccess = false;
        break;
      case 'continue':
        cont = true;
        if (result === 'ok') req.skipPasswordCheck = true;
        break;
      case 'continue-ok':
        cont = true;
        req.passdbSuccess = true;
        req.skipPasswordCheck = true;
        break;
      case 'continue-fail':
        cont = true;
        req.passdbSuccess = false;
        break;
    }
    req.extraFields.remove('nopassword');
    req.extraFields.remove('noauthenticate');
    let next: AuthPassdb | undefined;
    if (req.requestedLoginUser !== undefined && result === 'ok') {
      req.masterUserLoginFinish();
      next = this.passdbs[0];
    } else next = p.next;
    while (next !== undefined && this.wantSkipPassdb(req, next)) next = next.next;
    if (result === 'ok' || result === 'next') {
      req.extraFields.snapshot();
      req.snapshotHaveUserdbPrefetchSet = req.userdbPrefetchSet;
      req.userdbReply?.snapshot();
    } else {
      req.extraFields.rollback();
      if (req.userdbReply) {
        req.userdbReply.rollback();
        req.userdbPrefetchSet = req.snapshotHaveUserdbPrefetchSet;
      }
    }
    if (cont && next !== undefined) {
      req.passdb = next;
      req.passdbPassword = undefined;
      if (result === 'user_unknown') req.passdbsSeenUserUnknown = true;
      else if (result === 'internal_failure') req.passdbsSeenInternalFailure = true;
      return { done: false, result };
    }
    if (result === 'next') {
      this.log('error', `${req.logPrefix('db')}Last passdb had noauthenticate field, cannot authenticate user`);
      result = 'internal_failure';
    } else if (req.passdbSuccess) result = 'ok';
    else if (req.passdbsSeenInternalFailure) result = 'internal_failure';
    return { done: true, result };
  }

  private disabledMasterUser(req: AuthRequest): boolean {
    if (req.requestedLoginUser === undefined || req.passdb !== undefined) return false;
    req.logInfo('mech', `Attempted master login with no master passdbs (trying to log in as user: ${req.requestedLoginUser})`);
    return true;
  }

  private firstUsablePassdb(req: AuthRequest): AuthPassdb | undefined {
    let p = req.passdb;
    while (p !== undefined && this.wantSkipPassdb(req, p)) p = p.next;
    req.passdb = p;
    if (p === undefined) req.logError(req.mech ? 'mech' : 'none', 'All password databases were skipped');
    return p;
  }

  /** Run a driver call; a thrown error (a backend that is down) is an internal failure. */
  private async guarded<T>(req: AuthRequest, fn: () => Promise<T>, fail: T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      req.logError('db', (e as Error).message);
      return fail;
    }
  }

  /** auth_request_verify_plain: the whole passdb chain for a plaintext password. */
  async verifyPlain(req: AuthRequest, password: string, raw?: Buffer): Promise<PassdbResult> {
    if (req.mechPassword === undefined) {
      req.mechPassword = password;
      req.mechPasswordRaw = raw ?? Buffer.from(password, 'utf8');
    }
    for (;;) {
      req.userChangedByLookup = false;
      if (this.disabledMasterUser(req)) return 'user_unknown';
      if ((req.mechPasswordRaw ?? Buffer.alloc(0)).some((b) => ILLEGAL_PASSWORD_CHARS.includes(b))) {
        req.logInfo('db', 'Attempted login with password having illegal chars');
        return 'user_unknown';
      }
      const p = this.firstUsablePassdb(req);
      if (p === undefined) return 'internal_failure';
      let result: PassdbResult | undefined = await this.cacheVerifyPlain(req, p, password, false);
      if (result === undefined) {
        req.wantedCredentialsScheme = undefined;
        const err = p.defaultTmpl.exportPassdb(req);
        if (err !== undefined) {
          req.logError('db', `Failed to expand default_fields: ${err}`);
          result = 'internal_failure';
        } else {
          result = await this.guarded(req, () => p.driver.verifyPlain(req, password), 'internal_failure' as PassdbResult);
        }
        if (result === 'ok' && req.extraFields.exists('noauthenticate')) result = 'next';
        if (result !== 'internal_failure') this.saveCache(req, result);
        else {
          const old = await this.cacheVerifyPlain(req, p, password, true);
          if (old !== undefined) {
            req.logInfo('db', 'Falling back to expired data from cache');
            result = old;
          }
        }
      }
      const oerr = p.overrideTmpl.exportPassdb(req);
      if (oerr !== undefined) {
        req.logError('db', `Failed to expand override_fields: ${oerr}`);
        result = 'internal_failure';
      }
      const h = this.handlePassdbCallback(req, result);
      if (!h.done) continue;
      req.passdbResult = h.result;
      return h.result;
    }
  }

  /** auth_request_lookup_credentials: the chain for a credentials lookup ('' = any scheme). */
  async lookupCredentials(req: AuthRequest, scheme: string): Promise<{ result: PassdbResult; credentials?: Buffer }> {
    if (req.wantedCredentialsScheme === undefined) req.wantedCredentialsScheme = scheme;
    for (;;) {
      req.userChangedByLookup = false;
      if (this.disabledMasterUser(req)) return { result: 'user_unknown' };
      const p = this.firstUsablePassdb(req);
      if (p === undefined) return { result: 'internal_failure' };
      let r: { result: PassdbResult; credentials?: Buffer } | undefined;
      const cached = this.cacheLookupCredentials(req, p, false);
      if (cached) r = this.handleCredentials(req, cached.result, cached.password, cached.scheme);
      else {
        if (p.driver.lookupCredentials === undefined) {
          req.logDebug('db', "passdb doesn't support credential lookups");
          r = { result: 'scheme_not_available' };
        } else {
          const err = p.defaultTmpl.exportPassdb(req);
          if (err !== undefined) {
            req.logError('db', `Failed to expand default_fields: ${err}`);
            r = { result: 'internal_failure' };
          } else {
            const lookup = p.driver.lookupCredentials.bind(p.driver);
            const got = await this.guarded(req, () => lookup(req), { result: 'internal_failure' as PassdbResult });
            r = this.handleCredentials(req, got.result, got.password, got.scheme);
          }
        }
        if (r.result === 'ok' && req.extraFields.exists('noauthenticate')) r = { result: 'next' };
        if (r.result !== 'internal_failure') this.saveCache(req, r.result);
        else {
          const old = this.cacheLookupCredentials(req, p, true);
          if (old) {
            req.logInfo('db', 'Falling back to expired data from cache');
            r = this.handleCredentials(req, old.result, old.password, old.scheme);
          }
        }
      }
      let result = r.result;
      let creds = r.credentials;
      const oerr = p.overrideTmpl.exportPassdb(req);
      if (oerr !== undefined) {
        req.logError('db', `Failed to expand override_fields: ${oerr}`);
        result = 'internal_failure';
      }
      const h = this.handlePassdbCallback(req, result);
      if (!h.done) {
        if (req.skipPasswordCheck && req.delayedCredentials === undefined && creds !== undefined && creds.length > 0) req.delayedCredentials = creds;
        continue;
      }
      result = h.result;
      if (req.delayedCredentials !== undefined && (creds === undefined || creds.length === 0)) creds = req.delayedCredentials;
      if (result === 'scheme_not_available' && req.passdbsSeenUserUnknown) result = 'user_unknown';
      req.passdbResult = result;
      return creds === undefined ? { result } : { result, credentials: creds };
    }
  }

  /* ---------- the userdb chain ---------- */

  private wantSkipUserdb(req: AuthRequest, u: AuthUserdb): boolean {
    if (u.set.skip === 'found') return req.userdbSuccess;
    if (u.set.skip === 'notfound') return !req.userdbSuccess;
    return false;
  }

  /** auth_request_lookup_user: the whole userdb chain. Tempfail fields make it an internal failure. */
  async lookupUser(req: AuthRequest): Promise<UserdbResult> {
    for (;;) {
      const u = req.userdb!;
      req.userChangedByLookup = false;
      req.userdbLookup = true;
      let result: UserdbResult | undefined;
      if (req.userdbReply === undefined) req.initUserdbReply(true);
      else {
        const err = u.defaultTmpl.exportUserdb(req);
        if (err !== undefined) {
          req.logError('db', `Failed to expand default_fields: ${err}`);
          result = 'internal_failure';
        }
      }
      let cacheHit = false;
      if (result === undefined) {
        const c = this.userCacheLookup(req, u, false);
        if (c !== undefined) {
          result = c;
          cacheHit = true;
        } else {
          result = await this.guarded(req, () => u.driver.lookup(req), 'internal_failure' as UserdbResult);
        }
      }
      let rule: DbRule;
      if (result === 'ok') rule = u.resultSuccess;
      else if (result === 'internal_failure') rule = u.resultInternalfail;
      else rule = u.resultFailure;
      let cont = false;
      switch (rule) {
        case 'return-ok':
          req.userdbSuccess = true;
          break;
        case 'return-fail':
          req.userdbSuccess = false;
          break;
        case 'continue':
          cont = true;
          break;
        case 'continue-ok':
          cont = true;
          req.userdbSuccess = true;
          break;
        case 'continue-fail':
          cont = true;
          req.userdbSuccess = false;
          break;
        default:
          break;
      }
      let next = u.next;
      while (next !== undefined && this.wantSkipUserdb(req, next)) next = next.next;
      if (cont && next !== undefined) {
        if (result === 'internal_failure') req.userdbsSeenInternalFailure = true;
        if (result === 'ok') {
          const err = u.overrideTmpl.exportUserdb(req);
          if (err !== undefined) {
            req.logError('db', `Failed to expand override_fields: ${err}`);
            return 'internal_failure';
          }
          req.userdbReply!.snapshot();
        } else req.userdbReply!.rollback();
        req.userChangedByLookup = false;
        req.userdb = next;
        continue;
      }
      if (req.userdbSuccess) {
        const err = u.overrideTmpl.exportUserdb(req);
        if (err !== undefined) {
          req.logError('db', `Failed to expand override_fields: ${err}`);
          result = 'internal_failure';
        } else result = 'ok';
      } else if (req.userdbsSeenInternalFailure || result === 'internal_failure') {
        result = 'internal_failure';
      } else {
        if (req.clientPid !== 0) {
          if (this.userdbs.length === 1) this.log('error', `${req.logPrefix('db')}user not found from userdb`);
          else this.log('error', `${req.logPrefix('mech')}user not found from any userdbs`);
        }
        result = 'user_unknown';
      }
      if (req.userdbLookupTempfailed) {
        // no caching
      } else if (result !== 'internal_failure') {
        if (!cacheHit) this.userCacheSave(req, u, result);
      } else {
        const c = this.userCacheLookup(req, u, true);
        if (c !== undefined) {
          req.logInfo('db', 'Falling back to expired data from cache');
          result = c;
        }
      }
      return result;
    }
  }

  /** uidgid_file=PATH: uid and gid of a file's owner. */
  setUidgidFile(req: AuthRequest, template: string): void {
    const r = req.expand(template);
    if (r.ret <= 0) {
      req.logError('db', `Failed to expand uidgid_file=${template}: ${r.error}`);
      req.userdbLookupTempfailed = true;
      return;
    }
    try {
      const st = statSync(r.value);
      req.userdbReply!.add('uid', String(st.uid));
      req.userdbReply!.add('gid', String(st.gid));
    } catch (e) {
      req.logError('db', `stat(${r.value}) failed: ${strerror(e)}`);
      req.userdbLookupTempfailed = true;
    }
  }

  /* ---------- cache ---------- */

  private passdbCacheKey(req: AuthRequest, p: AuthPassdb): string | undefined {
    if (!this.cache || p.cacheKey === undefined) return undefined;
    return this.cache.key(req, p.cacheKey, `P${p.id}`);
  }

  private saveCache(req: AuthRequest, result: PassdbResult): void {
    const p = req.passdb!;
    if (!['user_unknown', 'password_mismatch', 'ok', 'scheme_not_available'].includes(result)) return;
    const key = this.passdbCacheKey(req, p);
    if (key === undefined) return;
    if (result === 'user_unknown') {
      this.cache!.insert(key, '', req.user ?? '', false);
      return;
    }
    if (result !== 'ok' && result !== 'password_mismatch' && result !== 'scheme_not_available') return;
    if (req.passdbPassword === undefined && !req.extraFields.exists('nopassword')) {
      if (result !== 'ok' || req.mechPassword === undefined) return;
      req.passdbPassword = `{PLAIN}${req.mechPassword}`;
    }
    let str = '';
    if (req.passdbPassword !== undefined) {
      const pw = req.passdbPassword.startsWith('{') ? req.passdbPassword : `{${p.driver.defaultPassScheme}}${req.passdbPassword}`;
      str += tabEscape(pw);
    }
    if (!req.extraFields.isEmpty()) str += `\t${req.extraFields.append(FIELD_CHANGED, FIELD_CHANGED)}`;
    this.cache!.insert(key, str, req.user ?? '', result === 'ok');
  }

  private async cacheVerifyPlain(req: AuthRequest, p: AuthPassdb, password: string, useExpired: boolean): Promise<PassdbResult | undefined> {
    const key = this.passdbCacheKey(req, p);
    if (key === undefined) return undefined;
    const hit = this.cache!.lookup(key);
    if (!hit || (hit.expired && !useExpired)) {
      req.logDebug('db', hit ? 'cache expired' : 'cache miss');
      return undefined;
    }
    const { node } = hit;
    if (node.value === '') {
      this.logLoginFailure(req, 'db', 'unknown user');
      return 'user_unknown';
    }
    const list = splitTabEscaped(node.value);
    const cachedPw = list[0]!;
    let ret: number;
    if (cachedPw === '') {
      req.logInfo('db', 'Cached NULL password access');
      ret = 1;
    } else {
      const { scheme, rest } = passwordGetScheme(cachedPw);
      ret = await this.passwordVerify(req, password, rest, scheme ?? 'PLAIN', 'db');
      if (ret === 0 && (node.lastSuccess || hit.negExpired)) {
        node.lastSuccess = false;
        return undefined;
      }
    }
    node.lastSuccess = ret > 0;
    for (const f of list.slice(1)) if (f !== '') req.setFieldKeyValue(f);
    return ret > 0 ? 'ok' : 'password_mismatch';
  }

  private cacheLookupCredentials(req: AuthRequest, p: AuthPassdb, useExpired: boolean): { result: PassdbResult; password?: string; scheme?: string } | undefined {
    const key = this.passdbCacheKey(req, p);
    if (key === undefined) return undefined;
    const hit = this.cache!.lookup(key);
    if (!hit || (hit.expired && !useExpired)) return undefined;
    if (hit.node.value === '') return { result: 'user_unknown' };
    const list = splitTabEscaped(hit.node.value);
    for (const f of list.slice(1)) if (f !== '') req.setFieldKeyValue(f);
    if (list[0] === '') return { result: 'ok' };
    const { scheme, rest } = passwordGetScheme(list[0]!);
    return { result: 'ok', password: rest, scheme: scheme ?? 'PLAIN' };
  }

  private userCacheLookup(req: AuthRequest, u: AuthUserdb, useExpired: boolean): UserdbResult | undefined {
    if (!this.cache || u.cacheKey === undefined) return undefined;
    const hit = this.cache.lookup(this.cache.key(req, u.cacheKey, `U${u.id}`));
    if (!hit || (hit.expired && !useExpired)) return undefined;
    if (hit.node.value === '') {
      req.initUserdbReply(false);
      return 'user_unknown';
    }
    if (req.userdbReply === undefined) req.initUserdbReply(false);
    for (const f of splitTabEscaped(hit.node.value)) {
      const eq = f.indexOf('=');
      req.setUserdbField(eq < 0 ? f : f.slice(0, eq), eq < 0 ? '' : f.slice(eq + 1));
    }
    return 'ok';
  }

  private userCacheSave(req: AuthRequest, u: AuthUserdb, result: UserdbResult): void {
    if (!this.cache || u.cacheKey === undefined) return;
    let value = '';
    if (result !== 'user_unknown') {
      value = req.userdbReply!.append(FIELD_CHANGED, FIELD_CHANGED);
      if (req.userChangedByLookup) value += `${value === '' ? '' : '\t'}user=${tabEscape(req.user ?? '')}`;
      if (value === '') value = '!ignore';
    }
    this.cache.insert(this.cache.key(req, u.cacheKey, `U${u.id}`), value, req.user ?? '', false);
  }
}
