/**
 * imap/commands/search.ts: SEARCH, SORT and THREAD with their UID forms
 * (RFC 3501 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5256 SORT and
 * THREAD, RFC 5267 ESORT): argument framing (RETURN, CHARSET, sort program,
 * algorithm) here, criteria and ordering in imap/search.
 */
import type { ImapArg } from '../args.js';
import {
  type ReturnOptions,
  type SearchMessage,
  type SearchProgram,
  type SortCriterion,
  SearchError,
  compileSearch,
  evaluate,
  formatEsearch,
  formatSearch,
  parseReturnOptions,
  parseSortCriteria,
  sortMessages,
  threadMessages,
} from '../search/index.js';
import type { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { astringArg, atomArg } from '../util.js';
import { BadCommand, type Cmd, TaggedReply } from './types.js';

function messagesOf(sel: SelectedMailbox): SearchMessage[] {
  const out: SearchMessage[] = [];
  sel.uids.forEach((uid, i) => {
    const rec = sel.record(uid);
    if (!rec) return;
    const flags = new Set(rec.flags);
    if (sel.recent.has(uid)) flags.add('\\Recent');
    out.push({
      seq: i + 1,
      uid,
      flags,
      internalDate: rec.internalDate,
      size: rec.vsize,
      modseq: BigInt(rec.modseq),
      raw: () => sel.box.read(uid),
    } as SearchMessage);
  });
  return out;
}

function searchError(e: unknown, _name: string): never {
  if (e instanceof SearchError) {
    if (e.kind === 'BAD') throw new BadCommand(e.message);
    throw new TaggedReply(e.response);
  }
  throw e;
}

async function runSearch(s: ImapSession, sel: SelectedMailbox, args: ImapArg[], charset: string | undefined, name: string): Promise<SearchMessage[]> {
  let prog: SearchProgram;
  try {
    prog = compileSearch(args, charset ? { charset } : {});
  } catch (e) {
    searchError(e, name);
  }
  const msgs = messagesOf(sel);
  const ctx = {
    messageCount: sel.count,
    maxUid: sel.uids.length ? (sel.uids[sel.uids.length - 1] as number) : 0,
    savedUids: new Set(s.savedSearch),
  };
  const hits: SearchMessage[] = [];
  try {
    for (const m of msgs) if (await evaluate(prog, m, ctx)) hits.push(m);
  } catch (e) {
    searchError(e, name);
  }
  return hits;
}

/** Leading "CHARSET x": the charset and the rest. */
function takeCharset(args: ImapArg[]): string | undefined {
  if (atomArg(args[0])?.toUpperCase() !== 'CHARSET') return undefined;
  args.shift();
  const cs = astringArg(args.shift());
  if (cs === undefined) throw new BadCommand('Missing CHARSET');
  return cs;
}

function takeReturn(args: ImapArg[]): ReturnOptions | undefined {
  if (atomArg(args[0])?.toUpperCase() !== 'RETURN') return undefined;
  args.shift();
  const l = args.shift();
  if (l?.type !== 'list') throw new BadCommand('Invalid RETURN options');
  try {
    return parseReturnOptions(l.items);
  } catch (e) {
    searchError(e, 'SEARCH');
  }
}

export async function cmdSearch(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  const args = [...c.args];
  const ret = takeReturn(args);
  const charset = takeCharset(args);
  if (args.length === 0) throw new BadCommand('Missing SEARCH arguments');
  const hits = await runSearch(s, sel, args, charset, 'SEARCH');
  const ids = hits.map((m) => (c.uid ? m.uid : m.seq));
  if (ret) {
    if (ret.save) s.savedSearch = hits.map((m) => m.uid);
    const line = formatEsearch(c.tag, c.uid, ids, ret);
    if (line) s.out.write(line);
  } else s.out.write(formatSearch(ids));
  return 'OK Search completed.';
}

export async function cmdSort(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  const args = [...c.args];
  const ret = takeReturn(args);
  const prog = args.shift();
  if (prog?.type !== 'list') throw new BadCommand('Invalid sort argument.');
  let criteria: SortCriterion[];
  try {
    criteria = parseSortCriteria(prog.items);
  } catch (e) {
    searchError(e, 'SORT');
  }
  const charset = astringArg(args.shift());
  if (charset === undefined || args.length === 0) throw new BadCommand('Missing search arguments.');
  const hits = await runSearch(s, sel, args, charset, 'SORT');
  let sorted: SearchMessage[];
  try {
    sorted = await sortMessages(criteria, hits);
  } catch (e) {
    searchError(e, 'SORT');
  }
  const ids = sorted.map((m) => (c.uid ? m.uid : m.seq));
  if (ret) {
    if (ret.save) s.savedSearch = sorted.map((m) => m.uid);
    const line = formatEsearch(c.tag, c.uid, ids, ret);
    if (line) s.out.write(line);
  } else s.out.write(formatSearch(ids, { sort: true }));
  return 'OK Sort completed.';
}

export async function cmdThread(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  const args = [...c.args];
  const alg = atomArg(args.shift())?.toUpperCase();
  if (alg === undefined) throw new BadCommand('Invalid thread algorithm argument.');
  if (alg !== 'REFERENCES' && alg !== 'REFS' && alg !== 'ORDEREDSUBJECT') throw new BadCommand('Unknown thread algorithm.');
  const charset = astringArg(args.shift());
  if (charset === undefined || args.length === 0) throw new BadCommand('Missing search arguments.');
  const hits = await runSearch(s, sel, args, charset, 'THREAD');
  try {
    s.out.write(await threadMessages(alg, hits, c.uid));
  } catch (e) {
    searchError(e, 'THREAD');
  }
  return 'OK Thread completed.';
}
