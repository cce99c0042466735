/**
 * test/helpers/dovecot-server.ts: a scratch real Dovecot 2.3 (the oracle) in
 * a temp dir, loopback only, no mail protocols: its own base_dir, state_dir,
 * log file and instance name, run in the foreground (`dovecot -F`) so the
 * test owns the process. The same dovecot.conf can be given to Postern's
 * auth service (startAuthService with another base_dir) for side-by-side
 * transcripts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DOVECOT_BIN = '/usr/sbin/dovecot';

/** A real Dovecot can run here: the binary, root, and its dovecot/dovenull users. */
export function realDovecotRunnable(): boolean {
  if (!existsSync(DOVECOT_BIN) || process.getuid?.() !== 0) return false;
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '';
  return /^dovecot:/m.test(passwd) && /^dovenull:/m.test(passwd);
}

export interface ScratchDir {
  dir: string;
  cleanup(): void;
}

/** A temp dir for one test file (short path: unix socket names are limited to 108 bytes). */
export function authTempDir(prefix = 'pa-'): ScratchDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // The real auth process runs as the dovecot user: it must be able to read the passwd-files.
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The lines every scratch config starts with (base_dir etc. under `dir`). */
export function scratchHeader(dir: string, name: string): string {
  return [
    `base_dir = ${dir}/${name}-base`,
    `state_dir = ${dir}/${name}-state`,
    `log_path = ${dir}/${name}.log`,
    `instance_name = ${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`,
    'protocols =',
    'listen = 127.0.0.1',
    'ssl = no',
    'default_login_user = dovenull',
    'default_internal_user = dovecot',
    '',
  ].join('\n');
}

/** Write `files` (name -> text, "@DIR@" replaced by `dir`) into `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text.replaceAll('@DIR@', dir));
  }
}

export interface RealDovecot {
  configPath: string;
  baseDir: string;
  proc: ChildProcess;
  socket(name: string): string;
  log(): string;
  stop(): Promise<void>;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

/**
 * Start a real Dovecot on `configPath` (whose base_dir is `baseDir`); resolves
 * once the `ready` socket (default auth-userdb) exists.
 */
export async function startRealDovecot(configPath: string, baseDir: string, logPath: string, ready = 'auth-userdb'): Promise<RealDovecot> {
  const check = spawnSync(DOVECOT_BIN, ['-c', configPath, '-n'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`dovecot -n failed: ${check.stderr}`);
  const proc = spawn(DOVECOT_BIN, ['-F', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const readyPath = ready.startsWith('/') ? ready : join(baseDir, ready);
  const ok = await waitFor(() => existsSync(readyPath) || proc.exitCode !== null, 10_000);
  if (!ok || proc.exitCode !== null) {
    proc.kill('SIGKILL');
    throw new Error(`real dovecot did not start: ${stderr}${existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''}`);
  }
  // The auth process starts on the first connection; give the master a moment to set up every listener.
  await new Promise((r) => setTimeout(r, 100));
  return {
    configPath,
    baseDir,
    proc,
    socket: (name) => (name.startsWith('/') ? name : join(baseDir, name)),
    log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''),
    stop: async () => {
      if (proc.exitCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

/** One transcript step: a line to send, a line computed from the last server line, or a wait for n more lines. */
export type TranscriptStep = string | ((last: string) => string) | { expect: number } | { until: RegExp };

/**
 * Talk to an auth socket: run the steps, then return every line the server
 * sent (TABs kept), with "<closed>" appended when it hung up. `{expect: n}`
 * waits (up to 15 s) for n more lines or the close, `{until: re}` for a line
 * matching `re`.
 */
export async function runTranscript(path: string, steps: TranscriptStep[], settleMs = 150): Promise<string[]> {
  const { connect } = await import('node:net');
  const sock = connect(path);
  const lines: string[] = [];
  let buf = '';
  let closed = false;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
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
  await new Promise<void>((r) => {
    sock.once('connect', () => r());
    sock.once('error', () => r());
  });
  const waitLines = async (n: number, ms: number) => {
    const end = Date.now() + ms;
    while (lines.length < n && !closed && Date.now() < end) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  for (const s of steps) {
    if (closed) break;
    if (typeof s === 'object' && 'expect' in s) {
      await waitLines(lines.length + s.expect, 15000);
      continue;
    }
    if (typeof s === 'object') {
      const from = lines.length;
      const end = Date.now() + 15000;
      while (!closed && Date.now() < end && !lines.slice(from).some((l) => s.until.test(l))) await waitLines(lines.length + 1, end - Date.now());
      continue;
    }
    const text = typeof s === 'string' ? s : s(lines[lines.length - 1] ?? '');
    sock.write(`${text}\n`, 'latin1');
  }
  await new Promise((r) => setTimeout(r, settleMs));
  sock.destroy();
  return closed ? [...lines, '<closed>'] : lines;
}

/** Hide the per-process parts of a transcript (SPID, CUID, COOKIE). */
export function maskTranscript(lines: string[]): string[] {
  return lines.map((l) => l.replace(/^SPID\t\d+$/, 'SPID\t<pid>').replace(/^CUID\t\d+$/, 'CUID\t<n>').replace(/^COOKIE\t[0-9a-f]{32}$/, 'COOKIE\t<cookie>'));
}

/* ---------- auth transcripts shared by the passdb/userdb differential tests ---------- */

/** The client handshake (up to DONE) of an auth-client/auth-postfix connection. */
export const CLIENT_HANDSHAKE: TranscriptStep[] = ['VERSION\t1\t2', 'CPID\t4242', { until: /^DONE$/ }];
/** The master handshake of an auth-userdb/auth-master connection. */
export const MASTER_HANDSHAKE: TranscriptStep[] = ['VERSION\t1\t0', { expect: 2 }];

let loginRip = 0;

/** One AUTH PLAIN login (service=smtp) from a fresh remote address each time (no penalty carries over). */
export function plainLogin(user: string, pass: string): TranscriptStep[] {
  const resp = Buffer.from(`\0${user}\0${pass}`).toString('base64');
  return [...CLIENT_HANDSHAKE, `AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.${(++loginRip % 250) + 1}\tresp=${resp}`, { expect: 1 }];
}

/** Either auth server: where its sockets are. */
export interface AuthSide {
  socket(name: string): string;
}

/** Run steps on one of a side's sockets; the reply lines after the handshake, masked. */
export async function authReplies(side: AuthSide, socket: string, steps: TranscriptStep[]): Promise<string[]> {
  const lines = maskTranscript(await runTranscript(side.socket(socket), steps));
  return lines.slice(socket.endsWith('userdb') || socket.endsWith('master') ? 2 : lines.indexOf('DONE') + 1);
}
