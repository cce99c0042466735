/**
 * cli/postconf.ts: postconf(1), with the real option set, mode rules, output
 * and diagnostics of Postfix 3.7 (postconf.c). main.cf modes live in
 * compat/postfix/postconf/engine.ts and main-edit.ts; master.cf modes in
 * compat/postfix/postconf/master-*.ts.
 */
import { fatal, setVerbose } from '../log/msg.js';
import { getopt } from '../util/getopt.js';
import { outLine, setOutputEncoding } from '../util/out.js';
import { F, M } from '../../compat/postfix/postconf/engine.js';
import { splitNameValue } from '../../compat/postfix/strops.js';

const USAGE =
  'usage: postconf [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] [-c config_dir]' +
  ' [-c param_class] [-d (parameter defaults)] [-e (edit configuration)] [-f (fold lines)] [-F (master.cf fields)]' +
  ' [-h (no names)] [-H (no values)] [-l (lock types)] [-m (map types)] [-M (master.cf)]' +
  ' [-n (non-default parameters)] [-o name=value (override parameter value)] [-p (main.cf, default)]' +
  ' [-P (master.cf parameters)] [-t (bounce templates)] [-T compile-version|run-version|public-key-algorithms]' +
  ' [-v (verbose)] [-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]';

/** Option letters in the order of postconf.c pcf_compat_names (used in messages). */
const OPTION_NAMES: Array<[string, number]> = [
  ['-a', M.SHOW_SASL_SERV],
  ['-A', M.SHOW_SASL_CLNT],
  ['-b', M.EXP_DSN_TEMPL],
  ['-C', M.PARAM_CLASS],
  ['-d', M.SHOW_DEFS],
  ['-e', M.EDIT_CONF],
  ['-f', M.FOLD_LINE],
  ['-F', M.MASTER_FLD],
  ['-h', M.HIDE_NAME],
  ['-H', M.HIDE_VALUE],
  ['-l', M.SHOW_LOCKS],
  ['-m', M.SHOW_MAPS],
  ['-M', M.MASTER_ENTRY],
  ['-n', M.SHOW_NONDEF],
  ['-o', M.MAIN_OVER],
  ['-p', M.MAIN_PARAM],
  ['-P', M.MASTER_PARAM],
  ['-t', M.DUMP_DSN_TEMPL],
  ['-T', M.SHOW_TLS],
  ['-x', M.SHOW_EVAL],
  ['-X', M.EDIT_EXCL],
  ['-#', M.COMMENT_OUT],
];

const INCOMPATIBLE: number[] = [
  M.SHOW_SASL_SERV |
    M.SHOW_SASL_CLNT |
    M.EXP_DSN_TEMPL |
    M.SHOW_LOCKS |
    M.SHOW_MAPS |
    M.DUMP_DSN_TEMPL |
    M.MAIN_PARAM |
    M.MASTER_ENTRY |
    M.MASTER_FLD |
    M.MASTER_PARAM |
    M.SHOW_TLS,
  M.SHOW_DEFS | M.EDIT_CONF | M.SHOW_NONDEF | M.COMMENT_OUT | M.EDIT_EXCL,
  M.FOLD_LINE | M.EDIT_CONF | M.COMMENT_OUT | M.EDIT_EXCL,
  M.SHOW_EVAL | M.EDIT_CONF | M.COMMENT_OUT | M.EDIT_EXCL,
  M.MAIN_OVER | M.SHOW_DEFS | M.EDIT_CONF | M.COMMENT_OUT | M.EDIT_EXCL,
  M.HIDE_NAME | M.EDIT_CONF | M.COMMENT_OUT | M.EDIT_EXCL | M.HIDE_VALUE,
];

const COMPATIBLE: Array<[number, number]> = [
  [M.SHOW_SASL_SERV, 0],
  [M.SHOW_SASL_CLNT, 0],
  [M.EXP_DSN_TEMPL, 0],
  [M.SHOW_LOCKS, 0],
  [M.SHOW_MAPS, 0],
  [M.SHOW_TLS, 0],
  [M.DUMP_DSN_TEMPL, 0],
  [
    M.MAIN_PARAM,
    M.EDIT_CONF |
      M.EDIT_EXCL |
      M.COMMENT_OUT |
      M.FOLD_LINE |
      M.HIDE_NAME |
      M.PARAM_CLASS |
      M.SHOW_EVAL |
      M.SHOW_DEFS |
      M.SHOW_NONDEF |
      M.MAIN_OVER |
      M.HIDE_VALUE,
  ],
  [M.MASTER_ENTRY, M.EDIT_CONF | M.EDIT_EXCL | M.COMMENT_OUT | M.FOLD_LINE | M.MAIN_OVER | M.SHOW_EVAL],
  [M.MASTER_FLD, M.EDIT_CONF | M.FOLD_LINE | M.HIDE_NAME | M.MAIN_OVER | M.SHOW_EVAL | M.HIDE_VALUE],
  [M.MASTER_PARAM, M.EDIT_CONF | M.EDIT_EXCL | M.FOLD_LINE | M.HIDE_NAME | M.MAIN_OVER | M.SHOW_EVAL | M.HIDE_VALUE],
  [M.PARAM_CLASS, M.MAIN_PARAM | M.SHOW_DEFS | M.SHOW_NONDEF],
];

function optionNames(mask: number): string {
  const names: string[] = [];
  for (const [name, bit] of OPTION_NAMES) if (mask & bit) names.push(name);
  return names.join(' ');
}

/** pcf_check_exclusive_options(). */
function checkExclusive(mode: number): void {
  for (const group of INCOMPATIBLE) {
    const oval = group & mode;
    if (oval & (oval - 1)) fatal(`specify one of ${optionNames(oval)}`);
  }
}

/** pcf_check_compat_options(). */
function checkCompat(mode: number): void {
  for (const [major, allowed] of COMPATIBLE) {
    const excess = mode & ~(major | allowed);
    if (mode & major && excess) fatal(`with option ${optionNames(major)}, do not specify ${optionNames(excess)}`);
  }
}

/** -C names (postconf.c param_class_table); `all` is PCF_PARAM_MASK_CLASS. */
const ALL_CLASSES = F.BUILTIN | F.SERVICE | F.USER;
const PARAM_CLASSES: Record<string, number> = { builtin: F.BUILTIN, service: F.SERVICE, user: F.USER, all: ALL_CLASSES };

/** name_mask_opt(NAME_MASK_ANY_CASE | NAME_MASK_FATAL) over builtin/service/user/all. */
function parseParamClass(arg: string): number {
  let mask = 0;
  for (const word of arg.split(/[, \t\r\n]+/).filter(Boolean)) {
    const key = word.toLowerCase();
    if (!Object.hasOwn(PARAM_CLASSES, key)) fatal(`unknown -C option value "${word}" in "${arg}"`);
    mask |= PARAM_CLASSES[key]!;
  }
  return mask;
}

export async function main(argv: string[]): Promise<number> {
  setOutputEncoding('latin1');
  let mode = 0;
  let paramClass = ALL_CLASSES;
  const overrides: string[] = [];
  let tlsArg: string | undefined;
  let templateArgs = false;
  let verbose = 0;
  let configDir: string | undefined = process.env.MAIL_CONFIG;

  const parsed = getopt(argv, 'aAbc:C:deEfFhHlmMno:pPtT:vxX#');
  for (const [opt, arg] of parsed.opts) {
    switch (opt) {
      case 'a':
        mode |= M.SHOW_SASL_SERV;
        break;
      case 'A':
        mode |= M.SHOW_SASL_CLNT;
        break;
      case 'b':
      case 't':
        mode |= opt === 'b' ? M.EXP_DSN_TEMPL : M.DUMP_DSN_TEMPL;
        if (templateArgs) fatal('specify one of -b and -t');
        templateArgs = true;
        break;
      case 'c':
        configDir = arg!;
        break;
      case 'C':
        paramClass = parseParamClass(arg!);
        break;
      case 'd':
        mode |= M.SHOW_DEFS;
        break;
      case 'e':
        mode |= M.EDIT_CONF;
        break;
      case 'f':
        mode |= M.FOLD_LINE;
        break;
      case 'F':
        mode |= M.MASTER_FLD;
        break;
      case '#':
        mode |= M.COMMENT_OUT;
        break;
      case 'h':
        mode |= M.HIDE_NAME;
        break;
      case 'H':
        mode |= M.HIDE_VALUE;
        break;
      case 'l':
        mode |= M.SHOW_LOCKS;
        break;
      case 'm':
        mode |= M.SHOW_MAPS;
        break;
      case 'M':
        mode |= M.MASTER_ENTRY;
        break;
      case 'n':
        mode |= M.SHOW_NONDEF;
        break;
      case 'o':
        mode |= M.MAIN_OVER;
        overrides.push(arg!);
        break;
      case 'p':
        mode |= M.MAIN_PARAM;
        break;
      case 'P':
        mode |= M.MASTER_PARAM;
        break;
      case 'T':
        if (mode & M.SHOW_TLS) fatal('At most one -T <mode> option may be specified');
        mode |= M.SHOW_TLS;
        tlsArg = arg!;
        break;
      case 'x':
        mode |= M.SHOW_EVAL;
        break;
      case 'X':
        mode |= M.EDIT_EXCL;
        break;
      case 'v':
        verbose++;
        break;
      default:
        fatal(USAGE);
    }
  }
  if (!parsed.ok) {
    process.stderr.write(`postconf: ${parsed.error}\n`);
    fatal(USAGE);
  }
  setVerbose(verbose);
  const names = parsed.operands;
  if (configDir !== undefined) process.env.MAIL_CONFIG = configDir;

  if ((mode & INCOMPATIBLE[0]!) === 0) mode |= M.MAIN_PARAM;
  const mainOrMaster = M.MAIN_PARAM | M.MASTER_ENTRY | M.MASTER_FLD | M.MASTER_PARAM;
  if (mode & mainOrMaster && names[0]?.includes('=')) mode |= M.EDIT_CONF;
  checkExclusive(mode);
  checkCompat(mode);
  if (mode & M.EDIT_CONF && names.length === 0) fatal('-e requires name=value argument');

  const overridePairs: Array<[string, string]> = overrides.map((o) => {
    const nv = splitNameValue(o);
    if (typeof nv === 'string') fatal(`invalid parameter override: ${o}: ${nv}`);
    return nv;
  });
  const dir = configDir ?? '/etc/postfix';
  const fromEnv = configDir !== undefined;

  if (templateArgs) {
    const { showBounceTemplates } = await import('../../compat/postfix/postconf/templates.js');
    if (names.length > 1) fatal('options -b and -t require at most one template file');
    return showBounceTemplates({ configDir: dir, file: names[0], expand: (mode & M.EXP_DSN_TEMPL) !== 0 });
  }
  if (mode & M.SHOW_MAPS) {
    const { mapTypes } = await import('../../compat/postfix/postconf/other.js');
    for (const t of mapTypes()) outLine(t);
    return 0;
  }
  if (mode & M.SHOW_LOCKS) {
    for (const t of ['flock', 'fcntl', 'dotlock']) outLine(t);
    return 0;
  }
  const masterModes = M.MASTER_ENTRY | M.MASTER_FLD | M.MASTER_PARAM;
  const editModes = M.EDIT_CONF | M.EDIT_EXCL | M.COMMENT_OUT;
  if (mode & masterModes && !(mode & editModes)) {
    const { showMaster } = await import('../../compat/postfix/postconf/master-mode.js');
    return showMaster({ mode, configDir: dir, fromEnv, overrides: overridePairs, names });
  }
  if (mode & M.SHOW_SASL_SERV) {
    outLine('cyrus');
    outLine('dovecot');
    return 0;
  }
  if (mode & M.SHOW_SASL_CLNT) {
    outLine('cyrus');
    return 0;
  }
  if (mode & M.SHOW_TLS) {
    const { showTls } = await import('../../compat/postfix/postconf/other.js');
    return showTls(tlsArg!);
  }
  if (mode & editModes) {
    if (names.length === 0) fatal('missing service argument');
    if (mode & masterModes) {
      const { editMasterMode } = await import('../../compat/postfix/postconf/master-mode.js');
      return editMasterMode({ mode, configDir: dir, fromEnv, overrides: overridePairs, names });
    }
    const { editMain } = await import('../../compat/postfix/postconf/main-edit.js');
    editMain(mode, dir, names);
    return 0;
  }
  const { showMain } = await import('../../compat/postfix/postconf/main-mode.js');
  showMain({ mode, configDir: dir, fromEnv, overrides: overridePairs, names, paramClass });
  return 0;
}

