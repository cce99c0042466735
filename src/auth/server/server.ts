/**
 * auth/server/server.ts: the auth service process: the unix listeners of
 * `service auth` (the socket's name picks the protocol, as auth/main.c
 * auth_socket_type_get does: "…-master" = master, "…-userdb" = userdb only,
 * "…-login"/"login" = login client, anything else = auth client), the
 * delayed-failure queue (auth_failure_delay, flushed on a 500 ms tick in
 * random order) and the per-IP penalty.
 */
import { chmodSync, chownSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Auth, AuthLog, LogLevel } from '../engine.js';
import type { MechRegister } from '../mech/index.js';
import { Penalty } from '../penalty.js';
import type { AuthRequest } from '../request.js';
import type { ListenerSettings } from '../settings.js';
import { lookupGid, lookupUid } from '../unix-users.js';
import { AuthClientConnection } from './client-conn.js';
import { AuthMasterConnection } from './master-conn.js';

export type SocketType = 'client' | 'login' | 'master' | 'userdb' | 'token' | 'tokenlogin';

export function socketType(path: string): SocketType {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dash = name.lastIndexOf('-');
  const suffix = dash < 0 ? name : name.slice(dash + 1);
  switch (suffix) {
    case 'login':
      return 'login';
    case 'master':
      return 'master';
    case 'userdb':
      return 'userdb';
    case 'token':
      return 'token';
    case 'tokenlogin':
      return 'tokenlogin';
    default:
      return 'client';
  }
}

/** Failed requests wait auth_failure_delay seconds, checked every 500 ms (auth_request_handler_flush_failures). */
export class FailureQueue {
  private items: Array<{ lastAccess: number; send: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(readonly delaySecs: number) {}

  add(lastAccess: number, send: () => void): void {
    this.items.push({ lastAccess, send });
    if (!this.timer) {
      this.timer = setInterval(() => this.flush(false), 500);
      this.timer.unref?.();
    }
  }

  flush(all: boolean): void {
    const now = Math.floor(Date.now() / 1000);
    let count = 0;
    while (count < this.items.length && (all || now - this.items[count]!.lastAccess >= this.delaySecs)) count++;
    const due = this.items.splice(0, count);
    for (let i = 0; i < due.length; i++) {
      const j = i + Math.floor(Math.random() * (due.length - i));
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const d of due) d.send();
    if (this.items.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

export class AuthServer {
  readonly penalty = new Penalty();
  readonly failures: FailureQueue;
  private readonly clients = new Set<AuthClientConnection>();
  private readonly masters = new Set<AuthMasterConnection>();
  private readonly servers: Array<{ server: Server; path: string }> = [];
  private connectUid = 0;

  constructor(
    readonly auth: Auth,
    readonly mechs: MechRegister,
    readonly log: AuthLog,
  ) {
    this.failures = new FailureQueue(auth.set.failureDelay);
  }

  nextConnectUid(): number {
    return ++this.connectUid;
  }

  clientByPid(pid: number): AuthClientConnection | undefined {
    for (const c of this.clients) if (c.loginRequests && c.pid === pid && !c.destroyed) return c;
    return undefined;
  }

  clientGone(c: AuthClientConnection): void {
    this.clients.delete(c);
  }

  masterGone(m: AuthMasterConnection): void {
    this.masters.delete(m);
  }

  penaltyLookup(req: AuthRequest): number {
    if (req.noPenalty) return 0;
    return this.penalty.get(AuthClientConnection.ident(req));
  }

  penaltyUpdate(req: AuthRequest, value: number): void {
    if (req.noPenalty) return;
    const checksum = value === 0 ? 0 : AuthClientConnection.checksum(req);
    this.penalty.update(AuthClientConnection.ident(req), checksum, value);
  }

  /** Serve one connected socket with the protocol of `type`. */
  accept(sock: Socket, type: SocketType): void {
    if (type === 'master' || type === 'userdb') this.masters.add(new AuthMasterConnection(this, sock, type === 'userdb'));
    else this.clients.add(new AuthClientConnection(this, sock, type === 'login'));
  }

  /** Create and listen on a unix socket with the listener's mode and owner. */
  async listen(l: ListenerSettings): Promise<void> {
    const type = socketType(l.path);
    if (type === 'token' || type === 'tokenlogin') return;
    mkdirSync(dirname(l.path), { recursive: true });
    try {
      unlinkSync(l.path);
    } catch {
      // not there
    }
    const server = createServer((sock) => this.accept(sock, type));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(l.path, l.mode);
    if (l.user !== '' || l.group !== '') {
      const uid = l.user === '' ? -1 : lookupUid(l.user);
      const gid = l.group === '' ? -1 : lookupGid(l.group);
      if (uid === undefined) this.log('error', `service(auth): unix_listener ${l.name}: User doesn't exist: ${l.user}`);
      else if (gid === undefined) this.log('error', `service(auth): unix_listener ${l.name}: Group doesn't exist: ${l.group}`);
      else {
        try {
          chownSync(l.path, uid, gid);
        } catch (e) {
          this.log('warning', `chown(${l.path}, ${uid}, ${gid}) failed: ${(e as Error).message}`);
        }
      }
    }
    this.servers.push({ server, path: l.path });
  }

  async close(): Promise<void> {
    for (const { server, path } of this.servers) {
      server.close();
      try {
        unlinkSync(path);
      } catch {
        // gone already
      }
    }
    this.servers.length = 0;
    this.failures.flush(true);
    for (const c of [...this.clients]) c.destroy();
    for (const m of [...this.masters]) m.destroy();
  }
}

export function defaultLog(prefix = 'auth'): AuthLog {
  const words: Record<LogLevel, string> = { debug: 'Debug', info: 'Info', warning: 'Warning', error: 'Error' };
  return (level, msg) => {
    process.stderr.write(`${prefix}: ${words[level]}: ${msg}\n`);
  };
}
