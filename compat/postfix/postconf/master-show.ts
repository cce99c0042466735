/**
 * compat/postfix/postconf/master-show.ts: `postconf -M`, `-F` and `-P`
 * output (Postfix postconf_master.c pcf_print_master_entry,
 * pcf_print_master_field, pcf_show_master_*; postconf_print.c pcf_print_line).
 *
 * -M: the 7 fields at columns 0/11/17/25/33/41/49 (at least one blank
 * between), the command at 57, then the arguments. `-o value` pairs stay
 * together; a value (or, after the options, an argument) containing blanks
 * is shown inside `{}`. With -f (and always when master.cf is rewritten by
 * an edit) each option with a value starts a new line indented by 4 and
 * other words wrap before column 80.
 * -F: `svc/type/field = value`, -P: `svc/type/name = value` (names sorted,
 * whitespace normalised, folded with -f).
 */
import { compareBytes } from '../strops.js';
import { fatal, warn } from '../../../src/log/msg.js';
import { out } from '../../../src/util/out.js';
import {
  endsDaemonOptions,
  entryArgv,
  MASTER_BLANKS,
  MASTER_MIN_FIELDS,
  type MasterEntry,
  optionTakesValue,
  serviceView,
} from '../master-cf.js';
import { formatLine, INDENT, INDENT_LEN, LINE_LIMIT } from './print.js';
import {
  FIELD_CMD,
  FIELD_WILDCARD,
  MASTER_FIELD_NAMES,
  matchService,
  parseFieldPattern,
  parseServicePattern,
} from './match.js';

const COLUMN_GOAL = [0, 11, 17, 25, 33, 41, 49, 57];

export interface MasterShowOptions {
  /** -f: fold long lines. */
  fold?: boolean;
  /** -h: values only. */
  hideName?: boolean;
  /** -H: names only. */
  hideValue?: boolean;
  /** -x: expand $name in -o values (and -P values); the caller supplies the expansion. */
  expand?: (value: string, entry: MasterEntry) => string;
}

function hasBlank(s: string): boolean {
  for (const ch of s) if (MASTER_BLANKS.includes(ch)) return true;
  return false;
}

/**
 * Format the command arguments after argv[from-1] (shared by -M and -F).
 * `lineLen` is the current column; `extraPad` is 3 for -M, 1 for -F (as postconf).
 */
function formatArgs(
  argv: readonly string[],
  from: number,
  lineLen: number,
  fold: boolean,
  extraPad: number,
  expand: ((v: string) => string) | undefined,
): string {
  let res = '';
  let inOptions = true;
  for (let field = from; field < argv.length; field++) {
    const arg = argv[field]!;
    let argLen = arg.length;
    let aval: string | undefined;
    let needParens = false;
    if (inOptions) {
      if (endsDaemonOptions(arg)) {
        inOptions = false;
      } else if (optionTakesValue(arg) && field + 1 < argv.length) {
        aval = argv[field + 1]!;
        lineLen = LINE_LIMIT;
        if (arg === '-o' && expand) aval = expand(aval);
        argLen += aval.length + extraPad;
        if ((needParens = hasBlank(aval))) argLen += 2;
      }
    } else {
      needParens = hasBlank(arg);
    }
    if (lineLen > INDENT_LEN) {
      if (!fold || lineLen + 1 + argLen < LINE_LIMIT) {
        res += ' ';
        lineLen += 1;
      } else {
        res += '\n' + INDENT;
        lineLen = INDENT_LEN;
      }
    }
    const braced = !inOptions && needParens;
    res += braced ? `{${arg}}` : arg;
    lineLen += arg.length + (braced ? 2 : 0);
    if (aval !== undefined) {
      res += ' ' + (needParens ? `{${aval}}` : aval);
      field += 1;
      lineLen = LINE_LIMIT;
    }
  }
  return res;
}

/** pcf_print_master_entry(): one entry as `postconf -M` (or the master.cf editor) writes it. */
export function formatMasterEntry(entry: MasterEntry, fold: boolean, expand?: MasterShowOptions['expand']): string {
  return formatMasterArgv(entryArgv(entry), fold, expand && ((v) => expand(v, entry)));
}

export function formatMasterArgv(argv: readonly string[], fold: boolean, expand?: (v: string) => string): string {
  let res = '';
  let lineLen = 0;
  for (let field = 0; field < MASTER_MIN_FIELDS; field++) {
    const arg = argv[field]!;
    if (lineLen > 0) {
      do {
        res += ' ';
        lineLen += 1;
      } while (lineLen < COLUMN_GOAL[field]!);
    }
    res += arg;
    lineLen += arg.length;
  }
  return res + formatArgs(argv, MASTER_MIN_FIELDS, lineLen, fold, 3, expand) + '\n';
}

interface Request {
  raw: string;
  pattern: string[];
  matches: number;
}

function parseRequests(patterns: readonly string[], max: number, usage: string): Request[] {
  return patterns.map((raw) => {
    const pattern = parseServicePattern(raw, 1, max);
    if (!pattern) fatal(usage);
    return { raw, pattern, matches: 0 };
  });
}

function warnUnmatched(reqs: readonly Request[]): void {
  for (const r of reqs) if (r.matches === 0) warn(`unmatched request: "${r.raw}"`);
}

/** postconf -M [-f] [service[/type]...] */
export function showMasterEntries(
  entries: readonly MasterEntry[],
  opts: MasterShowOptions,
  patterns: readonly string[] = [],
): void {
  const reqs = parseRequests(patterns, 2, '-M option requires service_name[/type]');
  for (const e of entries) {
    if (reqs.length === 0) {
      out(formatMasterEntry(e, !!opts.fold, opts.expand));
      continue;
    }
    for (const r of reqs) {
      if (matchService(r.pattern, e.service, e.type)) {
        r.matches++;
        out(formatMasterEntry(e, !!opts.fold, opts.expand));
      }
    }
  }
  warnUnmatched(reqs);
}

/** pcf_print_master_field(): `svc/type/field = value` for one field. */
export function formatMasterField(entry: MasterEntry, field: number, opts: MasterShowOptions): string {
  const argv = entryArgv(entry);
  let res = '';
  let lineLen = 0;
  if (!opts.hideName) {
    res += `${argv[0]}/${argv[1]}/${MASTER_FIELD_NAMES[field]}`;
    lineLen = res.length;
  }
  if (!opts.hideName && !opts.hideValue) {
    res += ' = ';
    lineLen += 3;
  }
  if (!opts.hideValue) {
    const v = argv[field]!;
    if (lineLen > 0 && lineLen + v.length > LINE_LIMIT) {
      res += '\n' + INDENT;
      lineLen = INDENT_LEN;
    }
    res += v;
    lineLen += v.length;
    if (field === FIELD_CMD) {
      const expand = opts.expand;
      res += formatArgs(argv, field + 1, lineLen, !!opts.fold, 1, expand && ((x) => expand(x, entry)));
    }
  }
  return res + '\n';
}

/** postconf -F [-f] [-h|-H] [service[/type[/field]]...] */
export function showMasterFields(
  entries: readonly MasterEntry[],
  opts: MasterShowOptions,
  patterns: readonly string[] = [],
): void {
  const reqs = patterns.map((raw) => {
    const pattern = parseServicePattern(raw, 1, 3);
    if (!pattern) fatal('-F option requires service_name[/type[/field]]');
    return { raw, pattern, matches: 0, field: parseFieldPattern(pattern[2]!) };
  });
  const all = (e: MasterEntry): void => {
    for (let f = 0; f <= FIELD_CMD; f++) out(formatMasterField(e, f, opts));
  };
  for (const e of entries) {
    if (reqs.length === 0) {
      all(e);
      continue;
    }
    for (const r of reqs) {
      if (!matchService(r.pattern, e.service, e.type)) continue;
      r.matches++;
      if (r.field === FIELD_WILDCARD) all(e);
      else out(formatMasterField(e, r.field, opts));
    }
  }
  warnUnmatched(reqs);
}

/** pcf_print_master_param(): one `svc/type/name = value` line. */
export function formatMasterParam(entry: MasterEntry, name: string, value: string, opts: MasterShowOptions): string {
  const ns = `${entry.service}/${entry.type}`;
  const fold = !!opts.fold;
  if (opts.hideValue) return formatLine(`${ns}/${name}`, fold);
  if (opts.expand) value = opts.expand(value, entry);
  if (!opts.hideName) return formatLine(`${ns}/${name} = ${value}`, fold);
  return formatLine(value, fold);
}


/**
 * postconf -P [-f] [-h|-H] [service[/type[/name]]...]. `tables` are the
 * per-entry parameter tables of the postconf engine (read-only assignments
 * removed); by default they are built from the entries.
 */
export function showMasterParams(
  entries: readonly MasterEntry[],
  opts: MasterShowOptions,
  patterns: readonly string[] = [],
  tables?: ReadonlyArray<Map<string, string> | null>,
): void {
  const reqs = parseRequests(patterns, 3, '-P option requires service_name[/type[/parameter]]');
  const showAll = (e: MasterEntry, t: Map<string, string>): void => {
    for (const name of [...t.keys()].sort(compareBytes)) out(formatMasterParam(e, name, t.get(name)!, opts));
  };
  entries.forEach((e, i) => {
    const t = tables ? tables[i] : e.params.length > 0 ? new Map(serviceView(e)) : null;
    if (!t) return;
    if (reqs.length === 0) {
      showAll(e, t);
      return;
    }
    for (const r of reqs) {
      if (!matchService(r.pattern, e.service, e.type)) continue;
      const p = r.pattern[2]!;
      if (p === '*') {
        showAll(e, t);
        r.matches++;
      } else if (t.has(p)) {
        out(formatMasterParam(e, p, t.get(p)!, opts));
        r.matches++;
      }
    }
  });
  warnUnmatched(reqs);
}
