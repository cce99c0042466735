/**
 * test/helpers/dovecot-imap-preauth.ts: the real Dovecot 2.3 imap binary
 * run pre-authenticated on stdin/stdout, with no server, no imap-login and
 * no auth process: `/usr/lib/dovecot/imap -c <conf>` with USER and HOME in
 * the environment greets with "* PREAUTH" and reads commands from stdin.
 *
 * The state lives in a mkdtemp directory: a minimal dovecot.conf (its own
 * base_dir and state_dir, maildir:~/Maildir) and the user's Maildir, owned
 * by uid/gid 65534 because Dovecot refuses mail access as root.
 * Reusable by the protocol tests: write messages with `makePreauthHome`,
 * then `runPreauthImap(home, lines)` returns everything the server wrote.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REAL_IMAP = '/usr/lib/dovecot/imap';
const UNPRIVILEGED = 65534;

export function realImapAvailable(): boolean {
  return existsSync(REAL_IMAP) && process.getuid?.() === 0;
}

export interface SeedMessage {
  raw: Buffer | string;
  /** Maildir flag letters, e.g. "S" or "FS". */
  flags?: string;
  /** INTERNALDATE as a Unix time (file mtime). */
  mtime?: number;
}

export interface PreauthHome {
  dir: string;
  home: string;
  conf: string;
  cleanup(): void;
}

/** A fresh home with a Maildir INBOX holding `messages` (UIDs 1..n in order) and extra `settings` lines. */
export function makePreauthHome(messages: readonly SeedMessage[], settings: readonly string[] = []): PreauthHome {
  const dir = mkdtempSync(join(tmpdir(), 'postern-imap-preauth-'));
  const home = join(dir, 'home');
  const maildir = join(home, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  messages.forEach((m, i) => {
    const base = 1_700_000_000 + i;
    const name = `${base}.M${i}P1.postern-test:2,${m.flags ?? ''}`;
    const path = join(maildir, 'cur', name);
    writeFileSync(path, m.raw);
    const t = m.mtime ?? base;
    utimesSync(path, t, t);
  });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${join(dir, 'run')}`,
      `state_dir = ${join(dir, 'state')}`,
      'log_path = /dev/stderr',
      'mail_location = maildir:~/Maildir',
      'ssl = no',
      `mail_uid = ${UNPRIVILEGED}`,
      `mail_gid = ${UNPRIVILEGED}`,
      'first_valid_uid = 0',
      'first_valid_gid = 0',
      ...settings,
      '',
    ].join('\n'),
  );
  chmodSync(dir, 0o755);
  chownTree(home);
  return { dir, home, conf, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function chownTree(path: string): void {
  chownSync(path, UNPRIVILEGED, UNPRIVILEGED);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e));
}

/**
 * Run one pre-authenticated session: `commands` are sent (CRLF added to
 * strings) and stdin is closed; resolves with all of stdout. Killed after
 * `timeoutMs`.
 */
export function runPreauthImap(h: PreauthHome, commands: readonly (string | Buffer)[], timeoutMs = 15_000): Promise<Buffer> {
  // imap wants real pipes: a socket on stdin means "started from inetd" (refused), a
  // plain file cannot be polled. node's 'pipe' stdio is a socketpair, so cat sits between.
  const inPath = join(h.dir, `stdin-${process.pid}-${seq++}`);
  writeFileSync(inPath, Buffer.concat(commands.map((c) => (typeof c === 'string' ? Buffer.from(c + '\r\n') : c))));
  return new Promise<Buffer>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'cat "$0" | "$1" -c "$2" | cat', inPath, REAL_IMAP, h.conf], {
      env: { PATH: '/usr/sbin:/usr/bin:/bin', USER: 'nobody', HOME: h.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      if (stdout.length === 0) reject(new Error(`imap wrote nothing: ${Buffer.concat(err).toString()}`));
      else resolve(stdout);
    });
  });
}

let seq = 0;

/** Split a server transcript into responses: each line, with any {n} literals it announces kept inside it. */
export function splitResponses(out: Buffer): Buffer[] {
  const res: Buffer[] = [];
  let start = 0;
  let pos = 0;
  while (pos < out.length) {
    const lf = out.indexOf(10, pos);
    if (lf < 0) {
      res.push(out.subarray(start));
      break;
    }
    const m = /\{(\d+)\}\r$/.exec(out.toString('latin1', Math.max(pos, lf - 24), lf));
    if (m) {
      pos = lf + 1 + Number(m[1]);
      continue;
    }
    res.push(out.subarray(start, lf + 1));
    start = pos = lf + 1;
  }
  return res;
}
