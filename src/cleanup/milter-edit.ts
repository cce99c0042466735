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
 * Recipients added by a filter end the envelope (NOTIFY=/ORCPT= honoured,
 * other ESMTP arguments ignored with a warning); deleted recipients are
 * canceled in place ('/' records). Sender change and body replacement are
 * not implemented yet: they are logged and ignored.
 */
import { readFile } from 'node:fs/promises';
import type { ContentRecord, MilterEdits } from '../milter/milters.js';
import { headerLabelLength, splitHeaders } from '../milter/milter8.js';
import { encodeRecord, Rec } from '../queue/record.js';
import { logicalRecords } from '../queue/reader.js';
import type { CleanupState } from './state.js';
import { addrBccDsn } from './addr.js';
import { internalize, parse, STR_DEFL, TOK_ADDR } from './tok822.js';

/** DSN NOTIFY= keywords (dsn_mask.c). */
function notifyMask(v: string): number {
  const bits: Record<string, number> = { NEVER: 1, SUCCESS: 2, FAILURE: 4, DELAY: 8 };
  let m = 0;
  for (const w of v.split(',')) {
    const b = bits[w.toUpperCase()];
    if (b === undefined) return 0;
    m |= b;
  }
  return m & 1 && m !== 1 ? 0 : m;
}

/** xtext decoding (RFC 3461 §4): "+XX" hex escapes. */
function xtextUnquote(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '+') {
      out += s[i];
      continue;
    }
    const h = s.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(h)) return undefined;
    out += String.fromCharCode(Number.parseInt(h, 16));
    i += 2;
  }
  return out;
}

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
  /** Recipients to append to the extracted segment: [internal address, ORCPT, NOTIFY]. */
  const added: Array<[string, string | undefined, number]> = [];
  /** Recipients to cancel (internal form), matched against the original recipient. */
  const deleted: string[] = [];

  /** cleanup_add_rcpt_par(): parse the address and the NOTIFY=/ORCPT= arguments. */
  const addRcpt = async (ext: string, args: string): Promise<undefined> => {
    let notify = 0;
    let orcpt: string | undefined;
    for (const arg of args ? args.split(' ').filter(Boolean) : []) {
      const up = arg.toUpperCase();
      if (up.startsWith('NOTIFY=')) {
        const m = notify ? 0 : notifyMask(arg.slice(7));
        if (m === 0) state.log.warn(`${state.queueId}: Bad NOTIFY parameter from Milter or header/body_checks: "${arg.slice(0, 100)}"`);
        else notify = m;
      } else if (up.startsWith('ORCPT=')) {
        const v = arg.slice(6);
        const semi = v.indexOf(';');
        const dec = semi > 0 && orcpt === undefined ? xtextUnquote(v.slice(semi + 1)) : undefined;
        if (dec === undefined) state.log.warn(`${state.queueId}: Bad ORCPT parameter from Milter or header/body_checks: "${arg.slice(0, 100)}"`);
        else orcpt = `${v.slice(0, semi)};${dec}`;
      } else {
        state.log.warn(`${state.queueId}: ignoring ESMTP argument from Milter or header/body_checks: "${arg.slice(0, 100)}"`);
      }
    }
    const addrs: string[] = [];
    for (let t = parse(ext); t; t = t.next) if (t.type === TOK_ADDR) addrs.push(internalize(t.head, STR_DEFL));
    if (addrs.length > 1) state.log.warn(`${state.queueId}: Milter or header/body_checks request to add multi-recipient: "${ext}"`);
    if (addrs.length === 0) state.log.warn(`${state.queueId}: ignoring attempt from Milter to add null recipient`);
    else added.push([addrs[0], orcpt, notify]);
    return undefined;
  };

  /** Split the captured content into logical headers and the rest (separator and body). */
  const model = (): Header[] => {
    if (headers) return headers;
    const content = state.milterContent ?? [];
    const split = splitHeaders(content);
    headers = split.headers.map((text) => ({ text, hidden: false }));
    const i = split.end;
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
    addRcpt: (rcpt) => addRcpt(rcpt, ''),
    addRcptPar: (rcpt, args) => addRcpt(rcpt, args),
    delRcpt: async (ext) => {
      // cleanup_del_rcpt(): the first address of the argument, internal form.
      let addr = '';
      for (let t = parse(ext); t; t = t.next) {
        if (t.type === TOK_ADDR) {
          addr = internalize(t.head, STR_DEFL);
          break;
        }
      }
      deleted.push(addr);
      return undefined;
    },
    replBody: (what) => (what === 'start' ? unsupported('replace the body') : Promise.resolve(undefined)),

    async commit() {
      state.milterContent = undefined;
      if ((!dirty && added.length === 0 && deleted.length === 0) || !state.outOk() || state.dataOffset < 0 || state.xtraOffset < 0) return;
      const w = state.writer;
      await w.flush();
      const file = await readFile(w.path);
      if (deleted.length > 0) {
        // Cancel matching recipient records in place (R -> '/'), as cleanup_del_rcpt() does.
        let orig: string | undefined;
        for (const r of logicalRecords(file)) {
          if (r.type === Rec.ORCP) orig = r.data;
          else if (r.type === Rec.RCPT) {
            if (deleted.includes(orig ?? r.data)) await w.rewrite(r.offset, encodeRecord(Rec.DRCP, r.data));
            orig = undefined;
          } else if (r.type === Rec.DRCP || r.type === Rec.DONE) orig = undefined;
          else if (r.type === Rec.END || r.type < 0) break;
        }
        if (!dirty && added.length === 0) return;
      }
      // Added recipients end the envelope (Postfix's recipient append pointer sits before the M record).
      const mesgAt = added.length > 0 ? state.dataOffset - 2 : state.dataOffset;
      if (added.length > 0 && (file[mesgAt] !== Rec.MESG || file[mesgAt + 1] !== 0)) {
        throw new Error('milter edit: no message content record where expected');
      }
      const content = Buffer.from(file.subarray(state.dataOffset, state.xtraOffset));
      const tail = Buffer.from(file.subarray(state.xtraOffset));
      await w.truncate(mesgAt);
      if (added.length > 0) {
        for (const [addr, orcpt, notify] of added) await addrBccDsn(state, addr, orcpt, notify);
        state.out(Rec.MESG, '');
        state.dataOffset = state.tell();
      }
      if (dirty && headers) {
        for (const h of headers) for (const line of h.text.split('\n')) state.out(Rec.NORM, line);
        for (const [type, data] of rest) state.out(type === 'L' ? Rec.CONT : Rec.NORM, data);
      } else if (!w.putRaw(content)) state.errs |= 2; // CLEANUP_STAT_WRITE
      state.xtraOffset = state.tell();
      state.contLength = state.xtraOffset - state.dataOffset;
      if (!w.putRaw(tail)) state.errs |= 2;
    },
  };
}
