/**
 * cli/doveadm/core/params.ts: doveadm's per-command parameters
 * (doveadm-cmd.c, DOVEADM_CMD_PARAM): options are read with glibc
 * getopt_long() in its default "permute" mode (options may follow operands;
 * "--" ends them; long names may be abbreviated), with glibc's error words
 * ("pw: invalid option -- 'x'", "pw: option '--r' is ambiguous;
 * possibilities: '--rounds' '--reverse-verify'"), where "pw" is the last word
 * of the command name. Operands fill the positional parameters in order; one
 * too many gives "Error: Extraneous arguments found: ...". Both end the
 * command with exit code 64 before it runs.
 */

export type ParamType = 'bool' | 'int64' | 'str' | 'array' | 'ip' | 'istream';

export interface ParamSpec {
  /** Long option name and the key the command reads it by. */
  name: string;
  type: ParamType;
  /** Short option letter, if any. */
  short?: string;
  /** Filled from operands (CMD_PARAM_FLAG_POSITIONAL). */
  positional?: boolean;
}

export interface CommandFlags {
  /** CMD_FLAG_NO_OPTIONS: every argument is an operand. */
  noOptions?: boolean;
  /** CMD_FLAG_NO_UNORDERED_OPTIONS: stop at the first operand ("+" in the option string). */
  noUnorderedOptions?: boolean;
}

export type ParamValue = boolean | bigint | string | string[];

/** The parameters a command was given (doveadm_cmd_param_*()). */
export class Params {
  constructor(private readonly values: Map<string, ParamValue>) {}
  has(name: string): boolean {
    return this.values.has(name);
  }
  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  int64(name: string): bigint | undefined {
    const v = this.values.get(name);
    return typeof v === 'bigint' ? v : undefined;
  }
  array(name: string): string[] | undefined {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : undefined;
  }
}

const INT64_MAX = (1n << 63n) - 1n;

/** str_to_int64(): optional '-', then decimal digits only, within int64. */
export function strToInt64(s: string): bigint | undefined {
  const m = /^(-?)([0-9]+)$/.exec(s);
  if (!m) return undefined;
  const n = BigInt(m[2]!);
  if (m[1] === '-') return n > INT64_MAX + 1n ? undefined : -n;
  return n > INT64_MAX ? undefined : n;
}

interface LongOpt {
  name: string;
  hasArg: boolean;
  /** The short letter (getopt's `val`), or '' for none. */
  val: string;
  param: number;
}

type Parsed = { ok: true; opts: Array<[number, string | undefined]>; operands: string[] } | { ok: false; error: string };

/** getopt_long() over argv[1..]: the options in order (as param indexes) and the operands. */
export function getoptLong(argv: readonly string[], specs: readonly ParamSpec[], requireOrder: boolean): Parsed {
  const prog = argv[0] ?? '';
  const longopts: LongOpt[] = specs.map((s, i) => ({ name: s.name, hasArg: s.type !== 'bool', val: s.short ?? '', param: i }));
  const opts: Array<[number, string | undefined]> = [];
  const operands: string[] = [];
  let i = 1;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') {
      if (requireOrder) {
        operands.push(...argv.slice(i));
        break;
      }
      operands.push(arg);
      i++;
      continue;
    }
    i++;
    if (arg.startsWith('--')) {
      const text = arg.slice(2);
      const eq = text.indexOf('=');
      const name = eq < 0 ? text : text.slice(0, eq);
      let found = longopts.find((o) => o.name === name);
      if (!found) {
        const matches = longopts.filter((o) => o.name.startsWith(name));
        if (matches.length === 0) return { ok: false, error: `${prog}: unrecognized option '--${text}'` };
        const first = matches[0]!;
        // glibc lists the first match and every later one that differs from it.
        const differing = matches.filter((o, k) => k === 0 || o.hasArg !== first.hasArg || o.val !== first.val);
        if (differing.length > 1) {
          return {
            ok: false,
            error: `${prog}: option '--${text}' is ambiguous; possibilities:${differing.map((o) => ` '--${o.name}'`).join('')}`,
          };
        }
        found = first;
      }
      if (eq >= 0) {
        if (!found.hasArg) return { ok: false, error: `${prog}: option '--${found.name}' doesn't allow an argument` };
        opts.push([found.param, text.slice(eq + 1)]);
      } else if (found.hasArg) {
        if (i >= argv.length) return { ok: false, error: `${prog}: option '--${found.name}' requires an argument` };
        opts.push([found.param, argv[i++]]);
      } else {
        opts.push([found.param, undefined]);
      }
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!;
      const o = ch === ':' ? undefined : longopts.find((l) => l.val === ch);
      if (!o) return { ok: false, error: `${prog}: invalid option -- '${ch}'` };
      if (!o.hasArg) {
        opts.push([o.param, undefined]);
        continue;
      }
      if (j + 1 < arg.length) opts.push([o.param, arg.slice(j + 1)]);
      else if (i < argv.length) opts.push([o.param, argv[i++]]);
      else return { ok: false, error: `${prog}: option requires an argument -- '${ch}'` };
      break;
    }
  }
  return { ok: true, opts, operands };
}

/** IPv4 / IPv6 literal, as net_addr2ip() accepts it. */
function isIp(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (/^\[?[0-9a-fA-F:.]+\]?$/.test(s) && s.includes(':'));
}

export type ParseOutcome = { ok: true; params: Params } | { ok: false; error: string; kind: 'getopt' | 'extraneous' };

/**
 * doveadm_cmd_run_ver2()'s argument handling. `argv[0]` is the last word of
 * the command name. On failure the caller prints `error` (getopt errors raw,
 * extraneous arguments as "Error: ...") and exits 64.
 */
export function parseParams(argv: readonly string[], specs: readonly ParamSpec[], flags: CommandFlags = {}): ParseOutcome {
  const values = new Map<string, ParamValue>();
  const fill = (spec: ParamSpec, value: string | undefined): void => {
    switch (spec.type) {
      case 'bool':
        values.set(spec.name, true);
        break;
      case 'int64': {
        const n = strToInt64(value ?? '');
        if (n === undefined) values.delete(spec.name);
        else values.set(spec.name, n);
        break;
      }
      case 'ip':
        if (isIp(value ?? '')) values.set(spec.name, value!);
        else values.delete(spec.name);
        break;
      case 'array': {
        const cur = values.get(spec.name);
        if (Array.isArray(cur)) cur.push(value ?? '');
        else values.set(spec.name, [value ?? '']);
        break;
      }
      default:
        values.set(spec.name, value ?? '');
    }
  };
  let operands: string[];
  if (flags.noOptions) operands = argv.slice(1);
  else {
    const g = getoptLong(argv, specs, flags.noUnorderedOptions === true);
    if (!g.ok) return { ok: false, error: g.error, kind: 'getopt' };
    for (const [idx, v] of g.opts) fill(specs[idx]!, v);
    operands = g.operands;
  }
  for (let k = 0; k < operands.length; k++) {
    const spec = specs.find((s) => s.positional && (!values.has(s.name) || s.type === 'array'));
    if (!spec) return { ok: false, error: `Extraneous arguments found: ${operands.slice(k).join(' ')}`, kind: 'extraneous' };
    fill(spec, operands[k]);
  }
  return { ok: true, params: new Params(values) };
}
