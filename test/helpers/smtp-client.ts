/**
 * test/helpers/smtp-client.ts: a raw, line-based SMTP test client, a
 * dialogue runner that records exactly what a server sent, and a
 * memory-only CleanupService for smtpd tests (until they use the real one).
 *
 * The client never interprets more than it must: bytes go out as given
 * (latin1), replies come back as lines without CRLF. A dialogue step sends
 * text and then reads a number of complete replies (multi-line replies
 * count once), so the same script gives comparable output from Postern and
 * from the real Postfix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { CleanupResult, CleanupService, CleanupSession, RecipientOptions } from '../../src/cleanup/types.js';

export class SmtpTestClient {
  private buf = '';
  private closed = false;
  private waiters: Array<() => void> = [];
  /** Everything received, as a latin1 string. */
  received = '';

  private constructor(public socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.received += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Start TLS on the connection (after "220 2.0.0 Ready to start TLS"); false if the handshake fails. */
  startTls(): Promise<boolean> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    return new Promise((resolve) => {
      const t = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => resolve(true));
      t.once('error', () => resolve(false));
      this.socket = t as unknown as Socket;
      this.listen(this.socket);
    });
  }

  /** Connect with TLS from the start (smtps, wrapper mode). */
  static connectTls(port: number): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const t = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
        resolve(new SmtpTestClient(t as unknown as Socket)),
      );
      t.once('error', reject);
    });
  }

  static connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
      s.once('connect', () => resolve(new SmtpTestClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Send raw bytes (latin1). */
  send(raw: string): void {
    if (!this.closed) this.socket.write(Buffer.from(raw, 'latin1'));
  }

  /** Send one line plus CRLF. */
  line(text: string): void {
    this.send(`${text}\r\n`);
  }

  /** One reply line without CRLF; undefined on close or timeout. */
  async readLine(timeoutMs = 5000): Promise<string | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl >= 0) {
        const l = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 2);
        return l;
      }
      if (this.closed) return undefined;
      const left = end - Date.now();
      if (left <= 0 || !(await this.wait(left))) {
        if (this.buf.indexOf('\r\n') < 0) return undefined;
      }
    }
  }

  /** One complete reply (all lines of a multi-line reply); [] on close/timeout. */
  async readReply(timeoutMs = 5000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.readLine(timeoutMs);
      if (l === undefined) return out;
      out.push(l);
      if (!/^\d{3}-/.test(l)) return out;
    }
  }

  /** Send a line and read its reply. */
  async cmd(text: string, timeoutMs = 5000): Promise<string[]> {
    this.line(text);
    return this.readReply(timeoutMs);
  }

  /** Wait for the server to close (true) or time out (false). */
  async waitClose(timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await this.wait(left);
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A dialogue step: a command line (one reply), or raw text with an explicit reply count. */
export type DialogueStep = string | { raw: string; replies: number; pauseMs?: number };

export interface DialogueOptions {
  localAddress?: string;
  /** Per-reply timeout. */
  timeoutMs?: number;
}

/**
 * Run a dialogue: read the greeting, then for each step send it and read
 * its replies. Returns the server's lines, with "[closed]" once the server
 * hung up (remaining steps are not sent).
 */
export async function runDialogue(port: number, steps: DialogueStep[], opts: DialogueOptions = {}): Promise<string[]> {
  const c = await SmtpTestClient.connect(port, { localAddress: opts.localAddress });
  const out: string[] = [];
  const t = opts.timeoutMs ?? 5000;
  try {
    // A real Postfix forks its smtpd on demand: allow for a slow start.
    out.push(...(await c.readReply(Math.max(t, 30_000))));
    for (const step of steps) {
      if (c.isClosed && c.received.length === 0) break;
      const s = typeof step === 'string' ? { raw: `${step}\r\n`, replies: 1 } : step;
      c.send(s.raw);
      if (s.pauseMs) await new Promise((r) => setTimeout(r, s.pauseMs));
      for (let i = 0; i < s.replies; i++) {
        const r = await c.readReply(t);
        if (r.length === 0) break;
        out.push(...r);
      }
      if (c.isClosed) {
        // Whatever else the server sent before closing.
        for (;;) {
          const r = await c.readReply(50);
          if (r.length === 0) break;
          out.push(...r);
        }
        out.push('[closed]');
        return out;
      }
    }
    for (;;) {
      const r = await c.readReply(150);
      if (r.length === 0) break;
      out.push(...r);
    }
    if (await c.waitClose(100)) out.push('[closed]');
    return out;
  } finally {
    c.close();
  }
}

/** Replace values that differ between runs (queue IDs, client ports). */
export function normaliseReplies(lines: string[]): string[] {
  return lines.map((l) => l.replace(/(queued as )[0-9A-Za-z]+/, '$1QUEUEID').replace(/(\]):\d+\b/g, '$1:PORT'));
}

// --- a memory-only CleanupService (test only) ---

export interface MemoryMessage {
  queueId: string;
  flags: number;
  attributes: Map<string, string>;
  sender: string | undefined;
  recipients: Array<{ address: string; options?: RecipientOptions }>;
  /** Content records: [line, continued]. */
  lines: Array<[string, boolean]>;
  state: 'open' | 'finished' | 'aborted';
}

export class MemoryCleanup implements CleanupService {
  readonly messages: MemoryMessage[] = [];
  private seq = 0;
  /** Status (and reason) that finish() returns; default queued. */
  result: CleanupResult = { status: 0 };

  async open(flags: number): Promise<CleanupSession> {
    const id = (0x10000 + this.seq++).toString(16).toUpperCase().padStart(11, '0');
    const msg: MemoryMessage = {
      queueId: id,
      flags,
      attributes: new Map(),
      sender: undefined,
      recipients: [],
      lines: [],
      state: 'open',
    };
    this.messages.push(msg);
    const self = this;
    return {
      queueId: id,
      setAttribute(n, v) {
        msg.attributes.set(n, v);
      },
      setSender(a) {
        msg.sender = a;
      },
      addRecipient(a, o) {
        msg.recipients.push({ address: a, options: o });
      },
      writeLine(l, c) {
        msg.lines.push([l.toString('latin1'), c === true]);
      },
      async finish() {
        msg.state = 'finished';
        return self.result;
      },
      async abort() {
        msg.state = 'aborted';
      },
    };
  }

  /** Message body lines (after our Received: header) as one string with LF. */
  static content(m: MemoryMessage): string {
    return m.lines.map(([l, c]) => (c ? l : `${l}\n`)).join('');
  }
}

/** A log that keeps lines ("text" / "warning: text") in memory. */
export class MemoryLog {
  readonly lines: string[] = [];
  info(t: string): void {
    this.lines.push(t);
  }
  warn(t: string): void {
    this.lines.push(`warning: ${t}`);
  }
}

// --- dialogue fixtures (fixtures/smtpd/dialogues/*.smtp) ---

/**
 * A recorded dialogue. File format, one directive per line:
 *   # comment           ignored, except "# service: NAME" (master.cf service,
 *                       default "base") and "# from: ADDR" (client source address)
 *   C: text             send text + CRLF, read one reply
 *   P: text             send text + CRLF, read nothing (pipelining, DATA lines)
 *   B: "json string"    send raw bytes, read nothing
 *   W: n                read n replies
 *   T: ms               pause
 *   S: line             a line the server sent (expected output, in order)
 *   L: line             a log line of the session (normalised, see normaliseLog)
 */
export interface DialogueFixture {
  name: string;
  service: string;
  from?: string;
  steps: DialogueStep[];
  expect: string[];
  log: string[];
}

export function parseDialogue(name: string, text: string): DialogueFixture {
  const fx: DialogueFixture = { name, service: 'base', steps: [], expect: [], log: [] };
  let raw = '';
  const flush = (replies: number) => {
    if (raw !== '' || replies > 0) fx.steps.push({ raw, replies });
    raw = '';
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([A-Z#]):? ?(.*)$/.exec(line);
    if (!m) throw new Error(`${name}: bad line: ${line}`);
    const [, k, v] = m;
    if (k === '#') {
      const h = /^(service|from): *(.*)$/.exec(v);
      if (h) {
        if (h[1] === 'service') fx.service = h[2];
        else fx.from = h[2];
      }
    } else if (k === 'C') {
      raw += `${v}\r\n`;
      flush(1);
    } else if (k === 'P') raw += `${v}\r\n`;
    else if (k === 'B') raw += JSON.parse(v) as string;
    else if (k === 'W') flush(Number(v));
    else if (k === 'T') {
      flush(0);
      fx.steps.push({ raw: '', replies: 0, pauseMs: Number(v) });
    } else if (k === 'S') fx.expect.push(v);
    else if (k === 'L') fx.log.push(v);
    else throw new Error(`${name}: unknown directive ${k}`);
  }
  flush(0);
  return fx;
}

/** Write a fixture back with the given server lines and log lines. */
export function formatDialogue(source: string, expect: string[], log: string[]): string {
  const keep = source.split('\n').filter((l) => l !== '' && !/^[SL]: /.test(l) && l !== 'S:' && l !== 'L:');
  return `${[...keep, ...expect.map((l) => `S: ${l}`), ...log.map((l) => `L: ${l}`)].join('\n')}\n`;
}

/**
 * smtpd log lines, comparable across implementations: without the syslog
 * prefix, queue IDs replaced by QUEUEID.
 */
export function normaliseLog(lines: string[]): string[] {
  return lines.map((l) =>
    l
      .replace(/^.*? postfix\/(?:[^ ]*\/)?smtpd\[\d+\]: /, '')
      .replace(/\b(?:[0-9A-F]{10,11}|[0-9A-Za-z]{15,16})(?=:)/, 'QUEUEID')
      .replace(/(queued as )[0-9A-Za-z]+/, '$1QUEUEID')
      .replace(/(\]):\d+\b/g, '$1:PORT'),
  );
}

// --- the smtpd test configuration (fixtures/smtpd) ---

export interface SmtpdService {
  name: string;
  /** master.cf arguments after "smtpd". */
  args: string;
}

/** fixtures/smtpd/services.txt: one "NAME -o a=b ..." per line. */
export function readSmtpdServices(fixtureDir: string): SmtpdService[] {
  const out: SmtpdService[] = [];
  for (const line of readFileSync(join(fixtureDir, 'services.txt'), 'latin1').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const sp = line.indexOf(' ');
    out.push(sp < 0 ? { name: line, args: '' } : { name: line.slice(0, sp), args: line.slice(sp + 1) });
  }
  return out;
}

/**
 * master.cf lines for the services, listening on the given ports (keys are
 * service names, or "name#n" for extra copies). Each gets its own
 * syslog_name so its log lines can be told apart.
 */
export function smtpdMasterCf(services: SmtpdService[], ports: Map<string, number>): string {
  const out: string[] = [];
  for (const [key, port] of ports) {
    const s = services.find((x) => x.name === key.replace(/#.*$/, ''));
    if (!s) continue;
    const tag = `postfix/${key.replace(/#/, '-')}`;
    out.push(`127.0.0.1:${port} inet n - n - - smtpd -o syslog_name=${tag}${s.args ? ` ${s.args}` : ''}`);
  }
  return out.join('\n');
}

/** Every dialogue fixture, sorted by name. */
export function readDialogues(fixtureDir: string): Array<{ file: string; text: string; fx: DialogueFixture }> {
  const dir = join(fixtureDir, 'dialogues');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.smtp'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'latin1');
      return { file: join(dir, f), text, fx: parseDialogue(f.replace(/\.smtp$/, ''), text) };
    });
}
