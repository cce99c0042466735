/**
 * test/helpers/dovecot-diff.ts: run the real doveconf/dovecot and Postern's on
 * the same config files and return stdout, stderr and exit status for a
 * byte-for-byte comparison.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');
export const DOVECOT_FIXTURES = join(REPO, 'fixtures', 'dovecot');
export const DOVECOT_CORPUS = resolve(REPO, '../shared/corpus/dovecot');

export interface DoveResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

export function realDovecotAvailable(): boolean {
  return existsSync('/usr/bin/doveconf');
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/bin', HOME: '/root' };

export function runRealDove(tool: string, args: string[]): DoveResult {
  const r = spawnSync(tool, args, { encoding: 'latin1', env: ENV });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function runOursDove(tool: string, args: string[]): DoveResult {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', tool), ...args], { encoding: 'latin1', env: ENV });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** A temp dir removed by the returned cleanup function. */
export function doveTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'postern-dove-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copy fixtures/dovecot/cases into `dir`, replacing @DIR@ with `dir`. Returns the case file names. */
export function installCases(dir: string): string[] {
  const src = join(DOVECOT_FIXTURES, 'cases');
  const names = readdirSync(src).filter((n) => n.endsWith('.conf')).sort();
  for (const n of names) writeFileSync(join(dir, n), readFileSync(join(src, n), 'utf8').replaceAll('@DIR@', dir));
  return names;
}

/** Copy Debian's default dovecot.conf + conf.d (fixtures/dovecot/debian-default) into `dir`. */
export function installDebianDefault(dir: string): string {
  cpSync(join(DOVECOT_FIXTURES, 'debian-default'), dir, { recursive: true });
  return join(dir, 'dovecot.conf');
}
