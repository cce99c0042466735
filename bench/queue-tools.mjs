#!/usr/bin/env node
// bench/queue-tools.mjs: the queue tools on a big queue, Postern vs the real
// Postfix on the same machine, as ratios (Postern / real; < 1 = faster):
//   1. postqueue -p over POSTERN_BENCH_MESSAGES (default 10,000) queued
//      messages (real-made queue files: 80% deferred with a two-reason defer
//      log, 10% hold, 10% incoming); both read the same queue directory
//      (the real one runs showq stand-alone: "Mail system is down -- accessing
//      queue directly"), stdout compared;
//   2. postsuper -d ALL on a fresh copy of that queue for each run.
// Wall time and CPU time (user+sys) of the tool, median of POSTERN_BENCH_RUNS
// runs (default 3). Needs root and the Debian postfix package; run after
// `npm run build`:  node bench/queue-tools.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { queueLayout, queueRelPath, ensureQueueDirs } = await import(join(repo, 'dist/src/queue/layout.js'));
const N = Number(process.env.POSTERN_BENCH_MESSAGES ?? 10_000);
const RUNS = Number(process.env.POSTERN_BENCH_RUNS ?? 3);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-queue-'));
chmodSync(dir, 0o755);

/** A config dir and queue with N messages; returns { etc, spool }. */
function makeQueue(name) {
  const root = join(dir, name);
  const etc = join(root, 'etc');
  const spool = join(root, 'spool');
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(etc, 'main.cf'), `compatibility_level = 3.6\nqueue_directory = ${spool}\ndata_directory = ${root}/data\n`);
  writeFileSync(join(etc, 'master.cf'), '');
  ensureQueueDirs(spool);
  const layout = queueLayout(spool);
  for (let i = 0; i < N; i++) {
    // Short queue IDs: 5 hex digits of "microseconds" + inode digits; unique per i.
    const id = (i * 2654435761 >>> 0).toString(16).toUpperCase().padStart(8, '0').slice(0, 5) + i.toString(16).toUpperCase().padStart(5, '0');
    const queue = i % 10 === 0 ? 'hold' : i % 10 === 1 ? 'incoming' : 'deferred';
    const path = join(spool, queueRelPath(layout, queue, id));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    copyFileSync(join(repo, 'fixtures/queue/real-incoming'), path);
    chmodSync(path, 0o700);
    if (queue === 'deferred') {
      const log = join(spool, queueRelPath(layout, 'defer', id));
      mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
      copyFileSync(join(repo, 'fixtures/queue-tools/defer-two-reasons'), log);
      chmodSync(log, 0o600);
    }
  }
  execFileSync('chown', ['-R', 'postfix', spool]);
  return { etc, spool, root };
}

function once(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME ?? cmd, TIME ? ['-f', '%U %S', cmd, ...args] : args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'latin1',
    env: { PATH: '/usr/sbin:/usr/bin:/bin', TZ: 'UTC' },
    maxBuffer: 1 << 30,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  const lines = r.stderr.trim().split('\n');
  const [u, s] = TIME ? lines[lines.length - 1].split(' ').map(Number) : [Number.NaN, Number.NaN];
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { wall, cpu: (u + s) * 1000, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bench(label, real, ours, prepare = () => undefined) {
  const r = { w: [], c: [] };
  const o = { w: [], c: [] };
  for (let i = 0; i < RUNS; i++) {
    prepare();
    const a = real();
    r.w.push(a.wall);
    r.c.push(a.cpu);
    prepare();
    const b = ours();
    o.w.push(b.wall);
    o.c.push(b.cpu);
  }
  const [mrw, mrc, mow, moc] = [median(r.w), median(r.c), median(o.w), median(o.c)];
  console.log(label);
  console.log(`  real Postfix: wall ${mrw.toFixed(0)} ms, cpu ${mrc.toFixed(0)} ms`);
  console.log(`  Postern:      wall ${mow.toFixed(0)} ms, cpu ${moc.toFixed(0)} ms`);
  console.log(`  ratio (Postern / real): wall ${(mow / mrw).toFixed(2)}, cpu ${(moc / mrc).toFixed(2)}`);
}

const ours = (tool) => [process.execPath, join(repo, 'bin', tool)];
try {
  console.log(`queue tools: ${N} queued messages, median of ${RUNS} runs`);
  const q = makeQueue('listing');
  bench(
    `postqueue -p (${N} messages)`,
    () => once('postqueue', ['-c', q.etc, '-p']),
    () => once(ours('postqueue')[0], [ours('postqueue')[1], '-c', q.etc, '-p']),
  );
  const a = once('postqueue', ['-c', q.etc, '-p']).stdout;
  const b = once(ours('postqueue')[0], [ours('postqueue')[1], '-c', q.etc, '-p']).stdout;
  console.log(`  output identical: ${a === b ? 'yes' : 'NO'} (${a.split('\n').length} lines)`);

  const master = makeQueue('delete-master');
  const work = join(dir, 'delete');
  const fresh = () => {
    rmSync(work, { recursive: true, force: true });
    execFileSync('cp', ['-a', master.root, work]);
    writeFileSync(join(work, 'etc/main.cf'), `compatibility_level = 3.6\nqueue_directory = ${work}/spool\ndata_directory = ${work}/data\n`);
  };
  bench(
    `postsuper -d ALL (${N} messages)`,
    () => once('postsuper', ['-c', join(work, 'etc'), '-d', 'ALL']),
    () => once(ours('postsuper')[0], [ours('postsuper')[1], '-c', join(work, 'etc'), '-d', 'ALL']),
    fresh,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
