/**
 * maps/driver-util.ts: pieces the in-memory drivers share (static, inline,
 * unionmap, pipemap, randmap, ...): the read-only check, the `{...}` name
 * syntax of dict_inline.c/dict_union.c/dict_pipe.c/dict_random.c, and the
 * UTF-8 flag test (DICT_NEED_UTF8_ACTIVATION).
 */
import { COMMA_BLANKS, extractBraces, splitQuoted } from '../../compat/postfix/strops.js';
import { activateUtf8, needUtf8Activation, utf8EnableOf } from './dict-utf8.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

/**
 * DICT_NEED_UTF8_ACTIVATION(util_utf8_enable, dict_flags): smtputf8_enable
 * is on (OpenOptions.param) and the caller asked for UTF-8 (UTF8_REQUEST).
 */
export function utf8Active(opts: OpenOptions): boolean {
  return needUtf8Activation(utf8EnableOf(opts.param), opts.dictFlags);
}

/**
 * The last step of dict_open(): put the UTF-8 layer (dict-utf8.ts: key
 * checks, Unicode case folding, value checks) in front of a table that
 * needs it and does not have it yet.
 */
export function withUtf8Layer(table: LookupTable, opts: OpenOptions): LookupTable {
  if (table.flags & DictFlag.UTF8_ACTIVE || !utf8Active(opts)) return table;
  return activateUtf8(table);
}

/** "TYPE:NAME map requires O_RDONLY access mode" for tables that cannot be written. */
export function requireReadOnly(type: string, name: string, opts: OpenOptions): void {
  if (opts.mode !== 'read') throw new DictError('config', `${type}:${name}`, `${type}:${name} map requires O_RDONLY access mode`);
}

/**
 * The text inside `{...}` when `name` is exactly one balanced brace group
 * with something inside (balpar() and the "*saved_name == 0" test), else
 * undefined. The inner text is not trimmed.
 */
export function braceBody(name: string): string | undefined {
  const r = extractBraces(name, false);
  return r.err !== undefined || r.text === '' ? undefined : r.text;
}

/** mystrtokq(CHARS_COMMA_SP, CHARS_BRACE) over a whole string: `{}` groups stay whole. */
export function splitCommaBlanks(text: string): string[] {
  return splitQuoted(text, COMMA_BLANKS);
}

/** The "bad syntax" open error of the `{...}` table types. */
export function badSyntax(type: string, name: string, need: string): DictError {
  return new DictError('config', `${type}:${name}`, `bad syntax: "${type}:${name}"; need "${type}:{${need}...}"`);
}
