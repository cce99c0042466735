/**
 * cleanup/milter-edit.ts: queue file edits a mail filter asks for at the
 * end of the message (cleanup_milter.c cleanup_add_header,
 * cleanup_ins_header, cleanup_upd_header, cleanup_del_header).
 *
 * Header edits work on the message headers as cleanup wrote them:
 * - add: after the last header;
 * - insert at index N (1-based, counting every header including our own
 *   Received:): before the Nth header, or after the last one;
 * - change/delete the Nth header of a name (case-insensitive), not
 *   counting our own Received: header, which filters never see; changing a
 *   header that is not there adds it.
 * A multi-line value (lines separated by "\n") becomes one record per line.
 * After the filters are done, the content segment is written again with the
 * edits (Postfix patches the file with pointer records instead; the logical
 * record sequence, which postcat shows, is the same).
 *
 * Envelope and body edits are not implemented yet: they are logged and
 * ignored.
 */
import { readFile } from 'node:fs/promises';
import type { ContentRecord, MilterEdits } from '../milter/milters.js';
import { headerLabelLength } from '../milter/milter8.js';
import { Rec } from '../queue/record.js';
import type { CleanupState } from './state.js';

interface Header {
  text: string;
  hidden: boolean;
}

export interface CleanupMilterEdits extends MilterEdits {
  /** Apply the edits to the queue file (after the filters are done). */
  commit(): Promise<void>;
}

export function cleanupMilterEdits(state: CleanupState): CleanupMilterEdits {
  let headers: Header[] | undefined;
  let rest: ContentRecord[] = [];
  let dirty = false;

  /** Split the captured content into logical headers and the rest (separator and body). */
  const model = (): Header[] => {
    if (headers) return headers;
    headers = [];
    const content = state.milterContent ?? [];
    let cur: string | undefined;
    let pending = '';
    let i = 0;
    for (; i < content.length; i++) {
      const [type, data] = content[i];
      const line = pending + data;
      if (type === 'L') {
        pending = line;
        continue;
      }
      pending = '';
      if (cur !== undefined && (line[0] === ' ' || line[0] === '\t')) {
        cur += `\n${line}`;
        continue;
      }
      if (cur !== undefined) headers.push({ text: cur, hidden: false });
      cur = undefined;
      if (headerLabelLength(line) > 0) {
        cur = line;
        continue;
      }
      break;
    }
    if (cur !== undefined) headers.push({ text: cur, hidden: false });
    // Records from the one that ended the headers on, as written (continued records included).
    let start = i;
    while (start > 0 && content[start - 1][0] === 'L') start--;
    rest = content.slice(start);
    const auto = new Set<number>();
    for (const h of headers) {
      const n = state.autoHdrs.findIndex((a, k) => !auto.has(k) && a === h.text);
      if (n >= 0) {
        auto.add(n);
        h.hidden = true;
      }
    }
    return headers;
  };

  const nameOf = (h: Header): string => h.text.slice(0, headerLabelLength(h.text)).replace(/[ \t]+$/, '').toLowerCase();

  /** The index-th visible header with this name (1-based), or -1. */
  const find = (index: number, name: string): number => {
    const hs = model();
    const want = name.toLowerCase();
    let n = 0;
    for (let k = 0; k < hs.length; k++) {
      if (hs[k].hidden || nameOf(hs[k]) !== want) continue;
      if (++n === index) return k;
    }
    return -1;
  };

  const unsupported = async (what: string): Promise<undefined> => {
    state.log.warn(`${state.queueId}: milter request to ${what} is not yet supported; ignored`);
    return undefined;
  };

  const add = async (name: string, space: string, value: string): Promise<undefined> => {
    model().push({ text: `${name}:${space}${value}`, hidden: false });
    dirty = true;
    return undefined;
  };

  return {
    addHeader: add,
    insHeader: async (index, name, space, value) => {
      const hs = model();
      const at = Math.min(Math.max(index - 1, 0), hs.length);
      hs.splice(at, 0, { text: `${name}:${space}${value}`, hidden: false });
      dirty = true;
      return undefined;
    },
    updHeader: async (index, name, space, value) => {
      const k = find(index, name);
      if (k < 0) return add(name, space, value);
      model()[k] = { text: `${name}:${space}${value}`, hidden: false };
      dirty = true;
      return undefined;
    },
    delHeader: async (index, name) => {
      const k = find(index, name);
      if (k >= 0) {
        model().splice(k, 1);
        dirty = true;
      }
      return undefined;
    },
    chgFrom: () => unsupported('change the sender'),
    addRcpt: () => unsupported('add a recipient'),
    addRcptPar: () => unsupported('add a recipient'),
    delRcpt: () => unsupported('delete a recipient'),
    replBody: (what) => (what === 'start' ? unsupported('replace the body') : Promise.resolve(undefined)),

    async commit() {
      if (!dirty || !headers || !state.outOk() || state.dataOffset < 0 || state.xtraOffset < 0) return;
      const w = state.writer;
      await w.flush();
      const tail = (await readFile(w.path)).subarray(state.xtraOffset);
      await w.truncate(state.dataOffset);
      state.milterContent = undefined;
      for (const h of headers) for (const line of h.text.split('\n')) state.out(Rec.NORM, line);
      for (const [type, data] of rest) state.out(type === 'L' ? Rec.CONT : Rec.NORM, data);
      state.xtraOffset = state.tell();
      state.contLength = state.xtraOffset - state.dataOffset;
      if (!w.putRaw(Buffer.from(tail))) state.errs |= 2; // CLEANUP_STAT_WRITE
    },
  };
}
