/**
 * imap/commands/select.ts: SELECT and EXAMINE (RFC 3501 §6.3.1-2, RFC 7162
 * CONDSTORE parameter and [CLOSED]), CLOSE (§6.4.2: silent expunge),
 * UNSELECT (RFC 3691). The untagged lines come in Dovecot's order.
 */
import { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { atomArg, throwMailError } from '../util.js';
import { BadCommand, type Cmd } from './types.js';

async function closeSelected(s: ImapSession): Promise<void> {
  if (!s.selected) return;
  const sel = s.selected;
  s.selected = undefined;
  await sel.box.close().catch(() => {});
}

export async function cmdSelect(s: ImapSession, c: Cmd): Promise<string> {
  const readOnly = c.name === 'EXAMINE';
  if (c.args.length < 1 || c.args.length > 2) throw new BadCommand('Invalid arguments.');
  if (c.args[1]) {
    const p = c.args[1];
    if (p.type !== 'list') throw new BadCommand('Invalid arguments.');
    for (const it of p.items) {
      const n = atomArg(it)?.toUpperCase();
      if (n === 'CONDSTORE') s.enabled.add('CONDSTORE');
      else if (n === 'QRESYNC') {
        if (!s.enabled.has('QRESYNC')) throw new BadCommand('QRESYNC not enabled');
      } else if (it.type !== 'list' && it.type !== 'atom') throw new BadCommand('Invalid arguments.');
    }
  }
  const name = s.mailboxName(c.args[0]);
  if (s.selected) {
    await closeSelected(s);
    if (s.enabled.has('QRESYNC')) s.out.line('* OK [CLOSED] Previous mailbox closed.');
  }
  const st = s.storageFor(name);
  let sel: SelectedMailbox;
  try {
    const box = await st.open(name, { readOnly });
    sel = new SelectedMailbox(box, readOnly, name);
    sel.initView();
    if (!readOnly && sel.recent.size) await box.sync({ moveNew: true });
  } catch (e) {
    throwMailError(e);
  }
  const status = await sel.box.status();
  s.out.line(sel.flagsLine());
  s.out.line(sel.permanentFlagsLine());
  s.out.line(`* ${sel.count} EXISTS`);
  s.out.line(`* ${sel.recent.size} RECENT`);
  const firstUnseen = sel.uids.findIndex((u) => !sel.record(u)?.flags.includes('\\Seen'));
  if (firstUnseen >= 0) s.out.line(`* OK [UNSEEN ${firstUnseen + 1}] First unseen.`);
  s.out.line(`* OK [UIDVALIDITY ${status.uidValidity}] UIDs valid`);
  s.out.line(`* OK [UIDNEXT ${status.uidNext}] Predicted next UID`);
  if (s.condstore) s.out.line(`* OK [HIGHESTMODSEQ ${status.highestModseq}] Highest`);
  s.selected = sel;
  return readOnly ? 'OK [READ-ONLY] Examine completed.' : 'OK [READ-WRITE] Select completed.';
}

export async function cmdClose(s: ImapSession): Promise<string> {
  const sel = s.selected;
  if (sel && !sel.readOnly) {
    const gone = await sel.box.expunge().catch(() => []);
    s.stats.expunged += gone.length;
  }
  await closeSelected(s);
  return 'OK Close completed.';
}

export async function cmdUnselect(s: ImapSession): Promise<string> {
  await closeSelected(s);
  return 'OK Unselect completed.';
}
