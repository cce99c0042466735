/**
 * imap/commands/index.ts: the command table of the authenticated and
 * selected states (imap-commands.c): name → handler and flags.
 */
import type { ImapSession } from '../session.js';
import { cmdAppend } from './append.js';
import { cmdCapability, cmdCheck, cmdEnable, cmdId, cmdLogout, cmdNamespace, cmdNoop } from './basic.js';
import { cmdCopy } from './copy.js';
import { cmdExpunge } from './expunge.js';
import { cmdFetch } from './fetch.js';
import { cmdIdle } from './idle.js';
import { cmdList } from './list.js';
import { cmdCreate, cmdDelete, cmdRename, cmdStatus, cmdSubscribe } from './mailbox.js';
import { cmdClose, cmdSelect, cmdUnselect } from './select.js';
import { cmdSearch, cmdSort, cmdThread } from './search.js';
import { cmdStore } from './store.js';
import type { Cmd, CommandSpec } from './types.js';

export interface CommandDef extends CommandSpec {
  run(s: ImapSession, c: Cmd): Promise<string>;
  /** Bring the selected view up to date before the tagged reply (default yes). */
  syncAfter?: boolean;
  /** Time the command spent waiting for the client (IDLE), for the timing text. */
  waitMs?(s: ImapSession): number;
}

const sel = { selected: true };

export const COMMANDS = new Map<string, CommandDef>([
  ['CAPABILITY', { run: cmdCapability }],
  ['NOOP', { run: cmdNoop }],
  ['LOGOUT', { run: cmdLogout, syncAfter: false }],
  ['ID', { run: cmdId }],
  ['ENABLE', { run: cmdEnable }],
  ['NAMESPACE', { run: cmdNamespace }],
  ['SELECT', { run: cmdSelect, syncAfter: false }],
  ['EXAMINE', { run: cmdSelect, syncAfter: false }],
  ['CREATE', { run: cmdCreate }],
  ['DELETE', { run: cmdDelete, nonexistent: true }],
  ['RENAME', { run: cmdRename, nonexistent: true }],
  ['SUBSCRIBE', { run: cmdSubscribe }],
  ['UNSUBSCRIBE', { run: cmdSubscribe, nonexistent: true }],
  ['LIST', { run: cmdList }],
  ['XLIST', { run: cmdList }],
  ['LSUB', { run: cmdList }],
  ['STATUS', { run: cmdStatus }],
  ['APPEND', { run: cmdAppend, literal8: true }],
  ['CHECK', { run: cmdCheck, ...sel }],
  ['CLOSE', { run: cmdClose, ...sel, syncAfter: false }],
  ['UNSELECT', { run: cmdUnselect, ...sel, syncAfter: false }],
  ['EXPUNGE', { run: cmdExpunge, ...sel }],
  ['UID EXPUNGE', { run: cmdExpunge, ...sel }],
  ['FETCH', { run: cmdFetch, ...sel, usesSeqs: true }],
  ['UID FETCH', { run: cmdFetch, ...sel }],
  ['STORE', { run: cmdStore, ...sel, usesSeqs: true }],
  ['UID STORE', { run: cmdStore, ...sel }],
  ['COPY', { run: cmdCopy, ...sel, usesSeqs: true }],
  ['UID COPY', { run: cmdCopy, ...sel }],
  ['MOVE', { run: cmdCopy, ...sel, usesSeqs: true }],
  ['UID MOVE', { run: cmdCopy, ...sel }],
  ['SEARCH', { run: cmdSearch, ...sel, usesSeqs: true }],
  ['UID SEARCH', { run: cmdSearch, ...sel }],
  ['SORT', { run: cmdSort, ...sel, usesSeqs: true }],
  ['UID SORT', { run: cmdSort, ...sel }],
  ['THREAD', { run: cmdThread, ...sel, usesSeqs: true }],
  ['UID THREAD', { run: cmdThread, ...sel }],
  ['IDLE', { run: cmdIdle }],
]);
