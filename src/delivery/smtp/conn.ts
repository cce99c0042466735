/**
 * delivery/smtp/conn.ts: one client connection speaking SMTP or LMTP
 * (smtp_chat.c): reading replies, writing commands, STARTTLS.
 *
 * A reply is every line up to the one whose 4th character is not '-'.
 * Its status (smtp_chat_resp) is the enhanced code after the number when
 * it is valid and agrees with the first digit, else "X.0.0"; a reply
 * that does not start with three digits gets code 0 and status 5.5.0.
 * The lines are kept joined by "\n"; callers turn them into one line.
 * Errors are typed: 'lost' (connection closed / reset) and 'timeout'.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { dsnValid } from '../dsn-util.js';

export interface SmtpReply {
  code: number;
  dsn: string;
  /** Lines joined with "\n". */
  str: string;
  lines: string[];
}

export class ConnError extends Error {
  constructor(
    readonly kind: 'lost' | 'timeout' | 'connect',
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class SmtpConn {
  private buf = '';
  private closed = false;
  private error: Error | undefined;
  private waiter: (() => void) | undefined;
  socket: Socket | TLSSocket;

  constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(s: Socket | TLSSocket): void {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('end', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', (err) => {
      this.error = err;
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Connect to a TCP address or a unix socket path, within `timeoutMs`. */
  static open(target: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<SmtpConn> {
    return new Promise((resolve, reject) => {
      const s = 'path' in target ? netConnect({ path: target.path }) : netConnect({ host: target.host, port: target.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnError('connect', 'Connection timed out', 'ETIMEDOUT'));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new SmtpConn(s));
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnError('connect', err.message, err.code));
      });
    });
  }

  /** Read one line (without CRLF). */
  private async line(timeoutMs: number): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        let l = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (l.endsWith('\r')) l = l.slice(0, -1);
        return l;
      }
      if (this.closed) throw new ConnError('lost', this.error?.message ?? 'lost connection');
      const left = end - Date.now();
      if (left <= 0) throw new ConnError('timeout', 'timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** smtp_chat_resp(): one complete reply. */
  async reply(timeoutMs: number): Promise<SmtpReply> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      lines.push(l);
      const three = /^\d{3}/.test(l);
      if (three && l[3] === '-') continue;
      if (three && (l[3] === ' ' || l.length === 3)) break;
      if (!three) break;
    }
    const first = lines[0]!;
    let code = 0;
    let dsn = '5.5.0';
    if (/^\d{3}/.test(first)) {
      code = Number.parseInt(first.slice(0, 3), 10);
      if ('245'.includes(first[0]!)) {
        const cp = first.slice(4).replace(/^ +/, '');
        const len = dsnValid(cp);
        dsn = len > 0 && cp[0] === first[0] ? cp.slice(0, len) : `${first[0]}.0.0`;
      }
    }
    return { code, dsn, str: lines.join('\n'), lines };
  }

  write(text: string): void {
    if (!this.closed) this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Write and wait until the kernel took it (back pressure for the body). */
  writeAsync(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ConnError('lost', 'lost connection'));
        return;
      }
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(new ConnError('lost', err.message)) : resolve()));
    });
  }

  /** Upgrade to TLS after "220 Ready to start TLS". */
  startTls(opts: ConnectionOptions, timeoutMs: number): Promise<TLSSocket> {
    const raw = this.socket as Socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('end');
    raw.removeAllListeners('error');
    return new Promise((resolve, reject) => {
      const t = tlsConnect({ ...opts, socket: raw });
      const timer = setTimeout(() => {
        t.destroy();
        reject(new ConnError('timeout', 'TLS handshake timed out'));
      }, timeoutMs);
      t.once('secureConnect', () => {
        clearTimeout(timer);
        t.removeAllListeners('error');
        this.socket = t;
        this.buf = '';
        this.attach(t);
        resolve(t);
      });
      t.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Connected, and nothing unread (an idle cached session must have said nothing). */
  get alive(): boolean {
    return !this.closed && this.buf === '';
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
