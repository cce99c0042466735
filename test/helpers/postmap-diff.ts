/**
 * test/helpers/postmap-diff.ts: run a sequence of postmap/postalias/
 * newaliases commands with the real Postfix tools in one copy of a
 * fixture directory and with Postern's in another (concurrently), and
 * collect every step's stdout, stderr and exit status. Commands run with
 * the copy as working directory, so messages name files as given.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, type RunResult } from './postfix-diff.js';

export type MapTool = 'postmap' | 'postalias' | 'newaliases';

export interface Step {
  tool: MapTool | 'sh';
  /** Arguments (for 'sh': one shell command). */
  args: string[];
  /** A file of the fixture copy fed on stdin. */
  stdin?: string;
  /** Compare stdout lines as a multiset (hash: / texthash: order). */
  unordered?: boolean;
}

export interface StepResult extends RunResult {
  step: Step;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { PATH: '/usr/sbin:/usr/bin:/bin', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('latin1'),
        status,
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Copy a fixture directory into a fresh temp dir, files backdated one hour. */
export function copyFixture(src: string, files?: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-postmap-'));
  if (files) for (const f of files) cpSync(join(src, f), join(dir, f), { recursive: true });
  else cpSync(src, dir, { recursive: true });
  const past = new Date(Date.now() - 3600_000);
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      utimesSync(p, past, past);
    }
  };
  walk(dir);
  return dir;
}

/** Run the steps in dir with one side's tools. */
export async function runSteps(dir: string, steps: Step[], real: boolean): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    const input = step.stdin ? readFileSync(join(dir, step.stdin)) : Buffer.alloc(0);
    let r: RunResult;
    if (step.tool === 'sh') r = await run('/bin/sh', ['-c', step.args.join(' ')], dir, {}, input);
    else if (step.tool === 'newaliases') {
      const env = { MAIL_CONFIG: dir };
      r = real
        ? await run('newaliases', step.args, dir, env, input)
        : await run(process.execPath, [join(REPO, 'bin/newaliases'), ...step.args], dir, env, input);
    } else {
      const args = ['-c', dir, ...step.args];
      r = real
        ? await run(step.tool, args, dir, {}, input)
        : await run(process.execPath, [join(REPO, 'bin', step.tool), ...args], dir, {}, input);
    }
    const clean = (s: string) => s.split(dir).join('DIR');
    results.push({ step, stdout: clean(r.stdout), stderr: clean(r.stderr), status: r.status });
  }
  return results;
}

/** Both sides, each in its own copy of the fixture; copies are removed afterwards. */
export async function runBothSteps(fixture: string, steps: Step[], files?: string[]): Promise<[StepResult[], StepResult[]]> {
  const a = copyFixture(fixture, files);
  const b = copyFixture(fixture, files);
  try {
    return await Promise.all([runSteps(a, steps, true), runSteps(b, steps, false)]);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
}

/** Normalise a step's stdout for comparison (NIS timestamp, unordered listings). */
export function normaliseStepOutput(r: StepResult): string {
  let lines = r.stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines = lines.map((l) => l.replace(/^(YP_LAST_MODIFIED:?\t)\d{10}$/, '$1TIME'));
  if (r.step.unordered) lines.sort();
  return lines.join('\n');
}

/** Run async jobs with at most `limit` at a time. */
export async function limitConcurrency<T>(limit: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/** Shell-like split: spaces separate, '...' quotes. */
function words(s: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2]!);
  return out;
}

/**
 * A step as text: "postmap ARGS [< stdinfile]"; a leading "~" compares the
 * output as a multiset (hash:/texthash: order is not LMDB order);
 * "sh CMD" runs a shell command in both copies.
 */
export function parseStep(text: string): Step {
  let t = text.trim();
  const unordered = t.startsWith('~');
  if (unordered) t = t.slice(1).trim();
  let stdin: string | undefined;
  const lt = t.lastIndexOf(' < ');
  if (lt >= 0) {
    stdin = t.slice(lt + 3).trim();
    t = t.slice(0, lt);
  }
  const [tool, ...rest] = t.startsWith('sh ') ? ['sh', t.slice(3)] : words(t);
  return { tool: tool as Step['tool'], args: rest, stdin, unordered };
}
