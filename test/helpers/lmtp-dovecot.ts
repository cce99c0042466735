/**
 * test/helpers/lmtp-dovecot.ts: LMTP test rigs. The same dovecot.conf
 * template (fixtures/lmtp/dovecot.conf.in, @DIR@ and @PORT@ filled in per
 * side) serves a real Dovecot 2.3 LMTP and Postern's (with Postern's auth
 * service on auth-userdb), each with its own base_dir and mail root, and a
 * transcript runner plays fixtures/lmtp/*.lmtp scripts against either.
 *
 * Script format: "C: text" lines are sent (with CRLF), "C~: text" is sent
 * raw with \r \n \\ escapes; consecutive C lines go out together, then the
 * following "S: …" lines say how many reply lines to read. `# …` lines
 * are comments; "S: <closed>" expects the server to hang up.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join, resolve } from 'node:path';
import { startAuthService, type AuthService } from '../../src/auth/service.js';
import { startLmtp, type LmtpServer } from '../../src/lmtp/server.js';
import { type RealDovecot, startRealDovecot } from './dovecot-server.js';

export const LMTP_FIXTURES = resolve(import.meta.dirname, '../../../fixtures/lmtp');

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** Write the config + users for one side under `dir`; returns the dovecot.conf path. */
export function writeLmtpConfig(dir: string, port: number, extra = '', template = 'dovecot.conf.in'): string {
  mkdirSync(join(dir, 'mail'), { recursive: true });
  // the real Dovecot's auth runs as the dovecot user and must reach the users file
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) chownSync(join(dir, 'mail'), 5000, 5000);
  const inst = `lmtptest-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const fill = (s: string) =>
    s.replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)).replaceAll('@INSTANCE@', inst).replaceAll('@FIX@', LMTP_FIXTURES);
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, fill(readFileSync(join(LMTP_FIXTURES, template), 'utf8') + extra));
  writeFileSync(join(dir, 'users'), fill(readFileSync(join(LMTP_FIXTURES, 'users'), 'utf8')));
  return conf;
}

export interface LmtpSide {
  name: 'real' | 'ours';
  dir: string;
  port: number;
  socketPath: string;
  mailRoot: string;
  stop(): Promise<void>;
  log(): string;
}

export async function startRealLmtp(dir: string, extra = ''): Promise<LmtpSide> {
  const port = await freePort();
  const conf = writeLmtpConfig(dir, port, extra);
  const dv: RealDovecot = await startRealDovecot(conf, join(dir, 'base'), join(dir, 'dovecot.log'), 'lmtp-test');
  return {
    name: 'real',
    dir,
    port,
    socketPath: join(dir, 'base', 'lmtp-test'),
    mailRoot: join(dir, 'mail'),
    stop: () => dv.stop(),
    log: () => dv.log(),
  };
}

export async function startOursLmtp(dir: string, extra = ''): Promise<LmtpSide> {
  const conf = writeLmtpConfig(dir, 0, extra);
  mkdirSync(join(dir, 'base'), { recursive: true });
  const auth: AuthService = await startAuthService({ configPath: conf, only: ['auth-userdb'], log: () => {} });
  const lines: string[] = [];
  const socketPath = join(dir, 'base', 'lmtp-test');
  const srv: LmtpServer = await startLmtp({
    configPath: conf,
    port: 0,
    socketPath,
    log: (level, prefix, text) => lines.push(`${prefix}${level[0]!.toUpperCase()}${level.slice(1)}: ${text}`),
  });
  return {
    name: 'ours',
    dir,
    port: srv.port as number,
    socketPath,
    mailRoot: join(dir, 'mail'),
    stop: async () => {
      await srv.close();
      await auth.close();
    },
    log: () => lines.join('\n'),
  };
}

export interface Step {
  send: string;
  expect: number;
  expectLines: string[];
  /** "T: starttls": switch the client to TLS before sending this step. */
  starttls?: boolean;
}

/** Parse a .lmtp script into send/expect steps. */
export function parseScript(text: string): Step[] {
  const steps: Step[] = [];
  let cur: Step | undefined;
  const unesc = (raw: string) =>
    raw.replace(/\\(r|n|\\|t|x[0-9a-fA-F]{2})/g, (_, c: string) =>
      c === 'r' ? '\r' : c === 'n' ? '\n' : c === 't' ? '\t' : c[0] === 'x' ? String.fromCharCode(Number.parseInt(c.slice(1), 16)) : '\\',
    );
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line === 'T: starttls') {
      cur = { send: '', expect: 0, expectLines: [], starttls: true };
      steps.push(cur);
      continue;
    }
    if (line.startsWith('C: ') || line === 'C:' || line.startsWith('C~: ')) {
      const data = line.startsWith('C~: ') ? unesc(line.slice(4)) : `${line.slice(3)}\r\n`;
      if (!cur || cur.expect > 0) {
        cur = { send: '', expect: 0, expectLines: [] };
        steps.push(cur);
      }
      cur.send += data;
    } else if (line.startsWith('S: ') || line === 'S:') {
      if (!cur) {
        cur = { send: '', expect: 0, expectLines: [] };
        steps.push(cur);
      }
      cur.expect++;
      cur.expectLines.push(line.slice(3));
    } else {
      throw new Error(`bad script line: ${line}`);
    }
  }
  return steps;
}

/** Run a script; returns the reply lines as received (masked), "<closed>" when the server hung up. */
export async function runScript(target: { port?: number; socketPath?: string; localAddress?: string }, steps: Step[], timeoutMs = 8000): Promise<string[]> {
  let sock: Socket = target.socketPath
    ? connect(target.socketPath)
    : connect({ port: target.port as number, host: '127.0.0.1', ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  const lines: string[] = [];
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  const onData = (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  };
  const onEnd = () => {
    closed = true;
    wake?.();
  };
  const listen = (s: Socket) => {
    s.setEncoding('latin1');
    s.on('data', onData);
    s.on('close', onEnd);
    s.on('error', onEnd);
  };
  listen(sock);
  await new Promise<void>((r) => {
    sock.once('connect', () => r());
    sock.once('error', () => r());
  });
  let want = 0;
  for (const st of steps) {
    if (st.starttls && !closed) {
      const raw = sock;
      raw.removeAllListeners('data');
      raw.removeAllListeners('close');
      raw.removeAllListeners('error');
      sock = await new Promise<Socket>((res) => {
        const t = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => res(t as unknown as Socket));
        t.once('error', () => {
          closed = true;
          res(t as unknown as Socket);
        });
      });
      listen(sock);
    }
    if (st.send && !closed) sock.write(st.send, 'latin1');
    want += st.expect;
    const end = Date.now() + timeoutMs;
    while (lines.length < want && !closed && Date.now() < end) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    if (closed) break;
  }
  // anything else that arrives right away (an unexpected extra reply)
  await new Promise((r) => setTimeout(r, 60));
  sock.destroy();
  const out = lines.map(maskLine);
  return closed ? [...out, '<closed>'] : out;
}

/** Hide per-run values: session ids, dates, pids. */
export function maskLine(l: string): string {
  return l.replace(/(^|[ <])[A-Za-z0-9+/]{22}((?::[TR]\d+)*)(?=[ >]|$)/g, '$1<SID>$2');
}

/** Expected lines of a script, in order. */
export const expectedLines = (steps: Step[]): string[] => steps.flatMap((s) => s.expectLines);
