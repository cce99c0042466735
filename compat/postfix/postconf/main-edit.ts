/**
 * postconf/main-edit.ts: `postconf -e name=value…`, `-X name…`, `-# name…`
 * (postconf_edit.c pcf_edit_main). The file is copied line by line into
 * main.cf.tmp with the named entries replaced, removed or commented out,
 * then renamed over main.cf (edit-file.ts): readers never see a half-written file.
 * New names are appended at the end (Postfix appends them in hash-table
 * order; we use argument order, one of the orders Postfix can produce).
 */
import { fatal, warn } from '../../../src/log/msg.js';
import { editFile } from '../edit-file.js';
import { isSpace, splitNameValue } from '../strops.js';
import { M } from './engine.js';

interface EditRequest {
  value: string | undefined;
  found: number;
}

export function editMain(mode: number, configDir: string, args: string[]): void {
  const table = new Map<string, EditRequest>();
  for (const raw of args) {
    if (raw.includes('\n')) fatal('-e, -X, or -# accepts no multi-line input');
    let cp = raw;
    while (isSpace(cp[0])) cp = cp.slice(1);
    if (cp[0] === '#') fatal('-e, -X, or -# accepts no comment input');
    let name: string;
    let value: string | undefined;
    if (mode & M.EDIT_CONF) {
      const nv = splitNameValue(cp);
      if (typeof nv === 'string') fatal(`${nv}: "${cp}"`);
      [name, value] = nv;
    } else {
      if (cp === '') fatal('-X or -# requires non-blank parameter names');
      if (cp.includes('=')) fatal('-X or -# requires parameter names without value');
      // postconf calls trimblanks() but ignores its result: trailing blanks stay
      // part of the name, so "-X 'name '" matches nothing (checked against 3.7.11).
      name = cp;
      value = undefined;
    }
    const earlier = table.get(name);
    if (earlier) {
      warn(`ignoring earlier request: '${name} = ${earlier.value ?? '(null)'}'`);
      table.delete(name);
    }
    table.set(name, { value, found: 0 });
  }

  const path = `${configDir}/main.cf`;
  editFile(path, (text) => rewriteMain(text, path, mode, table));
}

/** The copy loop of pcf_edit_main(): replace, drop or comment out the requested entries. */
function rewriteMain(text: string, path: string, mode: number, table: Map<string, EditRequest>): string {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const outText: string[] = [];
  let interesting = false;
  for (const line of lines) {
    let k = 0;
    while (k < line.length && isSpace(line[k])) k++;
    if (k === line.length || line[k] === '#') {
      outText.push(line); // comment or blank: pass through
      continue;
    }
    if (k > 0) {
      // Continuation text of the current logical line.
      if (!interesting) outText.push(line);
      else if (mode & M.COMMENT_OUT) outText.push(`#${line}`);
      continue;
    }
    let keyEnd = 0;
    while (keyEnd < line.length && !isSpace(line[keyEnd]) && line[keyEnd] !== '=') keyEnd++;
    const key = line.slice(0, keyEnd);
    const req = table.get(key);
    interesting = req !== undefined;
    if (req) {
      if (req.found++ === 1) warn(`${path}: multiple entries for "${key}"`);
      if (mode & M.EDIT_CONF) outText.push(`${key} = ${req.value}\n`);
      else if (mode & M.COMMENT_OUT) outText.push(`#${line}`);
    } else outText.push(line);
  }
  if (mode & M.EDIT_CONF) {
    for (const [name, req] of table) if (req.found === 0) outText.push(`${name} = ${req.value}\n`);
  }
  return outText.join('');
}
