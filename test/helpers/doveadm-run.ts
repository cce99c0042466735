/**
 * test/helpers/doveadm-run.ts: run the real doveadm and Postern's side by
 * side, asynchronously and a few at a time (each run is a process start;
 * running them one after another would make the differential suites slow).
 * Output is kept as bytes; every run is killed after a time limit (doveadm
 * ignores SIGTERM while it hashes).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');
export const REAL_DOVEADM = '/usr/bin/doveadm';

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number | null;
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/bin', HOME: '/root' };

export function realDoveadmAvailable(): boolean {
  return existsSync(REAL_DOVEADM);
}

function run(cmd: string, args: readonly string[], input: Buffer | string | undefined, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    // argv[0] "doveadm", as from a shell: glibc's getopt messages start with it.
    const child = spawn(cmd, args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe'], argv0: cmd === REAL_DOVEADM ? 'doveadm' : cmd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolveRun({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), status });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export function runRealDoveadm(args: readonly string[], input?: Buffer | string, timeoutMs = 30_000): Promise<RunResult> {
  return run(REAL_DOVEADM, args, input, timeoutMs);
}

export function runOursDoveadm(args: readonly string[], input?: Buffer | string, timeoutMs = 30_000): Promise<RunResult> {
  return run(process.execPath, [join(REPO, 'bin', 'doveadm'), ...args], input, timeoutMs);
}

/** Run `tasks` with at most `limit` in flight; results in task order. */
export async function inParallel<T>(limit: number, tasks: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
