/**
 * auth/server/client-conn.ts: the auth client protocol, server side
 * (auth-client-connection.c, auth-request-handler.c), as Postfix
 * (smtpd_sasl_type = dovecot), Dovecot's login processes and doveadm speak it.
 *
 *   S: VERSION\t1\t2  MECH\t<name>[\t<flag>…]…  SPID\t<pid>  CUID\t<n>  COOKIE\t<32 hex>  DONE
 *   C: VERSION\t1\t<minor>   C: CPID\t<pid>
 *   C: AUTH\t<id>\t<mech>\tservice=<s>[\tlip=…\trip=…\tsecured\tno-penalty…][\tresp=<base64>]
 *   S: CONT\t<id>\t<base64>  |  OK\t<id>\tuser=<u>[\t<fields>]  |  FAIL\t<id>[\tuser=…][\tcode=…][\treason=…]
 *   C: CONT\t<id>\t<base64>   C: CANCEL\t<id>
 * Lines are at most 16384 bytes. A protocol error logs "BUG: …" and closes
 * the connection; failures are answered after auth_failure_delay.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { FIELD_HIDDEN } from '../fields.js';
import type { MechInstance, MechModule, MechStep } from '../mech/types.js';
import { crc32, penaltyIdent, penaltyToSecs } from '../penalty.js';
import { base64DecodeStrict, bin, LineReader, parseUint, splitTabEscaped, tabEscape, utf8 } from '../protocol.js';
import { AuthRequest, sanitize } from '../request.js';
import type { AuthServer } from './server.js';

export const AUTH_CLIENT_MAX_LINE_LENGTH = 16384;
/** MASTER_AUTH_SERVER_TIMEOUT_SECS: a request left unfinished this long is dropped. */
const REQUEST_TIMEOUT_MS = 150_000;

type State = 'new' | 'mech_continue' | 'passdb' | 'finished';

export interface ClientRequest {
  req: AuthRequest;
  mech: MechModule;
  inst: MechInstance;
  state: State;
  acceptCont: boolean;
  removed: boolean;
  abortTimer: NodeJS.Timeout | undefined;
  penaltyTimer: NodeJS.Timeout | undefined;
  /** Waiting in the delayed-failure queue. */
  inFailureQueue: boolean;
}

export class AuthClientConnection {
  readonly connectUid: number;
  readonly cookie = randomBytes(16);
  pid = 0;
  versionMinor = 0;
  private versionReceived = false;
  private handshakeDone = false;
  readonly requests = new Map<number, ClientRequest>();
  private readonly reader = new LineReader(AUTH_CLIENT_MAX_LINE_LENGTH);
  destroyed = false;

  constructor(
    readonly server: AuthServer,
    readonly sock: Socket,
    /** A login socket: successful requests wait for the master's REQUEST. */
    readonly loginRequests: boolean,
  ) {
    this.connectUid = server.nextConnectUid();
    sock.on('data', (d: Buffer) => this.input(d));
    sock.on('close', () => this.disconnected());
    sock.on('error', () => {});
    const reg = server.mechs;
    this.send(
      `VERSION\t1\t2\n${reg.handshake}SPID\t${process.pid}\nCUID\t${this.connectUid}\nCOOKIE\t${this.cookie.toString('hex')}\nDONE`,
    );
  }

  private log(level: 'error' | 'info' | 'debug', msg: string): void {
    if (level === 'debug' && !this.server.auth.set.debug) return;
    this.server.log(level, msg);
  }

  send(line: string): void {
    if (this.destroyed) return;
    this.sock.write(`${line}\n`, 'latin1');
  }

  private input(chunk: Buffer): void {
    if (this.destroyed) return;
    const lines = this.reader.push(chunk);
    for (const line of lines) {
      if (this.destroyed) return;
      if (!this.handleAnyLine(line)) {
        this.destroy();
        return;
      }
    }
    if (this.reader.overflow && !this.destroyed) {
      this.log('error', `BUG: Auth client ${this.pid} sent us more than ${AUTH_CLIENT_MAX_LINE_LENGTH} bytes`);
      this.destroy();
    }
  }

  private handleAnyLine(line: string): boolean {
    if (this.handshakeDone) return this.handleLine(line);
    if (!this.versionReceived) {
      const m = /^VERSION\t([0-9]+)\t([0-9]+)$/.exec(line);
      if (!m || parseUint(m[1]!) === undefined || parseUint(m[2]!) === undefined) {
        this.log('error', `Authentication client sent invalid VERSION line: ${utf8(line)}`);
        return false;
      }
      if (Number(m[1]) !== 1) {
        this.log('error', 'Authentication client not compatible with this server (mixed old and new binaries?)');
        return false;
      }
      this.versionMinor = Number(m[2]);
      this.versionReceived = true;
      return true;
    }
    if (line.startsWith('CPID\t')) {
      const pid = parseUint(line.slice(5));
      if (pid === undefined || pid === 0) {
        this.log('error', "BUG: Authentication client said it's PID 0");
        return false;
      }
      if (this.loginRequests) {
        if (this.server.clientByPid(pid) !== undefined) {
          this.log('error', `BUG: Authentication client gave a PID ${pid} of existing connection`);
          return false;
        }
        this.pid = pid;
      }
      this.handshakeDone = true;
      this.log('debug', `auth client connected (pid=${this.pid})`);
      return true;
    }
    this.log('error', `BUG: Authentication client sent unknown handshake command: ${sanitize(utf8(line), 80)}`);
    return false;
  }

  private handleLine(line: string): boolean {
    if (line.startsWith('AUTH\t')) return this.authBegin(line.slice(5));
    if (line.startsWith('CONT\t')) return this.authContinue(line.slice(5));
    if (line.startsWith('CANCEL\t')) {
      const id = parseUint(line.slice(7));
      if (id === undefined) {
        this.log('error', 'BUG: Authentication client sent broken CANCEL');
        return false;
      }
      const r = this.requests.get(id);
      if (r) this.remove(r);
      return true;
    }
    this.log('error', `BUG: Authentication client sent unknown command: ${sanitize(utf8(line), 80)}`);
    return false;
  }

  /** auth_request_handler_auth_begin. */
  private authBegin(args: string): boolean {
    const list = splitTabEscaped(args);
    const id = list[0] === undefined ? undefined : parseUint(list[0]);
    if (list.length < 2 || id === undefined || id === 0) {
      this.log('error', `BUG: Authentication client ${this.pid} sent broken AUTH request`);
      return false;
    }
    const mech = this.server.mechs.find(list[1]!);
    if (!mech) {
      this.log('error', `BUG: Authentication client ${this.pid} requested unsupported authentication mechanism ${sanitize(utf8(list[1]!), 64)}`);
      return false;
    }
    const req = new AuthRequest(this.server.auth);
    req.mech = { name: mech.name, allowNuls: mech.allowNuls };
    req.mechName = mech.name;
    req.connectUid = this.connectUid;
    req.clientPid = this.pid;
    req.id = id;
    req.authOnly = !this.loginRequests;
    let initialResp: string | undefined;
    let i = 2;
    for (; i < list.length; i++) {
      const f = list[i]!;
      const eq = f.indexOf('=');
      const name = eq < 0 ? f : f.slice(0, eq);
      const value = eq < 0 ? '' : f.slice(eq + 1);
      if (req.importAuth(name, utf8(value))) continue;
      if (name === 'resp') {
        initialResp = value;
        i++;
        break;
      }
    }
    if (i < list.length) {
      this.log('error', `BUG: Authentication client ${this.pid} sent AUTH parameters after 'resp'`);
      return false;
    }
    if (req.service === undefined) {
      this.log('error', `BUG: Authentication client ${this.pid} didn't specify service in request`);
      return false;
    }
    if (this.requests.has(id)) {
      this.log('error', `BUG: Authentication client ${this.pid} sent a duplicate ID ${id}`);
      return false;
    }
    const cr: ClientRequest = {
      req,
      mech,
      inst: mech.create(),
      state: 'new',
      acceptCont: false,
      removed: false,
      abortTimer: undefined,
      penaltyTimer: undefined,
      inFailureQueue: false,
    };
    cr.abortTimer = setTimeout(() => this.requestTimeout(cr), REQUEST_TIMEOUT_MS);
    cr.abortTimer.unref?.();
    this.requests.set(id, cr);
    const set = this.server.auth.set;
    if (set.sslRequireClientCert && !req.validClientCert) {
      this.authFail(cr, '', "Client didn't present valid SSL certificate");
      return true;
    }
    if (set.sslRequireClientCert && set.sslUsernameFromCert && !req.certUsername) {
      this.authFail(cr, '', "SSL certificate didn't contain username");
      return true;
    }
    let initial: Buffer | undefined;
    if (initialResp === undefined) initial = undefined;
    else if (this.versionMinor < 2 && initialResp === '') initial = undefined;
    else if (initialResp === '' || initialResp === '=') initial = Buffer.alloc(0);
    else {
      initial = base64DecodeStrict(initialResp);
      if (initial === undefined) {
        this.authFail(cr, 'invalid_base64', 'Invalid base64 data in initial response');
        return true;
      }
    }
    // Wait out the brute-force penalty of this IP first.
    const penalty = this.server.penaltyLookup(req);
    req.lastPenalty = penalty;
    if (penalty === 0) void this.initial(cr, initial);
    else {
      cr.penaltyTimer = setTimeout(() => {
        cr.penaltyTimer = undefined;
        void this.initial(cr, initial);
      }, penaltyToSecs(penalty) * 1000);
    }
    return true;
  }

  private async initial(cr: ClientRequest, data: Buffer | undefined): Promise<void> {
    if (cr.removed || this.destroyed) return;
    cr.state = 'mech_continue';
    if (data !== undefined && !cr.mech.allowNuls && data.includes(0)) {
      cr.req.logDebug('mech', 'Unexpected NUL in auth data');
      return this.fail(cr);
    }
    await this.step(cr, () => cr.inst.initial(cr.req, data));
  }

  private async step(cr: ClientRequest, fn: () => Promise<MechStep>): Promise<void> {
    cr.state = 'passdb';
    let s: MechStep;
    try {
      s = await fn();
    } catch (e) {
      this.log('error', `${cr.req.logPrefix('mech')}${(e as Error).message}`);
      s = { kind: 'fail', internal: true };
    }
    if (cr.state === 'passdb') cr.state = 'mech_continue';
    if (s.kind === 'continue') this.replyContinue(cr, s.data);
    else if (s.kind === 'success') this.success(cr, s.data ?? Buffer.alloc(0));
    else {
      if (s.internal) cr.req.internalFailure = true;
      this.fail(cr);
    }
  }

  private replyContinue(cr: ClientRequest, data: Buffer): void {
    if (cr.removed) return;
    cr.acceptCont = true;
    cr.req.lastAccess = Math.floor(Date.now() / 1000);
    this.send(`CONT\t${cr.req.id}\t${data.toString('base64')}`);
  }

  /** auth_request_handler_auth_continue. */
  private authContinue(args: string): boolean {
    const tab = args.indexOf('\t');
    const id = tab < 0 ? undefined : parseUint(args.slice(0, tab));
    if (tab < 0 || id === undefined) {
      this.log('error', 'BUG: Authentication client sent broken CONT request');
      return false;
    }
    const cr = this.requests.get(id);
    if (!cr) {
      this.send(`FAIL\t${id}\treason=Authentication request timed out`);
      return true;
    }
    if (!cr.acceptCont) {
      this.authFail(cr, '', 'Unexpected continuation');
      return true;
    }
    cr.acceptCont = false;
    const data = base64DecodeStrict(args.slice(tab + 1));
    if (data === undefined) {
      this.authFail(cr, 'invalid_base64', 'Invalid base64 data in continued response');
      return true;
    }
    if (cr.req.successful) {
      this.success(cr, Buffer.alloc(0));
      return true;
    }
    if (!cr.mech.allowNuls && data.includes(0)) {
      cr.req.logDebug('mech', 'Unexpected NUL in auth data');
      this.fail(cr);
      return true;
    }
    void this.step(cr, () => cr.inst.continue(cr.req, data));
    return true;
  }

  /** auth_request_handler_auth_fail_code: an immediate FAIL with a reason. */
  private authFail(cr: ClientRequest, code: string, reason: string): void {
    cr.req.logInfo('mech', reason);
    let line = `FAIL\t${cr.req.id}`;
    if (code !== '') line += `\tcode=${code}`;
    line += `\treason=${tabEscape(reason)}`;
    this.send(line);
    this.remove(cr);
  }

  /** auth_request_success → auth_request_success_continue. */
  private success(cr: ClientRequest, data: Buffer): void {
    const req = cr.req;
    if (cr.removed) return;
    if (req.failed || !req.passdbSuccess) {
      this.fail(cr);
      return;
    }
    req.successful = true;
    const now = Math.floor(Date.now() / 1000);
    if (req.delayUntil > now) {
      const t = setTimeout(() => {
        req.delayUntil = 0;
        this.success(cr, data);
      }, (req.delayUntil - now) * 1000);
      t.unref?.();
      return;
    }
    if (data.length > 0 && !req.finalRespOk) {
      // One more round: the client has no way to take data with the final OK.
      this.replyContinue(cr, data);
      return;
    }
    cr.state = 'finished';
    if (data.length > 0) req.extraFields.add('resp', data.toString('base64'));
    this.replySuccess(cr);
  }

  /** auth_request_handler_reply_success_finish. */
  private replySuccess(cr: ClientRequest): void {
    const req = cr.req;
    if (req.lastPenalty !== 0) this.server.penaltyUpdate(req, 0);
    req.extraFields.booleanize('nologin');
    req.extraFields.booleanize('proxy');
    const line = `OK\t${req.id}\tuser=${tabEscape(bin(req.user ?? ''))}${this.extraFieldsText(req)}`;
    if (!this.loginRequests || req.extraFields.exists('nologin') || req.extraFields.exists('proxy')) this.remove(cr);
    this.send(line);
  }

  /** auth_str_append_extra_fields. */
  extraFieldsText(req: AuthRequest): string {
    let s = '';
    if (!req.extraFields.isEmpty()) s += `\t${bin(req.extraFields.append(FIELD_HIDDEN, 0))}`;
    if (req.originalUsername !== undefined && req.originalUsername !== req.user && !req.extraFields.exists('original_user')) {
      s += `\toriginal_user=${tabEscape(bin(req.originalUsername))}`;
    }
    if (req.masterUser !== undefined && !req.extraFields.exists('auth_user')) s += `\tauth_user=${tabEscape(bin(req.masterUser))}`;
    const anon = this.server.auth.set.anonymousUsername;
    if (anon !== '' && req.user === anon) s += '\tanonymous';
    if (!req.authOnly && req.extraFields.exists('proxy')) {
      if (!req.extraFields.exists('pass') && req.mechPassword !== undefined) s += `\tpass=${tabEscape(bin(req.mechPassword))}`;
      if (req.masterUser !== undefined && !req.extraFields.exists('master') && req.masterUser !== '') s += `\tmaster=${tabEscape(bin(req.masterUser))}`;
    }
    return s;
  }

  /** auth_request_fail → auth_request_handler_reply_failure_finish. */
  private fail(cr: ClientRequest): void {
    if (cr.removed) return;
    const req = cr.req;
    cr.state = 'finished';
    req.lastAccess = Math.floor(Date.now() / 1000);
    // proxy fields of a failed request are dropped (auth_request_proxy_finish_failure)
    for (const k of ['proxy', 'proxy_maybe', 'host', 'port', 'destuser']) req.extraFields.remove(k);
    req.extraFields.remove('nologin');
    let line = `FAIL\t${req.id}`;
    if (req.user !== undefined) line += `\tuser=${tabEscape(bin(req.user))}`;
    else if (req.originalUsername !== undefined) line += `\tuser=${tabEscape(bin(req.originalUsername))}`;
    let code: string | undefined;
    if (req.internalFailure) code = 'temp_fail';
    else if (req.masterUser !== undefined) code = 'authz_fail';
    else if (req.passdbResult === 'user_disabled') code = 'user_disabled';
    else if (req.passdbResult === 'pass_expired') code = 'pass_expired';
    const nodelay = req.extraFields.exists('nodelay');
    if (nodelay) line += '\tnodelay';
    if (code !== undefined) line += `\tcode=${code}`;
    line += this.extraFieldsText(req);
    this.remove(cr);
    if (nodelay) {
      this.send(line);
      return;
    }
    this.server.penaltyUpdate(req, req.lastPenalty + 1);
    cr.inFailureQueue = true;
    this.server.failures.add(req.lastAccess, () => this.send(line));
  }

  private requestTimeout(cr: ClientRequest): void {
    cr.abortTimer = undefined;
    const secs = Math.floor(Date.now() / 1000) - cr.req.lastAccess;
    if (cr.state !== 'mech_continue') {
      this.log('error', `${cr.req.logPrefix('mech')}Request ${this.pid}.${cr.req.id} timed out after ${secs} secs, state=${stateNumber(cr.state)}`);
    } else if (this.server.auth.set.verbose) {
      cr.req.logInfo('mech', `Request timed out waiting for client to continue authentication (${secs} secs)`);
    }
    this.remove(cr);
  }

  remove(cr: ClientRequest): void {
    if (cr.removed) return;
    cr.removed = true;
    if (cr.abortTimer) clearTimeout(cr.abortTimer);
    if (cr.penaltyTimer) clearTimeout(cr.penaltyTimer);
    if (this.requests.get(cr.req.id) === cr) this.requests.delete(cr.req.id);
  }

  /** A finished login request, handed over to a master REQUEST. */
  takeFinished(id: number): ClientRequest | undefined {
    const cr = this.requests.get(id);
    if (!cr) return undefined;
    this.remove(cr);
    return cr;
  }

  private disconnected(): void {
    if (this.destroyed) return;
    const pending = this.requests.size;
    if (pending > 0) this.log('error', `auth client ${this.pid} disconnected with ${pending} pending requests: EOF`);
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const cr of [...this.requests.values()]) this.remove(cr);
    this.server.clientGone(this);
    this.sock.destroy();
  }

  /** crc32 of password+user: the same wrong password again does not raise the penalty. */
  static checksum(req: AuthRequest): number {
    if (req.mechPasswordRaw === undefined) return 0;
    return crc32(Buffer.from(req.user ?? ''), crc32(req.mechPasswordRaw));
  }

  static ident(req: AuthRequest): string {
    return penaltyIdent(req.remoteIp);
  }
}

function stateNumber(s: State): number {
  return { new: 0, passdb: 1, mech_continue: 2, finished: 4 }[s];
}
