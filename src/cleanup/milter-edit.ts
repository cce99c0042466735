/**
 * cleanup/milter-edit.ts: queue file edits a mail filter asks for at the
 * end of the message (cleanup_milter.c cleanup_add_header ... cleanup_repl_body).
 */
import type { MilterEdits } from '../milter/milters.js';
import type { CleanupState } from './state.js';

export function cleanupMilterEdits(state: CleanupState): MilterEdits {
  const unsupported = async (what: string): Promise<undefined> => {
    state.log.warn(`${state.queueId}: milter request to ${what} is not yet supported; ignored`);
    return undefined;
  };
  return {
    addHeader: () => unsupported('add a header'),
    updHeader: () => unsupported('change a header'),
    insHeader: () => unsupported('insert a header'),
    delHeader: () => unsupported('delete a header'),
    chgFrom: () => unsupported('change the sender'),
    addRcpt: () => unsupported('add a recipient'),
    addRcptPar: () => unsupported('add a recipient'),
    delRcpt: () => unsupported('delete a recipient'),
    replBody: () => unsupported('replace the body'),
  };
}
