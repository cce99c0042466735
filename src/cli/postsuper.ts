/**
 * cli/postsuper.ts: postsuper(1), Postfix superintendent.
 *
 *   postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id]
 *             [-f queue_id] [-h queue_id] [-H queue_id] [-r queue_id]
 *             [queue...]
 *
 * Option handling as postsuper.c: options are parsed twice, first to build
 * the action set (repair actions -s/-S/-p, the default when none, run
 * first), then to run the per-ID / ALL operations in command-line order;
 * "-" reads queue IDs from stdin. Operands are queue names (default: defer
 * bounce maildrop incoming active deferred hold flush). Progress goes to
 * stderr as "postsuper: ID: removed" etc., then the count lines. Needs
 * root; when root, like the real one, it runs as mail_owner.
 */
import { readFileSync } from 'node:fs';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { error, FatalExit, fatal, info, setProgname, setVerbose, warn } from '../log/msg.js';
import {
  ACTION_DEFAULT,
  Action,
  ACTIONS_BY_QUEUE_ID,
  ACTIONS_FOR_REPAIR,
  DEFAULT_QUEUES,
  Postsuper,
} from '../postsuper/postsuper.js';
import { layoutFromConfig } from '../queue/layout.js';
import { getopt } from '../util/getopt.js';
import { strerror } from '../util/strerror.js';

const USAGE =
  'usage: postsuper [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] ' +
  '[-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] ' +
  '[-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] ' +
  '[-S (redundant structure fix)][-v (verbose)] [queue...]';

const plural = (n: number) => `${n} message${n !== 1 ? 's' : ''}`;

function runAsOwner(owner: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  try {
    process.setgid?.(owner);
    process.setuid?.(owner);
  } catch (err) {
    fatal(`set_ugid ${owner}: ${strerror(err)}`);
  }
}

export function main(argv: string[]): number {
  setProgname('postsuper');
  if (process.env.MAIL_VERBOSE) setVerbose(1);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    fatal('use of this command is reserved for the superuser');
  }
  const g = getopt(argv, 'c:d:e:f:h:H:pr:sSv');
  if (!g.ok) {
    process.stderr.write(`postsuper: ${g.error}\n`);
    return fatal(USAGE);
  }
  let action = 0;
  let configDir: string | undefined;
  let verbose = process.env.MAIL_VERBOSE ? 1 : 0;
  const all = (v: string | undefined, allBit: number, oneBit: number) => (v === 'ALL' ? allBit : oneBit);
  for (const [opt, val] of g.opts) {
    switch (opt) {
      case 'c':
        if (!val!.startsWith('/')) fatal('-c requires absolute pathname');
        configDir = val;
        break;
      case 'd':
        action |= all(val, Action.DELETE_ALL, Action.DELETE_ONE);
        break;
      case 'e':
        action |= all(val, Action.EXPIRE_ALL, Action.EXPIRE_ONE);
        break;
      case 'f':
        action |= all(val, Action.EXP_REL_ALL, Action.EXP_REL_ONE);
        break;
      case 'h':
        action |= all(val, Action.HOLD_ALL, Action.HOLD_ONE);
        break;
      case 'H':
        action |= all(val, Action.RELEASE_ALL, Action.RELEASE_ONE);
        break;
      case 'p':
        action |= Action.PURGE;
        break;
      case 'r':
        action |= all(val, Action.REQUEUE_ALL, Action.REQUEUE_ONE);
        break;
      case 'S':
        action |= Action.STRUCT_RED | Action.STRUCT;
        break;
      case 's':
        action |= Action.STRUCT;
        break;
      case 'v':
        verbose++;
        break;
    }
  }
  setVerbose(verbose);
  const cfg = loadPostfixConfig({ configDir: configDir ?? process.env.MAIL_CONFIG });
  const layout = layoutFromConfig(cfg);
  try {
    process.chdir(layout.dir);
  } catch (err) {
    fatal(`chdir ${layout.dir}: ${strerror(err)}`);
  }
  runAsOwner(cfg.get('mail_owner') || 'postfix');
  if (action === 0) action = ACTION_DEFAULT;
  const ps = new Postsuper(layout, cfg.bool('enable_long_queue_ids'));
  try {
    return operate(ps, g.opts, g.operands.length > 0 ? g.operands : DEFAULT_QUEUES, action);
  } catch (err) {
    // msg_cleanup(fatal_warning): a fatal error in the middle of a queue fix.
    const n = ps.n;
    if (err instanceof FatalExit && (n.inodeMismatch > 0 || n.inodeFixed > 0 || n.positionMismatch > 0)) {
      warn('OPERATION INCOMPLETE -- RERUN COMMAND TO FIX THE QUEUE FIRST');
    }
    throw err;
  }
}

function operate(
  ps: Postsuper,
  opts: Array<[string, string | undefined]>,
  queues: readonly string[],
  action: number,
): number {

  if (action & ACTIONS_FOR_REPAIR) ps.walk(queues, action & ACTIONS_FOR_REPAIR);
  if (ps.n.inodeMismatch > 0) ps.walk(queues, action & ACTIONS_FOR_REPAIR);
  if (action & ACTIONS_BY_QUEUE_ID && (ps.n.inodeMismatch > 0 || ps.n.inodeFixed > 0)) {
    error('QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS');
    fatal('CHECK YOUR QUEUE IDS AND RE-ISSUE THE COMMAND');
  }

  let stdinLines: string[] | undefined;
  const stream = (op: (q: readonly string[], id: string) => void) => {
    if (stdinLines === undefined) {
      let text = '';
      try {
        text = readFileSync(0, 'latin1');
      } catch {
        text = '';
      }
      stdinLines = text.split('\n');
      if (stdinLines[stdinLines.length - 1] === '') stdinLines.pop();
    }
    const lines = stdinLines;
    stdinLines = [];
    for (const line of lines) op(queues, line);
  };
  const dispatch = (
    val: string,
    allBit: number,
    one: (q: readonly string[], id: string) => void,
  ) => {
    if (val === 'ALL') ps.walk(queues, allBit);
    else if (val === '-') stream(one);
    else one(queues, val);
  };
  for (const [opt, v] of opts) {
    const val = v ?? '';
    switch (opt) {
      case 'd':
        dispatch(val, Action.DELETE_ALL, (q, id) => ps.deleteOne(q, id));
        break;
      case 'e':
        dispatch(val, Action.EXPIRE_ALL, (q, id) => ps.expireOne(q, id));
        break;
      case 'f':
        dispatch(val, Action.EXP_REL_ALL, (q, id) => ps.expRelOne(q, id));
        break;
      case 'h':
        dispatch(val, Action.HOLD_ALL, (q, id) => ps.holdOne(q, id));
        break;
      case 'H':
        dispatch(val, Action.RELEASE_ALL, (q, id) => ps.releaseOne(q, id));
        break;
      case 'r':
        dispatch(val, Action.REQUEUE_ALL, (q, id) => ps.requeueOne(q, id));
        break;
    }
  }
  const n = ps.n;
  if (action & (Action.REQUEUE_ONE | Action.REQUEUE_ALL)) info(`Requeued: ${plural(n.requeued)}`);
  if (action & (Action.DELETE_ONE | Action.DELETE_ALL)) info(`Deleted: ${plural(n.deleted)}`);
  if (action & (Action.EXPIRE_ONE | Action.EXPIRE_ALL | Action.EXP_REL_ONE | Action.EXP_REL_ALL))
    info(`Force-expired: ${plural(n.expired)}`);
  if (action & (Action.HOLD_ONE | Action.HOLD_ALL)) info(`Placed on hold: ${plural(n.held)}`);
  if (action & (Action.RELEASE_ONE | Action.RELEASE_ALL | Action.EXP_REL_ONE | Action.EXP_REL_ALL))
    info(`Released from hold: ${plural(n.released)}`);
  if (n.inodeFixed > 0) info(`Renamed to match inode number: ${plural(n.inodeFixed)}`);
  if (n.inodeMismatch > 0 || n.inodeFixed > 0) warn('QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS');
  return 0;
}
