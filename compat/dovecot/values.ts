/**
 * compat/dovecot/values.ts: Dovecot 2.3 setting value parsing and the form
 * doveconf prints (settings-parser.c). Each parser returns the normalised
 * text or throws ValueError with the exact message doveconf prints after
 * "Error in configuration file F line N: ".
 */
import type { SettingDef } from './settings/types.js';

export class ValueError extends Error {}

const UINT_MAX = 4294967295n;
const U64_MAX = 18446744073709551615n;

function parseUint(v: string, max: bigint): string {
  const t = v.trim();
  if (!/^[0-9]+$/.test(t)) throw new ValueError(`Invalid number ${v}: Not a valid number`);
  const n = BigInt(t);
  if (n > max) throw new ValueError(`Invalid number ${v}: Number too large`);
  return n.toString();
}

/** "-1" gives "Number too small" as str_to_uint does. */
function uintValue(v: string): string {
  if (/^\s*-[0-9]+\s*$/.test(v)) throw new ValueError(`Invalid number ${v}: Number too small`);
  return parseUint(v, UINT_MAX);
}

function octValue(v: string): string {
  const t = v.trim();
  if (t.startsWith('0')) {
    if (!/^[0-7]+$/.test(t)) throw new ValueError(`Invalid number: ${v}`);
    return `0${BigInt(`0o${t}`).toString(8)}`;
  }
  const n = BigInt(uintValue(v));
  return `0${n.toString(8)}`;
}

const TIME_UNITS: Array<[RegExp, bigint]> = [
  [/^(ms|msec|msecs|millisecond|milliseconds)$/i, -1n],
  [/^(s|sec|secs|second|seconds)$/i, 1n],
  [/^(m|min|mins|minute|minutes)$/i, 60n],
  [/^(h|hour|hours)$/i, 3600n],
  [/^(d|day|days)$/i, 86400n],
  [/^(w|week|weeks)$/i, 604800n],
];

/** Parse a time interval to milliseconds. */
function parseInterval(v: string): bigint {
  const m = /^\s*([0-9]+)\s*(.*?)\s*$/.exec(v);
  if (!m) throw new ValueError(`Invalid time interval: ${v}`);
  const n = BigInt(m[1]!);
  const unit = m[2]!;
  if (unit === '') {
    if (n !== 0n) throw new ValueError(`Time interval '${v}' is missing units (add e.g. 's' for seconds)`);
    return 0n;
  }
  for (const [re, mul] of TIME_UNITS) if (re.test(unit)) return mul < 0n ? n : n * mul * 1000n;
  throw new ValueError(`Invalid time interval: ${v}`);
}

function formatSecs(secs: bigint): string {
  if (secs === 0n) return '0';
  const units: Array<[bigint, string]> = [
    [604800n, 'weeks'],
    [86400n, 'days'],
    [3600n, 'hours'],
    [60n, 'mins'],
  ];
  for (const [mul, name] of units) if (secs % mul === 0n) return `${secs / mul} ${name}`;
  return `${secs} secs`;
}

function timeValue(v: string): string {
  const ms = parseInterval(v);
  if (ms % 1000n !== 0n) throw new ValueError(`Milliseconds not supported for this setting: ${v}`);
  if (ms / 1000n > UINT_MAX) throw new ValueError(`Time interval is too large: ${v}`);
  return formatSecs(ms / 1000n);
}

function msecsValue(v: string): string {
  const ms = parseInterval(v);
  if (ms > UINT_MAX) throw new ValueError(`Time interval is too large: ${v}`);
  if (ms === 0n) return '0';
  if (ms % 1000n !== 0n) return `${ms} ms`;
  return formatSecs(ms / 1000n);
}

const SIZE_UNITS: Record<string, bigint> = { b: 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n };

function sizeValue(v: string): string {
  const m = /^\s*([0-9]+)\s*([bkmgtBKMGT]?)(i?[bB])?\s*$/.exec(v);
  if (!m || (m[2] === '' && m[3])) throw new ValueError(`Invalid size: ${v}`);
  const n = BigInt(m[1]!) * SIZE_UNITS[(m[2] || 'b').toLowerCase()]!;
  if (n > U64_MAX) throw new ValueError(`Invalid size: ${v}`);
  return formatSize(n);
}

export function formatSize(n: bigint): string {
  if (n === 0n) return '0';
  for (const [u, mul] of [
    ['T', SIZE_UNITS.t!],
    ['G', SIZE_UNITS.g!],
    ['M', SIZE_UNITS.m!],
    ['k', SIZE_UNITS.k!],
  ] as const) {
    if (n % mul === 0n) return `${n / mul} ${u}`;
  }
  return `${n} B`;
}

function boolValue(v: string): string {
  const t = v.toLowerCase();
  if (t === 'yes' || t === 'y' || t === '1') return 'yes';
  if (t === 'no') return 'no';
  throw new ValueError(`Invalid boolean value: ${v} (use yes or no)`);
}

function portValue(v: string): string {
  const t = v.trim();
  if (!/^[0-9]+$/.test(t) || BigInt(t) > 65535n) throw new ValueError(`Invalid port number ${v}`);
  return BigInt(t).toString();
}

/** Normalise `value` for setting `def`; throws ValueError with doveconf's message. */
export function normalizeValue(def: SettingDef, value: string): string {
  switch (def[1]) {
    case 'bool':
      return boolValue(value);
    case 'uint':
      return uintValue(value);
    case 'oct':
      return octValue(value);
    case 'time':
      return timeValue(value);
    case 'msecs':
      return msecsValue(value);
    case 'size':
      return sizeValue(value);
    case 'port':
      return portValue(value);
    case 'enum':
      if (!(def[3] ?? [def[2]]).includes(value)) throw new ValueError(`Invalid value: ${value}`);
      return value;
    default:
      return value;
  }
}

/** A stored (normalised) time value in milliseconds: "2 mins" → 120000. */
export function timeToMsecs(value: string): number {
  return Number(parseInterval(value));
}

/** A stored (normalised) size in bytes: "256 M" → 268435456. */
export function sizeToBytes(value: string): bigint {
  const m = /^\s*([0-9]+)\s*([bkmgtBKMGT]?)/.exec(value);
  if (!m) throw new ValueError(`Invalid size: ${value}`);
  return BigInt(m[1]!) * SIZE_UNITS[(m[2] || 'b').toLowerCase()]!;
}
