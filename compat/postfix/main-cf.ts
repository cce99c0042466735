/**
 * postfix/main-cf.ts: read main.cf-style "name = value" files as Postfix does
 * (readlline.c logical lines, split_nameval.c, dict_load_fp in dict.c).
 *
 * - A logical line is a line that starts with non-blank text plus every
 *   following line that starts with whitespace. Comment lines (first
 *   non-blank is '#') and blank lines are dropped, and do not end a logical
 *   line. The newline between physical lines is dropped; the continuation's
 *   leading whitespace is kept.
 * - "name = value": blanks around '=' and trailing blanks are dropped.
 * - A later entry overrides an earlier one, with a warning that shows the old
 *   value when the values differ.
 * The same reader serves the database client files (mysql:/pgsql:… .cf).
 */
import { readFileSync } from 'node:fs';

import { isSpace as isBlank, splitNameValue } from './strops.js';

export interface LogicalLine {
  text: string;
  /** Line number where the logical line starts (1-based). */
  line: number;
}

/**
 * Split file text into logical lines. `warn` receives the readllines
 * complaint for text that starts with whitespace before any logical line.
 */
export function logicalLines(text: string, path: string, warn: (t: string) => void): LogicalLine[] {
  const physical = text.split('\n');
  // A trailing newline yields a final empty string that is not a line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  const result: LogicalLine[] = [];
  let cur: string | undefined;
  let curLine = 0;
  const flush = () => {
    if (cur === undefined) return;
    if (isBlank(cur[0])) {
      const shown = cur.length > 30 ? `${cur.slice(0, 30)}...` : cur;
      warn(`${path}: logical line must not start with whitespace: "${shown}"`);
    } else result.push({ text: cur, line: curLine });
    cur = undefined;
  };
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    let k = 0;
    while (k < raw.length && isBlank(raw[k])) k++;
    if (k === raw.length || raw[k] === '#') continue; // comment or blank
    if (k > 0 && cur !== undefined) {
      cur += raw;
      continue;
    }
    flush();
    cur = raw;
    curLine = i + 1;
  }
  flush();
  return result;
}

export interface NameValueEntry {
  value: string;
  line: number;
}

/** An insertion-ordered name=value dictionary with the line each came from. */
export type NameValueDict = Map<string, NameValueEntry>;

export interface LoadResult {
  dict: NameValueDict;
}

/**
 * dict_load_fp(): parse name=value text into `dict` (existing entries are
 * overridden, with Postfix's warning). A malformed line is fatal: `fatal`
 * receives "PATH, line N: ERROR: \"TEXT\"".
 */
export function loadNameValues(
  text: string,
  path: string,
  dict: NameValueDict,
  warn: (t: string) => void,
  fatal: (t: string) => never,
): void {
  for (const { text: line, line: lineno } of logicalLines(text, path, warn)) {
    const nv = splitNameValue(line);
    if (typeof nv === 'string') fatal(`${path}, line ${lineno}: ${nv}: "${line}"`);
    const [name, value] = nv;
    const old = dict.get(name);
    if (old !== undefined && old.value !== value)
      warn(`${path}, line ${lineno}: overriding earlier entry: ${name}=${old.value}`);
    dict.delete(name);
    dict.set(name, { value, line: lineno });
  }
}

/** Read a file with loadNameValues; returns undefined (with errno) when it cannot be opened. */
export function readNameValueFile(
  path: string,
  dict: NameValueDict,
  warn: (t: string) => void,
  fatal: (t: string) => never,
): NodeJS.ErrnoException | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  loadNameValues(text, path, dict, warn, fatal);
  return undefined;
}
