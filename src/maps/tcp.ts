/**
 * maps/tcp.ts: the tcp: lookup table client (tcp_table(5), Postfix's
 * dict_tcp.c). The name is host:port ([host]:port for IPv6).
 *
 * Protocol, one line each way on a kept connection:
 *   client: "get SP key NL"       (key %XX-encoded: '%', white space and
 *                                  anything but printable ASCII)
 *   server: "200 SP value NL"     found (value %XX-decoded)
 *           "500 SP text NL"      not found
 *           "400 SP text NL"      temporary error: the lookup fails
 * A reply is at most 4096 bytes. A connection that fails or breaks is
 * retried (Postfix: 10 attempts a second apart), then the lookup fails
 * with DictError("retry"); a 4xx or malformed reply fails at once. Every
 * connect/read/write has a deadline (Postfix: 100 s). Keys are folded to
 * lower case with FOLD_MUL. Also exports the small socket helpers that the
 * socketmap: client shares.
 */
import { isIP, Socket } from 'node:net';
import { fatal, warn } from '../log/msg.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from './types.js';

/** Limits for every tcp: table opened afterwards (tests shorten these). */
export const tcpMapTuning = {
  /** DICT_TCP_TMOUT: connect, read and write deadline. */
  timeoutMs: 100_000,
  /** DICT_TCP_MAXTRY: attempts before giving up. */
  maxTries: 10,
  /** Pause between attempts (sleep(1)). */
  retryDelayMs: 1000,
};

/** DICT_TCP_MAXLEN. */
const MAX_REPLY = 4096;

/** glibc strerror() for socket errors (for "%m"). */
export function socketErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ECONNRESET':
      return 'Connection reset by peer';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EPIPE':
      return 'Broken pipe';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    case 'EADDRNOTAVAIL':
      return 'Cannot assign requested address';
    default:
      return (err as Error)?.message ?? String(err);
  }
}

/** printable(s, replacement): anything but printable ASCII becomes `repl`. */
export function printableAscii(s: string, repl: string): string {
  return s.replace(/[^\x20-\x7e]/g, repl);
}

/** host_port(): "[host]:port", "host:port", ":port", "host"; undefined with the error text. */
export function parseHostPort(addr: string): { host: string; port: string } | { error: string } {
  let host: string;
  let port: string | undefined;
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close < 0) return { error: 'missing "]"' };
    host = addr.slice(1, close);
    if (host.toLowerCase().startsWith('ipv6:')) host = host.slice(5);
    const rest = addr.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: 'garbage after "]"' };
    port = rest.slice(1) || undefined;
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon >= 0) {
      host = addr.slice(0, colon) || 'localhost';
      port = addr.slice(colon + 1) || undefined;
    } else {
      host = 'localhost';
      port = addr || undefined;
    }
  }
  if (port === undefined) return { error: 'missing service information' };
  if (/^\d/.test(port) && !/^\d+$/.test(port)) return { error: 'garbage after numerical service' };
  return { host, port };
}

/** Connect to TCP host:port or a UNIX-domain path within `timeoutMs`. */
export function connectSocket(target: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    if ('path' in target) sock.connect(target.path);
    else sock.connect({ host: target.host, port: target.port, family: isIP(target.host) || undefined });
  });
}

/** Why a read ended without the data: EOF, a socket error, or the deadline. */
export class ReadError extends Error {
  constructor(
    readonly reason: 'eof' | 'error' | 'timeout' | 'toolong',
    override readonly cause?: unknown,
  ) {
    super(reason);
  }
}

/** Buffered reads from a socket, as byte strings, each with a deadline. */
export class SocketReader {
  private buf = '';
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      this.buf += b.toString('latin1');
      this.wake?.();
    });
    sock.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    sock.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    sock.on('error', (err) => {
      this.error = err;
      this.ended = true;
      this.wake?.();
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  private async waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = check();
      if (got !== undefined) return got;
      if (this.ended) throw new ReadError(this.error !== undefined ? 'error' : 'eof', this.error);
      const left = deadline - Date.now();
      if (left <= 0) throw new ReadError('timeout');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One line without its newline; ReadError('toolong') past `max` bytes. */
  readLine(max: number, timeoutMs: number): Promise<string> {
    return this.waitFor(() => {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0 && nl < max) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (nl >= max || (nl < 0 && this.buf.length >= max)) throw new ReadError('toolong');
      return undefined;
    }, timeoutMs);
  }

  /** Exactly n bytes. */
  readBytes(n: number, timeoutMs: number): Promise<string> {
    return this.waitFor(() => {
      if (this.buf.length < n) return undefined;
      const out = this.buf.slice(0, n);
      this.buf = this.buf.slice(n);
      return out;
    }, timeoutMs);
  }

  /** One byte. */
  readByte(timeoutMs: number): Promise<string> {
    return this.readBytes(1, timeoutMs);
  }

  /** Write a byte string; rejects on error or deadline. */
  write(data: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ReadError('timeout')), timeoutMs);
      this.sock.write(Buffer.from(data, 'latin1'), (err) => {
        clearTimeout(timer);
        if (err) reject(new ReadError('error', err));
        else resolve();
      });
    });
  }
}

/** hex_quote(): '%', white space and non-printable bytes as %XX. */
export function hexQuote(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const isSpace = c === 0x20 || (c >= 0x09 && c <= 0x0d);
    if (c !== 0x25 && !isSpace && c > 0x20 && c < 0x7f) out += raw[i];
    else out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** hex_unquote(): undefined on a bad %XX. */
export function hexUnquote(hex: string): string | undefined {
  let out = '';
  for (let i = 0; i < hex.length; i++) {
    if (hex[i] !== '%') {
      out += hex[i];
      continue;
    }
    const pair = hex.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return undefined;
    out += String.fromCharCode(Number.parseInt(pair, 16));
    i += 2;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class TcpTable implements LookupTable {
  readonly type: string;
  private reader: SocketReader | undefined;
  /** Lookups run one at a time on the one connection. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly tuning = { ...tcpMapTuning };

  constructor(
    type: string,
    readonly name: string,
    public flags: number,
  ) {
    this.type = type;
  }

  lookup(key: string): Promise<string | undefined> {
    const run = this.chain.then(() => this.lookupNow(key));
    this.chain = run.catch(() => {});
    return run;
  }

  private disconnect(): void {
    this.reader?.sock.destroy();
    this.reader = undefined;
  }

  private async connect(): Promise<SocketReader | undefined> {
    const hp = parseHostPort(this.name);
    if ('error' in hp) fatal(`${this.name}: ${hp.error}`);
    const port = Number(hp.port);
    if (!/^\d+$/.test(hp.port) || port > 65535) {
      warn(`host or service ${this.name} not found: Servname not supported for ai_socktype`);
      warn(`connect to TCP map ${this.name}: Cannot assign requested address`);
      return undefined;
    }
    try {
      const sock = await connectSocket({ host: hp.host, port }, this.tuning.timeoutMs);
      sock.unref();
      return new SocketReader(sock);
    } catch (err) {
      warn(`connect to TCP map ${this.name}: ${socketErrorText(err)}`);
      return undefined;
    }
  }

  private async lookupNow(key: string): Promise<string | undefined> {
    const table = `${this.type}:${this.name}`;
    if (this.flags & DictFlag.FOLD_MUL) key = key.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    let reply: string | undefined;
    for (let tries = 0; ; ) {
      if (this.reader === undefined || this.reader.closed) {
        this.disconnect();
        this.reader = await this.connect();
      }
      const r = this.reader;
      if (r !== undefined) {
        r.sock.ref();
        try {
          await r.write(`get ${hexQuote(key)}\n`, this.tuning.timeoutMs);
          reply = await r.readLine(MAX_REPLY, this.tuning.timeoutMs);
        } catch (err) {
          const e = err as ReadError;
          if (e.reason === 'toolong') warn(`read TCP map reply from ${this.name}: text longer than ${MAX_REPLY}`);
          else {
            const why = e.reason === 'timeout' ? 'Connection timed out' : e.reason === 'eof' ? 'Success' : socketErrorText(e.cause);
            warn(`read TCP map reply from ${this.name}: unexpected EOF (${why})`);
          }
          this.disconnect();
        } finally {
          this.reader?.sock.unref();
        }
        if (reply !== undefined) break;
      }
      if (++tries >= this.tuning.maxTries) throw new DictError('retry', table, `${table}: no reply from server`);
      await sleep(this.tuning.retryDelayMs);
    }
    const value = /^\d\d\d[ \t\n\v\f\r]/.test(reply) ? hexUnquote(reply.slice(4)) : undefined;
    if (value === undefined) {
      warn(`read TCP map reply from ${this.name}: malformed reply: ${printableAscii(reply, '_').slice(0, 100)}`);
      this.disconnect();
      throw new DictError('retry', table, `${table}: malformed reply`);
    }
    switch (reply[0]) {
      case '2':
        return value;
      case '5':
        return undefined;
      case '4':
        this.disconnect();
        throw new DictError('retry', table, `${table}: soft error: ${printableAscii(reply, '_')}`);
      default:
        warn(`read TCP map reply from ${this.name}: bad status code: ${printableAscii(reply, '_').slice(0, 100)}`);
        this.disconnect();
        throw new DictError('retry', table, `${table}: bad status code`);
    }
  }

  async close(): Promise<void> {
    await this.chain;
    this.disconnect();
  }
}

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  if (opts.dictFlags & DictFlag.NO_UNAUTH)
    throw new DictError('config', `${type}:${name}`, `${type}:${name} map is not allowed for security sensitive data`);
  if (opts.mode !== 'read') throw new DictError('config', `${type}:${name}`, `${type}:${name} map requires O_RDONLY access mode`);
  return new TcpTable(type, name, opts.dictFlags | DictFlag.PATTERN);
}
