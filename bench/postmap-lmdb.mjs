#!/usr/bin/env node
// bench/postmap-lmdb.mjs: postmap on lmdb: tables, Postern vs the real
// Postfix on the same machine, as ratios (Postern / real; < 1 = faster):
//   1. build a POSTERN_BENCH_LINES-line (default 1,000,000) source into lmdb:
//   2. POSTERN_BENCH_QUERIES (default 100,000) lookups via `postmap -q -`
//      (about 5/6 hits), each tool on the table it built itself.
// Wall time and CPU time (user+sys) are both reported; each figure is the
// median of POSTERN_BENCH_RUNS runs (default 3). Small run:
//   POSTERN_BENCH_LINES=20000 POSTERN_BENCH_QUERIES=5000 node bench/postmap-lmdb.mjs
// (after `npm run build`).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LINES = Number(process.env.POSTERN_BENCH_LINES ?? 1_000_000);
const QUERIES = Number(process.env.POSTERN_BENCH_QUERIES ?? 100_000);
const RUNS = Number(process.env.POSTERN_BENCH_RUNS ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-postmap-'));
writeFileSync(join(dir, 'main.cf'), 'compatibility_level = 3.7\n');
{
  const parts = [];
  for (let i = 0; i < LINES; i++) parts.push(`user${i}@Example${i % 1000}.com value-${i}-${'x'.repeat(i % 20)}\n`);
  const text = parts.join('');
  // One copy per tool, so each queries the table it built itself.
  writeFileSync(join(dir, 'real'), text);
  writeFileSync(join(dir, 'ours'), text);
  const q = [];
  const span = Math.ceil(LINES * 1.2);
  for (let i = 0; i < QUERIES; i++) {
    const n = (i * 7919) % span;
    q.push(`user${n}@example${n % 1000}.com\n`);
  }
  writeFileSync(join(dir, 'queries'), q.join(''));
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Run once: wall ms, and the child's CPU ms (user+sys, via /usr/bin/time when installed). */
function once(cmd, args, stdinFile) {
  const input = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME ?? cmd, TIME ? ['-f', '%U %S', cmd, ...args] : args, {
    cwd: dir,
    stdio: [input, 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (typeof input === 'number') closeSync(input);
  if (r.error) throw r.error;
  const lines = r.stderr.trim().split('\n');
  const [u, s] = TIME ? lines[lines.length - 1].split(' ').map(Number) : [Number.NaN, Number.NaN];
  if (r.status !== 0 && !(r.status === 1 && args.includes('-q'))) {
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  }
  return { wall, cpu: (u + s) * 1000 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function bench(label, real, ours) {
  const rw = [];
  const rc = [];
  const ow = [];
  const oc = [];
  for (let i = 0; i < RUNS; i++) {
    const a = real();
    rw.push(a.wall);
    rc.push(a.cpu);
    const b = ours();
    ow.push(b.wall);
    oc.push(b.cpu);
  }
  const [mrw, mrc, mow, moc] = [median(rw), median(rc), median(ow), median(oc)];
  console.log(label);
  console.log(`  real Postfix: wall ${mrw.toFixed(0)} ms, cpu ${mrc.toFixed(0)} ms`);
  console.log(`  Postern:      wall ${mow.toFixed(0)} ms, cpu ${moc.toFixed(0)} ms`);
  console.log(`  ratio (Postern / real): wall ${(mow / mrw).toFixed(2)}, cpu ${(moc / mrc).toFixed(2)}`);
}

const ourPostmap = join(repo, 'bin/postmap');
try {
  console.log(`postmap lmdb: benchmark, ${LINES} source lines, ${QUERIES} queries, median of ${RUNS} runs`);
  bench(
    `build: postmap lmdb:FILE (${LINES} lines)`,
    () => once('postmap', ['-c', dir, 'lmdb:real']),
    () => once(process.execPath, [ourPostmap, '-c', dir, 'lmdb:ours']),
  );
  bench(
    `lookups: postmap -q - lmdb:FILE (${QUERIES} keys)`,
    () => once('postmap', ['-c', dir, '-q', '-', 'lmdb:real'], join(dir, 'queries')),
    () => once(process.execPath, [ourPostmap, '-c', dir, '-q', '-', 'lmdb:ours'], join(dir, 'queries')),
  );
  const a = spawnSync('postmap', ['-c', dir, '-q', '-', 'lmdb:real'], { input: readFileSync(join(dir, 'queries')) });
  const b = spawnSync(process.execPath, [ourPostmap, '-c', dir, '-q', '-', 'lmdb:ours'], {
    input: readFileSync(join(dir, 'queries')),
  });
  console.log(`  answers identical: ${Buffer.compare(a.stdout, b.stdout) === 0 ? 'yes' : 'NO'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
