/**
 * imap/commands/list.ts: LIST (RFC 3501 §6.3.8 with RFC 5258
 * LIST-EXTENDED selection and return options, RFC 5819 LIST-STATUS,
 * RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN), LSUB (§6.3.9) and XLIST.
 * Without RETURN options Dovecot shows child info and special-use flags;
 * with them, only what was asked for.
 */
import type { ImapArg } from '../args.js';
import { astring, quoted } from '../mime/quote.js';
import { decodeMailboxName, encodeMailboxName } from '../parser/mailbox-name.js';
import type { ImapSession } from '../session.js';
import { astringBytes, atomArg } from '../util.js';
import { statusItems, statusLine } from './mailbox.js';
import { BadCommand, type Cmd } from './types.js';

const CHILD_ATTRS = new Set(['\\HasChildren', '\\HasNoChildren']);
const BASE_ATTRS = new Set(['\\Noselect', '\\NonExistent', '\\NoInferiors', '\\Marked', '\\Unmarked']);

function patternsOf(a: ImapArg | undefined, utf8: boolean): string[] | undefined {
  if (!a) return undefined;
  const one = (x: ImapArg): string | undefined => {
    const b = astringBytes(x);
    if (!b) return undefined;
    return decodeMailboxName(b, utf8) ?? b.toString('latin1');
  };
  if (a.type === 'list') {
    const out: string[] = [];
    for (const x of a.items) {
      const p = one(x);
      if (p === undefined) return undefined;
      out.push(p);
    }
    return out;
  }
  const p = one(a);
  return p === undefined ? undefined : [p];
}

export async function cmdList(s: ImapSession, c: Cmd): Promise<string> {
  const lsub = c.name === 'LSUB';
  const args = [...c.args];
  const selection = new Set<string>();
  if (!lsub && args[0]?.type === 'list') {
    for (const it of (args.shift() as { items: ImapArg[] }).items) {
      const v = atomArg(it)?.toUpperCase();
      if (v === undefined) throw new BadCommand('List options contains a non-atom.');
      selection.add(v);
    }
  }
  const refArg = args.shift();
  const ref = refArg ? astringBytes(refArg) : undefined;
  if (ref === undefined) throw new BadCommand('Invalid reference');
  const patterns = patternsOf(args.shift(), s.utf8);
  if (patterns === undefined) throw new BadCommand('Invalid pattern');
  const ret = new Set<string>();
  let statusWanted: string[] | undefined;
  if (!lsub && args.length) {
    if (atomArg(args[0])?.toUpperCase() !== 'RETURN' || args[1]?.type !== 'list') throw new BadCommand('Unknown argument');
    const items = args[1].items;
    for (let i = 0; i < items.length; i++) {
      const v = atomArg(items[i])?.toUpperCase();
      if (v === undefined) throw new BadCommand('List return options contains a non-atom.');
      if (v === 'STATUS') {
        statusWanted = statusItems(items[i + 1]);
        i++;
      } else ret.add(v);
    }
  }
  const refText = decodeMailboxName(ref, s.utf8) ?? ref.toString('latin1');
  const storage = s.user.inbox;
  const sep = storage.separator || '/';
  const tag = lsub ? 'LSUB' : 'LIST';
  if (patterns.length === 1 && patterns[0] === '' && !lsub) {
    s.out.line(`* LIST (\\Noselect) ${quoted(sep)} ""`);
    return 'OK List completed.';
  }
  const extended = selection.size > 0 || ret.size > 0 || statusWanted !== undefined;
  const subs = new Set(await storage.subscriptions());
  const seen = new Set<string>();
  for (const pat of patterns) {
    const full = refText === '' || pat.startsWith(sep) ? pat : `${refText}${refText.endsWith(sep) ? '' : sep}${pat}`;
    // Dovecot lists INBOX after the other mailboxes of its namespace
    const infos = await storage.list(full);
    const ib = infos.findIndex((i) => i.name === 'INBOX');
    if (ib >= 0) infos.push(...infos.splice(ib, 1));
    for (const info of infos) {
      if (seen.has(info.name)) continue;
      seen.add(info.name);
      const special = info.specialUse ? info.specialUse.split(/\s+/).filter(Boolean) : info.attributes.filter((a) => !BASE_ATTRS.has(a) && !CHILD_ATTRS.has(a) && a !== '\\Subscribed');
      const subscribed = subs.has(info.name);
      if (lsub || selection.has('SUBSCRIBED')) {
        if (!subscribed) continue;
      }
      if (selection.has('SPECIAL-USE') && special.length === 0) continue;
      const attrs: string[] = [];
      // a parent that only exists as a path: Dovecot lists it \Noselect
      for (const a of info.attributes) if (BASE_ATTRS.has(a)) attrs.push(!extended && a === '\\NonExistent' ? '\\Noselect' : a);
      if (lsub) {
        attrs.push(...special);
      } else if (!extended) {
        for (const a of info.attributes) if (CHILD_ATTRS.has(a)) attrs.push(a);
        attrs.push(...special);
      } else {
        if (ret.has('SUBSCRIBED') || selection.has('SUBSCRIBED')) {
          if (subscribed) attrs.push('\\Subscribed');
        }
        if (ret.has('CHILDREN')) for (const a of info.attributes) if (CHILD_ATTRS.has(a)) attrs.push(a);
        if (ret.has('SPECIAL-USE') || selection.has('SPECIAL-USE')) attrs.push(...special);
      }
      const wire = encodeMailboxName(info.name, s.utf8);
      s.out.line(`* ${tag} (${attrs.join(' ')}) ${quoted(sep)} ${astring(wire)}`);
      if (statusWanted && !info.attributes.includes('\\Noselect') && !info.attributes.includes('\\NonExistent')) {
        try {
          s.out.line(await statusLine(s, info.name, statusWanted));
        } catch {
          // a mailbox that vanished meanwhile gets no STATUS
        }
      }
    }
  }
  return lsub ? 'OK Lsub completed.' : 'OK List completed.';
}
