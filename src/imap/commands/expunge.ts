/**
 * imap/commands/expunge.ts: EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE
 * (RFC 4315): remove messages flagged \Deleted; the EXPUNGE replies come
 * from the view update that follows.
 */
import type { ImapSession } from '../session.js';
import { seqsOf } from './seqs.js';
import { BadCommand, type Cmd } from './types.js';

export async function cmdExpunge(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  if (sel.readOnly) return 'OK Expunge ignored with read-only mailbox.';
  let uids: number[] | undefined;
  if (c.uid) {
    if (c.args.length !== 1) throw new BadCommand('Invalid arguments.');
    uids = seqsOf(sel, c.args[0], true, s.savedSearch)
      .map((q) => sel.uidOf(q))
      .filter((u) => sel.record(u)?.flags.includes('\\Deleted'));
  } else if (c.args.length) throw new BadCommand('Invalid arguments.');
  const gone = uids ? (uids.length ? await sel.box.expunge(uids) : []) : await sel.box.expunge();
  s.stats.expunged += gone.length;
  return 'OK Expunge completed.';
}
