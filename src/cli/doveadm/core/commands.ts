/**
 * cli/doveadm/core/commands.ts: every command doveadm 2.3.19 registers, with
 * its usage text (doveadm_cmds_ver2, the mail commands and the acl, fts,
 * quota and mail_crypt plugin commands), as `doveadm` and `doveadm <group>`
 * print them. The table drives the usage listings and command matching;
 * plugin commands exist only when the plugin is in mail_plugins.
 *
 * A command is implemented by the module src/cli/doveadm/<first word>.ts,
 * which exports `commands: Record<string, DoveadmCommand>` keyed by the full
 * command name ("pw", "auth test", "mailbox cache purge"). Commands with no
 * module yet answer that they are not implemented.
 */
import type { DoveadmContext } from './context.js';
import type { CommandFlags, Params, ParamSpec } from './params.js';

export interface DoveadmCommand {
  params: readonly ParamSpec[];
  flags?: CommandFlags;
  /** Returns the exit code (doveadm_exit_code), 0 when omitted. */
  run(ctx: DoveadmContext, params: Params): number | undefined | Promise<number | undefined>;
}

export interface CommandEntry {
  name: string;
  usage: string;
  /** The mail plugin that registers it (acl, fts, quota, mail_crypt). */
  plugin?: string;
}

// Captured from doveadm 2.3.19.1 with mail_plugins = acl quota fts mail_crypt.
const ROWS: ReadonlyArray<readonly [string, string, string?]> = [
  ['acl add', '[-u <user>|-A] [-S <socket_path>] <mailbox> <id> <right> [<right> ...]', 'acl'],
  ['acl debug', '[-u <user>|-A] [-S <socket_path>] <mailbox>', 'acl'],
  ['acl delete', '[-u <user>|-A] [-S <socket_path>] <mailbox> <id>', 'acl'],
  ['acl get', '[-u <user>|-A] [-S <socket_path>] [-m] <mailbox>', 'acl'],
  ['acl recalc', '[-u <user>|-A] [-S <socket_path>] ', 'acl'],
  ['acl remove', '[-u <user>|-A] [-S <socket_path>] <mailbox> <id> <right> [<right> ...]', 'acl'],
  ['acl rights', '[-u <user>|-A] [-S <socket_path>] <mailbox>', 'acl'],
  ['acl set', '[-u <user>|-A] [-S <socket_path>] <mailbox> <id> <right> [<right> ...]', 'acl'],
  ['altmove', '[-u <user>|-A] [-S <socket_path>] [-r] <search query>'],
  ['auth cache flush', '[-a <master socket path>] [<user> [...]]'],
  ['auth login', '[-a <auth-login socket path>] [-m <auth-master socket path>] [-x <auth info>] [-M <master user>] <user> [<password>]'],
  ['auth lookup', '[-a <userdb socket path>] [-x <auth info>] [-f field] <user> [<user> [...]]'],
  ['auth test', '[-a <auth socket path>] [-x <auth info>] [-M <master user>] <user> [<password>]'],
  [
    'backup',
    '[-fPRU] [-l <secs>] [-r <rawlog path>] [-m <mailbox>] [-g <mailbox guid>] [-n <namespace> | -N] [-x <exclude>] [-a <all mailbox>] [-s <state>] [-T <secs>] [-t <start date>] [-e <end date>] [-O <sync flag>] [-I <max size>] -d|<dest>',
  ],
  ['batch', '<sep> <cmd1> [<sep> <cmd2> [..]]'],
  ['config', '[doveconf parameters]'],
  ['copy', '[-u <user>|-A] [-S <socket_path>] <destination> [user <source user>] <search query>'],
  ['deduplicate', '[-u <user>|-A] [-S <socket_path>] [-m] <search query>'],
  ['dict get', '[-u <user>] <dict uri> <key>'],
  ['dict inc', '[-u <user>] <dict uri> <key> <diff>'],
  ['dict iter', '[-u <user>] [-1RV] <dict uri> <prefix>'],
  ['dict set', '[-u <user>] <dict uri> <key> <value>'],
  ['dict unset', '[-u <user>] <dict uri> <key>'],
  ['director add', '[-a <director socket path>] [-t <tag>] <host> [<vhost count>]'],
  ['director down', '[-a <director socket path>] <host>'],
  ['director dump', '[-a <director socket path>]'],
  ['director flush', '[-a <director socket path>] [-F] [--max-parallel <n>] <host>|all'],
  ['director kick', '[-a <director socket path>] [-f <passdb field>] <user>'],
  ['director map', '[-a <director socket path>] [-f <users file>] [-h | -u] [<host>]'],
  ['director move', '[-a <director socket path>] <user> <host>'],
  ['director remove', '[-a <director socket path>] <host>'],
  ['director ring add', '[-a <director socket path>] <ip> [<port>]'],
  ['director ring remove', '[-a <director socket path>] <ip> [<port>]'],
  ['director ring status', '[-a <director socket path>]'],
  ['director status', '[-a <director socket path>] [<user>] [<tag>]'],
  ['director up', '[-a <director socket path>] <host>'],
  ['director update', '[-a <director socket path>] <host> <vhost count>'],
  ['dsync-server', '[-E] [-r <rawlog path>] [-T <timeout secs>] [-U]'],
  ['dump', '[-t <type>] <path> [<type-specific args>]'],
  ['exec', '<binary> [binary parameters]'],
  ['expunge', '[-u <user>|-A] [-S <socket_path>] [-m] <search query>'],
  ['fetch', '[-u <user>|-A] [-S <socket_path>] <fields> <search query>'],
  ['flags add', '[-u <user>|-A] [-S <socket_path>] <flags> <search query>'],
  ['flags remove', '[-u <user>|-A] [-S <socket_path>] <flags> <search query>'],
  ['flags replace', '[-u <user>|-A] [-S <socket_path>] <flags> <search query>'],
  ['force-resync', '[-u <user>|-A] [-S <socket_path>] [-f] <mailbox mask>'],
  ['fs copy', '<fs-driver> <fs-args> <source path> <dest path>'],
  ['fs delete', '[-R] [-n <count>] <fs-driver> <fs-args> <path> [<path> ...]'],
  ['fs get', '<fs-driver> <fs-args> <path>'],
  ['fs iter', '[--no-cache] [--object-ids] <fs-driver> <fs-args> <path>'],
  ['fs iter-dirs', '<fs-driver> <fs-args> <path>'],
  ['fs metadata', '<fs-driver> <fs-args> <path>'],
  ['fs put', '[-h <hash>] <fs-driver> <fs-args> <input path> <path>'],
  ['fs stat', '<fs-driver> <fs-args> <path>'],
  ['fts expand', '[-u <user>|-A] [-S <socket_path>] <search query>', 'fts'],
  ['fts lookup', '[-u <user>|-A] [-S <socket_path>] <search query>', 'fts'],
  ['fts optimize', '[-u <user>|-A] [-S <socket_path>] [<namespace>]', 'fts'],
  ['fts rescan', '[-u <user>|-A] [-S <socket_path>] [<namespace>]', 'fts'],
  ['fts tokenize', '[-u <user>|-A] [-S <socket_path>] <text>', 'fts'],
  ['help', '[<cmd>]'],
  [
    'import',
    '[-u <user>|-A] [-S <socket_path>] [-U source-user] [-s] <source mail location> <dest parent mailbox> <search query>',
  ],
  ['index', '[-u <user>|-A] [-S <socket_path>] [-q] [-n <max recent>] <mailbox mask>'],
  ['instance list', '[-c] [<name>]'],
  ['instance remove', '<name> | <base dir>'],
  ['kick', '[-a <anvil socket path>] <user mask>[|]<ip/bits>'],
  ['log errors', '[-s <min_timestamp>]'],
  ['log find', '[<dir>]'],
  ['log reopen', ''],
  ['log test', ''],
  [
    'mailbox cache decision',
    '[-u <user>|-A] [-S <socket_path>] --all --fields <fields> --last-used <timestamp> --decision <decision> <mailbox> [<mailbox> ... ]',
  ],
  ['mailbox cache purge', '[-u <user>|-A] [-S <socket_path>] <mailbox> [...]'],
  ['mailbox cache remove', '[-u <user>|-A] [-S <socket_path>] <search string>'],
  ['mailbox create', '[-u <user>|-A] [-S <socket_path>] [-s] [-g <guid>] <mailbox> [...]'],
  ['mailbox cryptokey export', '[-u <user>|-A] [-S <socket_path>] -U | mailbox [ mailbox .. ]', 'mail_crypt'],
  ['mailbox cryptokey generate', '[-u <user>|-A] [-S <socket_path>] [-URf] mailbox [ mailbox .. ]', 'mail_crypt'],
  ['mailbox cryptokey list', '[-u <user>|-A] [-S <socket_path>] -U | mailbox [ mailbox .. ]', 'mail_crypt'],
  ['mailbox cryptokey password', '[-u <user>|-A] [-S <socket_path>] [-NOC] [-opassword] [-npassword]', 'mail_crypt'],
  ['mailbox delete', '[-u <user>|-A] [-S <socket_path>] [-e] [-r] [-s] [-Z] <mailbox> [...]'],
  ['mailbox list', '[-u <user>|-A] [-S <socket_path>] [-7|-8] [-s] [<mailbox mask> [...]]'],
  ['mailbox metadata get', '[-u <user>|-A] [-S <socket_path>] [-s] <mailbox> <key>'],
  ['mailbox metadata list', '[-u <user>|-A] [-S <socket_path>] [-s] [-p] <mailbox> [<key prefix>]'],
  ['mailbox metadata set', '[-u <user>|-A] [-S <socket_path>] [-s] <mailbox> <key> <value>'],
  ['mailbox metadata unset', '[-u <user>|-A] [-S <socket_path>] [-s] <mailbox> <key>'],
  ['mailbox mutf7', '[-7|-8] <name> [...]'],
  ['mailbox path', '[-u <user>|-A] [-S <socket_path>] [-t <type>] <mailbox>'],
  ['mailbox rename', '[-u <user>|-A] [-S <socket_path>] [-s] <old name> <new name>'],
  ['mailbox status', '[-u <user>|-A] [-S <socket_path>] <fields> <mailbox> [...]'],
  ['mailbox subscribe', '[-u <user>|-A] [-S <socket_path>] <mailbox> [...]'],
  ['mailbox unsubscribe', '[-u <user>|-A] [-S <socket_path>] <mailbox> [...]'],
  [
    'mailbox update',
    '[-u <user>|-A] [-S <socket_path>] [--mailbox-guid guid] [--uid-validity uid] [--min-next-uid uid] [--min-first-recent-uid uid] [--min-highest-modseq seq] [--min-highest-pvt-modseq seq] <mailbox>',
  ],
  ['move', '[-u <user>|-A] [-S <socket_path>] <destination> [user <source user>] <search query>'],
  ['oldstats dump', '[-s <stats socket path>] <type> [<filter>]'],
  ['oldstats reset', '[-s <stats socket path>]'],
  ['oldstats top', '[-s <stats socket path>] [-b] [<sort field>]'],
  ['penalty', '[-a <anvil socket path>] [<ip/bits>]'],
  ['process status', '[<service> [...]]'],
  ['proxy kick', '[-a <ipc socket path>] [-f <passdb field>] [-h <host> [...] | <user> [...]]'],
  ['proxy list', '[-a <ipc socket path>]'],
  ['purge', '[-u <user>|-A] [-S <socket_path>] '],
  ['pw', '[-l] [-p plaintext] [-r rounds] [-s scheme] [-t hash] [-u user] [-V]'],
  ['quota get', '', 'quota'],
  ['quota recalc', '', 'quota'],
  ['rebuild attachments', '[-u <user>|-A] [-S <socket_path>] <search query>'],
  ['reload', ''],
  ['replicator add', '[-a <replicator socket path>] <user mask>'],
  ['replicator dsync-status', '[-a <replicator socket path>]'],
  ['replicator remove', '[-a <replicator socket path>] <username>'],
  ['replicator replicate', '[-a <replicator socket path>] [-f] [-p <priority>] <user mask>'],
  ['replicator status', '[-a <replicator socket path>] [<user mask>]'],
  ['save', '[-u <user>|-A] [-S <socket_path>] [-m mailbox]'],
  ['search', '[-u <user>|-A] [-S <socket_path>] <search query>'],
  ['service status', '[<service> [...]]'],
  ['service stop', '<service> [<service> [...]]'],
  ['sis deduplicate', '<root dir> <queue dir>'],
  ['sis find', '<root dir> <hash>'],
  [
    'stats add',
    '[--description <string>] [--exporter <name> [--exporter-include <fields>]] [--fields <fields>] [--group-by <fields>] <name> <filter>',
  ],
  ['stats dump', '[-s <stats socket path>] [-r] [-f <fields>]'],
  ['stats remove', '<name>'],
  ['stop', ''],
  [
    'sync',
    '[-1fPRU] [-l <secs>] [-r <rawlog path>] [-m <mailbox>] [-g <mailbox guid>] [-n <namespace> | -N] [-x <exclude>] [-a <all mailbox>] [-s <state>] [-T <secs>] [-t <start date>] [-e <end date>] [-O <sync flag>] [-I <max size>] -d|<dest>',
  ],
  ['user', '[-a <userdb socket path>] [-x <auth info>] [-f field] [-e <value>] [-u] <user mask> [<user mask> [...]]'],
  ['who', '[-a <anvil socket path>] [-1] [<user mask>] [<ip/bits>]'],
  ['zlibconnect', '<host> [<port>]'],
];

export const ALL_COMMANDS: readonly CommandEntry[] = ROWS.map(([name, usage, plugin]) =>
  plugin ? { name, usage, plugin } : { name, usage },
);

/** The commands registered with these mail plugins loaded. */
export function registeredCommands(plugins: ReadonlySet<string>): CommandEntry[] {
  return ALL_COMMANDS.filter((c) => c.plugin === undefined || plugins.has(c.plugin));
}

/**
 * doveadm_cmd_find_with_args_ver2(): the command whose words match the start
 * of `args` (no abbreviations). Returns it and how many words it used.
 */
export function findCommand(cmds: readonly CommandEntry[], args: readonly string[]): { cmd: CommandEntry; words: number } | undefined {
  for (const cmd of cmds) {
    const words = cmd.name.split(' ');
    if (words.length <= args.length && words.every((w, i) => args[i] === w)) return { cmd, words: words.length };
  }
  return undefined;
}
