/**
 * imap/commands/store.ts: STORE and UID STORE (RFC 3501 §6.4.6, RFC 7162
 * UNCHANGEDSINCE and MODSEQ), with Dovecot's replies: FETCH for each
 * message (UID first for UID STORE, MODSEQ before FLAGS once CONDSTORE is
 * on, only MODSEQ for .SILENT), [MODIFIED set] for failed conditions,
 * "Store ignored with read-only mailbox" in EXAMINE.
 */
import type { ImapArg } from '../args.js';
import { formatSeqSet } from '../parser/seqset.js';
import { SYSTEM_FLAGS } from '../selected.js';
import type { ImapSession } from '../session.js';
import { atomArg } from '../util.js';
import { seqsOf } from './seqs.js';
import { BadCommand, type Cmd } from './types.js';

/** Validate a flag list (client_parse_mail_flags): system flags by name, keywords as atoms. */
export function parseFlags(args: ImapArg[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const v = atomArg(a);
    if (v === undefined) throw new BadCommand('Flags list contains non-atoms.');
    if (v.startsWith('\\')) {
      const low = v.toLowerCase();
      if (!SYSTEM_FLAGS.has(low)) throw new BadCommand(`Invalid system flag ${v.toUpperCase()}`);
      out.push(`\\${low[1]?.toUpperCase()}${low.slice(2)}`);
    } else out.push(v);
  }
  return out;
}

export async function cmdStore(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  const args = [...c.args];
  if (args.length < 2) throw new BadCommand('Missing arguments.');
  const seqs = seqsOf(sel, args.shift(), c.uid, s.savedSearch);
  let unchangedSince: number | undefined;
  if (args[0]?.type === 'list') {
    const mods = (args.shift() as { items: ImapArg[] }).items;
    for (let i = 0; i < mods.length; i++) {
      const k = atomArg(mods[i])?.toUpperCase();
      if (k !== 'UNCHANGEDSINCE') throw new BadCommand(`Unknown STORE modifier ${k ?? ''}`.trimEnd());
      const n = atomArg(mods[++i]);
      if (!n || !/^\d+$/.test(n)) throw new BadCommand('Invalid modseq');
      unchangedSince = Number(n);
    }
    s.enabled.add('CONDSTORE');
  }
  const op = atomArg(args.shift())?.toUpperCase();
  const m = op ? /^([+-]?)FLAGS(\.SILENT)?$/.exec(op) : null;
  if (!m) throw new BadCommand('Invalid arguments.');
  const flagArgs = args.length === 1 && args[0]?.type === 'list' ? args[0].items : args;
  const flags = parseFlags(flagArgs);
  if (sel.readOnly) return 'OK Store ignored with read-only mailbox.';
  const mode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  const silent = m[2] !== undefined;
  let target = seqs;
  const modified: number[] = [];
  if (unchangedSince !== undefined) {
    target = [];
    for (const q of seqs) {
      const r = sel.record(sel.uidOf(q));
      if (r && r.modseq > unchangedSince) modified.push(c.uid ? r.uid : q);
      else target.push(q);
    }
  }
  if ((mode !== 'replace' && flags.length === 0) || target.length === 0) {
    return modified.length ? `OK [MODIFIED ${formatSeqSet(modified)}] Conditional store failed.` : 'OK Store completed.';
  }
  const uids = target.map((q) => sel.uidOf(q));
  const before = new Map<number, string>();
  for (const u of uids) {
    const r = sel.record(u);
    if (r) before.set(u, `${sel.flagList(r)}`);
  }
  const updated = await sel.box.setFlags(uids, mode, flags);
  sel.announceKeywords(s.out);
  for (const r of updated) {
    const q = sel.seqOf(r.uid);
    if (!q || before.get(r.uid) === sel.flagList(r)) continue;
    if (r.flags.includes('\\Deleted') && !before.get(r.uid)?.includes('\\Deleted')) s.stats.deleted++;
    sel.noteFlags(r);
    const uidPart = c.uid ? `UID ${r.uid} ` : '';
    if (silent) {
      if (s.condstore) s.out.line(`* ${q} FETCH (${uidPart}MODSEQ (${r.modseq}))`);
      continue;
    }
    const mod = s.condstore ? `MODSEQ (${r.modseq}) ` : '';
    s.out.line(`* ${q} FETCH (${uidPart}${mod}FLAGS ${sel.flagList(r)})`);
  }
  return modified.length ? `OK [MODIFIED ${formatSeqSet(modified)}] Conditional store failed.` : 'OK Store completed.';
}
