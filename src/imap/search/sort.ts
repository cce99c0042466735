/**
 * imap/search/sort.ts: SORT (RFC 5256 §3) with Dovecot's keys and rules,
 * including SORT=DISPLAY (RFC 5957 DISPLAYFROM/DISPLAYTO): strings compare
 * bytewise in titlecase, FROM/TO/CC by the first address's mailbox part,
 * DATE by the Date: header (arrival time when missing or unreadable),
 * ties by sequence number; REVERSE turns one key around.
 */
import { type ImapArg, argText } from '../args.js';
import { parseAddressList } from '../mime/address.js';
import { decodeHeaderValue } from '../mime/decode.js';
import { type MimePart, fieldValue, messageSize, parseMessage } from '../mime/index.js';
import { headerString } from '../mime/parser.js';
import { SearchError } from './compile.js';
import { parseMessageDate } from './date.js';
import { baseSubject, titlecase } from './subject.js';

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO' | 'RELEVANCY';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

export interface SortMessage {
  seq: number;
  uid: number;
  internalDate: Date;
  size?: number;
  raw(): Promise<Buffer> | Buffer;
}

const NAMES: Record<string, SortKey> = {
  ARRIVAL: 'ARRIVAL',
  CC: 'CC',
  DATE: 'DATE',
  FROM: 'FROM',
  SIZE: 'SIZE',
  SUBJECT: 'SUBJECT',
  TO: 'TO',
  'X-SCORE': 'RELEVANCY',
  RELEVANCY: 'RELEVANCY',
  DISPLAYFROM: 'DISPLAYFROM',
  DISPLAYTO: 'DISPLAYTO',
};

/** The sort program of SORT (criteria list items); SearchError with Dovecot's BAD text. */
export function parseSortCriteria(items: ImapArg[]): SortCriterion[] {
  if (items.length === 0) throw new SearchError('BAD', 'Empty sort program.');
  const out: SortCriterion[] = [];
  const seen = new Set<SortKey>();
  let reverse = false;
  let lastReverse = false;
  let i = 0;
  for (; i < items.length; i++) {
    const a = items[i]!;
    if (a.type !== 'atom' && a.type !== 'string') break;
    const name = argText(a)!.toUpperCase();
    lastReverse = name === 'REVERSE';
    if (lastReverse) {
      reverse = !reverse;
      continue;
    }
    const key = NAMES[name];
    if (key === undefined) throw new SearchError('BAD', `Unknown sort argument: ${argText(a)}`);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, reverse });
    reverse = false;
  }
  if (lastReverse) throw new SearchError('BAD', 'Sort list ends with REVERSE.');
  if (i < items.length) throw new SearchError('BAD', 'Invalid sort list argument.');
  return out;
}

/** The header block of a message (what sorting and threading read). */
export function parseHeaderOnly(raw: Buffer): { raw: Buffer; root: MimePart } {
  let end = raw.indexOf('\n\n');
  const crlf = raw.indexOf('\r\n\r\n');
  if (crlf >= 0 && (end < 0 || crlf < end)) end = crlf + 2;
  const head = end < 0 ? raw : raw.subarray(0, end + 2);
  return { raw: head, root: parseMessage(head) };
}

/** The first field named `lower`, as Dovecot's header lookup gives it (NUL bytes as U+FFFD). */
export function firstHeader(h: { raw: Buffer; root: MimePart }, lower: string): string | null {
  const f = h.root.headers.find((x) => x.lower === lower);
  return f ? headerString(fieldValue(h.raw, f)) : null;
}

function firstMailbox(value: string | null): string {
  if (value === null) return '';
  return parseAddressList(value)[0]?.mailbox ?? '';
}

function displayName(value: string | null): string {
  if (value === null) return '';
  const a = parseAddressList(value)[0];
  if (!a) return '';
  if (a.name !== null) {
    const n = decodeHeaderValue(a.name);
    if (n.length > 0) return n;
  }
  if (a.mailbox !== null && a.domain !== null) return `${a.mailbox}@${a.domain}`;
  return a.mailbox ?? '';
}

/** Latin-1 byte string to a JS string, reading the bytes as UTF-8 (as Dovecot treats header bytes). */
function utf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Message date for sorting: the Date: header, else the arrival time (seconds). */
export function sortDate(h: { raw: Buffer; root: MimePart }, internalDate: Date): number {
  const v = firstHeader(h, 'date');
  const t = v === null ? null : parseMessageDate(v);
  return t === null || t === 0 ? Math.floor(internalDate.getTime() / 1000) : t;
}

type KeyValue = string | number;

async function keysFor(msg: SortMessage, criteria: SortCriterion[]): Promise<KeyValue[]> {
  let h: { raw: Buffer; root: MimePart } | undefined;
  let fullRaw: Buffer | undefined;
  const head = async () => {
    if (!h) {
      fullRaw = await msg.raw();
      h = parseHeaderOnly(fullRaw);
    }
    return h;
  };
  const out: KeyValue[] = [];
  for (const c of criteria) {
    switch (c.key) {
      case 'ARRIVAL':
        out.push(Math.floor(msg.internalDate.getTime() / 1000));
        break;
      case 'DATE':
        out.push(sortDate(await head(), msg.internalDate));
        break;
      case 'SIZE':
        if (msg.size !== undefined) out.push(msg.size);
        else {
          await head();
          out.push(messageSize(fullRaw!, parseMessage(fullRaw!)));
        }
        break;
      case 'SUBJECT': {
        const v = firstHeader(await head(), 'subject');
        out.push(v === null ? '' : baseSubject(v).subject);
        break;
      }
      case 'FROM':
      case 'TO':
      case 'CC':
        out.push(titlecase(utf8(firstMailbox(firstHeader(await head(), c.key.toLowerCase())))));
        break;
      case 'DISPLAYFROM':
      case 'DISPLAYTO':
        out.push(titlecase(utf8(displayName(firstHeader(await head(), c.key === 'DISPLAYFROM' ? 'from' : 'to')))));
        break;
      case 'RELEVANCY':
        out.push(0);
        break;
    }
  }
  return out;
}

function cmpBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Messages in SORT order (stable on sequence number). */
export async function sortMessages<T extends SortMessage>(criteria: SortCriterion[], msgs: readonly T[]): Promise<T[]> {
  const keyed = await Promise.all(msgs.map(async (m) => ({ m, k: await keysFor(m, criteria) })));
  keyed.sort((x, y) => {
    for (let i = 0; i < criteria.length; i++) {
      const a = x.k[i]!;
      const b = y.k[i]!;
      let r = typeof a === 'number' ? a - (b as number) : cmpBytes(a, b as string);
      if (r !== 0) {
        r = r < 0 ? -1 : 1;
        return criteria[i]!.reverse ? -r : r;
      }
    }
    return x.m.seq - y.m.seq;
  });
  return keyed.map((x) => x.m);
}
