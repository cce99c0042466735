/**
 * milter/protocol.ts: the Sendmail 8 milter wire protocol, versions 2..6, as
 * Postfix's milter8.c speaks it: command/reply codes, option bits, packet
 * framing (4-byte big-endian length, 1-byte command, data) and a packet
 * reader with per-read timeouts.
 *
 * Data items are NUL-terminated strings, 32-bit network longs, 16-bit
 * network shorts and single octets; there is no escaping.
 */
import type { Socket } from 'node:net';

/** Commands from MTA to filter (SMFIC_*). */
export const SMFIC = {
  ABORT: 0x41, // 'A'
  BODY: 0x42, // 'B'
  CONNECT: 0x43, // 'C'
  MACRO: 0x44, // 'D'
  BODYEOB: 0x45, // 'E'
  HELO: 0x48, // 'H'
  HEADER: 0x4c, // 'L'
  MAIL: 0x4d, // 'M'
  EOH: 0x4e, // 'N'
  OPTNEG: 0x4f, // 'O'
  QUIT: 0x51, // 'Q'
  RCPT: 0x52, // 'R'
  DATA: 0x54, // 'T'
  UNKNOWN: 0x55, // 'U'
  QUIT_NC: 0x4b, // 'K'
} as const;

/** Replies from filter to MTA (SMFIR_*). */
export const SMFIR = {
  ADDRCPT: 0x2b, // '+'
  DELRCPT: 0x2d, // '-'
  ACCEPT: 0x61, // 'a'
  REPLBODY: 0x62, // 'b'
  CONTINUE: 0x63, // 'c'
  DISCARD: 0x64, // 'd'
  CONN_FAIL: 0x66, // 'f'
  CHGHEADER: 0x6d, // 'm'
  PROGRESS: 0x70, // 'p'
  REJECT: 0x72, // 'r'
  TEMPFAIL: 0x74, // 't'
  SHUTDOWN: 0x34, // '4'
  ADDHEADER: 0x68, // 'h'
  INSHEADER: 0x69, // 'i'
  REPLYCODE: 0x79, // 'y'
  QUARANTINE: 0x71, // 'q'
  SKIP: 0x73, // 's'
  CHGFROM: 0x65, // 'e'
  ADDRCPT_PAR: 0x32, // '2'
  SETSYMLIST: 0x6c, // 'l'
} as const;

/** Event names for log lines (milter8.c smfic_table / smfir_table). */
export const SMFIC_NAME: Record<number, string> = Object.fromEntries(Object.entries(SMFIC).map(([k, v]) => [v, `SMFIC_${k}`]));
export const SMFIR_NAME: Record<number, string> = Object.fromEntries(Object.entries(SMFIR).map(([k, v]) => [v, `SMFIR_${k}`]));

/** Protocol bits (SMFIP_*): events the filter does not want, replies it will not send. */
export const SMFIP = {
  NOCONNECT: 1 << 0,
  NOHELO: 1 << 1,
  NOMAIL: 1 << 2,
  NORCPT: 1 << 3,
  NOBODY: 1 << 4,
  NOHDRS: 1 << 5,
  NOEOH: 1 << 6,
  NR_HDR: 1 << 7,
  NOUNKNOWN: 1 << 8,
  NODATA: 1 << 9,
  SKIP: 1 << 10,
  RCPT_REJ: 1 << 11,
  NR_CONN: 1 << 12,
  NR_HELO: 1 << 13,
  NR_MAIL: 1 << 14,
  NR_RCPT: 1 << 15,
  NR_DATA: 1 << 16,
  NR_UNKN: 1 << 17,
  NR_EOH: 1 << 18,
  NR_BODY: 1 << 19,
  HDR_LEADSPC: 1 << 20,
} as const;

export const SMFIP_NOSEND_MASK =
  SMFIP.NOCONNECT | SMFIP.NOHELO | SMFIP.NOMAIL | SMFIP.NORCPT | SMFIP.NOBODY | SMFIP.NOHDRS | SMFIP.NOEOH | SMFIP.NOUNKNOWN | SMFIP.NODATA;
export const SMFIP_NOREPLY_MASK =
  SMFIP.NR_CONN | SMFIP.NR_HELO | SMFIP.NR_MAIL | SMFIP.NR_RCPT | SMFIP.NR_DATA | SMFIP.NR_UNKN | SMFIP.NR_HDR | SMFIP.NR_EOH | SMFIP.NR_BODY;

/** Actions the filter may request (SMFIF_*). */
export const SMFIF = {
  ADDHDRS: 1 << 0,
  CHGBODY: 1 << 1,
  ADDRCPT: 1 << 2,
  DELRCPT: 1 << 3,
  CHGHDRS: 1 << 4,
  QUARANTINE: 1 << 5,
  CHGFROM: 1 << 6,
  ADDRCPT_PAR: 1 << 7,
  SETSYMLIST: 1 << 8,
} as const;

/** Everything Postfix lets a filter do (milter8_connect my_actions). */
export const MY_ACTIONS =
  SMFIF.ADDHDRS | SMFIF.ADDRCPT | SMFIF.DELRCPT | SMFIF.CHGHDRS | SMFIF.CHGBODY | SMFIF.QUARANTINE | SMFIF.CHGFROM | SMFIF.ADDRCPT_PAR | SMFIF.SETSYMLIST;

/** Events offered per protocol version (milter8.c MILTER8_V*_PROTO_MASK). */
const V2 = SMFIP.NOCONNECT | SMFIP.NOHELO | SMFIP.NOMAIL | SMFIP.NORCPT | SMFIP.NOBODY | SMFIP.NOHDRS | SMFIP.NOEOH;
const V3 = V2 | SMFIP.NOUNKNOWN;
const V4 = V3 | SMFIP.NODATA;
const V6 = V4 | SMFIP.SKIP | SMFIP.RCPT_REJ | SMFIP_NOREPLY_MASK | SMFIP.HDR_LEADSPC;

/** milter8_event_masks, in reverse numerical order (the fallback search relies on it). */
export const EVENT_MASKS: ReadonlyArray<[string, number]> = [
  ['6', V6],
  ['4', V4],
  ['3', V3],
  ['2', V2],
  ['no_header_reply', SMFIP.NR_HDR],
];
export const VERSIONS: Record<string, number> = { '2': 2, '3': 3, '4': 4, '6': 6, no_header_reply: 0 };

/** Address families in SMFIC_CONNECT (SMFIA_*). */
export const SMFIA = { UNKNOWN: 0x55, UNIX: 0x4c, INET: 0x34, INET6: 0x36 } as const;

/** Macro classes in the SMFIR_OPTNEG symbol lists (SMFIM_*) and the stage each overrides. */
export const SMFIM_STAGE = ['conn', 'helo', 'mail', 'rcpt', 'data', 'eod', 'eoh'] as const;

/** Largest body chunk (MILTER_CHUNK_SIZE). */
export const CHUNK_SIZE = 65535;
/** Largest reply packet accepted (XXX_MAX_DATA = INT_MAX / 2). */
export const MAX_DATA = 0x3fffffff;

// --- encoding ---

export type DataItem = { s: string | Buffer } | { l: number } | { n: number } | { o: number } | { argv: readonly string[] } | { buf: Buffer };

export const str = (s: string | Buffer): DataItem => ({ s });
export const long = (l: number): DataItem => ({ l });
export const nshort = (n: number): DataItem => ({ n });
export const octet = (o: number): DataItem => ({ o });
export const argv = (a: readonly string[]): DataItem => ({ argv: a });
export const raw = (buf: Buffer): DataItem => ({ buf });

const latin1 = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
const NUL = Buffer.from([0]);

/** One packet: length, command, data items. */
export function encodePacket(cmd: number, items: readonly DataItem[] = []): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    if ('s' in it) parts.push(latin1(it.s), NUL);
    else if ('l' in it) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(it.l >>> 0);
      parts.push(b);
    } else if ('n' in it) {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(it.n & 0xffff);
      parts.push(b);
    } else if ('o' in it) parts.push(Buffer.from([it.o & 0xff]));
    else if ('argv' in it) for (const a of it.argv) parts.push(latin1(a), NUL);
    else parts.push(it.buf);
  }
  const data = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.length + 1);
  head[4] = cmd;
  return Buffer.concat([head, data]);
}

// --- decoding ---

/** Why a read failed: the words milter8.c logs with it. */
export class MilterIoError extends Error {
  constructor(
    readonly kind: 'eof' | 'timeout' | 'error',
    message: string,
  ) {
    super(message);
  }
}

/** Reads one data item after another from a reply packet body. */
export class DataCursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get left(): number {
    return this.buf.length - this.pos;
  }
  long(): number | undefined {
    if (this.left < 4) return undefined;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** A NUL-terminated string; undefined when the terminator is missing. */
  string(): string | undefined {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) return undefined;
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  rest(): Buffer {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }
}

/** Packet reader over a socket: buffers input, hands out whole packets. */
export class PacketReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.failure = e;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have -= n;
    return out;
  }

  /** Wait until n bytes are buffered; rejects on EOF, error or timeout (seconds). */
  async need(n: number, timeout: number, deadline: number): Promise<Buffer> {
    while (this.have < n) {
      if (this.failure) throw new MilterIoError('error', this.failure.message);
      // What Postfix's %m shows after EOF on the milter socket (real log).
      if (this.ended) throw new MilterIoError('eof', 'Application error');
      const left = deadline - Date.now();
      if (left <= 0) throw new MilterIoError('timeout', 'Connection timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    void timeout;
    return this.take(n);
  }
}
