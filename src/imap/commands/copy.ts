/**
 * imap/commands/copy.ts: COPY, MOVE and their UID forms (RFC 3501 §6.4.7,
 * RFC 6851, RFC 4315 COPYUID). A missing target gets [TRYCREATE]; MOVE
 * sends "* OK [COPYUID …] Moved UIDs." and the EXPUNGEs itself.
 */
import { formatSeqSet } from '../parser/seqset.js';
import type { ImapSession } from '../session.js';
import { throwMailError } from '../util.js';
import { seqsOf } from './seqs.js';
import { BadCommand, type Cmd, TaggedReply } from './types.js';

export async function cmdCopy(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  if (c.args.length !== 2) throw new BadCommand(c.args.length < 2 ? 'Missing arguments.' : 'Invalid arguments.');
  const move = c.name.endsWith('MOVE');
  const seqs = seqsOf(sel, c.args[0], c.uid, s.savedSearch);
  const name = s.mailboxName(c.args[1]);
  const st = s.storageFor(name);
  if (!(await st.exists(name))) throw new TaggedReply(`NO [TRYCREATE] Mailbox doesn't exist: ${name}`);
  if (move && sel.readOnly) throw new TaggedReply('NO [CANNOT] Mailbox is read-only.');
  if (seqs.length === 0) return move ? 'OK No messages found.' : 'OK No messages found.';
  const uids = seqs.map((q) => sel.uidOf(q));
  let map: Map<number, number>;
  let validity: number;
  const dest = name === sel.vname ? sel.box : await st.open(name).catch((e) => throwMailError(e));
  try {
    map = await sel.box.copyTo(uids, dest);
    validity = dest.uidValidity();
  } catch (e) {
    throwMailError(e);
  } finally {
    if (dest !== sel.box) await dest.close().catch(() => {});
  }
  const src = uids.filter((u) => map.has(u));
  const copyuid = `COPYUID ${validity} ${formatSeqSet(src, false)} ${formatSeqSet(src.map((u) => map.get(u) as number), false)}`;
  if (!move) return `OK [${copyuid}] Copy completed.`;
  s.out.line(`* OK [${copyuid}] Moved UIDs.`);
  await sel.box.expunge(src);
  await sel.sync();
  sel.announce(s.out, { expunges: true, condstore: s.condstore });
  return 'OK Move completed.';
}
