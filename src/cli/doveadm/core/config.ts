/**
 * cli/doveadm/core/config.ts: how doveadm reads dovecot.conf. The real
 * doveadm runs doveconf (filter service=doveadm) before any command except
 * `help <cmd>`, so a broken config stops even `doveadm pw`:
 *
 *   missing file  -> "Fatal: Error reading configuration: stat(PATH) failed: ..." (exit 75)
 *   syntax error  -> doveconf's own "doveconf: Fatal: Error in configuration file ..." (exit 89)
 *   warnings      -> doveconf's "doveconf: Warning: ..." lines, then the command runs
 *
 * Settings are read as seen from `protocol doveadm { }`.
 */
import { statSync } from 'node:fs';
import { ERROR_MARK, type ConfigError, type ParsedConfig, parseConfigFile } from '../../../../compat/dovecot/conf-parser.js';
import { runChecks } from '../../../../compat/dovecot/checks.js';
import { filterOverrides, moduleWants } from '../../../../compat/dovecot/doveconf-dump.js';
import { catalogue } from '../../../../compat/dovecot/settings/catalogue.js';
import { strerror } from '../../../util/strerror.js';
import { FATAL_DEFAULT, exitWith, logFatal, stderrLine } from './log.js';

export const DEFAULT_CONFIG_PATH = '/etc/dovecot/dovecot.conf';

export interface DoveadmConfig {
  path: string;
  parsed?: ParsedConfig;
  /** -o setting=value overrides, applied over the file. */
  overrides: Map<string, string>;
  /** A global setting's value for service doveadm (the catalogue default if unset). */
  get(name: string): string | undefined;
}

function doveconfDiagnostic(w: string): string {
  return w.startsWith(ERROR_MARK) ? `doveconf: Error: ${w.slice(ERROR_MARK.length)}` : `doveconf: Warning: ${w}`;
}

function doveconfFatal(text: string): never {
  stderrLine(`doveconf: Fatal: ${text}`);
  exitWith(FATAL_DEFAULT);
}

/** Read the configuration (or none with -O), exiting as doveadm does on errors. */
export function readDoveadmConfig(path: string, overrideArgs: readonly string[], noConfig: boolean): DoveadmConfig {
  const overrides = new Map<string, string>();
  for (const o of overrideArgs) {
    const eq = o.indexOf('=');
    if (eq > 0) overrides.set(o.slice(0, eq), o.slice(eq + 1));
  }
  let parsed: ParsedConfig | undefined;
  if (!noConfig) {
    try {
      statSync(path);
    } catch (e) {
      logFatal(`Error reading configuration: stat(${path}) failed: ${strerror(e)}`);
    }
    try {
      // doveadm runs `doveconf -m doveadm`: only that module's <file values are read.
      parsed = parseConfigFile(path, { expand: true, readFileOf: (name) => moduleWants(['doveadm'], name) });
    } catch (e) {
      const ce = e as ConfigError;
      if (ce.file === undefined) throw e;
      for (const w of ce.warnings ?? []) stderrLine(doveconfDiagnostic(w));
      doveconfFatal(ce.line === undefined && ce.text.startsWith('open(') ? ce.text : ce.message);
    }
    for (const w of parsed.warnings) stderrLine(doveconfDiagnostic(w));
    const late = parsed.lateError ?? runChecks(parsed);
    if (late) {
      if (late.errorLine) stderrLine(`doveconf: Error: ${late.errorLine}`);
      doveconfFatal(late.message);
    }
  }
  const filtered = parsed ? filterOverrides(parsed, { protocol: 'doveadm' }).values : undefined;
  return {
    path,
    ...(parsed ? { parsed } : {}),
    overrides,
    get(name: string): string | undefined {
      const o = overrides.get(name);
      if (o !== undefined) return o;
      const f = filtered?.get(name);
      if (f !== undefined) return f;
      const v = parsed?.root.keys.get(name)?.value;
      if (v !== undefined) return v;
      return catalogue().globals.get(name)?.[2];
    },
  };
}
