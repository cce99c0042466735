/**
 * test/helpers/fake-milter.ts: a scriptable mail filter that speaks the
 * Sendmail milter protocol on a loopback TCP port (or a unix socket), for
 * transcript and differential tests. It records every packet the MTA sends
 * it, decoded to one readable line each, and answers per event with the
 * packets the test scripted (default: SMFIR_CONTINUE).
 *
 *   const m = await startFakeMilter({ replies: { R: [rej()], E: [addHeader('X-A', 'b'), cont()] } });
 *   ... smtpd_milters = inet:127.0.0.1:${m.port}
 *   m.received  // ['O 6 0x1ff 0x1fffff', 'D C j=host {daemon_name}=...', 'C host 4 1234 127.0.0.1', ...]
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface Packet {
  cmd: string;
  data?: Buffer;
}

export type ReplyScript = (event: string, fields: string[], conn: number) => Packet[] | 'hang' | 'close' | undefined;

export interface FakeMilterOptions {
  /** Negotiation answer: protocol version, actions and event mask (default: 6, all actions offered, 0). */
  version?: number;
  actions?: number;
  protocol?: number;
  /** Symbol lists sent with OPTNEG: [SMFIM class, "names"]. */
  symlists?: Array<[number, string]>;
  /** Reply packets per event letter (C H M R T L N B E U); a function for per-call scripts. */
  replies?: Partial<Record<string, Packet[] | 'hang' | 'close'>> | ReplyScript;
  unixPath?: string;
}

export interface FakeMilter {
  port: number;
  /** Decoded packets in arrival order (all connections), one line each. */
  received: string[];
  /** Number of connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

const NUL = Buffer.from([0]);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const z = (s: string): Buffer => Buffer.concat([b(s), NUL]);
const u32 = (n: number): Buffer => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(n >>> 0);
  return x;
};

// Reply builders.
export const cont = (): Packet => ({ cmd: 'c' });
export const accept = (): Packet => ({ cmd: 'a' });
export const reject = (): Packet => ({ cmd: 'r' });
export const tempfail = (): Packet => ({ cmd: 't' });
export const discard = (): Packet => ({ cmd: 'd' });
export const skip = (): Packet => ({ cmd: 's' });
export const progress = (): Packet => ({ cmd: 'p' });
export const shutdown = (): Packet => ({ cmd: '4' });
export const replycode = (text: string): Packet => ({ cmd: 'y', data: z(text) });
export const quarantine = (reason: string): Packet => ({ cmd: 'q', data: z(reason) });
export const addHeader = (name: string, value: string): Packet => ({ cmd: 'h', data: Buffer.concat([z(name), z(value)]) });
export const insHeader = (index: number, name: string, value: string): Packet => ({
  cmd: 'i',
  data: Buffer.concat([u32(index), z(name), z(value)]),
});
export const chgHeader = (index: number, name: string, value: string): Packet => ({
  cmd: 'm',
  data: Buffer.concat([u32(index), z(name), z(value)]),
});
export const addRcpt = (rcpt: string): Packet => ({ cmd: '+', data: z(rcpt) });
export const addRcptPar = (rcpt: string, args?: string): Packet => ({ cmd: '2', data: Buffer.concat([z(rcpt), ...(args !== undefined ? [z(args)] : [])]) });
export const delRcpt = (rcpt: string): Packet => ({ cmd: '-', data: z(rcpt) });
export const chgFrom = (from: string, args?: string): Packet => ({ cmd: 'e', data: Buffer.concat([z(from), ...(args !== undefined ? [z(args)] : [])]) });
export const replBody = (body: string): Packet => ({ cmd: 'b', data: b(body) });
export const rawPacket = (cmd: string, data: Buffer): Packet => ({ cmd, data });

function encode(p: Packet): Buffer {
  const data = p.data ?? Buffer.alloc(0);
  return Buffer.concat([u32(data.length + 1), b(p.cmd), data]);
}

/** Split NUL-terminated strings. */
function strings(buf: Buffer): string[] {
  const out = buf.toString('latin1').split('\0');
  if (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** One received packet as a line: letter, then decoded fields. */
function decode(cmd: string, data: Buffer): { line: string; fields: string[] } {
  let fields: string[];
  switch (cmd) {
    case 'O':
      fields = [String(data.readUInt32BE(0)), `0x${data.readUInt32BE(4).toString(16)}`, `0x${data.readUInt32BE(8).toString(16)}`];
      break;
    case 'D': {
      const s = strings(data.subarray(1));
      const pairs: string[] = [];
      for (let i = 0; i + 1 < s.length; i += 2) pairs.push(`${s[i]}=${s[i + 1]}`);
      fields = [String.fromCharCode(data[0]), ...pairs];
      break;
    }
    case 'C': {
      const s0 = data.indexOf(0);
      const host = data.toString('latin1', 0, s0);
      const fam = String.fromCharCode(data[s0 + 1]);
      if (fam === 'U') {
        fields = [host, fam];
      } else {
        const port = data.readUInt16BE(s0 + 2);
        fields = [host, fam, String(port), ...strings(data.subarray(s0 + 4))];
      }
      break;
    }
    case 'B':
      fields = [JSON.stringify(data.toString('latin1'))];
      break;
    default:
      fields = strings(data);
  }
  return { line: [cmd, ...fields].join(' '), fields };
}

export async function startFakeMilter(opts: FakeMilterOptions = {}): Promise<FakeMilter> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const answer = (event: string, fields: string[], conn: number): Packet[] | 'hang' | 'close' | undefined => {
    const r = opts.replies;
    if (typeof r === 'function') return r(event, fields, conn);
    return r?.[event];
  };
  const server: Server = createServer((sock) => {
    const conn = connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        const cmd = String.fromCharCode(buf[4]);
        const data = buf.subarray(5, 4 + len);
        buf = buf.subarray(4 + len);
        const { line, fields } = decode(cmd, data);
        received.push(line);
        if (cmd === 'O') {
          const version = opts.version ?? 6;
          const actions = opts.actions ?? data.readUInt32BE(4);
          const protocol = opts.protocol ?? 0;
          const sym = (opts.symlists ?? []).map(([cls, names]) => Buffer.concat([u32(cls), z(names)]));
          sock.write(encode({ cmd: 'O', data: Buffer.concat([u32(version), u32(actions), u32(protocol), ...sym]) }));
          continue;
        }
        if (cmd === 'D' || cmd === 'A') continue;
        if (cmd === 'Q') {
          sock.end();
          continue;
        }
        const r = answer(cmd, fields, conn);
        if (r === 'hang') continue;
        if (r === 'close') {
          sock.destroy();
          return;
        }
        // Events the MTA asked no reply for are listed by the test itself (protocol mask).
        const noReply = (opts.protocol ?? 0) & NO_REPLY_BIT[cmd];
        if (noReply) continue;
        for (const p of r ?? [cont()]) sock.write(encode(p));
      }
    });
  });
  if (opts.unixPath) {
    await new Promise<void>((res) => server.listen(opts.unixPath, res));
  } else {
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  }
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    received,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** SMFIP_NR_* bit per event letter. */
const NO_REPLY_BIT: Record<string, number> = {
  C: 1 << 12,
  H: 1 << 13,
  M: 1 << 14,
  R: 1 << 15,
  T: 1 << 16,
  U: 1 << 17,
  L: 1 << 7,
  N: 1 << 18,
  B: 1 << 19,
};
