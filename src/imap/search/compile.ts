/**
 * imap/search/compile.ts: SEARCH criteria (RFC 3501 §6.4.4, with CONDSTORE
 * MODSEQ RFC 7162 §3.1.5, WITHIN OLDER/YOUNGER RFC 5032, SEARCHRES $
 * RFC 5182, SAVEDATE RFC 8514) turned into a tree, with the error texts of
 * Dovecot 2.3's search parser. A SearchError's `response` is what follows
 * the tag; BAD texts come without Dovecot's "Error in IMAP command SEARCH: "
 * prefix, which the command layer adds (`badText`).
 */
import { type ImapArg, argText } from '../args.js';
import { charsetDecoder, decodeCharset } from '../mime/decode.js';

export class SearchError extends Error {
  constructor(
    readonly kind: 'BAD' | 'NO',
    text: string,
    readonly code?: string,
  ) {
    super(text);
  }
  /** The tagged response after the tag, e.g. `NO [BADCHARSET] Unknown charset`; BAD without the command prefix. */
  get response(): string {
    return `${this.kind} ${this.code ? `[${this.code}] ` : ''}${this.message}`;
  }
  /** Dovecot's full BAD line text for `command` (e.g. "SEARCH", "UID SORT" is still "SORT"). */
  badText(command: string): string {
    return `Error in IMAP command ${command}: ${this.message}`;
  }
}

export type FlagName = '\\Answered' | '\\Deleted' | '\\Draft' | '\\Flagged' | '\\Seen' | '\\Recent';
export type DateField = 'received' | 'sent' | 'saved';

/** A sequence set: ranges with 0xffffffff standing for "*". */
export type SeqRanges = [number, number][];
export const STAR = 0xffffffff;

export type SearchNode =
  | { k: 'all' }
  | { k: 'and'; items: SearchNode[] }
  | { k: 'or'; items: [SearchNode, SearchNode] }
  | { k: 'not'; item: SearchNode }
  | { k: 'flag'; flag: FlagName }
  | { k: 'new' }
  | { k: 'keyword'; name: string }
  | { k: 'seqset'; uid: boolean; ranges: SeqRanges }
  | { k: 'saved'; uid: boolean }
  | { k: 'date'; field: DateField; op: 'before' | 'on' | 'since'; day: { y: number; m: number; d: number } }
  | { k: 'interval'; op: 'older' | 'younger'; seconds: number }
  | { k: 'size'; op: 'larger' | 'smaller'; n: number }
  | { k: 'header'; name: string; value: string; mode: 'address' | 'subject' | 'plain' }
  | { k: 'body'; value: string }
  | { k: 'text'; value: string }
  | { k: 'modseq'; value: bigint }
  | { k: 'savedatesupported' }
  | { k: 'guid'; value: string }
  | { k: 'none' };

export interface SearchProgram {
  root: SearchNode;
  /** Does evaluation need the message bytes (header, body, text, sent date)? */
  needsRaw: boolean;
  /** Does it use $ (SEARCHRES)? */
  usesSaved: boolean;
  /** Does it use MODSEQ (the response then carries (MODSEQ n), RFC 7162 §3.1.5)? */
  usesModseq: boolean;
}

export interface CompileOptions {
  /** SEARCH CHARSET; strings are converted from it to UTF-8. Default US-ASCII (taken as UTF-8). */
  charset?: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** IMAP date (RFC 3501 §9 date-text: d-Mon-yyyy), or null. */
export function parseImapDate(s: string): { y: number; m: number; d: number } | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const mon = MONTHS.indexOf(m[2]!.toLowerCase());
  const d = Number(m[1]);
  if (mon < 0 || d < 1 || d > 31) return null;
  return { y: Number(m[3]), m: mon, d };
}

/** A sequence set (RFC 3501 §9 sequence-set), or null when invalid. */
export function parseSeqSet(s: string): SeqRanges | null {
  const out: SeqRanges = [];
  for (const item of s.split(',')) {
    const m = /^(\d+|\*)(?::(\d+|\*))?$/.exec(item);
    if (!m) return null;
    const a = m[1] === '*' ? STAR : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? STAR : Number(m[2]);
    if (a === 0 || b === 0 || a > STAR || b > STAR) return null;
    out.push(a <= b ? [a, b] : [b, a]);
  }
  return out;
}

const FLAG_KEYS: Record<string, SearchNode> = {
  ANSWERED: { k: 'flag', flag: '\\Answered' },
  DELETED: { k: 'flag', flag: '\\Deleted' },
  DRAFT: { k: 'flag', flag: '\\Draft' },
  FLAGGED: { k: 'flag', flag: '\\Flagged' },
  SEEN: { k: 'flag', flag: '\\Seen' },
  RECENT: { k: 'flag', flag: '\\Recent' },
};

class Compiler {
  private stack: { args: ImapArg[]; pos: number }[];
  private curKey: string | null = null;
  needsRaw = false;
  usesSaved = false;
  usesModseq = false;
  private readonly charset: string | null;

  constructor(args: ImapArg[], opts: CompileOptions) {
    this.stack = [{ args, pos: 0 }];
    const cs = opts.charset;
    this.charset = cs === undefined || /^(us-ascii|utf-8)$/i.test(cs) ? null : cs;
    if (cs !== undefined && charsetDecoder(cs) === null) throw new SearchError('NO', 'Unknown charset', 'BADCHARSET');
  }

  private get top() {
    return this.stack[this.stack.length - 1]!;
  }

  /** Next key: a string key, 'LIST' after entering a list, or null at the end of the current list. */
  private nextKey(): string | 'LIST' | null {
    const t = this.top;
    const arg = t.args[t.pos];
    if (arg === undefined) {
      this.stack.pop();
      return null;
    }
    if (arg.type === 'string') throw new SearchError('BAD', `Unexpected string as search key: ${arg.value.toString('utf8')}`);
    t.pos++;
    if (arg.type === 'list') {
      this.stack.push({ args: arg.items, pos: 0 });
      return 'LIST';
    }
    const key = arg.type === 'nil' ? 'NIL' : arg.value;
    this.curKey = key;
    return key;
  }

  private param(): string {
    const t = this.top;
    const arg = t.args[t.pos];
    const suffix = this.curKey !== null ? ` (for search key: ${this.curKey.toUpperCase()})` : '';
    if (arg === undefined) throw new SearchError('BAD', `Missing parameter for search key${suffix}`);
    if (arg.type === 'list') throw new SearchError('BAD', `Unexpected (${suffix}`);
    t.pos++;
    return arg.type === 'nil' ? 'NIL' : argText(arg)!;
  }

  private stringParam(): string {
    const t = this.top;
    const arg = t.args[t.pos];
    const v = this.param();
    if (this.charset === null || arg?.type !== 'string') return v;
    return decodeCharset(arg.value, this.charset);
  }

  /** A key and its parameters; null at the end of the list. */
  key(): SearchNode | null {
    const key = this.nextKey();
    if (key === null) return null;
    if (key === 'LIST') {
      const items = this.list();
      if (items.length === 0) throw new SearchError('BAD', 'No search parameters inside list');
      return items.length === 1 ? items[0]! : { k: 'and', items };
    }
    return this.build(key.toUpperCase(), key);
  }

  private required(): SearchNode {
    const n = this.key();
    if (n === null) throw new SearchError('BAD', 'Missing argument');
    return n;
  }

  list(): SearchNode[] {
    const items: SearchNode[] = [];
    const depth = this.stack.length;
    for (;;) {
      if (this.stack.length < depth) break;
      const n = this.key();
      if (n === null) break;
      items.push(n);
    }
    return items;
  }

  private date(field: DateField, op: 'before' | 'on' | 'since'): SearchNode {
    const d = parseImapDate(this.param());
    if (!d) throw new SearchError('BAD', 'Invalid search date parameter');
    if (field === 'sent') this.needsRaw = true;
    return { k: 'date', field, op, day: d };
  }

  private size(op: 'larger' | 'smaller'): SearchNode {
    const v = this.param();
    if (!/^\d+$/.test(v) || v.length > 20) throw new SearchError('BAD', 'Invalid search size parameter');
    return { k: 'size', op, n: Number(v) };
  }

  private interval(op: 'older' | 'younger'): SearchNode {
    const v = this.param();
    const n = /^\d+$/.test(v) ? Number(v) : 0;
    if (n <= 0 || n > 0xffffffff) throw new SearchError('BAD', 'Invalid search interval parameter');
    return { k: 'interval', op, seconds: n };
  }

  private header(name: string, mode: 'address' | 'subject' | 'plain'): SearchNode {
    const value = this.stringParam();
    this.needsRaw = true;
    return { k: 'header', name, value, mode };
  }

  private build(key: string, original: string): SearchNode {
    const flag = FLAG_KEYS[key];
    if (flag) return flag;
    if (key.startsWith('UN') && FLAG_KEYS[key.slice(2)] && key !== 'UNRECENT') return { k: 'not', item: FLAG_KEYS[key.slice(2)]! };
    switch (key) {
      case 'ALL':
        return { k: 'all' };
      case 'NOT':
        return { k: 'not', item: this.required() };
      case 'OR': {
        const a = this.required();
        const b = this.required();
        return { k: 'or', items: [a, b] };
      }
      case 'NEW':
        return { k: 'new' };
      case 'OLD':
        return { k: 'not', item: { k: 'flag', flag: '\\Recent' } };
      case 'KEYWORD':
        return { k: 'keyword', name: this.param() };
      case 'UNKEYWORD':
        return { k: 'not', item: { k: 'keyword', name: this.param() } };
      case 'BEFORE':
        return this.date('received', 'before');
      case 'ON':
        return this.date('received', 'on');
      case 'SINCE':
        return this.date('received', 'since');
      case 'SENTBEFORE':
        return this.date('sent', 'before');
      case 'SENTON':
        return this.date('sent', 'on');
      case 'SENTSINCE':
        return this.date('sent', 'since');
      case 'SAVEDBEFORE':
      case 'X-SAVEDBEFORE':
        return this.date('saved', 'before');
      case 'SAVEDON':
      case 'X-SAVEDON':
        return this.date('saved', 'on');
      case 'SAVEDSINCE':
      case 'X-SAVEDSINCE':
        return this.date('saved', 'since');
      case 'SAVEDATESUPPORTED':
        return { k: 'savedatesupported' };
      case 'LARGER':
        return this.size('larger');
      case 'SMALLER':
        return this.size('smaller');
      case 'BCC':
      case 'CC':
      case 'FROM':
      case 'TO':
        return this.header(key.toLowerCase(), 'address');
      case 'SUBJECT':
        return this.header('subject', 'subject');
      case 'HEADER': {
        const name = this.stringParam();
        return this.header(name.toLowerCase(), 'plain');
      }
      case 'BODY':
        this.needsRaw = true;
        return { k: 'body', value: this.stringParam() };
      case 'TEXT':
        this.needsRaw = true;
        return { k: 'text', value: this.stringParam() };
      case 'OLDER':
        return this.interval('older');
      case 'YOUNGER':
        return this.interval('younger');
      case 'UID': {
        const v = this.param();
        if (v === '$') {
          this.usesSaved = true;
          return { k: 'saved', uid: true };
        }
        const r = parseSeqSet(v);
        if (!r) throw new SearchError('BAD', 'Invalid UID messageset');
        return { k: 'seqset', uid: true, ranges: r };
      }
      case '$':
        this.usesSaved = true;
        return { k: 'saved', uid: false };
      case 'MODSEQ':
        return this.modseq();
      case 'FUZZY':
        return this.required();
      case 'X-GUID':
        return { k: 'guid', value: this.param() };
    }
    if (key[0] === '*' || (key[0]! >= '0' && key[0]! <= '9')) {
      const r = parseSeqSet(original);
      if (!r) throw new SearchError('BAD', 'Invalid messageset');
      return { k: 'seqset', uid: false, ranges: r };
    }
    throw new SearchError('BAD', `Unknown argument ${key}`);
  }

  private modseq(): SearchNode {
    let v = this.param();
    const lower = v.toLowerCase();
    if (lower.startsWith('/flags/')) {
      const name = lower.slice(7);
      if (name.startsWith('\\')) {
        const ok = ['\\answered', '\\flagged', '\\deleted', '\\seen', '\\draft'].includes(name);
        if (!ok) throw new SearchError('BAD', 'Invalid MODSEQ system flag');
      }
      const type = this.param().toLowerCase();
      if (type !== 'all' && type !== 'priv' && type !== 'shared') throw new SearchError('BAD', 'Invalid MODSEQ type');
      v = this.param();
    }
    if (!/^\d+$/.test(v) || BigInt(v) > 0xffffffffffffffffn) throw new SearchError('BAD', 'Invalid MODSEQ value');
    this.usesModseq = true;
    return { k: 'modseq', value: BigInt(v) };
  }
}

/**
 * Compile SEARCH criteria (the arguments after any CHARSET / RETURN).
 * Throws SearchError with Dovecot's text for bad input.
 */
export function compileSearch(args: ImapArg[], opts: CompileOptions = {}): SearchProgram {
  if (args.length === 0) throw new SearchError('BAD', 'Missing search parameters');
  const c = new Compiler(args, opts);
  const items = c.list();
  const root = cheapFirst(items.length === 1 ? items[0]! : { k: 'and', items });
  return { root, needsRaw: c.needsRaw, usesSaved: c.usesSaved, usesModseq: c.usesModseq };
}

/** Does evaluating the node read the message bytes? */
function readsMessage(n: SearchNode): boolean {
  switch (n.k) {
    case 'header':
    case 'body':
    case 'text':
      return true;
    case 'date':
      return n.field === 'sent';
    case 'and':
      return n.items.some(readsMessage);
    case 'or':
      return n.items.some(readsMessage);
    case 'not':
      return readsMessage(n.item);
    default:
      return false;
  }
}

/** Reorder AND/OR operands so that index-only tests run before those that load the message. */
function cheapFirst(n: SearchNode): SearchNode {
  if (n.k === 'and') {
    const items = n.items.map(cheapFirst);
    return { k: 'and', items: [...items.filter((i) => !readsMessage(i)), ...items.filter(readsMessage)] };
  }
  if (n.k === 'or') {
    const [a, b] = [cheapFirst(n.items[0]), cheapFirst(n.items[1])];
    return { k: 'or', items: readsMessage(a) && !readsMessage(b) ? [b, a] : [a, b] };
  }
  if (n.k === 'not') return { k: 'not', item: cheapFirst(n.item) };
  return n;
}
