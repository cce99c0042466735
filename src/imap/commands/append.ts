/**
 * imap/commands/append.ts: APPEND with RFC 3502 MULTIAPPEND and RFC 4315
 * APPENDUID: mailbox, then per message [flags] [date-time] literal. A
 * missing mailbox is refused before "+ OK" (session.ts appendCheck).
 */
import type { ImapArg } from '../args.js';
import { formatSeqSet } from '../parser/seqset.js';
import type { ImapSession } from '../session.js';
import { atomArg, parseDateTime, throwMailError } from '../util.js';
import { parseFlags } from './store.js';
import { BadCommand, type Cmd, TaggedReply } from './types.js';

export async function cmdAppend(s: ImapSession, c: Cmd): Promise<string> {
  const args = [...c.args];
  if (args.length < 2) throw new BadCommand('Missing arguments.');
  const name = s.mailboxName(args.shift());
  const msgs: { data: Buffer; flags: string[]; date?: Date }[] = [];
  while (args.length) {
    let flags: string[] = [];
    let date: Date | undefined;
    if (args[0]?.type === 'list') flags = parseFlags((args.shift() as { items: ImapArg[] }).items).filter((f) => f !== '\\Recent');
    if (args[0]?.type === 'string' && !args[0].literal) {
      date = parseDateTime(args[0].value.toString('latin1'));
      if (!date) throw new BadCommand('Invalid internal date.');
      args.shift();
    }
    const lit = args.shift();
    if (lit?.type === 'atom' && atomArg(lit)?.toUpperCase() === 'CATENATE') throw new TaggedReply('NO [CANNOT] CATENATE not supported.');
    if (lit?.type !== 'string' || !lit.literal) throw new BadCommand('Messages must be sent as literals.');
    if (lit.value.length === 0) throw new TaggedReply("NO Can't save a zero byte message.");
    msgs.push({ data: lit.value, flags, ...(date ? { date } : {}) });
  }
  const st = s.storageFor(name);
  const box = s.selected?.vname === name ? s.selected.box : await st.open(name, { noSync: true }).catch((e) => throwMailError(e));
  const uids: number[] = [];
  let validity = 0;
  try {
    for (const m of msgs) {
      const r = await box.append(m.data, { flags: m.flags, ...(m.date ? { internalDate: m.date } : {}) });
      uids.push(r.uid);
      validity = r.uidValidity;
    }
  } catch (e) {
    throwMailError(e);
  } finally {
    if (box !== s.selected?.box) await box.close().catch(() => {});
  }
  return `OK [APPENDUID ${validity} ${formatSeqSet(uids)}] Append completed.`;
}
