/**
 * test/helpers/mock-dns.ts: a tiny authoritative DNS server on UDP for
 * tests (RFC 1035 §4): answers A and TXT questions from a zone given as
 * data, NXDOMAIN for names it does not know, NOERROR/no data for a known
 * name without records of the asked type, SERVFAIL for names marked so.
 * Postern is pointed at it with POSTERN_DNS_SERVERS (or createResolver);
 * a real Postfix through a private /etc/resolv.conf (withResolvConf).
 */
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';

export interface ZoneEntry {
  a?: string[];
  txt?: string[];
  servfail?: boolean;
}

export interface MockDns {
  host: string;
  port: number;
  /** Questions received, "name TYPE" in arrival order. */
  queries: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_TXT = 16;
const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA' };

function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let p = off;
  while (p < buf.length) {
    const len = buf[p]!;
    if (len === 0) return { name: labels.join('.'), end: p + 1 };
    labels.push(buf.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  throw new Error('truncated name');
}

function rr(type: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // name: pointer to the question
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function txtRdata(text: string): Buffer {
  const parts: Buffer[] = [];
  const b = Buffer.from(text, 'utf8');
  for (let i = 0; i < b.length || i === 0; i += 255) {
    const chunk = b.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (b.length === 0) break;
  }
  return Buffer.concat(parts);
}

export function answer(query: Buffer, zone: Record<string, ZoneEntry>, log: string[]): Buffer | undefined {
  if (query.length < 12) return undefined;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  if (flags & 0x8000 || query.readUInt16BE(4) !== 1) return undefined;
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  log.push(`${name.toLowerCase()} ${TYPE_NAMES[qtype] ?? qtype}`);
  const entry = zone[name.toLowerCase()];
  let rcode = 0;
  const answers: Buffer[] = [];
  if (!entry) rcode = 3;
  else if (entry.servfail) rcode = 2;
  else if (qtype === TYPE_A) for (const a of entry.a ?? []) answers.push(rr(TYPE_A, 60, Buffer.from(a.split('.').map(Number))));
  else if (qtype === TYPE_TXT) for (const t of entry.txt ?? []) answers.push(rr(TYPE_TXT, 60, txtRdata(t)));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  // QR, AA, RD copied, RA; rcode.
  head.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  return Buffer.concat([head, question, ...answers]);
}

/** Start on `host` (default 127.0.0.1) and a random port, or port 53 for a resolv.conf. */
export function startMockDns(zone: Record<string, ZoneEntry>, host = '127.0.0.1', port = 0): Promise<MockDns> {
  const queries: string[] = [];
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      const reply = answer(msg, zone, queries);
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    } catch {
      /* malformed query: no answer */
    }
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      resolve({
        host,
        port: sock.address().port,
        queries,
        close: () => new Promise<void>((r) => sock.close(() => r())),
      });
    });
  });
}

/** Can this process run a command with its own /etc/resolv.conf (a private mount namespace)? */
export function privateResolvConfWorks(): boolean {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null /etc/resolv.conf'], { encoding: 'utf8' });
  return r.status === 0;
}

/** argv that runs `argv` with `resolvConf` bind-mounted over /etc/resolv.conf in a private mount namespace. */
export function withResolvConf(resolvConf: string, argv: string[]): string[] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['unshare', '-m', 'sh', '-c', `mount --bind '${resolvConf}' /etc/resolv.conf && exec ${quoted}`];
}
