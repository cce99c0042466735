/**
 * compat/postfix/postconf/master-mode.ts: glue for the master.cf modes of
 * postconf (postconf.c main()): `-M`, `-F`, `-P` display with the parameter
 * name space built as postconf builds it (master.cf read first, fatal when
 * missing; then main.cf, built-in, service and user parameters), and the
 * `-Me/-MX/-M#/-Fe/-Pe/-PX` editors (which read nothing but master.cf).
 */
import { flushStdout } from '../../../src/util/out.js';
import type { MasterEntry } from '../master-cf.js';
import { M, type MasterScope } from './engine.js';
import { editMaster, type MasterEditMode } from './master-edit.js';
import { type MasterShowOptions, showMasterEntries, showMasterFields, showMasterParams } from './master-show.js';
import { buildEngine } from './main-mode.js';

export interface MasterModeRequest {
  mode: number;
  configDir: string;
  fromEnv: boolean;
  overrides: Array<[string, string]>;
  names: string[];
}

/** postconf -M/-F/-P [-f] [-h|-H] [-x] [-o name=value] [pattern...] */
export function showMaster(req: MasterModeRequest): number {
  const mode = req.mode;
  const engine = buildEngine(req, 'fail');
  const entries = engine.masters.map((s) => s.entry);
  const scopeOf = new Map<MasterEntry, MasterScope>(engine.masters.map((s) => [s.entry, s]));
  const opts: MasterShowOptions = {
    fold: (mode & M.FOLD_LINE) !== 0,
    hideName: (mode & M.HIDE_NAME) !== 0,
    hideValue: (mode & M.HIDE_VALUE) !== 0,
  };
  if (mode & M.SHOW_EVAL) opts.expand = (v, e) => engine.expandParameterValue(v, mode, scopeOf.get(e));
  if (mode & M.MASTER_FLD) showMasterFields(entries, opts, req.names);
  else if (mode & M.MASTER_PARAM)
    showMasterParams(
      entries,
      opts,
      req.names,
      engine.masters.map((s) => s.all ?? null),
    );
  else showMasterEntries(entries, opts, req.names);
  flushStdout();
  engine.flagUnusedMaster();
  return 0;
}

/** The master.cf edit selected by the mode bits. */
export function masterEditMode(mode: number): MasterEditMode {
  const kind = mode & M.MASTER_ENTRY ? 'entry' : mode & M.MASTER_FLD ? 'field' : 'param';
  const op = mode & M.EDIT_CONF ? 'edit' : mode & M.EDIT_EXCL ? 'exclude' : 'comment';
  return { kind, op };
}

/** postconf -Me/-MX/-M#/-Fe/-Pe/-PX operand... */
export function editMasterMode(req: MasterModeRequest): number {
  editMaster(req.configDir, masterEditMode(req.mode), req.names);
  return 0;
}
