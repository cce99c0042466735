/**
 * master/pidfile.ts: $queue_directory/pid/master.pid and
 * $data_directory/master.lock, and the "is the mail system running" test.
 *
 * Format (master.c): the PID right-aligned in 32 columns and a newline
 * ("%*lu\n" with width sizeof(unsigned long) * 4), mode 0600 (umask 077).
 *
 * Postfix's `master -t` asks whether another process holds an fcntl lock on
 * master.pid. Node has no fcntl locks, so Postern reads the PID and asks
 * whether that process is alive and is a master (a Postern master or a real
 * Postfix one: /proc/PID/cmdline names "master"). Like Postfix, the file
 * stays after the master exits; a stale PID is "not running".
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_DIR = 'pid';
export const PID_FILE = 'master.pid';

export function pidFilePath(queueDir: string): string {
  return join(queueDir, PID_DIR, PID_FILE);
}

/** "%*lu\n" with width 32. */
export function formatPid(pid: number): string {
  return `${String(pid).padStart(32, ' ')}\n`;
}

/** The PID in a pid file, or undefined when absent or unreadable. */
export function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** On Linux, check that the process is a mail system master; elsewhere trust liveness. */
function looksLikeMaster(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch (err) {
    // No /proc (not Linux): liveness is all we can tell.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsProc();
  }
  return /master/.test(cmdline) || /postfix/.test(cmdline);
}

function existsProc(): boolean {
  try {
    readFileSync('/proc/self/cmdline');
    return true;
  } catch {
    return false;
  }
}

/** The running master's PID, or undefined ("the Postfix mail system is not running"). */
export function masterRunning(queueDir: string): number | undefined {
  if (!queueDir) return undefined;
  const pid = readPid(pidFilePath(queueDir));
  if (pid === undefined || pid <= 0) return undefined;
  if (pid === process.pid) return pid;
  return processAlive(pid) && looksLikeMaster(pid) ? pid : undefined;
}

/** Write master.pid (creating pid/ mode 0755 as post-install does). */
export function writePidFile(queueDir: string, pid: number): void {
  mkdirSync(join(queueDir, PID_DIR), { recursive: true, mode: 0o755 });
  writeFileSync(pidFilePath(queueDir), formatPid(pid), { mode: 0o600 });
}

/** Write $data_directory/master.lock (same format). */
/** $data_directory/master.lock: mode 0644, created as $mail_owner (master.c set_eugid) when `owner` is given. */
export function writeDataLock(dataDir: string, pid: number, owner?: { uid: number; gid: number }): void {
  const path = join(dataDir, 'master.lock');
  writeFileSync(path, formatPid(pid), { mode: 0o644 });
  if (owner) chownSync(path, owner.uid, owner.gid);
}
