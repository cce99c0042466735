/**
 * test/helpers/postfix-diff.ts: run the real Postfix tool and Postern's on the
 * same input and compare stdout, stderr and exit status.
 *
 * Some real warnings come out in hash-table order, which Postfix randomises
 * per process (hash_fnv seed): "unused parameter", "undefined parameter" and
 * the database client file checks. Those lines are compared as a multiset;
 * every other line is compared in order.
 */
import { spawnSync } from 'node:child_process';
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

/** Put hash-ordered lines into a canonical order; keep all other lines in place. */
export function canonicalStderr(text: string): string {
  const lines = splitLines(text);
  const unordered = lines.filter((l) => HASH_ORDERED.some((re) => re.test(l))).sort();
  let k = 0;
  return lines.map((l) => (HASH_ORDERED.some((re) => re.test(l)) ? unordered[k++] : l)).join('\n');
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
