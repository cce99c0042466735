/**
 * imap/commands/seqs.ts: a command's sequence-set argument as sequence
 * numbers of the selected view ("Invalid messageset" beyond the last
 * message; UID sets name what exists; "$" is the saved SEARCHRES result).
 */
import type { ImapArg } from '../args.js';
import { parseSeqSet, resolveSeqs, resolveUids } from '../parser/seqset.js';
import type { SelectedMailbox } from '../selected.js';
import { BadCommand } from './types.js';

export function seqsOf(sel: SelectedMailbox, a: ImapArg | undefined, uid: boolean, saved: readonly number[]): number[] {
  if (a?.type !== 'atom') throw new BadCommand('Invalid arguments.');
  const set = parseSeqSet(a.value);
  if (!set) throw new BadCommand('Invalid messageset');
  if (set.saved) {
    const out: number[] = [];
    for (const u of saved) {
      const q = sel.seqOf(u);
      if (q) out.push(q);
    }
    return out.sort((x, y) => x - y);
  }
  if (uid) return resolveUids(set.ranges, sel.uids);
  const r = resolveSeqs(set.ranges, sel.count);
  if (!r) throw new BadCommand('Invalid messageset');
  return r;
}
