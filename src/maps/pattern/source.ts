/**
 * maps/pattern/source.ts: the text of a regexp/pcre/cidr table and its
 * logical lines, as Postfix's dict_stream_open() and readllines() give them.
 *
 * - The table is a file, or inline rules `{ {rule}, {rule}, ... }`
 *   (Postfix 3.7 regexp_table(5) "INLINE SPECIFICATION"): each rule becomes
 *   one line of an in-memory file.
 * - readllines(3): `#` lines (after optional whitespace) and blank lines are
 *   ignored; a line that starts with whitespace continues the previous one
 *   (joined without a separator, the whitespace kept), even across comment
 *   and blank lines. A logical line that itself starts with whitespace is
 *   dropped with "FILE: logical line must not start with whitespace".
 *   A rule's line number is that of its first physical line.
 */
import { readFile } from 'node:fs/promises';
import { warn } from '../../log/msg.js';
import { strerror } from '../../util/strerror.js';
import { DictError } from '../types.js';

/** ISSPACE() of Postfix's sys_defs.h: ASCII isspace(). */
export function isSpaceCode(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

export interface LogicalLine {
  text: string;
  lineno: number;
}

/**
 * Read the table source. Files are read as bytes (latin1 byte strings). A
 * directory reads as an empty table, as a read(2) error does in Postfix.
 */
export async function readTableSource(type: string, name: string): Promise<{ text: string; path: string; isDirectory?: true }> {
  if (name.startsWith('{')) {
    const text = inlineToMultiline(name);
    if (text.error !== undefined) throw new DictError('config', `${type}:${name}`, `${type} map: ${text.error}`);
    return { text: text.text, path: 'unknown_stream' };
  }
  try {
    return { text: await readFile(name, 'latin1'), path: name };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return { text: '', path: name, isDirectory: true };
    throw new DictError('config', `${type}:${name}`, `open ${name}: ${strerror(err)}`);
  }
}

/** balpar(3): length of the balanced "{...}" at the start of s, or 0. */
function balpar(s: string, open: string, close: string): number {
  if (s[0] !== open) return 0;
  let level = 1;
  for (let i = 1; i < s.length; i++) {
    if (s[i] === close) {
      if (--level === 0) return i + 1;
    } else if (s[i] === open) level++;
  }
  return 0;
}

/** extpar(3) with "{}": the text inside the braces, or an error. */
function extpar(s: string, strip: boolean): { text: string; error?: string } {
  let text: string;
  let error: string | undefined;
  if (s[0] !== '{') {
    return { text: s, error: `no '{' at start of text in "${s}"` };
  }
  const len = balpar(s, '{', '}');
  if (len === 0) {
    error = `missing '}' in "${s}"`;
    text = s.slice(1);
  } else {
    if (len < s.length) error = `syntax error after '}' in "${s}"`;
    text = s.slice(1, len - 1);
  }
  if (strip) text = trimSpace(text);
  return error === undefined ? { text } : { text, error };
}

function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpaceCode(s.charCodeAt(a))) a++;
  while (b > a && isSpaceCode(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** dict_inline_to_multiline(): "{ {rule1}, {rule2} }" to "rule1\nrule2\n". */
function inlineToMultiline(name: string): { text: string; error?: string } {
  const outer = extpar(name, false);
  if (outer.error !== undefined) return { text: '', error: outer.error };
  const sep = ', \t\r\n';
  const body = outer.text;
  let text = '';
  let i = 0;
  for (;;) {
    // mystrtokq(&bp, CHARS_COMMA_SP, CHARS_BRACE)
    while (i < body.length && sep.includes(body[i]!)) i++;
    if (i >= body.length) break;
    const start = i;
    let level = 0;
    for (; i < body.length; i++) {
      const ch = body[i]!;
      if (ch === '{') level++;
      else if (level > 0 && ch === '}') level--;
      else if (level === 0 && sep.includes(ch)) break;
    }
    const token = body.slice(start, i);
    if (i < body.length) i++;
    const rule = extpar(token, true);
    if (rule.error !== undefined) return { text: '', error: rule.error };
    text += rule.text + '\n';
  }
  return { text };
}

/** readllines(3) over the whole text, with its warnings. */
export function logicalLines(text: string, path: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const phys = text.split('\n');
  // A final piece after the last newline is a line only if it is non-empty.
  if (phys.length > 0 && phys[phys.length - 1] === '') phys.pop();
  let buf = '';
  let first = 0;
  const flush = (): void => {
    if (buf === '') return;
    if (isSpaceCode(buf.charCodeAt(0))) {
      warn(`${path}: logical line must not start with whitespace: "${buf.slice(0, 30)}${buf.length > 30 ? '...' : ''}"`);
    } else {
      const nul = buf.indexOf('\0');
      out.push({ text: nul >= 0 ? buf.slice(0, nul) : buf, lineno: first });
    }
    buf = '';
  };
  for (let n = 0; n < phys.length; n++) {
    const line = phys[n]!;
    let k = 0;
    while (k < line.length && isSpaceCode(line.charCodeAt(k))) k++;
    if (k === line.length || line[k] === '#') continue; // comment or blank
    if (k === 0) flush(); // not a continuation: a new logical line
    if (buf === '') first = n + 1;
    buf += line;
  }
  flush();
  return out;
}

/** trimblanks(p, 0)[0] = 0: drop trailing whitespace. */
export function trimTrailing(s: string): string {
  let b = s.length;
  while (b > 0 && isSpaceCode(s.charCodeAt(b - 1))) b--;
  return b === s.length ? s : s.slice(0, b);
}
