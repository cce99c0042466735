/**
 * cli/doveadm/core/context.ts: what a doveadm command gets besides its
 * parameters: the global options, the configuration as doveadm sees it, the
 * loaded plugins and the command table.
 */
import type { CommandEntry } from './commands.js';
import type { DoveadmConfig } from './config.js';

export interface DoveadmContext {
  /** The command being run. */
  cmd: CommandEntry;
  /** -c path (or the default); `config` is undefined for `help <cmd>`. */
  configPath: string;
  config?: DoveadmConfig;
  /** -f formatter, when given. */
  formatter?: string;
  /** -D */
  debug: boolean;
  /** -v (also set by -D) */
  verbose: boolean;
  /** -h: hide the formatter's titles */
  hideTitles: boolean;
  /** $USER, the default user of mail commands. */
  username?: string;
  /** Plugins loaded from mail_plugins. */
  plugins: ReadonlySet<string>;
  /** The commands registered with those plugins. */
  commands: readonly CommandEntry[];
}
