#!/usr/bin/env node
// bench/doveadm-pw.mjs: cold-start `doveadm pw -s SHA512-CRYPT -p x`
// (process start, config read, one 5000-round SHA-512-crypt hash), Postern
// vs the real Dovecot 2.3.19 doveadm on the same machine, as a ratio.
// The two are run alternately so both see the same machine load; wall time
// and the CPU time of the child (user + system, from /proc) are reported.
// Usage: node bench/doveadm-pw.mjs [runs] [scheme]   (after `npm run build`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 20);
const scheme = process.argv[3] ?? 'SHA512-CRYPT';
const dir = mkdtempSync(join(tmpdir(), 'postern-bench-'));
const conf = join(dir, 'dovecot.conf');
writeFileSync(conf, '# built-in defaults\n');
const args = ['-c', conf, 'pw', '-s', scheme, '-p', 'x'];

const TIME = '/usr/bin/time';
function once(cmd, argv) {
  // GNU time prints the child's user and system seconds on stderr.
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%U %S', cmd, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  if (r.status !== 0 || !r.stdout.startsWith(`{${scheme}}`)) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: (u + s) * 1000 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const real = [];
const ours = [];
once('doveadm', args);
once(process.execPath, [join(repo, 'bin/doveadm'), ...args]);
for (let i = 0; i < runs; i++) {
  real.push(once('doveadm', args));
  ours.push(once(process.execPath, [join(repo, 'bin/doveadm'), ...args]));
}
rmSync(dir, { recursive: true, force: true });
const rw = median(real.map((x) => x.wall));
const ow = median(ours.map((x) => x.wall));
const rc = median(real.map((x) => x.cpu));
const oc = median(ours.map((x) => x.cpu));
console.log(`doveadm pw -s ${scheme} -p x, median of ${runs} cold runs (alternating)`);
console.log(`  real Dovecot: ${rw.toFixed(1)} ms wall, ${rc.toFixed(0)} ms CPU`);
console.log(`  Postern:      ${ow.toFixed(1)} ms wall, ${oc.toFixed(0)} ms CPU`);
console.log(`  ratio (Postern / real): ${(ow / rw).toFixed(2)} wall, ${(oc / Math.max(rc, 1)).toFixed(2)} CPU`);
