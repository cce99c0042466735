#!/usr/bin/env node
// bench/postconf-n.mjs: cold-start `postconf -n` on the mailcow main.cf,
// Postern vs the real Postfix on the same machine, reported as a ratio.
// Usage: node bench/postconf-n.mjs [runs]   (after `npm run build`)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = resolve(repo, '../shared/corpus/postfix/mailcow');
const runs = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
for (const f of ['main.cf', 'master.cf']) copyFileSync(join(corpus, f), join(dir, f));
const past = new Date(Date.now() - 3600_000);
for (const f of ['main.cf', 'master.cf']) utimesSync(join(dir, f), past, past);

function time(cmd, args) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    if (r.error) throw r.error;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const real = time('postconf', ['-c', dir, '-n']);
const ours = time(process.execPath, [join(repo, 'bin/postconf'), '-c', dir, '-n']);
rmSync(dir, { recursive: true, force: true });
console.log(`postconf -n (mailcow main.cf), median of ${runs} cold runs`);
console.log(`  real Postfix: ${real.toFixed(1)} ms`);
console.log(`  Postern:      ${ours.toFixed(1)} ms`);
console.log(`  ratio (Postern / real): ${(ours / real).toFixed(2)}`);
