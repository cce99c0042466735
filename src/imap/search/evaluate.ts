/**
 * imap/search/evaluate.ts: does one message match a compiled SEARCH?
 *
 * Flags, sizes, dates, UIDs and sequence numbers come from the caller's
 * index; the message bytes are loaded (once) only when a header, body, text
 * or sent-date key needs them. Text matching is Dovecot's: the header value
 * or body is decoded (RFC 2047 words, transfer encoding, charset to UTF-8)
 * and the key must be a substring, compared after Unicode decomposition and
 * case folding (i;unicode-casemap); SUBJECT compresses whitespace runs;
 * an empty key matches any message that has the header.
 */
import { decodeHeaderValue } from '../mime/decode.js';
import { type MimePart, fieldValue, messageSize, parseMessage, partText } from '../mime/index.js';
import { Rfc822Parser, parseParams } from '../mime/rfc822.js';
import { STAR, type SearchNode, type SearchProgram, type SeqRanges } from './compile.js';

export interface SearchMessage {
  seq: number;
  uid: number;
  /** System flags (\Seen, \Recent, ...) and keywords, as stored. */
  flags: ReadonlySet<string>;
  internalDate: Date;
  /** RFC822.SIZE when known from the index; otherwise computed from the bytes. */
  size?: number;
  modseq?: bigint;
  saveDate?: Date | null;
  guid?: string;
  /** Loads the message bytes; called at most once, and only when needed. */
  raw(): Promise<Buffer> | Buffer;
}

export interface EvaluateContext {
  /** Highest sequence number (what "*" means in a sequence set). */
  messageCount: number;
  /** Highest UID in the mailbox (what "*" means in a UID set). */
  maxUid: number;
  /** UIDs of the saved result ($, RFC 5182); empty when none. */
  savedUids?: ReadonlySet<number>;
  /** "Now" for OLDER/YOUNGER, in ms (default Date.now()). */
  now?: number;
}

/** Dovecot's search comparison form: decomposed, case-folded. */
export function searchFold(s: string): string {
  return s.normalize('NFKD').toLowerCase();
}

function inRanges(n: number, ranges: SeqRanges, max: number): boolean {
  for (const [a0, b0] of ranges) {
    const a = a0 === STAR ? max : a0;
    const b = b0 === STAR ? max : b0;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

function dayNumber(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m, d) / 86_400_000);
}

/** The day (in the server's local time zone) a received/saved date falls on. */
function localDay(date: Date): number {
  return dayNumber(date.getFullYear(), date.getMonth(), date.getDate());
}

function compareDay(day: number, op: 'before' | 'on' | 'since', key: number): boolean {
  return op === 'before' ? day < key : op === 'on' ? day === key : day >= key;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/** The day of an RFC 5322 Date: value in the sender's own time zone, or null. */
export function sentDay(value: string): number | null {
  const m = /(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return null;
  const mon = MONTHS[m[2]!.toLowerCase()];
  if (mon === undefined) return null;
  let y = Number(m[3]);
  if (m[3]!.length === 2) y += y < 50 ? 2000 : 1900;
  return dayNumber(y, mon, Number(m[1]));
}

/** Per-message state for one evaluation: the bytes and derived texts, made at most once. */
class Loaded {
  raw?: Buffer;
  root?: MimePart;
  private bodyText?: string;
  private headerCache = new Map<string, string[]>();

  constructor(private readonly msg: SearchMessage) {}

  async load(): Promise<{ raw: Buffer; root: MimePart }> {
    if (this.raw === undefined) {
      this.raw = await this.msg.raw();
      this.root = parseMessage(this.raw);
    }
    return { raw: this.raw, root: this.root! };
  }

  async headers(name: string): Promise<string[]> {
    const cached = this.headerCache.get(name);
    if (cached) return cached;
    const { raw, root } = await this.load();
    const values = root.headers.filter((f) => f.lower === name).map((f) => decodeHeaderValue(fieldValue(raw, f)));
    this.headerCache.set(name, values);
    return values;
  }

  async allHeadersText(): Promise<string> {
    const { raw, root } = await this.load();
    return root.headers.map((f) => `${f.name}: ${decodeHeaderValue(fieldValue(raw, f))}`).join('\n');
  }

  async body(): Promise<string> {
    if (this.bodyText !== undefined) return this.bodyText;
    const { raw, root } = await this.load();
    const texts: string[] = [];
    collectText(raw, root, texts, true);
    this.bodyText = texts.join('\n');
    return this.bodyText;
  }
}

/** Decoded text of every text part (and the headers of encapsulated messages). */
function collectText(raw: Buffer, part: MimePart, out: string[], isRoot: boolean): void {
  if (!isRoot && part.parent?.rfc822) {
    out.push(part.headers.map((f) => `${f.name}: ${decodeHeaderValue(fieldValue(raw, f))}`).join('\n'));
  }
  if (part.children.length > 0) {
    for (const c of part.children) collectText(raw, c, out, false);
    return;
  }
  if (part.multipart) return;
  const type = part.contentType?.toLowerCase() ?? 'text';
  if (type !== 'text' && type !== 'message') return;
  let charset: string | null = null;
  for (const [k, v] of part.params) if (k.toLowerCase() === 'charset') charset = v;
  let cte: string | null = part.encoding?.toLowerCase() ?? null;
  if (!part.isMime) {
    // Content-Transfer-Encoding without MIME still decodes (Dovecot's decoder reads the field)
    for (const f of part.headers) if (f.lower === 'content-transfer-encoding') cte = fieldValue(raw, f).trim().toLowerCase();
    for (const f of part.headers) {
      if (f.lower !== 'content-type') continue;
      const p = new Rfc822Parser(fieldValue(raw, f));
      p.contentType({ s: '' });
      for (const [k, v] of parseParams(p).params) if (k.toLowerCase() === 'charset') charset = v;
      break;
    }
  }
  out.push(partText(raw, part, charset, cte));
}

function matchText(haystack: string, needle: string, compressLwsp = false): boolean {
  let h = haystack;
  if (compressLwsp) h = h.replace(/[ \t\r\n]+/g, ' ');
  return searchFold(h).includes(searchFold(needle));
}

async function matches(node: SearchNode, msg: SearchMessage, ctx: EvaluateContext, loaded: Loaded): Promise<boolean> {
  switch (node.k) {
    case 'all':
    case 'savedatesupported':
      return true;
    case 'none':
      return false;
    case 'and':
      for (const item of node.items) if (!(await matches(item, msg, ctx, loaded))) return false;
      return true;
    case 'or':
      return (await matches(node.items[0], msg, ctx, loaded)) || (await matches(node.items[1], msg, ctx, loaded));
    case 'not':
      return !(await matches(node.item, msg, ctx, loaded));
    case 'flag':
      return msg.flags.has(node.flag);
    case 'new':
      return msg.flags.has('\\Recent') && !msg.flags.has('\\Seen');
    case 'keyword': {
      const want = node.name.toLowerCase();
      for (const f of msg.flags) if (f.toLowerCase() === want && !f.startsWith('\\')) return true;
      return false;
    }
    case 'seqset':
      return node.uid ? inRanges(msg.uid, node.ranges, ctx.maxUid) : inRanges(msg.seq, node.ranges, ctx.messageCount);
    case 'saved':
      return ctx.savedUids?.has(msg.uid) ?? false;
    case 'date': {
      const key = dayNumber(node.day.y, node.day.m, node.day.d);
      if (node.field === 'received') return compareDay(localDay(msg.internalDate), node.op, key);
      if (node.field === 'saved') return msg.saveDate ? compareDay(localDay(msg.saveDate), node.op, key) : false;
      const dates = await loaded.headers('date');
      const day = dates.length > 0 ? sentDay(dates[0]!) : null;
      return compareDay(day ?? 0, node.op, key);
    }
    case 'interval': {
      const now = ctx.now ?? Date.now();
      const limit = Math.floor(now / 1000) - node.seconds;
      const t = Math.floor(msg.internalDate.getTime() / 1000);
      return node.op === 'older' ? t <= limit : t >= limit;
    }
    case 'size': {
      let size = msg.size;
      if (size === undefined) {
        const { raw, root } = await loaded.load();
        size = messageSize(raw, root);
      }
      return node.op === 'larger' ? size > node.n : size < node.n;
    }
    case 'header': {
      // HEADER "" matches the lines that have no colon (their name is empty), as in Dovecot
      const values = await loaded.headers(node.name);
      if (values.length === 0) return false;
      if (node.value === '') return true;
      return values.some((v) => matchText(v, node.value, node.mode === 'subject'));
    }
    case 'body':
      return matchText(await loaded.body(), node.value);
    case 'text':
      return matchText(await loaded.allHeadersText(), node.value) || matchText(await loaded.body(), node.value);
    case 'modseq':
      return (msg.modseq ?? 0n) >= node.value;
    case 'guid':
      return msg.guid === node.value;
  }
}

/** Does `msg` match `program`? Loads the message bytes only when a key needs them. */
export function evaluate(program: SearchProgram, msg: SearchMessage, ctx: EvaluateContext): Promise<boolean> {
  return matches(program.root, msg, ctx, new Loaded(msg));
}
