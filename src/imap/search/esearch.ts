/**
 * imap/search/esearch.ts: SEARCH/SORT result lines (RFC 3501 §7.2.5,
 * RFC 5256 §4) and ESEARCH (RFC 4731 §3.1, RETURN options), formatted as
 * Dovecot does: ALL as a compressed sequence set "1:3,5", MIN MAX ALL
 * COUNT in that order, MODSEQ when CONDSTORE keys were used.
 */
import { type ImapArg, argText } from '../args.js';
import { quoted } from '../mime/quote.js';
import { SearchError } from './compile.js';

export interface ReturnOptions {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
}

/** The RETURN (...) list of SEARCH (RFC 4731 §3.1, RFC 5182 SAVE); an empty list means ALL. */
export function parseReturnOptions(items: ImapArg[]): ReturnOptions {
  const o: ReturnOptions = { min: false, max: false, all: false, count: false, save: false };
  for (const a of items) {
    if (a.type !== 'atom') throw new SearchError('BAD', 'SEARCH return options contain non-atoms.');
    const name = argText(a)!.toUpperCase();
    if (name === 'MIN') o.min = true;
    else if (name === 'MAX') o.max = true;
    else if (name === 'ALL') o.all = true;
    else if (name === 'COUNT') o.count = true;
    else if (name === 'SAVE') o.save = true;
    else if (name !== 'CONTEXT') throw new SearchError('BAD', 'Unknown SEARCH return option');
  }
  if (!o.min && !o.max && !o.all && !o.count && !o.save) o.all = true;
  return o;
}

/** Numbers as a sequence set, consecutive runs as "a:b" (input in any order; output sorted). */
export function compressSet(ids: readonly number[]): string {
  const s = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1]! <= s[j]! + 1) j++;
    parts.push(s[i] === s[j] ? String(s[i]) : `${s[i]}:${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** `* SEARCH 1 2 3` or `* SORT ...` (numbers as given), with ` (MODSEQ n)` when asked. */
export function formatSearch(ids: readonly number[], opts: { sort?: boolean; highestModseq?: bigint } = {}): string {
  let out = opts.sort ? '* SORT' : '* SEARCH';
  for (const id of ids) out += ` ${id}`;
  if (opts.highestModseq !== undefined && opts.highestModseq !== 0n) out += ` (MODSEQ ${opts.highestModseq})`;
  return out + '\r\n';
}

/**
 * `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [COUNT n] [MODSEQ n]`;
 * null when only SAVE was asked (no response then). `ids` are the result
 * numbers (UIDs for UID SEARCH) in ascending order.
 */
export function formatEsearch(
  tag: string,
  uid: boolean,
  ids: readonly number[],
  o: ReturnOptions,
  highestModseq?: bigint,
): string | null {
  if (o.save && !o.min && !o.max && !o.all && !o.count) return null;
  let out = `* ESEARCH (TAG ${quoted(tag)})`;
  if (uid) out += ' UID';
  if (o.min && ids.length > 0) out += ` MIN ${Math.min(...ids)}`;
  if (o.max && ids.length > 0) out += ` MAX ${Math.max(...ids)}`;
  if (o.all && ids.length > 0) out += ` ALL ${compressSet(ids)}`;
  if (o.count) out += ` COUNT ${ids.length}`;
  if (highestModseq !== undefined && highestModseq !== 0n) out += ` MODSEQ ${highestModseq}`;
  return out + '\r\n';
}
