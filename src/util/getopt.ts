/**
 * util/getopt.ts: POSIX getopt(3) as Postfix and Dovecot use it.
 *
 * Postfix calls glibc getopt with a leading "+" (sys_defs.h GETOPT), so option
 * parsing stops at the first operand: `postconf mail_version -d` treats `-d`
 * as a parameter name. Errors use glibc's words: "invalid option -- 'Z'" and
 * "option requires an argument -- 'c'".
 */

export type GetoptResult =
  | { ok: true; opts: Array<[string, string | undefined]>; operands: string[] }
  | { ok: false; error: string; opts: Array<[string, string | undefined]> };

/**
 * Parse `argv` (without the program name) with an option string such as
 * "c:d:nv". Returns the options in command-line order and the operands.
 */
export function getopt(argv: readonly string[], optstring: string): GetoptResult {
  const opts: Array<[string, string | undefined]> = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') break;
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!;
      const at = ch === ':' ? -1 : optstring.indexOf(ch);
      if (at < 0) return { ok: false, error: `invalid option -- '${ch}'`, opts };
      if (optstring[at + 1] === ':') {
        let value: string | undefined;
        if (j + 1 < arg.length) value = arg.slice(j + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else return { ok: false, error: `option requires an argument -- '${ch}'`, opts };
        opts.push([ch, value]);
        break;
      }
      opts.push([ch, undefined]);
    }
    i++;
  }
  return { ok: true, opts, operands: argv.slice(i) };
}
