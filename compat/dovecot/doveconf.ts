/**
 * compat/dovecot/doveconf.ts: doveconf(1) of Dovecot 2.3.19, byte for byte:
 * -a -c -d -f -h -m -n -N -P -s -S -x and positional setting or section
 * names. Fatal texts go to stderr as "doveconf: Fatal: ..." with exit 89
 * (EX_CONFIG / FATAL_DEFAULT). Also used by `dovecot -n` / `dovecot -a`.
 */
import { readFileSync } from 'node:fs';
import { hostname, machine, release, type } from 'node:os';
import { getopt } from '../../src/util/getopt.js';
import { out, outLine } from '../../src/util/out.js';
import { type ConfigError, ERROR_MARK, parseConfigFile, type ParsedConfig } from './conf-parser.js';
import { type DumpOptions, dumpConfig, filterOverrides, formatValue, moduleWants } from './doveconf-dump.js';
import { type FilterSpec, parseNet } from './filters.js';
import { runChecks } from './checks.js';
import { catalogue } from './settings/catalogue.js';

export const DOVECOT_VERSION = '2.3.19.1 (9b53102964)';
export const PIGEONHOLE_LINE = '# Pigeonhole version 0.5.19 (4eae2f79)';
export const DEFAULT_CONFIG = '/etc/dovecot/dovecot.conf';
const EX_CONFIG = 89;

/** Distribution name as lib/hostpid + doveconf read it (lsb-release, then the release files). */
function distroName(): string {
  const tryRead = (p: string): string | undefined => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  const lsb = tryRead('/etc/lsb-release');
  if (lsb !== undefined) {
    const m = /^DISTRIB_DESCRIPTION=(.*)$/m.exec(lsb);
    if (m) return m[1]!.replace(/^"|"$/g, '');
  }
  for (const f of [
    '/etc/redhat-release',
    '/etc/SuSE-release',
    '/etc/mandriva-release',
    '/etc/fedora-release',
    '/etc/sourcemage-release',
    '/etc/slackware-version',
    '/etc/gentoo-release',
  ]) {
    const t = tryRead(f);
    if (t !== undefined) return t.split('\n')[0]!.trim();
  }
  const deb = tryRead('/etc/debian_version');
  if (deb !== undefined) return `Debian ${deb.split('\n')[0]!.trim()}`;
  return '';
}

export function osLine(): string {
  return `# OS: ${type()} ${release()} ${machine()} ${distroName()} `;
}

/** A parser warning (or an error-level entry, see ERROR_MARK) as doveconf prints it. */
function diagnostic(w: string): string {
  return w.startsWith(ERROR_MARK) ? `doveconf: Error: ${w.slice(ERROR_MARK.length)}` : `doveconf: Warning: ${w}`;
}

function fatal(err: (s: string) => void, text: string): number {
  err(`doveconf: Fatal: ${text}`);
  return EX_CONFIG;
}

/** filter_parse_arg (doveconf.c): service=/protocol=, lname=, local=, remote=. */
function parseFilterArg(arg: string, spec: FilterSpec): string | undefined {
  const eq = arg.indexOf('=');
  const k = eq < 0 ? arg : arg.slice(0, eq);
  const v = eq < 0 ? '' : arg.slice(eq + 1);
  switch (k) {
    case 'protocol':
    case 'service':
      spec.protocol = v;
      return undefined;
    case 'lname':
      spec.localName = v;
      return undefined;
    case 'local':
    case 'remote':
      try {
        spec[k] = parseNet(v).print;
      } catch (e) {
        return `${k} filter: ${(e as Error).message}`;
      }
      return undefined;
    default:
      return `Unknown filter argument: ${arg}`;
  }
}

/** Run doveconf with `argv` (program name excluded). `prog` names the binary in messages. */
export function doveconfMain(argv: string[], prog = 'doveconf'): number {
  const errw = (s: string) => process.stderr.write(`${s}\n`);
  const g = getopt(argv, 'aCc:df:hm:nNpPsSxe');
  if (!g.ok) {
    errw(`${prog}: ${g.error}`);
    return EX_CONFIG;
  }
  let path = process.env.DOVECOT_CONFIG_PATH || DEFAULT_CONFIG;
  let scope: DumpOptions['scope'] = 'all';
  let defaults = false;
  let hideKey = false;
  let showSecrets = false;
  let simple = false;
  let expand = false;
  let showHidden = false;
  let filter: FilterSpec | undefined;
  const modules: string[] = [];
  for (const [o, v] of g.opts) {
    switch (o) {
      case 'a':
        break;
      case 'c':
        path = v!;
        break;
      case 'd':
        defaults = true;
        break;
      case 'f': {
        filter ??= {};
        const e = parseFilterArg(v!, filter);
        if (e) return fatal(errw, e);
        break;
      }
      case 'm':
        modules.push(v!);
        break;
      case 'h':
        hideKey = true;
        break;
      case 'n':
        scope = 'changed';
        break;
      case 'N':
        scope = 'set';
        break;
      case 'P':
        showSecrets = true;
        break;
      case 's':
        scope = 'all';
        showHidden = true;
        break;
      case 'S':
        simple = true;
        break;
      case 'x':
        expand = true;
        break;
      default:
        break;
    }
  }
  const names = g.operands;
  const humanDump = names.length === 0 && !simple;
  if (humanDump) {
    outLine(`# ${DOVECOT_VERSION}: ${path}`);
    outLine(PIGEONHOLE_LINE);
  }
  let cfg: ParsedConfig;
  try {
    cfg = parseConfigFile(defaults ? '' : path, {
      expand,
      emptyConfig: defaults,
      ...(modules.length > 0 ? { readFileOf: (name: string) => moduleWants(modules, name) } : {}),
    });
  } catch (e) {
    const ce = e as ConfigError;
    if (ce.file === undefined) throw e;
    for (const w of ce.warnings ?? []) errw(diagnostic(w));
    if (ce.line === undefined && ce.text.startsWith('open(')) return fatal(errw, ce.text);
    return fatal(errw, ce.message);
  }
  for (const w of cfg.warnings) errw(diagnostic(w));
  const late = cfg.lateError ?? runChecks(cfg);
  const o: DumpOptions = { scope, showSecrets: showSecrets || hideKey, showHidden, filter };
  if (modules.length > 0) o.modules = modules;
  if (humanDump) {
    outLine(osLine());
    outLine(`# Hostname: ${hostname()}`);
    if (scope === 'all' && !showHidden) outLine('# NOTE: Send doveconf -n output instead when asking for help.');
    const dump = dumpConfig(cfg, o);
    if (dump.conflict) errw(`doveconf: Error: ${dump.conflict}`);
    for (const l of dump.lines) outLine(l);
  } else if (!simple) {
    const conflict = printNames(cfg, names, o, hideKey);
    if (conflict) {
      errw(`doveconf: Error: ${conflict}`);
      return fatal(errw, 'Errors in configuration');
    }
  }
  if (late) {
    if (late.errorLine) errw(`doveconf: Error: ${late.errorLine}`);
    return fatal(errw, late.message);
  }
  return 0;
}

/** Positional setting or section names (config_dump_one). Returns a filter conflict, if any. */
function printNames(cfg: ParsedConfig, names: string[], o: DumpOptions, hideKey: boolean): string | undefined {
  const cat = catalogue();
  const { values: overrides, conflict } = filterOverrides(cfg, o.filter);
  if (conflict) return conflict;
  for (const name of names) {
    const def = cat.globals.get(name);
    if (def) {
      const value = overrides?.get(name) ?? cfg.root.keys.get(name)?.value ?? def[2];
      if (hideKey) outLine(value);
      else outLine(`${name} = ${formatValue(name, value, true)}`);
      continue;
    }
    if (cat.lookup('', name) === 'section') {
      for (const l of dumpConfig(cfg, { ...o, only: [name] }).lines) outLine(l);
    }
  }
  out('');
  return undefined;
}
