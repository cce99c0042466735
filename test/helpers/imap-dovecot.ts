/**
 * test/helpers/imap-dovecot.ts: IMAP test rigs. The same dovecot.conf
 * template (fixtures/imap/dovecot.conf.in, protocols = imap) serves a real
 * Dovecot 2.3 (imap-login + imap) and Postern's (startImap with Postern's
 * auth service on login/login and auth-userdb), each with its own base_dir
 * and its own copy of the fixture Maildirs (the POP3 fixtures' mail tree,
 * written by a real Dovecot). `imapChat` plays client lines and collects
 * the server's lines, waiting for each command's tagged reply.
 */
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { startAuthService } from '../../src/auth/service.js';
import { startImap } from '../../src/imap/server.js';
import { startRealDovecot } from './dovecot-server.js';
import { freePort } from './lmtp-dovecot.js';
import { seedMail } from './pop3-dovecot.js';

export const IMAP_FIXTURES = resolve(import.meta.dirname, '../../../fixtures/imap');

export function writeImapConfig(dir: string, port: number, extra = ''): string {
  const inst = `imaptest-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const fill = (s: string) => s.replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)).replaceAll('@INSTANCE@', inst);
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, fill(readFileSync(join(IMAP_FIXTURES, 'dovecot.conf.in'), 'utf8')) + extra);
  writeFileSync(join(dir, 'users'), fill(readFileSync(join(IMAP_FIXTURES, '../pop3/users'), 'utf8')));
  return conf;
}

export interface ImapSide {
  name: 'real' | 'ours';
  dir: string;
  port: number;
  mailRoot: string;
  /** The server's (master's) process id. */
  pid: number;
  stop(): Promise<void>;
  log(): string;
}

export async function startRealImap(dir: string, extra = ''): Promise<ImapSide> {
  const port = await freePort();
  seedMail(dir);
  const conf = writeImapConfig(dir, port, extra);
  const dv = await startRealDovecot(conf, join(dir, 'base'), join(dir, 'dovecot.log'), 'login/login');
  return { name: 'real', dir, port, mailRoot: join(dir, 'mail'), pid: dv.proc.pid ?? 0, stop: () => dv.stop(), log: () => dv.log() };
}

export async function startOursImap(dir: string, extra = ''): Promise<ImapSide> {
  seedMail(dir);
  const conf = writeImapConfig(dir, 0, extra);
  mkdirSync(join(dir, 'base'), { recursive: true });
  const auth = await startAuthService({ configPath: conf, only: ['login/login', 'auth-userdb'], log: () => {} });
  const lines: string[] = [];
  const srv = await startImap({
    configPath: conf,
    port: 0,
    log: (level, prefix, text) => lines.push(`${prefix}${level[0]?.toUpperCase()}${level.slice(1)}: ${text}`),
  });
  return {
    name: 'ours',
    dir,
    port: srv.port,
    mailRoot: join(dir, 'mail'),
    pid: process.pid,
    stop: async () => {
      await srv.close();
      await auth.close();
    },
    log: () => lines.join('\n'),
  };
}

/**
 * Send `lines` one at a time; after each, wait for the line's tagged reply
 * (a line starting with its tag), a continuation ("+ ...") or the close.
 * Lines given as { raw } are sent without waiting (literal data, DONE…).
 * Returns every server line (without CRLF), "<closed>" when it hung up.
 */
export async function imapChat(port: number, lines: (string | { raw: string; wait?: RegExp })[], timeoutMs = 8000): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  const got: string[] = [];
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      got.push(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  const onEnd = () => {
    closed = true;
    wake?.();
  };
  sock.on('close', onEnd);
  sock.on('error', onEnd);
  const waitFor = async (pred: (from: number) => boolean, from: number) => {
    const end = Date.now() + timeoutMs;
    while (!closed && Date.now() < end && !pred(from)) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  await waitFor((f) => got.length > f, 0);
  for (const l of lines) {
    const from = got.length;
    if (typeof l === 'object') {
      sock.write(l.raw, 'latin1');
      if (l.wait) await waitFor((f) => got.slice(f).some((x) => l.wait!.test(x)), from);
      continue;
    }
    sock.write(`${l}\r\n`, 'latin1');
    const tag = l.split(' ')[0] as string;
    await waitFor((f) => got.slice(f).some((x) => x.startsWith(`${tag} `) || x.startsWith('+ ') || x === '+') || got.slice(f).some((x) => x.startsWith('* BYE ') && !/^\* BYE Logging out/.test(x)), from);
  }
  await new Promise((r) => setTimeout(r, 50));
  sock.destroy();
  return closed ? [...got, '<closed>'] : got;
}

/** Replace the parts that differ per run: command timings, UIDVALIDITY values are kept. */
export function maskImap(lines: string[]): string[] {
  return lines.map((l) =>
    l
      .replace(/ \(\d+\.\d{3} \+ \d+\.\d{3}(?: \+ \d+\.\d{3})? secs\)\./, ' (<t>).')
      // modseqs: Dovecot keeps them in its index, Postern's count per process
      .replace(/(HIGHESTMODSEQ|MODSEQ \() ?\d+/g, '$1<m>'),
  );
}

/** One client command: its tag and the chunks to send (a chunk after a synchronising literal waits for "+ "). */
export interface ImapCommand {
  tag: string;
  chunks: { data: string; waitContinue: boolean }[];
}

/**
 * Parse a .cmds fixture: one command per line ("#" lines are comments);
 * a line ending in {n} or {n+} is followed by n bytes of literal data
 * taken from the next lines (joined with CRLF).
 */
export function parseCommands(text: string): ImapCommand[] {
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const out: ImapCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line === '' && i === lines.length - 1) break;
    const cmd: ImapCommand = { tag: line.split(' ')[0] as string, chunks: [] };
    let wait = false;
    for (;;) {
      const m = /\{(\d+)(\+?)\}$/.exec(line);
      cmd.chunks.push({ data: `${line}\r\n`, waitContinue: wait });
      if (!m) break;
      wait = m[2] !== '+';
      const n = Number(m[1]);
      let lit = '';
      // the literal's bytes come from the next lines (joined with CRLF); when the literal ends
      // with such a CRLF the command goes on with the following line, else with the rest of its line
      let viaCrlf = false;
      while (lit.length < n && i + 1 < lines.length) {
        i++;
        lit += lines[i];
        viaCrlf = lit.length < n;
        if (viaCrlf) lit += '\r\n';
      }
      let rest = lit.slice(n);
      if (viaCrlf && rest === '' && i + 1 < lines.length) {
        i++;
        rest = lines[i] as string;
      }
      cmd.chunks.push({ data: lit.slice(0, n), waitContinue: wait });
      wait = false;
      line = rest;
      const more = /\{(\d+)(\+?)\}$/.exec(line);
      if (!more) {
        cmd.chunks.push({ data: `${line}\r\n`, waitContinue: false });
        break;
      }
      cmd.chunks.pop();
      cmd.chunks.push({ data: lit.slice(0, n), waitContinue: m[2] !== '+' });
    }
    out.push(cmd);
  }
  return out;
}

/** Play parsed commands: wait for the greeting, then per command its tagged reply (or the close). */
export async function playCommands(port: number, cmds: ImapCommand[], timeoutMs = 8000): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  const got: string[] = [];
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      got.push(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  const onEnd = () => {
    closed = true;
    wake?.();
  };
  sock.on('close', onEnd);
  sock.on('error', onEnd);
  const waitFor = async (pred: () => boolean) => {
    const end = Date.now() + timeoutMs;
    while (!closed && Date.now() < end && !pred()) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  await waitFor(() => got.length > 0);
  for (const c of cmds) {
    const from = got.length;
    // done at the first new line that is not untagged: the tagged reply, or a continuation
    // request (SASL challenges: the next script line is the client's response)
    const tagged = () => got.slice(from).some((x) => !x.startsWith('* ') || (x.startsWith('* BYE ') && !x.startsWith('* BYE Logging out')));
    let rejected = false;
    for (const ch of c.chunks) {
      if (ch.waitContinue) {
        await waitFor(tagged);
        if (!got.slice(from).some((x) => x.startsWith('+ '))) {
          rejected = true;
          break;
        }
      }
      sock.write(ch.data, 'latin1');
    }
    if (!rejected) await waitFor(tagged);
    if (closed) break;
  }
  await new Promise((r) => setTimeout(r, 50));
  sock.destroy();
  return closed ? [...got, '<closed>'] : got;
}

/**
 * IDLE with another session changing the mailbox: session A selects INBOX
 * and idles; session B appends a message, sets \Seen on 1, expunges 2;
 * A ends with DONE. Returns A's lines after the greeting and LOGIN reply.
 */
export async function idleScenario(port: number): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  const until = async (re: RegExp, ms = 8000) => {
    const end = Date.now() + ms;
    while (!re.test(got) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  await until(/\r\n/);
  sock.write('a LOGIN alice@example.test alice-pass\r\nb SELECT INBOX\r\nc IDLE\r\n');
  await until(/\+ idling\r\n/);
  await playCommands(
    port,
    parseCommands('x LOGIN alice@example.test alice-pass\nx2 APPEND INBOX {5+}\nhello\nx3 SELECT INBOX\nx4 STORE 1 +FLAGS (\\Seen)\nx5 STORE 2 +FLAGS (\\Deleted)\nx6 EXPUNGE\nx7 LOGOUT\n'),
  );
  await until(/\* \d+ RECENT\r\n(?![\s\S]*\+ idling)/, 3000);
  await until(/\* 2 EXPUNGE\r\n[\s\S]*RECENT\r\n$/, 3000);
  sock.write('DONE\r\nz LOGOUT\r\n');
  await until(/z OK/);
  sock.destroy();
  return maskImap(got.split('\r\n').slice(2, -1));
}
