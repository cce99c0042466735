/**
 * imap/commands/mailbox.ts: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE
 * (RFC 3501 §6.3.3-6.3.7) and STATUS (§6.3.10, RFC 7162 HIGHESTMODSEQ,
 * RFC 8438 SIZE) with Dovecot's replies.
 */
import { MailError } from '../../storage/errors.js';
import type { MailboxStatus } from '../../storage/types.js';
import { astring } from '../mime/quote.js';
import { encodeMailboxName } from '../parser/mailbox-name.js';
import type { ImapSession } from '../session.js';
import { atomArg, throwMailError } from '../util.js';
import { BadCommand, type Cmd, TaggedReply } from './types.js';

function stripSep(s: ImapSession, name: string): string {
  const sep = s.storageFor(name).separator;
  return sep && name.endsWith(sep) && name.length > 1 ? name.slice(0, -sep.length) : name;
}

export async function cmdCreate(s: ImapSession, c: Cmd): Promise<string> {
  if (c.args.length !== 1) throw new BadCommand(c.args.length ? 'Invalid arguments.' : 'Missing arguments.');
  const name = stripSep(s, s.mailboxName(c.args[0]));
  const st = s.storageFor(name);
  try {
    await st.create(name);
  } catch (e) {
    throwMailError(e);
  }
  return 'OK Create completed.';
}

export async function cmdDelete(s: ImapSession, c: Cmd): Promise<string> {
  if (c.args.length !== 1) throw new BadCommand(c.args.length ? 'Invalid arguments.' : 'Missing arguments.');
  const name = s.mailboxName(c.args[0]);
  if (name === 'INBOX') throw new TaggedReply("NO INBOX can't be deleted.");
  if (s.selected?.vname === name) {
    await s.selected.box.close().catch(() => {});
    s.selected = undefined;
  }
  try {
    await s.storageFor(name).delete(name);
  } catch (e) {
    throwMailError(e, { nonexistent: true });
  }
  return 'OK Delete completed.';
}

export async function cmdRename(s: ImapSession, c: Cmd): Promise<string> {
  if (c.args.length !== 2) throw new BadCommand(c.args.length < 2 ? 'Missing arguments.' : 'Invalid arguments.');
  const from = s.mailboxName(c.args[0]);
  const to = stripSep(s, s.mailboxName(c.args[1]));
  try {
    await s.storageFor(from).rename(from, to);
  } catch (e) {
    throwMailError(e, { nonexistent: true });
  }
  return 'OK Rename completed.';
}

export async function cmdSubscribe(s: ImapSession, c: Cmd): Promise<string> {
  const on = c.name === 'SUBSCRIBE';
  if (c.args.length !== 1) throw new BadCommand(c.args.length ? 'Invalid arguments.' : 'Missing arguments.');
  const name = stripSep(s, s.mailboxName(c.args[0]));
  const st = s.storageFor(name);
  try {
    if (on && !(await st.exists(name))) throw new MailError('notfound', `Mailbox doesn't exist: ${name}`);
    await st.setSubscribed(name, on);
  } catch (e) {
    throwMailError(e, { nonexistent: !on });
  }
  return on ? 'OK Subscribe completed.' : 'OK Unsubscribe completed.';
}

const STATUS_ORDER = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'DELETED'];

/** Parse a STATUS item list; BAD with Dovecot's words for an unknown item. */
export function statusItems(a: Cmd['args'][number] | undefined): string[] {
  if (a?.type !== 'list' || a.items.length === 0) throw new BadCommand('Status items must be list.');
  const items: string[] = [];
  for (const it of a.items) {
    const n = atomArg(it)?.toUpperCase();
    if (n === undefined || !STATUS_ORDER.includes(n)) throw new BadCommand(`Invalid status item ${n ?? ''}`.trimEnd());
    items.push(n);
  }
  return items;
}

/** "* STATUS name (…)" for one mailbox; throws MailError when it cannot be opened. */
export async function statusLine(s: ImapSession, name: string, items: string[]): Promise<string> {
  const st = s.storageFor(name);
  let status: MailboxStatus;
  if (s.selected?.vname === name) {
    status = await s.selected.box.status();
    status = { ...status, recent: s.selected.recent.size };
  } else {
    const box = await st.open(name, { readOnly: true });
    try {
      status = await box.status();
    } finally {
      await box.close();
    }
  }
  const want = new Set(items);
  const parts: string[] = [];
  for (const it of STATUS_ORDER) {
    if (!want.has(it)) continue;
    if (it === 'MESSAGES') parts.push(`MESSAGES ${status.messages}`);
    else if (it === 'RECENT') parts.push(`RECENT ${status.recent}`);
    else if (it === 'UIDNEXT') parts.push(`UIDNEXT ${status.uidNext}`);
    else if (it === 'UIDVALIDITY') parts.push(`UIDVALIDITY ${status.uidValidity}`);
    else if (it === 'UNSEEN') parts.push(`UNSEEN ${status.unseen}`);
    else if (it === 'HIGHESTMODSEQ') parts.push(`HIGHESTMODSEQ ${status.highestModseq}`);
    else if (it === 'SIZE') parts.push(`SIZE ${status.vsize}`);
    else if (it === 'DELETED') {
      const box = await st.open(name, { readOnly: true });
      try {
        parts.push(`DELETED ${box.messages().filter((m) => m.flags.includes('\\Deleted')).length}`);
      } finally {
        await box.close();
      }
    }
  }
  return `* STATUS ${astring(encodeMailboxName(name, s.utf8))} (${parts.join(' ')})`;
}

export async function cmdStatus(s: ImapSession, c: Cmd): Promise<string> {
  if (c.args.length < 2) throw new BadCommand('Missing arguments.');
  const name = s.mailboxName(c.args[0]);
  const items = statusItems(c.args[1]);
  if (items.includes('HIGHESTMODSEQ')) s.enabled.add('CONDSTORE');
  try {
    s.out.line(await statusLine(s, name, items));
  } catch (e) {
    throwMailError(e);
  }
  return s.selected?.vname === name ? 'OK [CLIENTBUG] Status on selected mailbox completed.' : 'OK Status completed.';
}
