/**
 * cli/doveadm.ts: doveadm(1) of Dovecot 2.3.19, the front end (doveadm.c
 * main()): global options "+Df:hv" plus the master-service ones "c:i:ko:OL"
 * (POSIX order: they stop at the command name), the configuration and
 * mail_plugins, then the multi-word command lookup and its parameters.
 *
 *   doveadm                    usage list on stderr, exit 64
 *   doveadm <unknown>          the same; "doveadm auth" lists auth's subcommands
 *   doveadm -x ...             "doveadm: invalid option -- 'x'", exit 89
 *
 * Each command lives in src/cli/doveadm/<first word>.ts (see
 * doveadm/core/commands.ts). Commands are matched by Dovecot's own rules
 * (doveadm_cmd_find_with_args_ver2: whole words, no abbreviations) and their
 * options by a getopt_long() clone (core/params.ts), not by commander:
 * commander's help, error texts, option syntax and exit codes would all have
 * to be overridden, and importing it costs twice the CPU of loading the whole
 * dovecot.conf reader, on a command whose cold start is benchmarked
 * (bench/doveadm-pw.mjs).
 */
import { getopt } from '../util/getopt.js';
import { type CommandEntry, type DoveadmCommand, findCommand, registeredCommands } from './doveadm/core/commands.js';
import { DEFAULT_CONFIG_PATH, type DoveadmConfig, readDoveadmConfig } from './doveadm/core/config.js';
import type { DoveadmContext } from './doveadm/core/context.js';
import { EX_USAGE, FATAL_DEFAULT, logError, logFatal, setDebug, setLogReady, stderrLine } from './doveadm/core/log.js';
import { parseParams } from './doveadm/core/params.js';
import { hasUnloadedPlugin, loadMailPlugins } from './doveadm/core/plugins.js';
import { usagePrefix } from './doveadm/core/usage.js';

const FORMATTERS = new Set(['flow', 'tab', 'table', 'pager', 'json', 'formatted']);

async function loadImplementation(cmd: CommandEntry): Promise<DoveadmCommand | undefined> {
  const group = cmd.name.split(' ')[0]!;
  let mod: { commands?: Record<string, DoveadmCommand> };
  try {
    mod = await import(`./doveadm/${group}.js`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw e;
  }
  return mod.commands?.[cmd.name];
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await doveadm(argv);
  } finally {
    setLogReady(false);
  }
}

async function doveadm(argv: string[]): Promise<number> {
  const g = getopt(argv, 'Df:hvc:i:ko:OL');
  if (!g.ok) {
    stderrLine(`doveadm: ${g.error}`);
    return FATAL_DEFAULT;
  }
  let debug = false;
  let verbose = false;
  let hideTitles = false;
  let formatter: string | undefined;
  let configPath = process.env.DOVECOT_CONFIG_PATH || DEFAULT_CONFIG_PATH;
  let noConfig = false;
  const overrides: string[] = [];
  for (const [o, v] of g.opts) {
    switch (o) {
      case 'D':
        debug = true;
        verbose = true;
        break;
      case 'f':
        if (!FORMATTERS.has(v!)) logFatal(`Unknown print formatter: ${v}`);
        formatter = v!;
        break;
      case 'h':
        hideTitles = true;
        break;
      case 'v':
        verbose = true;
        break;
      case 'c':
        configPath = v!;
        break;
      case 'i':
        // No instance registry: every name is unknown (master_instance_list).
        logFatal(`Unknown instance name: ${v}`);
        break;
      case 'o':
        overrides.push(v!);
        break;
      case 'O':
        noConfig = true;
        break;
      default: // -k, -L: nothing to do here
        break;
    }
  }
  const args = g.operands;
  const cmdName = args[0];
  setLogReady();
  setDebug(debug);

  // "help <cmd>" needs no configuration; config/stop/reload skip the plugins.
  const quick = cmdName === 'help' && args.length > 1;
  let config: DoveadmConfig | undefined;
  let plugins: ReadonlySet<string> = new Set();
  if (!quick) {
    config = readDoveadmConfig(configPath, overrides, noConfig);
    if (cmdName !== 'config' && cmdName !== 'stop' && cmdName !== 'reload') {
      plugins = loadMailPlugins(config.get('mail_plugins') ?? '');
    }
  }
  const commands = registeredCommands(plugins);
  if (cmdName === undefined) usagePrefix(commands, '');

  const found = findCommand(commands, args);
  if (!found) {
    if (commands.some((c) => c.name.startsWith(`${cmdName} `))) usagePrefix(commands, cmdName);
    if (hasUnloadedPlugin(cmdName, plugins)) {
      logFatal(`Unknown command '${cmdName}', but plugin ${cmdName} exists. Try to set mail_plugins=${cmdName}`);
    }
    usagePrefix(commands, '');
  }
  const { cmd, words } = found;
  const impl = await loadImplementation(cmd);
  if (!impl) logFatal(`doveadm ${cmd.name} is not implemented in Postern yet`);

  const parsed = parseParams(args.slice(words - 1), impl.params, impl.flags);
  if (!parsed.ok) {
    if (parsed.kind === 'getopt') stderrLine(parsed.error);
    else logError(parsed.error);
    return EX_USAGE;
  }
  const ctx: DoveadmContext = {
    cmd,
    configPath,
    ...(config ? { config } : {}),
    ...(formatter ? { formatter } : {}),
    debug,
    verbose,
    hideTitles,
    ...(process.env.USER ? { username: process.env.USER } : {}),
    plugins,
    commands,
  };
  return (await impl.run(ctx, parsed.params)) ?? 0;
}
