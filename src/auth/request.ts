/**
 * auth/request.ts: one authentication or lookup request and the rules for
 * its fields (auth-request.c, auth-request-fields.c, auth-request-var-expand.c):
 * the parameters a client may send (`service= lip= rip= secured …`), the
 * username checks (auth_username_chars, auth_username_translation,
 * auth_default_realm, auth_username_format), what a passdb or userdb field
 * does when set (`user=`, `password=`, `nopassword`, `allow_nets=`,
 * `userdb_*`, `:protected`, `:remove`, `uid=`/`gid=` by name …) and the
 * %-variable table that templates, paths and queries expand with.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { strEscape, type VarFunc, type VarTable, varExpand, type ExpandResult } from '../../compat/dovecot/var-expand.js';
import { AuthFields, FIELD_HIDDEN } from './fields.js';
import type { Auth, AuthPassdb, AuthUserdb } from './engine.js';
import { passwordGetScheme } from './passwords.js';
import { lookupGid, lookupUid } from './unix-users.js';

export type PassdbResult =
  | 'internal_failure'
  | 'scheme_not_available'
  | 'user_unknown'
  | 'user_disabled'
  | 'pass_expired'
  | 'next'
  | 'password_mismatch'
  | 'ok';
export type UserdbResult = 'internal_failure' | 'user_unknown' | 'ok';

export type Escape = (s: string) => string;
export const escapeNone: Escape = (s) => s;
export const escapeStr: Escape = strEscape;

/** Normalise an IP as net_addr2ip + net_ip2addr do; undefined when invalid. */
export function normalizeIp(addr: string): string | undefined {
  let a = addr;
  if (a.includes(':')) {
    if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
    if (!isIPv6(a)) return undefined;
    try {
      return new URL(`http://[${a}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  if (isIPv4(a)) return a;
  // inet_aton also takes short forms such as "127.1" and hex parts.
  const parts = a.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const nums = parts.map((p) => (/^0x[0-9a-f]+$/i.test(p) ? Number.parseInt(p, 16) : /^0[0-7]*$/.test(p) ? Number.parseInt(p, 8) : /^[1-9][0-9]*$/.test(p) ? Number(p) : Number.NaN));
  if (nums.some((n) => Number.isNaN(n))) return undefined;
  const last = nums.pop()!;
  const lim = [0xffffffff, 0xffffff, 0xffff, 0xff][nums.length]!;
  if (last > lim || nums.some((n) => n > 255)) return undefined;
  const bytes = [...nums];
  const rest = 4 - nums.length;
  for (let i = rest - 1; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes.join('.');
}

function parsePort(v: string): number | undefined {
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 65535 ? undefined : n;
}

/** Is `ip` inside `net` ("a.b.c.d/bits", "::1/128" or a bare address)? */
export function ipInNetwork(ip: string, net: string): boolean | undefined {
  const [base, bitsText] = net.split('/') as [string, string | undefined];
  const nb = normalizeIp(base);
  if (nb === undefined) return undefined;
  const toBytes = (a: string): number[] => {
    if (a.includes(':')) {
      const [h, t] = a.split('::') as [string, string | undefined];
      const hs = h ? h.split(':') : [];
      const ts = t !== undefined && t !== '' ? t.split(':') : [];
      const words = a.includes('::') ? [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts] : hs;
      // An embedded IPv4 tail.
      const out: number[] = [];
      for (const w of words) {
        if (w.includes('.')) out.push(...w.split('.').map(Number));
        else {
          const n = Number.parseInt(w, 16);
          out.push(n >> 8, n & 255);
        }
      }
      return out;
    }
    return a.split('.').map(Number);
  };
  const a = toBytes(ip);
  const b = toBytes(nb);
  if (a.length !== b.length) return false;
  const max = b.length * 8;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  for (let i = 0; i < bits; i++) {
    const m = 0x80 >> (i & 7);
    if ((a[i >> 3]! & m) !== (b[i >> 3]! & m)) return false;
  }
  return true;
}

/** The mechanism-facing part of a request's identity (set by the handler). */
export interface MechInfo {
  name: string;
  allowNuls: boolean;
}

export class AuthRequest {
  id = 0;
  /* request fields (struct auth_request_fields) */
  user: string | undefined;
  originalUsername: string | undefined;
  translatedUsername: string | undefined;
  requestedLoginUser: string | undefined;
  masterUser: string | undefined;
  realm: string | undefined;
  service: string | undefined;
  localIp: string | undefined;
  remoteIp: string | undefined;
  localPort = 0;
  remotePort = 0;
  realLocalIp: string | undefined;
  realRemoteIp: string | undefined;
  realLocalPort = 0;
  realRemotePort = 0;
  localName: string | undefined;
  sessionId: string | undefined;
  clientId: string | undefined;
  secured: 'none' | 'secured' | 'tls' = 'none';
  finalRespOk = false;
  noPenalty = false;
  validClientCert = false;
  certUsername = false;
  skipPasswordCheck = false;
  successful = false;
  mechName: string | undefined;
  debug = false;
  extraFields = new AuthFields();
  userdbReply: AuthFields | undefined;
  delayedCredentials: Buffer | undefined;

  /* lookup state */
  passdb: AuthPassdb | undefined;
  userdb: AuthUserdb | undefined;
  passdbPassword: string | undefined;
  mechPassword: string | undefined;
  /** The password bytes as the client sent them (mechPassword is their UTF-8 reading). */
  mechPasswordRaw: Buffer | undefined;
  failed = false;
  internalFailure = false;
  passdbSuccess = false;
  userdbSuccess = false;
  passdbResult: PassdbResult | undefined;
  userChangedByLookup = false;
  userdbLookup = false;
  userdbLookupTempfailed = false;
  passdbsSeenUserUnknown = false;
  passdbsSeenInternalFailure = false;
  userdbsSeenInternalFailure = false;
  userdbPrefetchSet = false;
  snapshotHaveUserdbPrefetchSet = false;
  wantedCredentialsScheme: string | undefined;
  preferPlainCredentials = false;
  domainIsRealm = false;
  clientPid = 0;
  connectUid = 0;
  lastPenalty = 0;
  /** Seconds; failures are answered auth_failure_delay after this. */
  lastAccess = Math.floor(Date.now() / 1000);
  delayUntil = 0;
  sessionPid = -1;
  requestAuthToken = false;
  /** auth_only: not a login client, so OK replies need no master REQUEST. */
  authOnly = true;
  mech: MechInfo | undefined;

  constructor(readonly auth: Auth) {
    this.passdb = auth.passdbs[0];
    this.userdb = auth.userdbs[0];
  }

  get set() {
    return this.auth.set;
  }

  /* ---------- logging ---------- */

  logIdentifier(): string {
    let s = this.user === undefined ? '?' : sanitize(this.user, 64);
    if (this.remoteIp) s += `,${this.remoteIp}`;
    if (this.requestedLoginUser !== undefined) s += ',master';
    if (this.sessionId !== undefined) s += `,<${this.sessionId}>`;
    return s;
  }

  /** "passwd-file(user,ip): " for db messages, "plain(user,ip): " for mechanism ones. */
  logPrefix(subsys: 'db' | 'mech' | string): string {
    let name: string;
    if (subsys === 'db') {
      const db = this.userdbLookup ? this.userdb : this.passdb;
      name = db ? db.set.name || db.driver.name : 'none';
    } else if (subsys === 'mech') name = (this.mech?.name ?? 'none').toLowerCase();
    else name = subsys;
    return `${name}(${this.logIdentifier()}): `;
  }

  private dbVerbose(): 'default' | 'yes' | 'no' {
    const db = this.userdbLookup ? this.userdb : this.passdb;
    return db?.set.authVerbose ?? 'default';
  }

  logInfo(subsys: string, msg: string): void {
    const v = subsys === 'db' ? this.dbVerbose() : 'default';
    if (v === 'no' || (v === 'default' && !this.set.verbose)) return;
    this.auth.log('info', `${this.logPrefix(subsys)}${msg}`);
  }
  logError(subsys: string, msg: string): void {
    this.auth.log('error', `${this.logPrefix(subsys)}${msg}`);
  }
  logWarning(subsys: string, msg: string): void {
    this.auth.log('warning', `${this.logPrefix(subsys)}${msg}`);
  }
  logDebug(subsys: string, msg: string): void {
    if (this.set.debug || this.debug) this.auth.log('debug', `${this.logPrefix(subsys)}${msg}`);
  }

  /* ---------- importing client parameters ---------- */

  /** auth_request_import_info: parameters both AUTH and USER/PASS lookups may carry. */
  importInfo(key: string, value: string): boolean {
    switch (key) {
      case 'service':
        this.service = value;
        return true;
      case 'lip': {
        const ip = normalizeIp(value);
        if (ip === undefined) return true;
        this.localIp = ip;
        if (this.realLocalIp === undefined) this.importInfo('real_lip', value);
        return true;
      }
      case 'rip': {
        const ip = normalizeIp(value);
        if (ip === undefined) return true;
        this.remoteIp = ip;
        if (this.realRemoteIp === undefined) this.importInfo('real_rip', value);
        return true;
      }
      case 'lport': {
        const p = parsePort(value);
        if (p === undefined) return true;
        this.localPort = p;
        if (this.realLocalPort === 0) this.importInfo('real_lport', value);
        return true;
      }
      case 'rport': {
        const p = parsePort(value);
        if (p === undefined) return true;
        this.remotePort = p;
        if (this.realRemotePort === 0) this.importInfo('real_rport', value);
        return true;
      }
      case 'real_lip':
        this.realLocalIp = normalizeIp(value) ?? this.realLocalIp;
        return true;
      case 'real_rip':
        this.realRemoteIp = normalizeIp(value) ?? this.realRemoteIp;
        return true;
      case 'real_lport':
        this.realLocalPort = parsePort(value) ?? this.realLocalPort;
        return true;
      case 'real_rport':
        this.realRemotePort = parsePort(value) ?? this.realRemotePort;
        return true;
      case 'local_name':
        this.localName = value;
        return true;
      case 'session':
        this.sessionId = value;
        return true;
      case 'debug':
        this.debug = true;
        return true;
      case 'client_id':
        this.clientId = value;
        return true;
      case 'forward_fields':
        for (const f of value.split('\t')) {
          const eq = f.indexOf('=');
          if (eq < 0) this.extraFields.add(f, null);
          else this.extraFields.add(`forward_${f.slice(0, eq)}`, f.slice(eq + 1));
        }
        this.extraFields.snapshot();
        return true;
      default:
        return false;
    }
  }

  /** auth_request_import_auth: what an auth client may add to AUTH. */
  importAuth(key: string, value: string): boolean {
    if (this.importInfo(key, value)) return true;
    switch (key) {
      case 'secured':
        this.secured = value === 'tls' ? 'tls' : 'secured';
        return true;
      case 'final-resp-ok':
        this.finalRespOk = true;
        return true;
      case 'no-penalty':
        this.noPenalty = true;
        return true;
      case 'valid-client-cert':
        this.validClientCert = true;
        return true;
      case 'cert_username':
        if (this.set.sslUsernameFromCert && value !== '') {
          this.user = value;
          this.certUsername = true;
        }
        return true;
      default:
        return false;
    }
  }

  /* ---------- usernames ---------- */

  /** auth_request_fix_username: realm, allowed chars, translation, username_format. */
  fixUsername(username: string): { user: string } | { error: string } {
    const set = this.set;
    let user = set.defaultRealm !== '' && !username.includes('@') ? `${username}@${set.defaultRealm}` : username;
    const trans = this.auth.translationMap;
    const chars = this.auth.usernameCharsMap;
    const bytes = Buffer.from(user, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      const t = trans[bytes[i]!];
      if (t !== undefined) bytes[i] = t;
      if (chars !== undefined && !chars[bytes[i]!]) {
        return {
          error: `Username character disallowed by auth_username_chars: 0x${bytes[i]!.toString(16).padStart(2, '0')} (username: ${sanitize(username, 128)})`,
        };
      }
    }
    user = bytes.toString('utf8');
    if (set.usernameFormat !== '') {
      user = this.expand(set.usernameFormat, escapeNone, user).value;
    }
    if (user === '') return { error: 'Empty username' };
    return { user };
  }

  /** auth_request_set_username: returns an error text, or undefined. */
  setUsername(username: string): string | undefined {
    let name = username;
    let loginUsername: string | undefined;
    const sep = this.set.masterUserSeparator;
    if (sep !== '' && !this.userdbLookup) {
      const p = name.indexOf(sep[0]!);
      if (p >= 0) {
        loginUsername = name.slice(0, p);
        name = name.slice(p + 1);
      }
    }
    if (this.originalUsername === undefined) this.originalUsername = name;
    if (this.certUsername) name = this.user ?? name;
    const fixed = this.fixUsername(name);
    if ('error' in fixed) {
      this.user = undefined;
      return fixed.error;
    }
    this.user = fixed.user;
    if (this.translatedUsername === undefined) this.translatedUsername = this.user;
    this.userChangedByLookup = true;
    if (loginUsername !== undefined) return this.setLoginUsername(loginUsername);
    return undefined;
  }

  /** auth_request_set_login_username (master user logins): error text or undefined. */
  setLoginUsername(username: string): string | undefined {
    if (username === '') return 'Master user login attempted to use empty login username';
    if (username === this.user) return undefined;
    const master = this.auth.masterdbs[0];
    if (master === undefined) return 'Master user login attempted without master passdbs';
    this.passdb = master;
    const fixed = this.fixUsername(username);
    if ('error' in fixed) {
      this.requestedLoginUser = undefined;
      return fixed.error;
    }
    this.requestedLoginUser = fixed.user;
    this.logDebug('db', `Master user lookup for login: ${this.requestedLoginUser}`);
    return undefined;
  }

  masterUserLoginFinish(): void {
    if (this.failed) return;
    this.logInfo('db', `Master user logging in as ${this.requestedLoginUser}`);
    this.masterUser = this.user;
    this.user = this.requestedLoginUser;
    this.translatedUsername = this.requestedLoginUser;
    this.requestedLoginUser = undefined;
  }

  /* ---------- passdb/userdb fields ---------- */

  private setPassword(value: string, defaultScheme: string | undefined, noscheme: boolean): void {
    if (this.passdbPassword !== undefined) {
      this.logError('db', 'Multiple password values not supported');
      return;
    }
    if (value.startsWith('{') && !noscheme && value.includes('}')) this.passdbPassword = value;
    else this.passdbPassword = `{${defaultScheme ?? 'PLAIN'}}${value}`;
  }

  private tryUpdateUsername(name: string, value: string): boolean {
    const old = this.user ?? '';
    let nv: string | undefined;
    if (name === 'user') nv = value;
    else if (name === 'username') {
      const at = old.indexOf('@');
      nv = value.includes('@') ? value : value + (at < 0 ? '' : old.slice(at));
    } else if (name === 'domain') {
      const at = old.indexOf('@');
      nv = at < 0 ? `${old}@${value}` : old.slice(0, at + 1) + value;
    }
    if (nv === undefined) return false;
    if (nv === '') {
      this.logError('db', 'username attempted to be changed to empty');
      this.failed = true;
      return true;
    }
    if (this.user !== nv) {
      this.logDebug('db', `username changed ${this.user} -> ${nv}`);
      this.user = nv;
      this.userChangedByLookup = true;
    }
    return true;
  }

  private validateNetworks(name: string, networks: string, ip: string | undefined): void {
    let found = false;
    for (const net of networks.split(/[ ,]+/).filter(Boolean)) {
      this.logDebug('db', `${name}: Matching for network ${net}`);
      if (net === 'local') {
        if (ip === undefined) {
          found = true;
          break;
        }
        continue;
      }
      const r = ipInNetwork(ip ?? (net.includes(':') ? '::' : '0.0.0.0'), net);
      if (r === undefined) this.logInfo('db', `${name}: Invalid network '${net}'`);
      else if (ip !== undefined && r) {
        found = true;
        break;
      }
    }
    if (!found) {
      if (ip === undefined) this.logInfo('db', `${name} check failed: Remote IP not known and 'local' missing`);
      else this.logInfo('db', `${name} check failed: IP ${ip} not in allowed networks`);
      this.failed = true;
    }
  }

  /** auth_request_set_field: one passdb field. */
  setField(name: string, value: string, defaultScheme?: string): void {
    if (name.length > 10 && name.endsWith(':protected')) {
      name = name.slice(0, -10);
      if (this.extraFields.exists(name)) return;
    } else if (name.length > 7 && name.endsWith(':remove')) {
      this.extraFields.remove(name.slice(0, -7));
      return;
    }
    if (name === 'password' || name === 'password_noscheme') {
      this.setPassword(value, defaultScheme, name === 'password_noscheme');
      return;
    }
    if (this.tryUpdateUsername(name, value)) {
      // keep the original value for the cache
    } else if (name === 'login_user') {
      this.requestedLoginUser = value;
    } else if (name === 'allow_nets') {
      this.validateNetworks(name, value, this.remoteIp);
    } else if (name === 'fail') {
      this.failed = true;
    } else if (name === 'delay_until') {
      this.setDelayUntil(value);
    } else if (name === 'allow_real_nets') {
      this.validateNetworks(name, value, this.realRemoteIp);
    } else if (name.startsWith('userdb_')) {
      this.userdbPrefetchSet = true;
      if (this.userdbReply === undefined) this.initUserdbReply(true);
      if (name === 'userdb_userdb_import') {
        for (const f of value.split('\t')) this.setFieldKeyValue(`userdb_${f}`, defaultScheme);
        return;
      }
      this.setUserdbField(name.slice(7), value);
    } else if (name === 'noauthenticate') {
      this.extraFields.add(name, value);
      this.extraFields.add('nopassword', null);
      return;
    } else if (name === 'nopassword') {
      const pw = this.passdbPassword;
      if (pw !== undefined && !this.extraFields.exists('noauthenticate')) {
        if (passwordGetScheme(pw).rest !== '') {
          this.logError('db', 'nopassword set but password is non-empty');
          return;
        }
      }
      this.passdbPassword = undefined;
      this.extraFields.add(name, value);
      return;
    } else if (name === 'passdb_import') {
      for (const f of value.split('\t')) this.setFieldKeyValue(f, defaultScheme);
      return;
    } else {
      this.extraFields.add(name, value);
      return;
    }
    this.extraFields.add(name, value, FIELD_HIDDEN);
  }

  private setDelayUntil(value: string): void {
    let v = value;
    let extra = 0;
    const plus = v.indexOf('+');
    if (plus >= 0) {
      const r = v.slice(plus + 1);
      v = v.slice(0, plus);
      if (!/^[0-9]+$/.test(r)) {
        this.logError('db', `Invalid delay_until randomness number '${r}'`);
        this.failed = true;
      } else extra = Math.floor(Math.random() * Number(r));
    }
    const now = Math.floor(Date.now() / 1000);
    if (!/^[0-9]+$/.test(v)) {
      this.logError('db', `Invalid delay_until timestamp '${v}'`);
      this.failed = true;
      return;
    }
    let ts = Number(v);
    if (ts <= now) return;
    if (ts - now > 300) {
      this.logError('db', `delay_until timestamp ${v} is too much in the future, failing`);
      this.failed = true;
      return;
    }
    ts += extra;
    if (ts - now > 300) ts = now + 300;
    this.delayUntil = ts;
  }

  setFieldKeyValue(field: string, defaultScheme?: string): void {
    const eq = field.indexOf('=');
    if (eq < 0) this.setField(field, '', defaultScheme);
    else this.setField(field.slice(0, eq), field.slice(eq + 1), defaultScheme);
  }

  /** auth_request_set_userdb_field. */
  setUserdbField(name: string, value: string): void {
    const reply = this.userdbReply ?? this.initUserdbReply(false);
    if (name.length > 10 && name.endsWith(':protected')) {
      name = name.slice(0, -10);
      if (reply.exists(name)) return;
    } else if (name.length > 7 && name.endsWith(':remove')) {
      reply.remove(name.slice(0, -7));
      return;
    }
    if (name === 'uid') {
      const uid = lookupUid(value);
      if (uid === undefined) {
        this.logError('db', `Invalid UID value '${value}'`);
        this.userdbLookupTempfailed = true;
        return;
      }
      value = String(uid);
    } else if (name === 'gid') {
      const gid = lookupGid(value);
      if (gid === undefined) {
        this.logError('db', `Invalid GID value '${value}'`);
        this.userdbLookupTempfailed = true;
        return;
      }
      value = String(gid);
    } else if (name === 'tempfail') {
      this.userdbLookupTempfailed = true;
      return;
    } else if (this.tryUpdateUsername(name, value)) {
      return;
    } else if (name === 'uidgid_file') {
      this.auth.setUidgidFile(this, value);
      return;
    } else if (name === 'userdb_import') {
      for (const f of value.split('\t')) {
        const eq = f.indexOf('=');
        this.setUserdbField(eq < 0 ? f : f.slice(0, eq), eq < 0 ? '' : f.slice(eq + 1));
      }
      return;
    } else if (name === 'system_user') {
      name = 'system_groups_user';
    } else if (name === '!ignore') {
      return;
    }
    reply.add(name, value);
  }

  initUserdbReply(addDefaults: boolean): AuthFields {
    this.userdbReply = new AuthFields();
    if (addDefaults && this.userdb) {
      const err = this.userdb.defaultTmpl.exportUserdb(this);
      if (err) this.logError('db', `Failed to expand default_fields: ${err}`);
    }
    return this.userdbReply;
  }

  /* ---------- %variables ---------- */

  /** auth_request_get_var_expand_table_full. */
  varTable(esc: Escape = escapeNone, username?: string): VarTable {
    const u = username ?? this.user ?? '';
    const at = u.indexOf('@');
    const domain = at < 0 ? undefined : u.slice(at + 1);
    const orig = this.originalUsername ?? u;
    const oat = orig.indexOf('@');
    const authUser = this.masterUser ?? orig;
    const aat = authUser.indexOf('@');
    const login = this.requestedLoginUser;
    const lat = login === undefined ? -1 : login.indexOf('@');
    const db = this.userdbLookup ? this.userdb : this.passdb;
    const e = (s: string | undefined) => (s === undefined ? undefined : esc(s));
    const lip = this.localIp;
    const rip = this.remoteIp;
    const lastAt = u.lastIndexOf('@');
    const first = domain === undefined ? undefined : domain.split('@')[0];
    return [
      { key: 'u', long: 'user', value: esc(u) },
      { key: 'n', long: 'username', value: esc(at < 0 ? u : u.slice(0, at)) },
      { key: 'd', long: 'domain', value: e(domain) },
      { key: 's', long: 'service', value: e(this.service) },
      { key: 'h', long: 'home', value: undefined },
      { key: 'l', long: 'lip', value: lip },
      { key: 'r', long: 'rip', value: rip },
      { key: 'p', long: 'pid', value: String(this.clientPid) },
      { key: 'w', long: 'password', value: e(this.mechPassword) },
      { key: '!', value: db ? String(db.id) : '' },
      { key: 'm', long: 'mech', value: this.mechName === undefined ? '' : esc(this.mechName) },
      { key: 'c', long: 'secured', value: this.secured === 'secured' ? 'secured' : this.secured === 'tls' ? 'TLS' : '' },
      { key: 'a', long: 'lport', value: String(this.localPort) },
      { key: 'b', long: 'rport', value: String(this.remotePort) },
      { key: 'k', long: 'cert', value: this.validClientCert ? 'valid' : '' },
      { long: 'login_user', value: e(login) },
      { long: 'login_username', value: login === undefined ? undefined : esc(lat < 0 ? login : login.slice(0, lat)) },
      { long: 'login_domain', value: login === undefined || lat < 0 ? undefined : esc(login.slice(lat + 1)) },
      { long: 'session', value: e(this.sessionId) },
      { long: 'real_lip', value: this.realLocalIp },
      { long: 'real_rip', value: this.realRemoteIp },
      { long: 'real_lport', value: String(this.realLocalPort) },
      { long: 'real_rport', value: String(this.realRemotePort) },
      { long: 'domain_first', value: e(first) },
      { long: 'domain_last', value: lastAt < 0 ? undefined : esc(u.slice(lastAt + 1)) },
      { long: 'master_user', value: e(this.masterUser) },
      { long: 'session_pid', value: this.sessionPid === -1 ? undefined : String(this.sessionPid) },
      { long: 'orig_user', value: esc(orig) },
      { long: 'orig_username', value: esc(oat < 0 ? orig : orig.slice(0, oat)) },
      { long: 'orig_domain', value: oat < 0 ? undefined : esc(orig.slice(oat + 1)) },
      { long: 'auth_user', value: esc(authUser) },
      { long: 'auth_username', value: esc(aat < 0 ? authUser : authUser.slice(0, aat)) },
      { long: 'auth_domain', value: aat < 0 ? undefined : esc(authUser.slice(aat + 1)) },
      { long: 'local_name', value: e(this.localName) },
      { long: 'client_id', value: e(this.clientId) },
      { long: 'local_ip', value: lip },
      { long: 'remote_ip', value: rip },
      { long: 'local_port', value: String(this.localPort) },
      { long: 'remote_port', value: String(this.remotePort) },
      { long: 'real_local_ip', value: this.realLocalIp },
      { long: 'real_remote_ip', value: this.realRemoteIp },
      { long: 'real_local_port', value: String(this.realLocalPort) },
      { long: 'real_remote_port', value: String(this.realRemotePort) },
      { long: 'mechanism', value: this.mechName === undefined ? '' : esc(this.mechName) },
      { long: 'original_user', value: esc(orig) },
      { long: 'original_username', value: esc(oat < 0 ? orig : orig.slice(0, oat)) },
      { long: 'original_domain', value: oat < 0 ? undefined : esc(orig.slice(oat + 1)) },
    ];
  }

  /** auth_request_var_expand with the %{passdb:…} and %{userdb:…} functions (and a driver's own, e.g. %{ldap:…}). */
  expand(template: string, esc: Escape = escapeNone, username?: string, table?: VarTable, extraFuncs?: Record<string, VarFunc>): ExpandResult {
    const fieldDefault = (data: string): string => {
      const p = data.indexOf(':');
      return p < 0 ? '' : data.slice(p + 1);
    };
    const name = (data: string) => {
      const p = data.indexOf(':');
      return p < 0 ? data : data.slice(0, p);
    };
    return varExpand(template, table ?? this.varTable(esc, username), {
      funcs: {
        passdb: (data) => ({ value: esc(this.extraFields.find(name(data)) ?? fieldDefault(data)) }),
        userdb: (data) => ({ value: esc(this.userdbReply?.find(name(data)) ?? fieldDefault(data)) }),
        ...extraFuncs,
      },
    });
  }
}

/** str_sanitize: control characters become '?', long strings end in "...". */
export function sanitize(s: string, max: number): string {
  let out = s.replace(/[\x00-\x1f\x7f]/g, '?');
  if (Buffer.byteLength(out) > max) {
    const b = Buffer.from(out).subarray(0, max - 3);
    out = `${b.toString('utf8').replace(/\uFFFD$/, '')}...`;
  }
  return out;
}
