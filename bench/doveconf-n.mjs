#!/usr/bin/env node
// bench/doveconf-n.mjs: cold-start `doveconf -n` on the mailcow dovecot.conf,
// Postern vs the real Dovecot on the same machine, reported as a ratio.
// Usage: node bench/doveconf-n.mjs [runs]   (after `npm run build`)
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const conf = resolve(repo, '../shared/corpus/dovecot/mailcow/dovecot.conf');
const runs = Number(process.argv[2] ?? 20);

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

const real = time('doveconf', ['-c', conf, '-n']);
const ours = time(process.execPath, [join(repo, 'bin/doveconf'), '-c', conf, '-n']);
console.log(`doveconf -n (mailcow dovecot.conf), median of ${runs} cold runs`);
console.log(`  real Dovecot: ${real.toFixed(1)} ms`);
console.log(`  Postern:      ${ours.toFixed(1)} ms`);
console.log(`  ratio (Postern / real): ${(ours / real).toFixed(2)}`);
