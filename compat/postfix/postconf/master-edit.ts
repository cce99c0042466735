/**
 * compat/postfix/postconf/master-edit.ts: `postconf -Me/-MX/-M#`, `-Fe`,
 * `-Pe/-PX` (Postfix postconf_edit.c pcf_edit_master, postconf_master.c
 * pcf_edit_master_field/param).
 *
 * master.cf is copied line by line to master.cf.tmp (mode 0600 while
 * written, 0644 at the end, then fsync and rename over master.cf). Comment
 * and blank lines pass through unchanged. An entry a request matches is
 * replaced by its re-formatted, folded form (-Me/-Fe/-Pe/-PX), dropped with
 * its continuation lines (-MX), or has every physical line prefixed with
 * `#` (-M#). For -Fe/-Pe/-PX the comment lines inside the matched entry are
 * written before the rewritten entry, as postconf does. -Me for an entry that
 * is not there appends it; -Fe/-Pe/-PX for one that is not there warns.
 */
import { fatal, warn } from '../../../src/log/msg.js';
import { type EditSink, editFile } from '../edit-file.js';
import {
  checkMasterArgv,
  endsDaemonOptions,
  MASTER_BLANKS,
  MASTER_MIN_FIELDS,
  masterCfPath,
  normalizeDaemonArgs,
  optionTakesValue,
  parseEntryArgv,
} from '../master-cf.js';
import { isSpace, splitNameValue, splitQuoted } from '../strops.js';
import { formatMasterArgv } from './master-show.js';
import { FIELD_CMD, FIELD_WILDCARD, matchService, parseFieldPattern, parseServicePattern } from './match.js';

/** Which master.cf view is edited: -M (entries), -F (fields) or -P (parameters). */
export type MasterEditKind = 'entry' | 'field' | 'param';
/** -e (add/replace), -X (remove), -# (comment out). */
export type MasterEditOp = 'edit' | 'exclude' | 'comment';

export interface MasterEditMode {
  kind: MasterEditKind;
  op: MasterEditOp;
}

interface EditRequest {
  raw: string;
  pattern: string[];
  value: string | undefined;
  field: number;
  param: string;
  matches: number;
}

const EDIT_OPTS = '-Me, -Fe, -Pe, -X, or -#';

function hasBlank(s: string): boolean {
  for (const ch of s) if (MASTER_BLANKS.includes(ch)) return true;
  return false;
}

function parseRequests(mode: MasterEditMode, args: readonly string[]): EditRequest[] {
  return args.map((raw) => {
    if (raw.includes('\n')) fatal(`${EDIT_OPTS} accept no multi-line input`);
    let i = 0;
    while (i < raw.length && isSpace(raw[i])) i++;
    const cp = raw.slice(i);
    if (cp[0] === '#') fatal(`${EDIT_OPTS} accept no comment input`);
    let patternText: string;
    let value: string | undefined;
    if (mode.op === 'edit') {
      const r = splitNameValue(cp);
      if (typeof r === 'string') fatal(`${r}: "${raw}"`);
      [patternText, value] = r;
    } else {
      if (cp.includes('=')) fatal('-X or -# requires names without value');
      // postconf calls trimblanks() but ignores its result: trailing blanks stay.
      patternText = cp;
    }
    const req: EditRequest = { raw, pattern: [], value, field: 0, param: '', matches: 0 };
    if (mode.kind === 'entry') {
      const p = parseServicePattern(patternText, 2, 2);
      if (!p) fatal('-Me, -MX or -M# requires service_name/type');
      req.pattern = p;
    } else if (mode.kind === 'field') {
      const p = parseServicePattern(patternText, 3, 3);
      if (!p) fatal('-Fe or -FX requires service_name/type/field_name');
      req.pattern = p;
      req.field = parseFieldPattern(p[2]!);
      if (req.field === FIELD_WILDCARD) fatal('-Fe does not accept wild-card field name');
      if (mode.op === 'edit' && req.field < FIELD_CMD && hasBlank(value!))
        fatal('-Fe does not accept whitespace in non-command field');
    } else {
      const p = parseServicePattern(patternText, 3, 3);
      if (!p) fatal('-Pe or -PX requires service_name/type/parameter');
      req.pattern = p;
      req.param = p[2]!;
      if (req.param === '*') fatal('-Pe does not accept wild-card parameter name');
      if (mode.op === 'edit' && hasBlank(value!)) fatal('-Pe does not accept whitespace in parameter value');
    }
    return req;
  });
}

/** pcf_edit_master_field(): replace one field (the command field is re-split and re-normalised). */
export function editMasterField(argv: string[], field: number, value: string): void {
  if (field === FIELD_CMD) {
    argv.length = FIELD_CMD;
    argv.push(...splitQuoted(value));
    normalizeDaemonArgs(argv);
  } else {
    argv[field] = value;
  }
  checkMasterArgv(argv, value);
}

/** pcf_edit_master_param(): update, add (before the first non-option argument) or remove `-o name=value`. */
export function editMasterParam(argv: string[], exclude: boolean, name: string, value: string | undefined): void {
  let matched = false;
  let field = MASTER_MIN_FIELDS;
  for (; field < argv.length; field++) {
    const arg = argv[field]!;
    if (endsDaemonOptions(arg)) break;
    if (optionTakesValue(arg) && field + 1 < argv.length) {
      if (arg === '-o') {
        const aval = argv[field + 1]!;
        if (aval.startsWith(name) && aval[name.length] === '=') {
          matched = true;
          if (exclude) {
            argv.splice(field, 2);
            field -= 2;
          } else {
            argv[field + 1] = `${name}=${value}`;
          }
        }
      }
      field += 1;
    }
  }
  if (!exclude && !matched) argv.splice(field, 0, '-o', `${name}=${value}`);
}

/** Physical lines with their newline kept (the last one may lack it). */
function physicalLines(text: string): string[] {
  const lines: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(pos, end));
    pos = end;
  }
  return lines;
}

/** Content offset of a line, or -1 for a comment or all-blank line. */
function contentStart(line: string): number {
  let i = 0;
  while (i < line.length && isSpace(line[i])) i++;
  if (i === line.length || line[i] === '#') return -1;
  return i;
}

function formatEntry(argv: readonly string[]): string {
  // A -Fe that empties the command leaves no command word; print none.
  return formatMasterArgv(argv.length > FIELD_CMD ? argv : [...argv, ''], true);
}

/** Rewrite master.cf in memory; returns the new text (messages and fatals as postconf). */
export function editMasterText(
  text: string,
  path: string,
  mode: MasterEditMode,
  reqs: EditRequest[],
  sink: EditSink = { text: '' },
): string {
  const lines = physicalLines(text);
  // Output so far lives in sink.text, so that a fatal error can leave the
  // same partial temp file postconf leaves.
  const emit = (s: string): void => {
    sink.text += s;
  };
  let idx = 0;
  let lineno = 0;
  const nextContent = (): string | undefined => {
    while (idx < lines.length) {
      const line = lines[idx++]!;
      lineno += 1;
      if (contentStart(line) >= 0) return line;
      emit(line);
    }
    return undefined;
  };
  // pcf_gobble_cf_line(): collect the continuation lines of the current entry
  // (postconf does not count them in its line number).
  const gobble = (first: string): string => {
    let full = first;
    while (idx < lines.length) {
      const ch = lines[idx]![0];
      if (ch !== '#' && !isSpace(ch)) break;
      const line = lines[idx++]!;
      if (contentStart(line) >= 0) full += line;
      else emit(line);
    }
    return full;
  };
  const comment = mode.op === 'comment';
  const editOrParamExclude = mode.op === 'edit' || (mode.kind === 'param' && mode.op === 'exclude');
  let matched = false;
  for (let line = nextContent(); line !== undefined; line = nextContent()) {
    const cs = contentStart(line);
    if (cs > 0) {
      if (!matched) emit(line);
      else if (comment) emit('#' + line);
      continue;
    }
    matched = false;
    const words = line.split(/[ \t\r\n]+/).filter((w) => w !== '');
    const name = words[0];
    const type = words[1];
    if (name === undefined || type === undefined)
      fatal(`file ${path}: line ${lineno}: specify service name and type on the same line`);
    if (name.includes('='))
      fatal(`file ${path}: line ${lineno}: service name syntax "${name}" is unsupported with ${EDIT_OPTS}`);
    if (/[=/]/.test(type))
      fatal(`file ${path}: line ${lineno}: service type syntax "${type}" is unsupported with ${EDIT_OPTS}`);
    let newEntry: string[] | undefined;
    for (const req of reqs) {
      let tentative: string[] | undefined;
      let useTentative = false;
      if (mode.kind === 'entry' && mode.op === 'edit') {
        const r = parseEntryArgv(req.value!);
        if (typeof r === 'string') fatal(`${r}: "${req.raw}"`);
        tentative = r;
      }
      if (matchService(req.pattern, name, type)) {
        matched = true;
        req.matches += 1;
        if (editOrParamExclude) {
          if (mode.kind === 'entry') {
            if (req.matches === 1) useTentative = true;
          } else {
            if (!newEntry) {
              const full = gobble(line);
              const r = parseEntryArgv(full);
              if (typeof r === 'string') fatal(`file ${path}: line ${lineno}: ${r}`);
              newEntry = r;
            }
            if (mode.kind === 'field') editMasterField(newEntry, req.field, req.value!);
            else editMasterParam(newEntry, mode.op === 'exclude', req.param, req.value);
          }
        }
      } else if (tentative && matchService(tentative, name, type)) {
        matched = true;
        req.matches += 1;
        if (req.matches === 1) useTentative = true;
      }
      if (tentative && useTentative) newEntry = tentative;
    }
    if (newEntry) emit(formatEntry(newEntry));
    else if (!matched) emit(line);
    else if (comment) emit('#' + line);
  }
  for (const req of reqs) {
    if (req.matches !== 0) continue;
    if (mode.kind === 'entry' && mode.op === 'edit') {
      const r = parseEntryArgv(req.value!);
      if (typeof r === 'string') fatal(`${r}: "${req.raw}"`);
      emit(formatEntry(r));
    } else if (mode.kind !== 'entry') {
      warn(`unmatched service_name/type: "${req.raw}"`);
    }
  }
  return sink.text;
}

/**
 * postconf -Me/-MX/-M#/-Fe/-Pe/-PX: edit `<configDir>/master.cf` in place.
 * `args` are the command-line operands (`svc/type=entry`, `svc/type/field=value`, ...).
 */
export function editMaster(configDir: string, mode: MasterEditMode, args: readonly string[]): void {
  if (args.length === 0) fatal('missing service argument');
  const reqs = parseRequests(mode, args);
  const path = masterCfPath(configDir);
  editFile(path, (text, sink) => editMasterText(text, path, mode, reqs, sink));
}
