/**
 * postconf/main-mode.ts: `postconf [-dnhHxf] [-o name=value] [name…]`, the
 * main.cf display modes (postconf.c main(), postconf_main.c).
 */
import { compareBytes } from '../strops.js';
import { basename } from 'node:path';
import { warn } from '../../../src/log/msg.js';
import { readMasterCf } from '../master-cf.js';
import { M, type ParamNode, PostconfEngine, F } from './engine.js';
import { printLine } from './print.js';

export interface MainModeRequest {
  mode: number;
  configDir: string;
  fromEnv: boolean;
  overrides: Array<[string, string]>;
  names: string[];
  paramClass: number;
}

/** Build the engine the way postconf.c does for the display modes. */
export function buildEngine(req: Omit<MainModeRequest, 'names' | 'paramClass'>, masterOnOpenError: 'fail' | 'warn'): PostconfEngine {
  const engine = new PostconfEngine(req.mode, req.configDir, req.fromEnv);
  const showDefs = (req.mode & M.SHOW_DEFS) !== 0;
  if (masterOnOpenError === 'fail') engine.setMasterEntries(readMasterCf(req.configDir, 'fail'));
  if (!showDefs) {
    engine.readParameters();
    if (req.overrides.length) engine.setParameters(req.overrides);
  }
  engine.registerBuiltin(basename(process.argv[1] ?? 'postconf'), process.pid);
  if (masterOnOpenError === 'warn') engine.setMasterEntries(readMasterCf(req.configDir, 'warn'));
  engine.registerService();
  if (!showDefs) engine.registerUser(); // -d never goes with -M/-F/-P (checkCompat)
  return engine;
}

function printParameter(engine: PostconfEngine, mode: number, name: string, node: ParamNode): void {
  let value = engine.lookupValue(mode, name, undefined, node);
  if (value === undefined) return;
  const fold = (mode & M.FOLD_LINE) !== 0;
  if (mode & M.HIDE_VALUE) {
    printLine(name, fold);
    return;
  }
  if (mode & M.SHOW_EVAL && (node.flags & F.RAW) === 0) value = engine.expandParameterValue(value, mode, undefined);
  printLine(mode & M.HIDE_NAME ? value : `${name} = ${value}`, fold);
}

export function showMain(req: MainModeRequest): void {
  const engine = buildEngine(req, 'warn');
  const mode = req.mode;
  if (req.names.length === 0) {
    const names = [...engine.params.keys()].sort(compareBytes);
    for (const name of names) {
      const node = engine.params.get(name)!;
      if (req.paramClass & node.flags) printParameter(engine, mode, name, node);
    }
  } else {
    for (const name of req.names) {
      const node = engine.params.get(name);
      if (!node) warn(`${name}: unknown parameter`);
      else printParameter(engine, mode, name, node);
    }
  }
  if ((mode & M.SHOW_DEFS) === 0) {
    engine.flagUnusedMain();
    engine.flagUnusedMaster();
  }
}
