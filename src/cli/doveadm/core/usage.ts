/**
 * cli/doveadm/core/usage.ts: doveadm's usage texts (doveadm.c usage_prefix(),
 * doveadm_usage_compress_lines(), help_ver2()), all on stderr with exit 64.
 *
 * The command list is sorted (strcmp of "name<TAB>usage") and commands of
 * the same group are folded into "group  sub1|sub2|...". Two quirks are kept
 * on purpose because the real output has them: the empty string after the
 * final newline sorts first and prints a line of 15 spaces under "usage:",
 * and the first sub-name of a group is printed again when the next line has
 * the same sub-name ("mailbox  cache|cache|create|...").
 */
import type { CommandEntry } from './commands.js';
import { EX_USAGE, exitWith, stderrLine } from './log.js';

const cmdname = (s: string): string => `  ${s.padEnd(12)}`;

/** The listing lines of usage_prefix(prefix) ('' = top level). */
export function usageLines(cmds: readonly CommandEntry[], prefix: string): string[] {
  const lines = [...cmds.map((c) => `${c.name}\t${c.usage}`), ''];
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  let cur = '';
  let prevName = '';
  let prevSub = '';
  const flush = () => {
    if (prevName !== '') {
      out.push(cur);
      cur = '';
      prevName = '';
    }
  };
  for (const line of lines) {
    const tab = line.indexOf('\t');
    let cmd = tab < 0 ? line : line.slice(0, tab);
    const args = tab < 0 ? '' : line.slice(tab + 1);
    if (prefix !== '') {
      if (!cmd.startsWith(prefix) || cmd[prefix.length] !== ' ') continue;
      cmd = cmd.slice(prefix.length + 1);
    }
    const sp = cmd.indexOf(' ');
    if (sp < 0) {
      flush();
      out.push(`${cmdname(cmd)} ${args}`);
      continue;
    }
    const short = cmd.slice(0, sp);
    const sub = cmd.slice(sp + 1).split(' ')[0]!;
    if (prevName !== short) {
      flush();
      cur = `${cmdname(short)} ${sub}`;
      prevName = short;
      prevSub = '';
    } else if (prevSub !== sub) {
      cur += `|${sub}`;
      prevSub = sub;
    }
  }
  flush();
  return out;
}

/** usage_prefix(): the command list on stderr, exit 64. */
export function usagePrefix(cmds: readonly CommandEntry[], prefix: string): never {
  stderrLine(`usage: doveadm [-Dv] [-f <formatter>] ${prefix !== '' ? `${prefix} ` : ''}<command> [<args>]`);
  for (const l of usageLines(cmds, prefix)) stderrLine(l);
  exitWith(EX_USAGE);
}

/** help_ver2(): "doveadm <name> <usage>" on stderr, exit 64. */
export function helpCommand(cmd: CommandEntry): never {
  stderrLine(`doveadm ${cmd.name} ${cmd.usage}`);
  exitWith(EX_USAGE);
}
