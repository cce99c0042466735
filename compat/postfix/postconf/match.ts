/**
 * compat/postfix/postconf/match.ts: the service/type/field pattern language
 * of `postconf -M`, `-F`, `-P` and their edit forms (Postfix postconf_match.c).
 *
 * A pattern is `name[/type[/field-or-parameter]]` split on `/` (empty parts
 * are dropped, as argv_split does); `*` is a wild card but only when it is a
 * whole component (`smtp*` is not a pattern). Missing trailing components
 * default to `*`.
 */
import { fatal } from '../../../src/log/msg.js';

/** master.cf field names in column order, as `postconf -F` prints them. */
export const MASTER_FIELD_NAMES = [
  'service',
  'type',
  'private',
  'unprivileged',
  'chroot',
  'wakeup',
  'process_limit',
  'command',
] as const;

export const FIELD_SERVICE = 0;
export const FIELD_TYPE = 1;
export const FIELD_PRIVATE = 2;
export const FIELD_UNPRIV = 3;
export const FIELD_CHROOT = 4;
export const FIELD_WAKEUP = 5;
export const FIELD_MAXPROC = 6;
export const FIELD_CMD = 7;
/** The `*` field pattern. */
export const FIELD_WILDCARD = -1;

export function isWildcard(p: string): boolean {
  return p === '*';
}

export function matchString(pattern: string, s: string): boolean {
  return pattern === '*' || pattern === s;
}

/** True when a parsed pattern's first two components match name and type. */
export function matchService(pattern: readonly string[], name: string, type: string): boolean {
  return matchString(pattern[0]!, name) && matchString(pattern[1]!, type);
}

/**
 * Split a pattern into between min and max components and pad it with `*`
 * up to max. Returns null for a syntax error (the caller words the fatal).
 */
export function parseServicePattern(pattern: string, min: number, max: number): string[] | null {
  if (pattern.startsWith('/')) return null;
  const parts = pattern.split('/').filter((p) => p !== '');
  if (parts.length < min || parts.length > max) return null;
  for (const p of parts) if (!isWildcard(p) && p.includes('*')) return null;
  while (parts.length < max) parts.push('*');
  return parts;
}

/** Field name (or `*`) to its index; fatal on anything else (case-sensitive). */
export function parseFieldPattern(name: string): number {
  if (name === '*') return FIELD_WILDCARD;
  const i = (MASTER_FIELD_NAMES as readonly string[]).indexOf(name);
  if (i < 0) fatal(`invalid service attribute name: "${name}"`);
  return i;
}
