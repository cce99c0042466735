/**
 * auth/server/master-conn.ts: the master/userdb protocol, server side
 * (auth-master-connection.c), spoken on auth-master and auth-userdb by
 * LMTP, LDA, doveadm and the login processes' master.
 *
 *   S: VERSION\t1\t1   S: SPID\t<pid>          C: VERSION\t1\t<minor>
 *   C: USER\t<id>\t<user>\tservice=<s>[\t…]   S: USER\t<id>\t<user>\t<fields> | NOTFOUND\t<id> | FAIL\t<id>[\treason=…]
 *   C: PASS\t<id>\t<user>\tservice=<s>[\t…]   S: PASS\t<id>\tuser=<u>[\t<fields>] | NOTFOUND\t<id> | FAIL\t<id>[\treason=…]
 *   C: LIST\t<id>[\tuser=<mask>…]             S: LIST\t<id>\t<user> … DONE\t<id>\t[fail]
 *   master only: REQUEST\t<id>\t<client-pid>\t<client-id>\t<cookie>[\t…]   S: USER\t<id>\t<user>\t<fields>\tauth_mech=<m> | FAIL\t<id>
 *                CACHE-FLUSH\t<id>[\t<user>…]  S: OK\t<id>\t<count>
 * Lines are at most 1024 bytes; a protocol error closes the connection.
 */
import type { Socket } from 'node:net';
import { FIELD_HIDDEN } from '../fields.js';
import { bin, LineReader, parseUint, splitTabEscaped, tabEscape, utf8 } from '../protocol.js';
import { AuthRequest, sanitize, type PassdbResult, type UserdbResult } from '../request.js';
import type { AuthUserdb } from '../engine.js';
import type { AuthServer } from './server.js';

const MAX_INBUF_SIZE = 1024;

export class AuthMasterConnection {
  private readonly reader = new LineReader(MAX_INBUF_SIZE);
  private versionReceived = false;
  private readonly created = Date.now();
  private handshakeAt = 0;
  destroyed = false;
  /** Lines wait while a LIST runs (Dovecot stops reading input during iteration). */
  private queue: string[] = [];
  private busy = false;

  constructor(
    readonly server: AuthServer,
    readonly sock: Socket,
    readonly userdbOnly: boolean,
  ) {
    sock.on('data', (d: Buffer) => this.input(d));
    sock.on('close', () => this.destroy());
    sock.on('error', () => {});
    this.send(`VERSION\t1\t1\nSPID\t${process.pid}`);
  }

  private logError(msg: string): void {
    const ms = Date.now() - this.created;
    const hs = this.handshakeAt ? `, handshake ${ms} msecs ago` : '';
    this.server.log('error', `auth-master client: ${msg} (created ${ms} msecs ago${hs})`);
  }

  send(line: string): void {
    if (!this.destroyed) this.sock.write(`${line}\n`, 'latin1');
  }

  private input(chunk: Buffer): void {
    if (this.destroyed) return;
    const lines = this.reader.push(chunk);
    this.queue.push(...lines);
    if (this.reader.overflow) {
      this.logError(`BUG: Master sent us more than ${MAX_INBUF_SIZE} bytes`);
      this.queue = [];
      this.destroy();
      return;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.destroyed) {
        const line = this.queue.shift()!;
        if (!this.versionReceived) {
          const m = /^VERSION\t([^\t]*)/.exec(line);
          if (m?.[1] !== '1') {
            this.logError('Master not compatible with this server (mixed old and new binaries?)');
            this.destroy();
            return;
          }
          this.versionReceived = true;
          this.handshakeAt = Date.now();
          continue;
        }
        if (!(await this.handleLine(line))) {
          this.destroy();
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Lookups run concurrently; LIST holds the input until it is done. */
  private async handleLine(line: string): Promise<boolean> {
    if (line.startsWith('USER\t')) return this.user(line.slice(5));
    if (line.startsWith('LIST\t')) return this.list(line.slice(5));
    if (line.startsWith('PASS\t')) return this.pass(line.slice(5));
    if (!this.userdbOnly) {
      if (line.startsWith('REQUEST\t')) return this.request(line.slice(8));
      if (line.startsWith('CACHE-FLUSH\t')) return this.cacheFlush(line.slice(12));
      if (line.startsWith('CPID\t')) {
        this.logError('Authentication client trying to connect to master socket');
        return false;
      }
    }
    this.logError(`BUG: Unknown command in ${this.userdbOnly ? 'userdb' : 'master'} socket: ${sanitize(utf8(line), 80)}`);
    return false;
  }

  /** master_input_auth_request: parse `<id> <user> [params]`; undefined = broken line. */
  private newRequest(args: string, cmd: string): { req: AuthRequest; error?: string } | undefined {
    const list = splitTabEscaped(args);
    const id = list[0] === undefined ? undefined : parseUint(list[0]);
    if (list.length < 2 || id === undefined) {
      this.logError(`BUG: Master sent broken ${cmd}`);
      return undefined;
    }
    const req = new AuthRequest(this.server.auth);
    req.id = id;
    for (const f of list.slice(2)) {
      const eq = f.indexOf('=');
      req.importInfo(eq < 0 ? f : f.slice(0, eq), utf8(eq < 0 ? '' : f.slice(eq + 1)));
    }
    if (req.service === undefined) {
      this.logError(`BUG: Master sent ${cmd} request without service`);
      return undefined;
    }
    const error = req.setUsername(utf8(list[1]!));
    return error === undefined ? { req } : { req, error };
  }

  private user(args: string): boolean {
    const r = this.newRequest(args, 'USER');
    if (!r) return false;
    if (r.error !== undefined) {
      if (this.server.auth.set.verbose) this.server.log('info', r.error);
      this.send(`NOTFOUND\t${r.req.id}`);
      return true;
    }
    void this.server.auth.lookupUser(r.req).then((res) => this.userReply(r.req, res));
    return true;
  }

  private userReply(req: AuthRequest, result: UserdbResult): void {
    if (req.userdbLookupTempfailed) result = 'internal_failure';
    if (result === 'internal_failure') {
      let line = `FAIL\t${req.id}`;
      const reason = req.userdbLookupTempfailed ? req.userdbReply?.find('reason') : undefined;
      if (reason !== undefined) line += `\treason=${bin(reason)}`;
      this.send(line);
    } else if (result === 'user_unknown') this.send(`NOTFOUND\t${req.id}`);
    else this.send(`USER\t${req.id}\t${tabEscape(bin(req.user ?? ''))}\t${bin(req.userdbReply?.append(FIELD_HIDDEN, 0) ?? '')}`);
  }

  private pass(args: string): boolean {
    const r = this.newRequest(args, 'PASS');
    if (!r) return false;
    if (r.error !== undefined) {
      if (this.server.auth.set.verbose) this.server.log('info', r.error);
      this.passReply(r.req, 'user_unknown');
      return true;
    }
    void this.server.auth.lookupCredentials(r.req, '').then((res) => this.passReply(r.req, res.result));
    return true;
  }

  private passReply(req: AuthRequest, result: PassdbResult): void {
    const id = req.id;
    switch (result) {
      case 'ok':
        if (req.failed || !req.passdbSuccess) this.send(`FAIL\t${id}`);
        else {
          let line = `PASS\t${id}\tuser=${tabEscape(bin(req.user ?? ''))}`;
          if (!req.extraFields.isEmpty()) line += `\t${bin(req.extraFields.append(FIELD_HIDDEN, 0))}`;
          this.send(line);
        }
        break;
      case 'user_unknown':
      case 'user_disabled':
      case 'pass_expired':
        this.send(`NOTFOUND\t${id}`);
        break;
      case 'scheme_not_available':
        this.send(`FAIL\t${id}\treason=Configured passdbs don't support credentials lookups`);
        break;
      default:
        this.send(`FAIL\t${id}`);
    }
  }

  private async list(args: string): Promise<boolean> {
    const list = splitTabEscaped(args);
    const id = list[0] === undefined ? undefined : parseUint(list[0]);
    if (id === undefined) {
      this.logError('BUG: Master sent broken LIST');
      return false;
    }
    const auth = this.server.auth;
    let udb: AuthUserdb | undefined = auth.userdbs[0];
    while (udb !== undefined && udb.driver.iterate === undefined) udb = udb.next;
    if (udb === undefined) {
      this.logError('Trying to iterate users, but userdbs don\'t support it');
      this.send(`DONE\t${id}\tfail`);
      return true;
    }
    const req = new AuthRequest(auth);
    req.id = id;
    for (const f of list.slice(1)) {
      const eq = f.indexOf('=');
      const name = eq < 0 ? f : f.slice(0, eq);
      const value = utf8(eq < 0 ? '' : f.slice(eq + 1));
      if (!req.importInfo(name, value) && name === 'user') req.user = value;
    }
    if (req.user === undefined) req.user = '';
    if (req.service === undefined) req.service = '';
    req.userdbLookup = true;
    let failed = false;
    for (let u: AuthUserdb | undefined = udb; u !== undefined; u = u.next) {
      if (!u.driver.iterate) continue;
      req.userdb = u;
      const it = u.driver.iterate(req);
      const out: string[] = [];
      for await (const user of it.users) {
        if (this.destroyed) return true;
        out.push(`LIST\t${id}\t${tabEscape(bin(user))}`);
        if (out.length >= 256) {
          this.send(out.join('\n'));
          out.length = 0;
        }
      }
      if (out.length) this.send(out.join('\n'));
      if (it.failed()) failed = true;
    }
    this.send(`DONE\t${id}\t${failed ? 'fail' : ''}`);
    return true;
  }

  private cacheFlush(args: string): boolean {
    const list = splitTabEscaped(args);
    if (list[0] === undefined || list[0] === '') {
      this.logError('BUG: doveadm sent broken CACHE-FLUSH');
      return false;
    }
    const cache = this.server.auth.cache;
    let count = 0;
    if (cache) count = list.length === 1 ? cache.clear() : cache.clearUsers(list.slice(1).map(utf8));
    this.send(`OK\t${list[0]}\t${count}`);
    return true;
  }

  /** REQUEST: a login process's master asks for the user behind a finished login. */
  private request(args: string): boolean {
    const list = splitTabEscaped(args);
    const id = parseUint(list[0] ?? '');
    const clientPid = parseUint(list[1] ?? '');
    const clientId = parseUint(list[2] ?? '');
    if (list.length < 4 || id === undefined || clientPid === undefined || clientId === undefined) {
      this.logError('BUG: Master sent broken REQUEST');
      return false;
    }
    const cookie = list[3]!;
    if (!/^([0-9a-fA-F]{2})*$/.test(cookie)) {
      this.logError('BUG: Master sent broken REQUEST cookie');
      return false;
    }
    const client = this.server.clientByPid(clientPid);
    if (!client) {
      this.logError(`Master requested auth for nonexistent client ${clientPid}`);
      this.send(`FAIL\t${id}`);
      return true;
    }
    if (cookie.toLowerCase() !== client.cookie.toString('hex')) {
      this.logError(`Master requested auth for client ${clientPid} with invalid cookie`);
      this.send(`FAIL\t${id}`);
      return true;
    }
    const cr = client.takeFinished(clientId);
    if (!cr) {
      this.logError(`Master request ${clientPid}.${clientId} not found`);
      this.send(`FAIL\t${id}`);
      return true;
    }
    const req = cr.req;
    for (const f of list.slice(4)) {
      const eq = f.indexOf('=');
      const name = eq < 0 ? f : f.slice(0, eq);
      const value = eq < 0 ? '' : f.slice(eq + 1);
      if (name === 'session_pid' && /^[0-9]+$/.test(value)) req.sessionPid = Number(value);
      else if (name === 'request_auth_token') req.requestAuthToken = true;
    }
    if (cr.state !== 'finished' || !req.successful) {
      this.logError(`Master requested unfinished authentication request ${clientPid}.${clientId}`);
      this.send(`FAIL\t${id}`);
      return true;
    }
    req.id = id;
    void this.server.auth.lookupUser(req).then((result) => {
      if (req.userdbLookupTempfailed) result = 'internal_failure';
      if (result === 'internal_failure') {
        let line = `FAIL\t${id}`;
        const reason = req.userdbLookupTempfailed ? req.userdbReply?.find('reason') : undefined;
        if (reason !== undefined) line += `\treason=${tabEscape(bin(reason))}`;
        this.send(line);
      } else if (result === 'user_unknown') this.send(`NOTFOUND\t${id}`);
      else {
        let s = `USER\t${id}\t${tabEscape(bin(req.user ?? ''))}\t${bin(req.userdbReply?.append(FIELD_HIDDEN, 0) ?? '')}`;
        if (req.masterUser !== undefined && !req.userdbReply?.exists('master_user')) s += `\tmaster_user=${tabEscape(bin(req.masterUser))}`;
        s += `\tauth_mech=${req.mechName}`;
        const anon = this.server.auth.set.anonymousUsername;
        if (anon !== '' && req.user === anon) s += '\tanonymous';
        if (req.masterUser !== undefined) s += `\tauth_user=${tabEscape(bin(req.masterUser))}`;
        else if (req.originalUsername !== undefined && req.originalUsername !== req.user) s += `\tauth_user=${tabEscape(bin(req.originalUsername))}`;
        this.send(s);
      }
    });
    return true;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.sock.destroy();
    this.server.masterGone(this);
  }
}
