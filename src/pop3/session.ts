/**
 * pop3/session.ts: one POP3 connection from greeting to logout: the login
 * state (login.ts) until auth succeeds, then the userdb lookup, the
 * mail_max_userip_connections check, pop3_lock_session, "+OK Logged in."
 * and the transaction state (transaction.ts) on the user's INBOX. Line
 * limits: 1026 bytes before login (LOGIN_MAX_INBUF_SIZE), 2048 after
 * (pop3 MAX_INBUF_SIZE).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import { mailUserVarTable, varExpand } from '../../compat/dovecot/var-expand.js';
import type { MailUser } from '../storage/user.js';
import { Pop3Io, TOO_LONG } from './io.js';
import type { Pop3Log } from './log.js';
import { type LoginConn, Pop3Login } from './login.js';
import { lockPop3Session, type SessionLock } from './session-lock.js';
import type { Pop3Settings } from './settings.js';
import { Pop3Transaction } from './transaction.js';

const LOGIN_MAX_INBUF_SIZE = 1218 - 128 - 64;
const MAX_INBUF_SIZE = 2048;
const LOGIN_MAX_AUTH_BUF_SIZE = 8192;

/** The connection as the listener saw it (the handler contract). */
export interface Pop3ConnInfo {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** TLS, or a connection Dovecot treats as secure (remote IP = local IP, login_trusted_networks). */
  secured: boolean;
  /** The stream is already TLS (pop3s). */
  tls?: boolean;
}

/** The userdb lookup + mail user creation after a successful login. */
export type Pop3UserLookup = (
  username: string,
  info: { session: string; localIp: string; remoteIp: string; localPort: number; remotePort: number },
) => Promise<{ ret: 1 | 0 | -1; user?: MailUser; error?: string }>;

export interface Pop3Context {
  settings: Pop3Settings;
  authClientPath: string;
  lookup: Pop3UserLookup;
  log: Pop3Log;
  /** Live logged-in sessions per user+IP (anvil's count for mail_max_userip_connections). */
  userip: Map<string, number>;
  isTrusted(ip: string): boolean;
}

const stripV6 = (a: string) => a.replace(/^::ffff:/, '');

/** A session id like login-common's: base64 of random bytes, no padding. */
function sessionId(): string {
  return randomBytes(16).toString('base64').replace(/=+$/, '');
}

export class Pop3Session {
  private io: Pop3Io;
  private tx: Pop3Transaction | undefined;
  private lock: SessionLock | undefined;
  private useripKey: string | undefined;
  private mailPrefix = '';

  constructor(
    sock: Duplex,
    private readonly conn: Pop3ConnInfo,
    private readonly ctx: Pop3Context,
  ) {
    this.io = new Pop3Io(sock);
  }

  private async startTls(ctx: SecureContext | undefined): Promise<boolean> {
    if (!ctx) return false;
    const raw = this.io.detach();
    const tls = new TLSSocket(raw as never, { isServer: true, secureContext: ctx });
    return new Promise((resolve) => {
      tls.once('secure', () => {
        this.io.attach(tls);
        resolve(true);
      });
      tls.once('error', () => {
        this.io.closed = true;
        tls.destroy();
        resolve(false);
      });
    });
  }

  async run(): Promise<void> {
    const set = this.ctx.settings;
    const rip = stripV6(this.conn.remoteAddress);
    const lconn: LoginConn = {
      localIp: stripV6(this.conn.localAddress),
      localPort: this.conn.localPort,
      remoteIp: rip,
      remotePort: this.conn.remotePort,
      secured: this.conn.secured,
      tls: this.conn.tls === true,
      trusted: this.ctx.isTrusted(rip),
      session: sessionId(),
    };
    const login = new Pop3Login(this.io, set, lconn, this.ctx.authClientPath, {
      startTls: () => this.startTls(set.tlsContext),
      onLogin: (user) => this.finishLogin(user, lconn),
      log: (text) => this.ctx.log('info', 'pop3-login: ', text),
    });
    try {
      if (!(await login.start())) {
        this.io.end();
        return;
      }
      const readLine = async (): Promise<string | undefined> => {
        const l = await this.io.nextLine(8192);
        return l === TOO_LONG ? undefined : l;
      };
      while (!login.done) {
        // AUTH's initial response is read separately, up to LOGIN_MAX_AUTH_BUF_SIZE (pop3-login cmd_auth)
        const line = await this.io.nextLine((head) => (/^auth /i.test(head.subarray(0, 5).toString('latin1')) ? LOGIN_MAX_AUTH_BUF_SIZE + 16 : LOGIN_MAX_INBUF_SIZE));
        if (line === undefined) {
          login.destroyLog('Connection closed');
          return;
        }
        if (line === TOO_LONG) {
          this.io.writeLine('-ERR Input buffer full, aborting');
          login.destroyLog('Input buffer full');
          this.io.end();
          return;
        }
        await login.command(line, readLine);
      }
    } finally {
      login.close();
    }
    const tx = this.tx;
    if (!tx) return;
    if (tx.disconnected) {
      await tx.close();
      await this.lock?.release().catch(() => {});
      this.releaseUserip();
      return;
    }
    try {
      for (;;) {
        const line = await this.io.nextLine(MAX_INBUF_SIZE);
        if (line === undefined) {
          await tx.destroy('Connection closed');
          break;
        }
        if (line === TOO_LONG) {
          this.io.writeLine('-ERR Input line too long.');
          await tx.destroy('Input line too long');
          this.io.end();
          break;
        }
        if (!(await tx.command(line))) break;
      }
    } catch (e) {
      this.ctx.log('error', this.mailPrefix, (e as Error).message);
      await tx.destroy((e as Error).message);
      this.io.end();
    } finally {
      await tx.close();
      await this.lock?.release().catch(() => {});
      this.releaseUserip();
    }
  }

  private releaseUserip(): void {
    if (!this.useripKey) return;
    const n = (this.ctx.userip.get(this.useripKey) ?? 1) - 1;
    if (n <= 0) this.ctx.userip.delete(this.useripKey);
    else this.ctx.userip.set(this.useripKey, n);
    this.useripKey = undefined;
  }

  /** After auth OK: the user+IP limit, userdb, session lock, "+OK Logged in.", INBOX. */
  private async finishLogin(username: string, c: LoginConn): Promise<{ ok: true } | { ok: false; reply: string; reason: string }> {
    const set = this.ctx.settings;
    const key = `${username}\0${c.remoteIp}`;
    const max = set.maxUseripConnections;
    if (max > 0 && (this.ctx.userip.get(key) ?? 0) >= max) {
      const text = `Maximum number of connections from user+IP exceeded (mail_max_userip_connections=${max})`;
      return { ok: false, reply: `[IN-USE] ${text}`, reason: text };
    }
    const r = await this.ctx.lookup(username, {
      session: c.session,
      localIp: c.localIp,
      remoteIp: c.remoteIp,
      localPort: c.localPort,
      remotePort: c.remotePort,
    });
    if (r.ret !== 1 || !r.user) {
      if (r.error) this.ctx.log('error', 'pop3-login: ', r.error);
      return { ok: false, reply: 'Internal login failure. Refer to server log for more information.', reason: 'Internal login failure' };
    }
    this.useripKey = key;
    this.ctx.userip.set(key, (this.ctx.userip.get(key) ?? 0) + 1);
    const user = r.user;
    this.mailPrefix = varExpand(
      set.mailLogPrefix,
      mailUserVarTable({
        username: user.username,
        service: 'pop3',
        uid: user.uid ?? '',
        gid: user.gid ?? '',
        pid: process.pid,
        sessionId: c.session,
        localIp: c.localIp,
        remoteIp: c.remoteIp,
        ...(user.home ? { home: user.home } : {}),
      }),
    ).value;
    const prefix = this.mailPrefix;
    const tx = new Pop3Transaction(
      this.io,
      set,
      user,
      (t) => this.ctx.log('info', prefix, t),
      (t) => this.ctx.log('error', prefix, t),
    );
    this.tx = tx;
    // %i/%o of pop3_logout_format count the pop3 process's own streams: from here on
    this.io.inBytes = 0;
    this.io.outBytes = 0;
    if (set.lockSession) {
      const ns = user.namespaces.find((n) => n.settings.inbox) ?? user.namespaces[0];
      const dir = ns?.location.index ?? ns?.location.control ?? ns?.location.root;
      let failed = '';
      try {
        if (!dir) throw new Error('no root');
        this.lock = await lockPop3Session(dir, user.uid, user.gid);
        if (!this.lock) failed = '-ERR [IN-USE] Mailbox is locked by another POP3 session.';
      } catch (e) {
        this.ctx.log('error', prefix, `pop3_lock_session: ${(e as Error).message}`);
        failed = '-ERR [SYS/TEMP] Failed to create POP3 session lock.';
      }
      if (failed) {
        this.io.writeLine(failed);
        tx.disconnected = true;
        this.ctx.log('info', prefix, `Disconnected: Couldn't lock POP3 session ${tx.stats()}`);
        this.io.end();
        return { ok: true };
      }
      this.io.writeLine('+OK Logged in.');
    } else this.io.writeLine('+OK Logged in.');
    try {
      await tx.init();
    } catch (e) {
      const msg = `Couldn't init INBOX: ${(e as Error).message}`;
      this.ctx.log('error', prefix, msg);
      tx.disconnect(msg);
    }
    return { ok: true };
  }
}
