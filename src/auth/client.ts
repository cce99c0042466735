/**
 * auth/client.ts: the client side of Dovecot's auth protocols, for doveadm
 * (auth test/login/lookup, user, auth cache flush), LMTP/LDA user lookups
 * and Postern's smtpd talking to any Dovecot-compatible auth server
 * (ours or a real Dovecot).
 *
 * AuthMasterClient speaks the master/userdb protocol (lib-auth/auth-master.c):
 *   C: VERSION\t1\t0   S: VERSION\t1\t1  SPID\t<pid>
 *   C: USER|PASS\t<id>\t<user>\tservice=…  S: USER|PASS\t<id>\t… | NOTFOUND\t<id> | FAIL\t<id>[\t<reason>]
 *   C: LIST\t<id>[\tuser=<mask>]           S: LIST\t<id>\t<user> … DONE\t<id>\t[fail]
 *   C: CACHE-FLUSH\t<id>[\t<user>…]        S: OK\t<id>\t<count>
 * AuthClient speaks the client protocol (lib-auth/auth-client-connection.c):
 *   C: VERSION\t1\t2  CPID\t<pid>   S: VERSION  MECH…  SPID  CUID  COOKIE  DONE
 *   C: AUTH\t<id>\t<mech>\t<params>[\tresp=<b64>]  S: CONT\t<id>\t<b64> | OK\t<id>\t… | FAIL\t<id>\t…
 * Values are UTF-8 strings here; TAB/CR/LF/\001 are escaped on the wire.
 */
import { connect, type Socket } from 'node:net';
import { splitTabEscaped, tabEscape } from './protocol.js';

/** What a lookup says about the request (struct auth_user_info). */
export interface AuthUserInfo {
  service: string;
  sessionId?: string;
  localName?: string;
  localIp?: string;
  localPort?: number;
  remoteIp?: string;
  remotePort?: number;
  realRemoteIp?: string;
  realLocalIp?: string;
  realLocalPort?: number;
  realRemotePort?: number;
  debug?: boolean;
  forwardFields?: string;
  /** More `key=value` parameters, sent as they are (escaped). */
  extraFields?: string[];
}

/** The parameters of a USER/PASS/LIST line, in auth_user_info_export's order. */
export function userInfoExport(info: AuthUserInfo): string {
  let s = '';
  if (info.service !== undefined) s += `\tservice=${info.service}`;
  if (info.sessionId !== undefined) s += `\tsession=${tabEscape(info.sessionId)}`;
  if (info.localName !== undefined) s += `\tlocal_name=${tabEscape(info.localName)}`;
  if (info.localIp !== undefined) s += `\tlip=${info.localIp}`;
  if (info.localPort) s += `\tlport=${info.localPort}`;
  if (info.remoteIp !== undefined) s += `\trip=${info.remoteIp}`;
  if (info.remotePort) s += `\trport=${info.remotePort}`;
  if (info.realRemoteIp !== undefined) s += `\treal_rip=${info.realRemoteIp}`;
  if (info.realLocalIp !== undefined) s += `\treal_lip=${info.realLocalIp}`;
  if (info.realLocalPort) s += `\treal_lport=${info.realLocalPort}`;
  if (info.realRemotePort) s += `\treal_rport=${info.realRemotePort}`;
  if (info.debug) s += '\tdebug';
  if (info.forwardFields) s += `\tforward_fields=${tabEscape(info.forwardFields)}`;
  for (const f of info.extraFields ?? []) s += `\t${tabEscape(f)}`;
  return s;
}

const validString = (s: string) => !/[\t\r\n]/.test(s);

/** Lines from a socket, one at a time, as latin1 "bytes" turned into UTF-8 strings by the caller. */
class LineSocket {
  private buf = Buffer.alloc(0);
  private lines: string[] = [];
  private waiters: Array<(line: string | undefined) => void> = [];
  closed = false;
  error: Error | undefined;

  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      let nl: number;
      while ((nl = this.buf.indexOf(10)) >= 0) {
        let line = this.buf.subarray(0, nl);
        if (line.length && line[line.length - 1] === 13) line = line.subarray(0, -1);
        this.buf = this.buf.subarray(nl + 1);
        const text = line.toString('utf8');
        const w = this.waiters.shift();
        if (w) w(text);
        else this.lines.push(text);
      }
    });
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    };
    sock.on('close', end);
    sock.on('error', (e) => {
      this.error = e;
      end();
    });
  }

  /** The next line, or undefined when the connection closed (or `timeoutMs` passed). */
  next(timeoutMs = 0): Promise<string | undefined> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (line: string | undefined) => {
        if (timer) clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(w);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve(undefined);
        }, timeoutMs);
      }
    });
  }

  write(line: string): void {
    this.sock.write(`${line}\n`, 'utf8');
  }
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export class AuthProtocolError extends Error {}

/**
 * Result of a USER/PASS lookup: 1 = found, 0 = not found, -2 = temporary
 * failure (FAIL), -1 = protocol error or lost connection (auth-master.c's
 * return values). `fields` are unescaped `key=value` strings; for FAIL the
 * first one may be the reason.
 */
export interface LookupResult {
  ret: 1 | 0 | -1 | -2;
  /** USER: the user name the userdb returned. */
  user?: string;
  fields: string[];
}

export class AuthMasterClient {
  private id = 0;
  spid: number | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly io: LineSocket,
    readonly timeoutMs: number,
  ) {}

  /** Connect to auth-userdb or auth-master and do the handshake. */
  static async connect(path: string, opts: { timeoutMs?: number } = {}): Promise<AuthMasterClient> {
    const sock = await connectUnix(path);
    const c = new AuthMasterClient(new LineSocket(sock), opts.timeoutMs ?? 30_000);
    c.io.write('VERSION\t1\t0');
    for (;;) {
      const line = await c.io.next(c.timeoutMs);
      if (line === undefined) throw new AuthProtocolError('Disconnected unexpectedly');
      const f = splitTabEscaped(line);
      if (f[0] === 'VERSION') {
        if (f[1] !== '1') throw new AuthProtocolError(`Auth server sent invalid version line: ${line}`);
      } else if (f[0] === 'SPID') {
        c.spid = Number(f[1]);
        return c;
      }
    }
  }

  /** Requests go one at a time, as lib-auth does. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch(() => {});
    return p;
  }

  private async lookup(cmd: 'USER' | 'PASS', user: string, info: AuthUserInfo): Promise<LookupResult> {
    if (!validString(user) || !validString(info.service)) return { ret: 0, fields: [] };
    return this.serial(async () => {
      const id = ++this.id;
      this.io.write(`${cmd}\t${id}\t${user}${userInfoExport(info)}`);
      for (;;) {
        const line = await this.io.next(this.timeoutMs);
        if (line === undefined) return { ret: -1 as const, fields: [] };
        const f = splitTabEscaped(line);
        if (f[1] !== String(id)) continue;
        const args = f.slice(2);
        if (f[0] === cmd) {
          if (cmd === 'USER') {
            if (args[0] === undefined) return { ret: -2 as const, fields: [] };
            return { ret: 1 as const, user: args[0], fields: args.slice(1) };
          }
          return { ret: 1 as const, fields: args };
        }
        if (f[0] === 'NOTFOUND') return { ret: 0 as const, fields: args };
        if (f[0] === 'FAIL') return { ret: -2 as const, fields: args };
        return { ret: -1 as const, fields: args };
      }
    });
  }

  /** userdb lookup (USER). */
  userLookup(user: string, info: AuthUserInfo): Promise<LookupResult> {
    return this.lookup('USER', user, info);
  }

  /** passdb lookup without a password (PASS). */
  passLookup(user: string, info: AuthUserInfo): Promise<LookupResult> {
    return this.lookup('PASS', user, info);
  }

  /** Every user the userdbs can list (LIST); `failed` when the server said DONE\tfail or the connection broke. */
  listUsers(userMask = '', info?: AuthUserInfo): Promise<{ users: string[]; failed: boolean }> {
    return this.serial(async () => {
      const id = ++this.id;
      let line = `LIST\t${id}`;
      if (userMask !== '') line += `\tuser=${userMask}`;
      if (info) line += userInfoExport(info);
      this.io.write(line);
      const users: string[] = [];
      for (;;) {
        const l = await this.io.next(this.timeoutMs);
        if (l === undefined) return { users, failed: true };
        const f = splitTabEscaped(l);
        if (f[1] !== String(id)) continue;
        if (f[0] === 'DONE') return { users, failed: f[2] === 'fail' };
        if (f[0] === 'LIST' && f[2] !== undefined) users.push(f[2]);
        else return { users, failed: true };
      }
    });
  }

  /** CACHE-FLUSH (auth-master socket only): number of entries flushed, or undefined on failure. */
  cacheFlush(users: string[] = []): Promise<number | undefined> {
    return this.serial(async () => {
      const id = ++this.id;
      this.io.write(`CACHE-FLUSH\t${id}${users.map((u) => `\t${tabEscape(u)}`).join('')}`);
      for (;;) {
        const l = await this.io.next(this.timeoutMs);
        if (l === undefined) return undefined;
        const f = splitTabEscaped(l);
        if (f[1] !== String(id)) continue;
        if (f[0] === 'OK' && f[2] !== undefined && /^[0-9]+$/.test(f[2])) return Number(f[2]);
        return undefined;
      }
    });
  }

  /** REQUEST (auth-master): the userdb reply for a finished login of a client connection. */
  request(clientPid: number, clientId: number, cookie: string, params: string[] = []): Promise<LookupResult> {
    return this.serial(async () => {
      const id = ++this.id;
      this.io.write(`REQUEST\t${id}\t${clientPid}\t${clientId}\t${cookie}${params.map((p) => `\t${tabEscape(p)}`).join('')}`);
      for (;;) {
        const l = await this.io.next(this.timeoutMs);
        if (l === undefined) return { ret: -1 as const, fields: [] };
        const f = splitTabEscaped(l);
        if (f[1] !== String(id)) continue;
        if (f[0] === 'USER') return { ret: 1 as const, user: f[2] ?? '', fields: f.slice(3) };
        if (f[0] === 'NOTFOUND') return { ret: 0 as const, fields: f.slice(2) };
        return { ret: -2 as const, fields: f.slice(2) };
      }
    });
  }

  close(): void {
    this.io.sock.destroy();
  }
}

/** Split `key=value` fields into pairs (a bare flag has value ''). */
export function fieldPairs(fields: string[]): Array<[string, string]> {
  return fields.map((f) => {
    const eq = f.indexOf('=');
    return eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
  });
}

export interface AuthMechInfo {
  name: string;
  flags: string[];
}

export interface AuthResult {
  /** ok = OK line, fail = FAIL line, error = protocol error or lost connection. */
  status: 'ok' | 'fail' | 'error';
  /** The fields after the id, unescaped (user=…, code=…, reason=…, flags). */
  fields: string[];
  /** user= of the reply, when there was one. */
  user?: string;
  /** resp= of an OK (final server data), decoded. */
  finalData?: Buffer;
}

/** Answers a CONT challenge; return undefined to give up (the request is cancelled). */
export type ChallengeHandler = (challenge: Buffer) => Buffer | undefined | Promise<Buffer | undefined>;

export class AuthClient {
  private id = 0;
  mechs: AuthMechInfo[] = [];
  spid: number | undefined;
  cuid: number | undefined;
  cookie: string | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly io: LineSocket,
    readonly timeoutMs: number,
  ) {}

  /** Connect to an auth-client style socket and read the handshake up to DONE. */
  static async connect(path: string, opts: { pid?: number; timeoutMs?: number } = {}): Promise<AuthClient> {
    const sock = await connectUnix(path);
    const c = new AuthClient(new LineSocket(sock), opts.timeoutMs ?? 30_000);
    c.io.write(`VERSION\t1\t2\nCPID\t${opts.pid ?? process.pid}`);
    for (;;) {
      const line = await c.io.next(c.timeoutMs);
      if (line === undefined) throw new AuthProtocolError('Disconnected unexpectedly');
      const f = splitTabEscaped(line);
      switch (f[0]) {
        case 'VERSION':
          if (f[1] !== '1') throw new AuthProtocolError(`Authentication server not compatible with this client (mixed old and new binaries?)`);
          break;
        case 'MECH':
          c.mechs.push({ name: f[1] ?? '', flags: f.slice(2) });
          break;
        case 'SPID':
          c.spid = Number(f[1]);
          break;
        case 'CUID':
          c.cuid = Number(f[1]);
          break;
        case 'COOKIE':
          c.cookie = f[1];
          break;
        case 'DONE':
          return c;
        default:
          break;
      }
    }
  }

  /**
   * One authentication: AUTH with `params` (e.g. ["service=smtp", "rip=…"]),
   * the initial response if given (resp=), then CONT rounds via `onChallenge`.
   */
  authenticate(mech: string, params: string[], initial?: Buffer, onChallenge?: ChallengeHandler): Promise<AuthResult> {
    return this.serial(async () => {
      const id = ++this.id;
      let line = `AUTH\t${id}\t${mech}${params.map((p) => `\t${tabEscape(p)}`).join('')}`;
      if (initial !== undefined) line += `\tresp=${initial.toString('base64')}`;
      this.io.write(line);
      for (;;) {
        const l = await this.io.next(this.timeoutMs);
        if (l === undefined) return { status: 'error' as const, fields: [] };
        const f = splitTabEscaped(l);
        if (f[1] !== String(id)) continue;
        const fields = f.slice(2);
        if (f[0] === 'CONT') {
          const challenge = Buffer.from(fields[0] ?? '', 'base64');
          const answer = onChallenge ? await onChallenge(challenge) : undefined;
          if (answer === undefined) {
            this.io.write(`CANCEL\t${id}`);
            return { status: 'fail' as const, fields: [] };
          }
          this.io.write(`CONT\t${id}\t${answer.toString('base64')}`);
          continue;
        }
        const user = fields.find((x) => x.startsWith('user='))?.slice(5);
        const resp = fields.find((x) => x.startsWith('resp='));
        const r: AuthResult = { status: f[0] === 'OK' ? 'ok' : f[0] === 'FAIL' ? 'fail' : 'error', fields };
        if (user !== undefined) r.user = user;
        if (resp !== undefined) r.finalData = Buffer.from(resp.slice(5), 'base64');
        return r;
      }
    });
  }

  /** PLAIN with the credentials in the initial response. */
  plain(user: string, password: string, params: string[], authzid = ''): Promise<AuthResult> {
    const resp = Buffer.concat([Buffer.from(authzid), Buffer.from([0]), Buffer.from(user), Buffer.from([0]), Buffer.from(password)]);
    return this.authenticate('PLAIN', params, resp);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch(() => {});
    return p;
  }

  close(): void {
    this.io.sock.destroy();
  }
}
