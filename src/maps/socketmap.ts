/**
 * maps/socketmap.ts: the socketmap: lookup table client (socketmap_table(5),
 * Postfix's dict_sockmap.c; the Sendmail socket map protocol).
 *
 * Name: inet:host:port:mapname or unix:/path:mapname. One request and one
 * reply per lookup, each a netstring ("len:data,"):
 *   request: "mapname SP key"
 *   reply:   "OK SP data" | "NOTFOUND SP" | "TEMP SP reason" |
 *            "TIMEOUT SP reason" | "PERM SP reason"
 * TEMP, TIMEOUT and anything unknown fail the lookup with
 * DictError("retry"), PERM with DictError("config"), after Postfix's
 * warning. Replies are at most 100000 bytes. Tables on the same endpoint
 * share one connection, which is closed after 10 s idle or 100 s in all
 * (auto_clnt); a connection that turns out to be closed is reopened once.
 */
import type { Socket } from 'node:net';
import { fatal, warn } from '../log/msg.js';
import { connectSocket, parseHostPort, printableAscii, ReadError, SocketReader, socketErrorText } from './tcp.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from './types.js';

/** Limits for socketmap: tables opened afterwards (tests shorten these). */
export const socketmapTuning = {
  /** DICT_SOCKMAP_DEF_TIMEOUT: connect, read and write deadline. */
  timeoutMs: 100_000,
  /** DICT_SOCKMAP_DEF_MAX_REPLY. */
  maxReply: 100_000,
  /** DICT_SOCKMAP_DEF_MAX_IDLE. */
  maxIdleMs: 10_000,
  /** DICT_SOCKMAP_DEF_MAX_TTL. */
  maxTtlMs: 100_000,
};

class NetstringError extends Error {
  constructor(readonly code: 'eof' | 'time' | 'format' | 'size') {
    super(code);
  }
}

/** netstring_strerror(). */
function netstringText(code: NetstringError['code']): string {
  switch (code) {
    case 'eof':
      return 'unexpected disconnect';
    case 'time':
      return 'time limit exceeded';
    case 'format':
      return 'input format error';
    case 'size':
      return 'input exceeds size limit';
  }
}

/** One shared connection to an endpoint (auto_clnt), used one request at a time. */
class SockmapClient {
  refcount = 1;
  private reader: SocketReader | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly service: string,
    private readonly transport: 'inet' | 'unix',
    private readonly endpoint: string,
    private readonly tuning: typeof socketmapTuning,
  ) {}

  /** Serialise requests on the connection. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** auto_clnt_access(): the open connection, or a new one; undefined (after a warning) if none. */
  async access(): Promise<{ reader: SocketReader } | { error: string }> {
    if (this.reader !== undefined && !this.reader.closed) return { reader: this.reader };
    this.recover();
    let sock: Socket;
    try {
      if (this.transport === 'unix') sock = await connectSocket({ path: this.endpoint }, this.tuning.timeoutMs);
      else {
        const hp = parseHostPort(this.endpoint);
        if ('error' in hp) return fatal(`${this.endpoint}: ${hp.error}`);
        sock = await connectSocket({ host: hp.host, port: Number(hp.port) }, this.tuning.timeoutMs);
      }
    } catch (err) {
      const text = socketErrorText(err);
      warn(`connect to ${this.endpoint}: ${text}`);
      return { error: text };
    }
    sock.unref();
    this.reader = new SocketReader(sock);
    if (this.tuning.maxTtlMs > 0) {
      this.ttlTimer = setTimeout(() => this.recover(), this.tuning.maxTtlMs);
      this.ttlTimer.unref();
    }
    return { reader: this.reader };
  }

  /** After a request: restart the idle clock. */
  touch(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.tuning.maxIdleMs > 0 && this.reader !== undefined) {
      this.idleTimer = setTimeout(() => this.recover(), this.tuning.maxIdleMs);
      this.idleTimer.unref();
    }
  }

  /** auto_clnt_recover(): drop the connection; the next access reconnects. */
  recover(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.ttlTimer !== undefined) clearTimeout(this.ttlTimer);
    this.idleTimer = this.ttlTimer = undefined;
    this.reader?.sock.destroy();
    this.reader = undefined;
  }
}

const clients = new Map<string, SockmapClient>();

async function netstringGet(r: SocketReader, limit: number, timeoutMs: number): Promise<string> {
  const fail = (e: unknown): never => {
    if (e instanceof ReadError) throw new NetstringError(e.reason === 'timeout' ? 'time' : 'eof');
    throw e;
  };
  let len = 0;
  for (;;) {
    const ch = await r.readByte(timeoutMs).catch(fail);
    if (ch === ':') break;
    if (ch < '0' || ch > '9') throw new NetstringError('format');
    len = len * 10 + (ch.charCodeAt(0) - 48);
    if (len > Number.MAX_SAFE_INTEGER / 10) throw new NetstringError('size');
  }
  if (limit > 0 && len > limit) throw new NetstringError('size');
  const data = await r.readBytes(len, timeoutMs).catch(fail);
  const term = await r.readByte(timeoutMs).catch(fail);
  if (term !== ',') throw new NetstringError('format');
  return data;
}

class SockmapTable implements LookupTable {
  constructor(
    readonly type: string,
    readonly name: string,
    public flags: number,
    private readonly sockmapName: string,
    private readonly client: SockmapClient,
    private readonly tuning: typeof socketmapTuning,
  ) {}

  lookup(key: string): Promise<string | undefined> {
    return this.client.exclusive(() => this.lookupNow(key));
  }

  private async lookupNow(key: string): Promise<string | undefined> {
    const table = `${this.type}:${this.name}`;
    if (this.flags & DictFlag.FOLD_MUL) key = key.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    let reply: string;
    for (let exceptCount = 0; ; exceptCount++) {
      const got = await this.client.access();
      if ('error' in got) {
        warn(`table ${table} lookup error: ${got.error}`);
        throw new DictError('retry', table, `${table} lookup error: ${got.error}`);
      }
      const r = got.reader;
      r.sock.ref();
      try {
        const req = `${this.sockmapName} ${key}`;
        await r.write(`${req.length}:${req},`, this.tuning.timeoutMs).catch((e: unknown) => {
          throw new NetstringError(e instanceof ReadError && e.reason === 'timeout' ? 'time' : 'eof');
        });
        reply = await netstringGet(r, this.tuning.maxReply, this.tuning.timeoutMs);
        break;
      } catch (err) {
        if (!(err instanceof NetstringError)) throw err;
        // A broken connection (server restart) is retried once.
        if (exceptCount === 0 && err.code === 'eof') {
          this.client.recover();
          continue;
        }
        this.client.recover();
        warn(`table ${table} lookup error: ${netstringText(err.code)}`);
        throw new DictError('retry', table, `${table} lookup error: ${netstringText(err.code)}`);
      } finally {
        r.sock.unref();
        this.client.touch();
      }
    }
    const sp = reply.indexOf(' ');
    const status = sp < 0 ? reply : reply.slice(0, sp);
    let payload = sp < 0 ? undefined : reply.slice(sp + 1);
    if (status === 'OK') return payload;
    if (status === 'NOTFOUND') return undefined;
    let errorClass: string;
    let kind: 'retry' | 'config' = 'retry';
    if (status === 'TEMP') errorClass = 'temporary';
    else if (status === 'TIMEOUT') errorClass = 'timeout';
    else if (status === 'PERM') {
      errorClass = 'permanent';
      kind = 'config';
    } else errorClass = 'unknown';
    if (payload !== undefined) payload = payload.replace(/^[ \t\n\v\f\r]+/, '');
    const detail = payload ? `: ${printableAscii(payload, '?').slice(0, 200)}` : '';
    warn(`${table} socketmap server ${errorClass} error${detail}`);
    throw new DictError(kind, table, `socketmap server ${errorClass} error${detail}`);
  }

  async close(): Promise<void> {
    if (--this.client.refcount === 0) {
      this.client.recover();
      clients.delete(this.client.service);
    }
  }
}

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const table = `${type}:${name}`;
  if (opts.mode !== 'read') throw new DictError('config', table, `${type}:${name} map requires O_RDONLY access mode`);
  if (opts.dictFlags & DictFlag.NO_UNAUTH)
    throw new DictError('config', table, `${type}:${name} map is not allowed for security-sensitive data`);
  const colon = name.lastIndexOf(':');
  if (colon < 0) throw new DictError('config', table, `${type} requires server:socketmap argument`);
  const service = name.slice(0, colon);
  const sockmapName = name.slice(colon + 1);
  let client = clients.get(service);
  if (client !== undefined) client.refcount++;
  else {
    // auto_clnt_create(): "transport:endpoint".
    const sep = service.indexOf(':');
    const transport = sep < 0 ? '' : service.slice(0, sep);
    const endpoint = sep < 0 ? '' : service.slice(sep + 1);
    if (sep < 0 || endpoint === '' || transport === '')
      fatal(`need service transport:endpoint instead of "${service}"`);
    if (transport !== 'inet' && transport !== 'unix' && transport !== 'local')
      fatal(`invalid transport name: ${transport} in service: ${service}`);
    client = new SockmapClient(service, transport === 'inet' ? 'inet' : 'unix', endpoint, { ...socketmapTuning });
    clients.set(service, client);
  }
  return new SockmapTable(type, name, opts.dictFlags | DictFlag.PATTERN, sockmapName, client, { ...socketmapTuning });
}
