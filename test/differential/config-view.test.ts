/**
 * Differential test: the configuration view daemons read (compat/postfix/
 * config.ts) gives, for every built-in parameter, the value the real
 * `postconf -xh NAME` prints, on the corpus main.cf files and Debian's.
 * postconf prints values with whitespace runs folded to one space, so the
 * comparison folds ours the same way (print.ts formatLine).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { formatLine } from '../../compat/postfix/postconf/print.js';
import { backdate, CORPUS, realPostfixAvailable, runRealAsync, tempDir } from '../helpers/postfix-diff.js';

const DEBIAN_MAIN = '/usr/share/postfix/main.cf.debian';
/** Differ per process, not per configuration. */
const PROCESS_DEPENDENT = new Set(['process_id', 'process_name']);

describe('daemon config view vs real postconf -xh', { skip: !realPostfixAvailable() && 'real Postfix missing' }, () => {
  const configs: Array<[string, string]> = [['debian default', DEBIAN_MAIN]];
  for (const project of ['docker-mailserver', 'mailcow', 'iredmail']) {
    const dir = join(CORPUS, 'postfix', project);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.startsWith('main.cf')).sort()) configs.push([`${project}/${f}`, join(dir, f)]);
  }
  for (const [label, mainCf] of configs) {
    it(`every built-in parameter: ${label}`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        copyFileSync(mainCf, join(dir, 'main.cf'));
        backdate(dir);
        const env = { MAIL_CONFIG: dir };
        // No master.cf: only built-in and main.cf names, which is what the view knows.
        const names = (await runRealAsync('postconf', ['-C', 'builtin', '-H'], env)).stdout
          .split('\n')
          .filter((n) => n && !PROCESS_DEPENDENT.has(n));
        assert.ok(names.length > 800, `names: ${names.length}`);
        const real = await runRealAsync('postconf', ['-xh', ...names], env);
        assert.equal(real.status, 0, real.stderr);
        const realValues = real.stdout.split('\n');
        const cfg = loadPostfixConfig({ configDir: dir });
        const mismatches: string[] = [];
        names.forEach((name, i) => {
          // debugger_command and friends embed the process name and id.
          if (/\$\{?process_(id|name)/.test(cfg.raw(name) ?? '')) return;
          const ours = formatLine(cfg.get(name), false).slice(0, -1);
          if (ours !== realValues[i]) mismatches.push(`${name}: ours "${ours}" real "${realValues[i]}"`);
        });
        assert.deepEqual(mismatches, []);
      } finally {
        cleanup();
      }
    });
  }
});
