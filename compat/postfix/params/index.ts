/**
 * params/index.ts: the Postfix parameter catalogue API.
 *
 * Lookups over the generated data in builtin.ts (maps built on first use, so
 * importing this module costs almost nothing), the per-service parameters
 * that postconf derives from master.cf (src/postconf/postconf_service.c), and
 * the typed value conversions daemons use, with Postfix's own rules and error
 * words (src/global/mail_conf_{int,long,time,bool,nint,nbool,str}.c and
 * conv_time.c). Values given to the parse helpers are already $-expanded, as
 * mail_conf_lookup_eval() hands them to the converters.
 */
import { BUILTIN_ROWS, type BuiltinRow, LEGACY_NAMES, SERVICE_TEMPLATES } from './builtin.js';
import type { ParamDef } from './types.js';

export type { ParamDef, ParamKind } from './types.js';

let builtin: Map<string, ParamDef> | undefined;
let legacy: Map<string, ParamDef> | undefined;

function toDef(row: BuiltinRow): ParamDef {
  const [name, kind, def, unit, min, max] = row;
  const d: { -readonly [K in keyof ParamDef]: ParamDef[K] } = { name, kind, default: def };
  if (unit) d.unit = unit;
  if (min) d.min = min;
  if (max) d.max = max;
  return d;
}

/** All parameters `postconf -d` prints for an empty master.cf (no legacy names), sorted by name. */
export function builtinParams(): ReadonlyMap<string, ParamDef> {
  if (!builtin) {
    builtin = new Map();
    for (const row of BUILTIN_ROWS) builtin.set(row[0], toDef(row));
  }
  return builtin;
}

function legacyMap(): Map<string, ParamDef> {
  if (!legacy) {
    legacy = new Map();
    for (const name of LEGACY_NAMES) legacy.set(name, { name, kind: 'legacy', default: '' });
  }
  return legacy;
}

/**
 * The legacy names postconf registers (kind 'legacy', default ''), in
 * postconf_builtin.c order; never printed by `postconf -d`.
 */
export function legacyParams(): readonly ParamDef[] {
  return [...legacyMap().values()];
}

/** A built-in or legacy parameter by name (service-derived names are not included: see serviceParams). */
export function findParam(name: string): ParamDef | undefined {
  return builtinParams().get(name) ?? legacyMap().get(name);
}

/**
 * The parameters postconf registers for one master.cf service: when field 8
 * (the command name, compared as is: `/usr/lib/postfix/smtp` matches nothing)
 * is local, error, virtual, smtp or lmtp, the service name plus each
 * scheduler suffix (`relay_destination_concurrency_limit =
 * $default_destination_concurrency_limit`, …); pipe adds `<service>_time_limit
 * = $command_time_limit`; spawn registers only that one. A name that already
 * exists (e.g. `local_destination_concurrency_limit = 2`) keeps its own
 * default, as pcf_register_service_parameter() does. If `command` holds a
 * whole command line, its first word is used.
 */
export function serviceParams(serviceName: string, command: string): Array<{ name: string; default: string }> {
  const program = command.trim().split(/\s+/, 1)[0] ?? '';
  const template = Object.hasOwn(SERVICE_TEMPLATES, program) ? SERVICE_TEMPLATES[program] : undefined;
  if (!template) return [];
  return template.map(([suffix, base]) => {
    const name = serviceName + suffix;
    const existing = findParam(name);
    return { name, default: existing ? existing.default : `$${base}` };
  });
}

/* ------------------------------------------------------------------ */
/* Typed conversions (Postfix mail_conf_*.c rules and error words).   */
/* ------------------------------------------------------------------ */

/** A main.cf value that the daemon would reject with `fatal: <message>`. */
export class ParamValueError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamValueError';
  }
}

/** Optional bounds; 0 means no bound (Postfix convention). Omitted: the catalogue's bounds for `name`. */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * strtol(3) in base 10: returns the value and the index where parsing stopped
 * (0 when no digits were found, as strtol sets end = start), or undefined
 * value on overflow of the 64-bit long range (ERANGE).
 */
function strtol(s: string): { value: bigint | undefined; end: number } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s);
  if (!m) return { value: 0n, end: 0 };
  let v = BigInt(m[2] as string);
  if (m[1] === '-') v = -v;
  return { value: v < LONG_MIN || v > LONG_MAX ? undefined : v, end: m[0].length };
}

function boundsFor(name: string, bounds: Bounds | undefined): { min: number; max: number } {
  const b = bounds ?? findParam(name);
  return { min: b?.min ?? 0, max: b?.max ?? 0 };
}

/** Bound check for int/nint values (check_mail_conf_int). */
export function checkInt(name: string, value: number, min: number, max: number): void {
  if (min && value < min) throw new ParamValueError(name, `invalid ${name} parameter value ${value} < ${min}`);
  if (max && value > max) throw new ParamValueError(name, `invalid ${name} parameter value ${value} > ${max}`);
}

/** Bound check for long values (check_mail_conf_long): same words as int. */
export const checkLong = checkInt;

/** Bound check for time values in seconds (check_mail_conf_time). */
export function checkTime(name: string, seconds: number, min: number, max: number): void {
  if (min && seconds < min) throw new ParamValueError(name, `invalid ${name}: ${seconds} (min ${min})`);
  if (max && seconds > max) throw new ParamValueError(name, `invalid ${name}: ${seconds} (max ${max})`);
}

/** String length check in bytes (check_mail_conf_str). */
export function checkStr(name: string, value: string, min: number, max: number): void {
  const len = Buffer.byteLength(value);
  if (min && len < min) throw new ParamValueError(name, `bad string length ${len} < ${min}: ${name} = ${value}`);
  if (max && len > max) throw new ParamValueError(name, `bad string length ${len} > ${max}: ${name} = ${value}`);
}

/**
 * An int or nint value: decimal, optional sign and leading white space,
 * nothing after; C int range. Exported as `parseInt` (named apart here so the
 * global parseInt is not shadowed inside this module).
 */
function parseIntParam(name: string, value: string, bounds?: Bounds): number {
  const { value: v, end } = strtol(value);
  if (value === '' || end !== value.length || v === undefined || v < INT_MIN || v > INT_MAX) {
    throw new ParamValueError(name, `bad numerical configuration: ${name} = ${value}`);
  }
  const n = Number(v);
  const { min, max } = boundsFor(name, bounds);
  checkInt(name, n, min, max);
  return n;
}

/**
 * A long value (64-bit C long). Returned as a number: values past 2^53 lose
 * precision, which no Postfix size or count parameter reaches in practice.
 */
export function parseLong(name: string, value: string, bounds?: Bounds): number {
  const { value: v, end } = strtol(value);
  if (value === '' || end !== value.length || v === undefined) {
    throw new ParamValueError(name, `bad numerical configuration: ${name} = ${value}`);
  }
  const n = Number(v);
  const { min, max } = boundsFor(name, bounds);
  checkLong(name, n, min, max);
  return n;
}

/** A bool or nbool value: `yes` or `no`, any case (strcasecmp); Postfix accepts nothing else. */
export function parseBool(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new ParamValueError(name, `bad boolean configuration: ${name} = ${value}`);
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * A time value in seconds (conv_time.c): a non-negative decimal number, then
 * an optional unit s, m, h, d or w (lower case); without one, `defaultUnit`
 * (omitted: the catalogue's unit for `name`, else s). As in Postfix, only the
 * first character after the number is looked at ("5sx" is 5 seconds) and a
 * unit alone means 0 ("s" is 0 seconds). The result must fit a C int.
 */
export function parseTime(name: string, value: string, defaultUnit?: string, bounds?: Bounds): number {
  const bad = () => new ParamValueError(name, `parameter ${name}: bad time value or unit: ${value}`);
  const { value: v, end } = strtol(value);
  if (value === '' || v === undefined || v < 0n || v > BigInt(INT_MAX)) throw bad();
  const unit = end < value.length ? (value[end] as string) : (defaultUnit ?? findParam(name)?.unit ?? 's');
  const mult = Object.hasOwn(UNIT_SECONDS, unit) ? (UNIT_SECONDS[unit] as number) : undefined;
  if (mult === undefined) throw bad();
  const n = Number(v);
  // conv_time.c: intval < INT_MAX / unit (C integer division), seconds always fit.
  if (mult > 1 && !(n < Math.trunc(INT_MAX / mult))) throw bad();
  const seconds = n * mult;
  const { min, max } = boundsFor(name, bounds);
  checkTime(name, seconds, min, max);
  return seconds;
}

/** A string value with the catalogue's (or given) length bounds; returns it unchanged. */
export function parseStr(name: string, value: string, bounds?: Bounds): string {
  const { min, max } = boundsFor(name, bounds);
  checkStr(name, value, min, max);
  return value;
}

export { parseIntParam as parseInt };
