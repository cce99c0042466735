/**
 * compat/postfix/master-cf.ts: read master.cf the way `postconf` does
 * (Postfix postconf_master.c, readlline.c, argv_splitq.c, extpar.c,
 * split_nameval.c; format in master(5)).
 *
 * Logical lines: a line that starts with whitespace continues the previous
 * one; comment lines (first non-blank `#`) and blank lines are dropped, also
 * inside a continuation. Physical lines are joined without a separator (the
 * continuation's own leading blanks separate the words).
 *
 * An entry is split on blanks with `{ }` grouping, needs at least 8 fields,
 * and fields 2-7 are checked (type, y/n/-, wakeup `N[?]`/`-`, process limit
 * `N`/`-`). Daemon options are then normalised: `-vo x` becomes `-v` `-o x`,
 * `-oname=value` becomes `-o` `name=value`, `-o { name = value }` becomes
 * `-o` `name=value`, and `{ text }` non-option arguments lose their braces.
 * Error and warning texts are postconf's own.
 */
import { readFileSync } from 'node:fs';
import { fatal, warn } from '../../src/log/msg.js';
import { strerror } from '../../src/util/strerror.js';
import { logicalLines } from './main-cf.js';
import { BLANKS, extractBraces, splitNameValue, splitQuoted } from './strops.js';

export interface MasterEntry {
  service: string;
  type: string;
  private: string;
  unprivileged: string;
  chroot: string;
  wakeup: string;
  processLimit: string;
  /** The command and its arguments after normalisation (what -M prints after the 7 fields). */
  args: string[];
  /** `-o name=value` overrides in file order (duplicates kept; the last one wins). */
  params: Array<[string, string]>;
  file: string;
  /** First physical line of the entry. */
  line: number;
}

/** master.cf as named in postconf's warnings about `{}` and `-o` syntax. */
export const MASTER_CONF_FILE = 'master.cf';
export const MASTER_MIN_FIELDS = 8;
/** PCF_MASTER_BLANKS: word separators inside an entry. */
export const MASTER_BLANKS = BLANKS;
const VALID_TYPES = ['unix', 'fifo', 'inet', 'pass', 'unix-dgram'];
const FIELD_LABELS = ['service', 'type', 'private', 'unprivileged', 'chroot', 'wakeup', 'process_limit', 'command'];
/** Daemon command-line options that take a value (pcf_daemon_options_expecting_value). */
export const OPTIONS_WITH_VALUE = 'o';

/** strchr(OPTIONS_WITH_VALUE, c) != 0: note that C's strchr also finds the NUL, so "-" counts. */
export function optionTakesValue(arg: string): boolean {
  const c = arg[1];
  return c === undefined || OPTIONS_WITH_VALUE.includes(c);
}

/** Non-option argument (or "--"): the end of the daemon options. */
export function endsDaemonOptions(arg: string): boolean {
  return arg[0] !== '-' || arg === '--';
}

// ---------------------------------------------------------------- entries

function extractField(argv: string[], field: number): void {
  const r = extractBraces(argv[field]!);
  if (r.err) warn(`${MASTER_CONF_FILE}: ${r.err}`);
  argv[field] = r.text;
}

function normalizeNameValue(argv: string[], field: number): void {
  const arg = argv[field]!;
  const r = splitNameValue(arg);
  if (typeof r === 'string') warn(`${MASTER_CONF_FILE}: ${r}: "${arg}"`);
  else argv[field] = `${r[0]}=${r[1]}`;
}

/** pcf_normalize_daemon_args(): bring the arguments after the command into canonical form. */
export function normalizeDaemonArgs(argv: string[]): void {
  let field = MASTER_MIN_FIELDS;
  for (; field < argv.length; field++) {
    let arg = argv[field]!;
    if (endsDaemonOptions(arg)) break;
    // Split "-stuffozz" into "-stuff" and "-ozz".
    for (let k = 2; k < arg.length; k++) {
      if (OPTIONS_WITH_VALUE.includes(arg[k]!)) {
        argv.splice(field + 1, 0, '-' + arg.slice(k));
        arg = argv[field] = arg.slice(0, k);
        break;
      }
    }
    if (!optionTakesValue(arg)) continue;
    let extract: boolean;
    if (arg.length > 2) {
      // Split "-oname=value" into "-o" "name=value".
      argv.splice(field + 1, 0, arg.slice(2));
      argv[field] = arg.slice(0, 2);
      field += 1;
      extract = argv[field]![0] === '{';
    } else if (field + 1 < argv.length) {
      field += 1;
      extract = argv[field]![0] === '{';
    } else {
      extract = false;
    }
    if (extract) {
      extractField(argv, field);
      if (argv[field - 1]![1] === 'o') normalizeNameValue(argv, field);
    }
  }
  for (; field < argv.length; field++) if (argv[field]![0] === '{') extractField(argv, field);
}

function fixFatal(text: string): never {
  return fatal(text.replace(/\n/g, ' '));
}

/** pcf_check_master_entry(): per-field sanity checks; `raw` is quoted in the error. */
export function checkMasterArgv(argv: readonly string[], raw: string): void {
  const type = argv[1]!;
  if (!VALID_TYPES.includes(type)) fixFatal(`invalid type field "${type}" in "${raw}"`);
  for (let f = 2; f <= 4; f++) {
    const cp = argv[f]!;
    if (cp.length !== 1 || !'yn-'.includes(cp)) fixFatal(`invalid ${FIELD_LABELS[f]} field "${cp}" in "${raw}"`);
  }
  const wakeup = argv[5]!;
  const len = wakeup.endsWith('?') ? wakeup.length - 1 : wakeup.length;
  if (!(wakeup[0] === '-' && len === 1) && digitSpan(wakeup) !== len)
    fixFatal(`invalid wakeup field "${wakeup}" in "${raw}"`);
  const maxproc = argv[6]!;
  if (maxproc !== '-' && digitSpan(maxproc) !== maxproc.length)
    fixFatal(`invalid process_limit field "${maxproc}" in "${raw}"`);
}

function digitSpan(s: string): number {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return i;
}

/**
 * pcf_parse_master_entry(): split, check and normalise one logical entry.
 * Returns the full argv (7 fields, command, arguments) or the error word
 * "bad field count" (field errors are fatal right away, as in postconf).
 */
export function parseEntryArgv(text: string): string[] | 'bad field count' {
  const argv = splitQuoted(text);
  if (argv.length < MASTER_MIN_FIELDS) return 'bad field count';
  checkMasterArgv(argv, text);
  normalizeDaemonArgs(argv);
  return argv;
}

/** The `-o name=value` pairs of a normalised argv, as pcf_register_user_parameters() collects them. */
export function paramsFromArgv(argv: readonly string[]): Array<[string, string]> {
  const params: Array<[string, string]> = [];
  for (let field = MASTER_MIN_FIELDS; field < argv.length; field++) {
    const arg = argv[field]!;
    if (endsDaemonOptions(arg)) break;
    if (!optionTakesValue(arg) || field + 1 >= argv.length) continue;
    if (arg === '-o') {
      const r = splitNameValue(argv[field + 1]!);
      if (typeof r !== 'string') params.push(r);
    }
    field += 1;
  }
  return params;
}

export function entryFromArgv(argv: readonly string[], file: string, line: number): MasterEntry {
  return {
    service: argv[0]!,
    type: argv[1]!,
    private: argv[2]!,
    unprivileged: argv[3]!,
    chroot: argv[4]!,
    wakeup: argv[5]!,
    processLimit: argv[6]!,
    args: argv.slice(7),
    params: paramsFromArgv(argv),
    file,
    line,
  };
}

/** The entry as one argv: the 7 fields, then the command and its arguments. */
export function entryArgv(e: MasterEntry): string[] {
  return [e.service, e.type, e.private, e.unprivileged, e.chroot, e.wakeup, e.processLimit, ...e.args];
}

/** Parse master.cf text; `path` is the file name used in messages (e.g. "./master.cf"). */
export function parseMasterCf(text: string, path: string): MasterEntry[] {
  const entries: MasterEntry[] = [];
  for (const ll of logicalLines(text, path, warn)) {
    const argv = parseEntryArgv(ll.text);
    if (typeof argv === 'string') fatal(`file ${path}: line ${ll.line}: ${argv}`);
    entries.push(entryFromArgv(argv, path, ll.line));
  }
  return entries;
}

export function masterCfPath(configDir: string): string {
  return `${configDir}/master.cf`;
}

/**
 * pcf_read_master(): read `<configDir>/master.cf`. An open error is fatal
 * ('fail', the master.cf modes) or a warning that leaves an empty table
 * ('warn', the main.cf modes).
 */
export function readMasterCf(configDir: string, onOpenError: 'fail' | 'warn'): MasterEntry[] {
  const path = masterCfPath(configDir);
  let text: string;
  try {
    // latin1: one char per byte, so any byte comes back out unchanged.
    text = readFileSync(path, 'latin1');
  } catch (err) {
    // A directory opens fine in C and then reads as empty.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return [];
    if (onOpenError === 'fail') fatal(`open ${path}: ${strerror(err)}`);
    warn(`open ${path}: ${strerror(err)}`);
    return [];
  }
  return parseMasterCf(text, path);
}

/**
 * The overrides a daemon started for this entry applies, in order, with
 * later duplicates replacing earlier ones (position of the first kept).
 */
export function serviceView(entry: MasterEntry): Array<[string, string]> {
  const m = new Map<string, string>();
  for (const [k, v] of entry.params) m.set(k, v);
  return [...m];
}
