/**
 * cli/postern.ts: postern(1), Postern's own administration command (the
 * Postfix- and Dovecot-named commands keep their own syntax):
 *   postern install [--dry-run] [--root DIR]    replace the system's Postfix/Dovecot commands with links
 *                                               to this checkout (originals kept as *.postern-orig) and
 *                                               write postern-postfix.service / postern-dovecot.service
 *   postern uninstall [--dry-run] [--root DIR]  put everything back as it was
 *   postern check-migration [-c DIR] [-d FILE]  what of an existing Postfix + Dovecot configuration Postern honours
 */
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../compat/dovecot/conf-parser.js';
import { checkDovecot } from '../migration/dovecot.js';
import { type Finding, formatFindings } from '../migration/findings.js';
import { checkPostfix } from '../migration/postfix.js';
import { applyInstall, describeStep, InstallError, planInstall, type Step, uninstall } from '../install/plan.js';

const REPO = resolve(import.meta.dirname, '../../..');

export function main(argv: string[]): number {
  let status = 0;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const err = (s: string) => process.stderr.write(`postern: ${s}\n`);
  const program = new Command('postern')
    .description("Postern's own administration commands")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('install')
    .description("link the system's Postfix and Dovecot command names to Postern and write systemd units")
    .option('-n, --dry-run', 'print what would be done, change nothing')
    .option('--root <dir>', 'install under this root directory', '/')
    .action((opts: { dryRun?: boolean; root: string }) => {
      const o = { root: resolve(opts.root), repo: REPO, node: process.execPath };
      let steps: Step[];
      try {
        steps = planInstall(o);
      } catch (e) {
        if (!(e instanceof InstallError)) throw e;
        err(`fatal: ${e.message}`);
        status = 1;
        return;
      }
      if (steps.length === 0) out('postern: already installed, nothing to do');
      for (const s of steps) out(`${opts.dryRun ? 'would ' : ''}${describeStep(s)}`);
      if (!opts.dryRun && steps.length > 0) {
        applyInstall(o, steps);
        out('postern: done; run "systemctl daemon-reload", then disable postfix/dovecot and enable postern-postfix/postern-dovecot');
      }
    });

  program
    .command('uninstall')
    .description('restore the original commands and remove the units this install wrote')
    .option('-n, --dry-run', 'print what would be done, change nothing')
    .option('--root <dir>', 'the root directory given to install', '/')
    .action((opts: { dryRun?: boolean; root: string }) => {
      const r = uninstall(resolve(opts.root), opts.dryRun === true);
      if (r.done.length === 0 && r.kept.length === 0) out('postern: nothing installed');
      for (const d of r.done) out(`${opts.dryRun ? 'would ' : ''}${d}`);
      for (const k of r.kept) err(`warning: ${k}`);
    });

  program
    .command('check-migration')
    .description('report which settings, tables and services of an existing Postfix installation Postern honours')
    .option('-c, --config <dir>', 'the Postfix configuration directory', '/etc/postfix')
    .option('-d, --dovecot <file>', 'dovecot.conf ("" to skip the Dovecot half)', '/etc/dovecot/dovecot.conf')
    .action((opts: { config: string; dovecot: string }) => {
      const findings: Finding[] = [];
      if (opts.config !== '') {
        const f = checkPostfix(opts.config);
        process.stdout.write(formatFindings('postfix', f));
        findings.push(...f);
      }
      if (opts.dovecot !== '') {
        let f: Finding[];
        try {
          f = checkDovecot(opts.dovecot);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          err(`fatal: ${e.message}`);
          status = 1;
          return;
        }
        process.stdout.write(formatFindings('dovecot', f));
        findings.push(...f);
      }
      const no = findings.filter((f) => f.verdict === 'no').length;
      out(`summary: ${findings.length - no} honoured, ${no} not honoured`);
      if (no > 0) status = 1;
    });

  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return status;
}
