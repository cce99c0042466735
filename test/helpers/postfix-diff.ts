/**
 * test/helpers/postfix-diff.ts: run the real Postfix tool and Postern's on the
 * same input and compare stdout, stderr and exit status.
 *
 * Some real warnings come out in hash-table order, which Postfix randomises
 * per process (hash_fnv seed): "unused parameter", "undefined parameter" and
 * the database client file checks. Those lines are compared as a multiset;
 * every other line is compared in order.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');
export const SHARED = resolve(REPO, '../shared');
export const CORPUS = join(SHARED, 'corpus');

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Is the real Postfix installed? (.ci/run installs it; tests fail loudly without it.) */
export function realPostfixAvailable(): boolean {
  return existsSync('/usr/sbin/postconf');
}

export function runReal(tool: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): RunResult {
  // Run by name through PATH so argv[0] (used in messages) is the bare name.
  const r = spawnSync(tool, args, {
    encoding: 'latin1',
    env: { PATH: '/usr/sbin:/usr/bin:/bin', ...env },
    input,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function runOurs(tool: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): RunResult {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', tool), ...args], {
    encoding: 'latin1',
    env: { PATH: '/usr/sbin:/usr/bin:/bin', ...env },
    input,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const HASH_ORDERED = [
  /: unused parameter: /,
  /: undefined parameter: /,
  /: read-only parameter assignment: /,
  /^postconf: warning: open "\w+" configuration /,
];

function splitLines(text: string): string[] {
  return text.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
}

/**
 * Canonical form of stderr: when any hash-ordered warning is present, the
 * whole text is compared as a sorted multiset of lines (the warnings that a
 * file check triggers travel with it, so their relative order follows the
 * hash order too); otherwise it is compared as it is.
 */
export function canonicalStderr(text: string): string {
  const lines = splitLines(text);
  if (!lines.some((l) => HASH_ORDERED.some((re) => re.test(l)))) return lines.join('\n');
  return [...lines].sort().join('\n');
}

export interface Normalise {
  /** Lines of stdout to drop before comparing (process-dependent values). */
  dropStdout?: RegExp[];
  /** Compare stdout lines as a sorted multiset (for hash-ordered output). */
  unorderedStdout?: boolean;
}

export function normaliseStdout(text: string, n: Normalise = {}): string {
  let lines = splitLines(text).filter((l) => !(n.dropStdout ?? []).some((re) => re.test(l)));
  if (n.unorderedStdout) lines = lines.sort();
  return lines.join('\n');
}

export function tempDir(prefix = 'postern-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Postfix re-reads a config file whose mtime is within the last second
 * (dict_load_file_xt waits for it to settle), repeating its warnings and
 * sleeping. Backdate test files so both tools read them once.
 */
export function backdate(dir: string): void {
  const past = new Date(Date.now() - 3600_000);
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), past, past);
}

function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/bin', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolvePromise({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        status,
      }),
    );
    // A tool that exits without reading stdin closes the pipe first: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Run the real tool and ours side by side. Real Postfix sleeps a second
 * before exiting on a fatal error (msg_fatal), so tests run many of these
 * concurrently rather than one after another.
 */
export function runRealAsync(tool: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
  return runAsync(tool, args, env, input);
}
export function runOursAsync(tool: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
  return runAsync(process.execPath, [join(REPO, 'bin', tool), ...args], env, input);
}

export function runBoth(tool: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<[RunResult, RunResult]> {
  return Promise.all([
    runAsync(tool, args, env, input),
    runAsync(process.execPath, [join(REPO, 'bin', tool), ...args], env, input),
  ]);
}
