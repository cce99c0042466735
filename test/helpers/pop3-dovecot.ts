/**
 * test/helpers/pop3-dovecot.ts: POP3 test rigs. The same dovecot.conf
 * template (fixtures/pop3/dovecot.conf.in) serves a real Dovecot 2.3 POP3
 * (pop3-login + pop3) and Postern's (startPop3 with Postern's auth service
 * on login/login and auth-userdb), each with its own base_dir and its own
 * copy of the fixture Maildirs (fixtures/pop3/mail, written by a real
 * Dovecot), so a script's replies and the Maildirs after it can be compared.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { chownSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAuthService } from '../../src/auth/service.js';
import { startPop3 } from '../../src/pop3/server.js';
import { startRealDovecot } from './dovecot-server.js';
import { freePort, LMTP_FIXTURES } from './lmtp-dovecot.js';

export const POP3_FIXTURES = resolve(import.meta.dirname, '../../../fixtures/pop3');

/** Copy the fixture Maildirs under dir/mail, owned by the mail user (5000), with cur/new/tmp present. */
/** 23-Nov-2026 22:54:22 +0000. */
const FIXTURE_MTIME = new Date(Date.UTC(2026, 10, 23, 22, 54, 22));

export function seedMail(dir: string): void {
  const root = join(dir, 'mail');
  mkdirSync(root, { recursive: true });
  cpSync(join(POP3_FIXTURES, 'mail'), root, { recursive: true, preserveTimestamps: true });
  const walk = (p: string) => {
    if (process.getuid?.() === 0) chownSync(p, 5000, 5000);
    if (!statSync(p).isDirectory()) {
      // INTERNALDATE is the file's mtime: pin it (a fresh checkout would give the clone's time) to the
      // time the recorded IMAP transcripts (fixtures/imap/*.expected) show.
      if (/\/(cur|new)\/[^/]+$/.test(p)) utimesSync(p, FIXTURE_MTIME, FIXTURE_MTIME);
      return;
    }
    if (p.endsWith('/Maildir')) for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(p, d), { recursive: true });
    for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(root);
}

/** Write the config + users for one side under `dir`; returns the dovecot.conf path. */
export function writePop3Config(dir: string, port: number, extra = ''): string {
  const inst = `pop3test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const fill = (s: string) =>
    s.replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)).replaceAll('@INSTANCE@', inst).replaceAll('@FIX@', LMTP_FIXTURES);
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, fill(readFileSync(join(POP3_FIXTURES, 'dovecot.conf.in'), 'utf8') + extra));
  writeFileSync(join(dir, 'users'), fill(readFileSync(join(POP3_FIXTURES, 'users'), 'utf8')));
  return conf;
}

export interface Pop3Side {
  name: 'real' | 'ours';
  dir: string;
  port: number;
  mailRoot: string;
  stop(): Promise<void>;
  log(): string;
}

export async function startRealPop3(dir: string, extra = ''): Promise<Pop3Side> {
  const port = await freePort();
  seedMail(dir);
  const conf = writePop3Config(dir, port, extra);
  const dv = await startRealDovecot(conf, join(dir, 'base'), join(dir, 'dovecot.log'), 'login/login');
  return { name: 'real', dir, port, mailRoot: join(dir, 'mail'), stop: () => dv.stop(), log: () => dv.log() };
}

export async function startOursPop3(dir: string, extra = ''): Promise<Pop3Side> {
  seedMail(dir);
  const conf = writePop3Config(dir, 0, extra);
  mkdirSync(join(dir, 'base'), { recursive: true });
  const auth = await startAuthService({ configPath: conf, only: ['login/login', 'auth-userdb'], log: () => {} });
  const lines: string[] = [];
  const srv = await startPop3({
    configPath: conf,
    port: 0,
    log: (level, prefix, text) => lines.push(`${prefix}${level[0]?.toUpperCase()}${level.slice(1)}: ${text}`),
  });
  return {
    name: 'ours',
    dir,
    port: srv.port,
    mailRoot: join(dir, 'mail'),
    stop: async () => {
      await srv.close();
      await auth.close();
    },
    log: () => lines.join('\n'),
  };
}

/** Log lines of the POP3 processes, per-run values masked (pids, session ids, times). */
export function pop3LogLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /pop3(-login)?[:(]/.test(l))
    .map((l) =>
      l
        .replace(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d /, '')
        .replace(/mpid=\d+/, 'mpid=<pid>')
        .replace(/<\d+><[^>]*>/, '<pid><session>')
        .replace(/session=<[^>]*>/, 'session=<id>')
        .replace(/in \d+ secs/, 'in <n> secs'),
    );
}

/** Hide per-run reply values: CRAM-MD5 challenges (they hold a random part, the pid and the time). */
export function maskPop3(lines: string[]): string[] {
  return lines.map((l) => (/^\+ [A-Za-z0-9+/]{24,}={0,2}$/.test(l) ? '+ <challenge>' : l));
}

/** A small POP3 client for tests that hold several sessions open: one reply line per command (multi-line ones to "."). */
export async function pop3Client(
  port: number,
): Promise<{ greeting: string; cmd(line: string, multi?: boolean): Promise<string[]>; send(line: string): void; read(): Promise<string>; close(): void }> {
  const { connect } = await import('node:net');
  const sock = connect(port, '127.0.0.1');
  const lines: string[] = [];
  let buf = '';
  let closed = false;
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
  });
  sock.on('close', () => {
    closed = true;
  });
  sock.on('error', () => {
    closed = true;
  });
  const next = async (): Promise<string> => {
    const end = Date.now() + 15000;
    while (!lines.length && !closed && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return lines.shift() ?? '<closed>';
  };
  const greeting = await next();
  return {
    greeting,
    async cmd(line, multi = false) {
      sock.write(`${line}\r\n`, 'latin1');
      const out = [await next()];
      if (multi && out[0]?.startsWith('+OK')) for (let l = await next(); ; l = await next()) {
        out.push(l);
        if (l === '.' || l === '<closed>') break;
      }
      return out;
    },
    send: (line) => sock.write(`${line}\r\n`, 'latin1'),
    read: next,
    close: () => sock.destroy(),
  };
}

/**
 * Sessions A, B, C of one user: B logs in while A holds the mailbox, A
 * QUITs, then C logs in while B is still there. The replies, in order.
 */
export async function threeSessions(side: Pop3Side): Promise<string[]> {
  const out: string[] = [];
  const a = await pop3Client(side.port);
  out.push(...(await a.cmd('USER bob@example.test')), ...(await a.cmd('PASS bob-pass')));
  const b = await pop3Client(side.port);
  out.push(b.greeting, ...(await b.cmd('USER bob@example.test')));
  // B's login is under way while A still holds the mailbox; then A leaves
  b.send('PASS bob-pass');
  await new Promise((r) => setTimeout(r, 500));
  out.push(...(await a.cmd('STAT')), ...(await a.cmd('QUIT')));
  out.push(await b.read(), ...(await b.cmd('STAT')));
  await new Promise((r) => setTimeout(r, 200));
  // after the first session is gone the user can log in again
  const c = await pop3Client(side.port);
  out.push(...(await c.cmd('USER bob@example.test')), ...(await c.cmd('PASS bob-pass')), ...(await c.cmd('QUIT')));
  a.close();
  b.close();
  c.close();
  await new Promise((r) => setTimeout(r, 200));
  return out;
}
