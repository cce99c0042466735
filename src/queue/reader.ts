/**
 * queue/reader.ts: read queue files (record format: record.ts) for the
 * programs that consume them: pickup (maildrop files), qmgr, postqueue,
 * postsuper, and our tests.
 *
 * A reader never takes an incomplete file for a message:
 * - mail_open_ok(): the file must be a regular file whose owner bits are
 *   exactly rwx (0700; maildrop 0744), which the writer sets only after
 *   the last write and before fsync;
 * - the record stream must be well formed and end with an END record;
 * - a cleanup-made file starts with its SIZE record.
 * Anything else raises QueueFileError (kind 'incomplete' or 'corrupt').
 */
import { lstat, readFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import {
  inSet,
  parseSize,
  readRecord,
  REC_EOF,
  REC_ERROR,
  Rec,
  REC_TYPE_CONTENT,
  REC_TYPE_ENVELOPE,
  REC_TYPE_EXTRACT,
  recAttrMap,
  type RawRecord,
  type SizeRecord,
  splitAttr,
} from './record.js';
import { QUEUE_STAT_READY } from './layout.js';

export class QueueFileError extends Error {
  constructor(
    readonly kind: 'incomplete' | 'corrupt' | 'missing',
    message: string,
  ) {
    super(message);
    this.name = 'QueueFileError';
  }
}

/** mail_open_ok(): a regular file with owner mode exactly rwx. */
export function statReady(st: Stats): boolean {
  return st.isFile() && (st.mode & 0o700) === QUEUE_STAT_READY;
}

export interface ReadOptions {
  /** Skip the mode check (postcat reads whatever it is given). */
  ignoreMode?: boolean;
}

/** Read a whole queue file after mail_open_ok()'s checks. */
export async function readQueueBytes(path: string, opts: ReadOptions = {}): Promise<{ buf: Buffer; st: Stats }> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new QueueFileError('missing', `${path}: not found`);
    throw err;
  }
  if (!st.isFile()) throw new QueueFileError('corrupt', `${path}: not a regular file`);
  if (!opts.ignoreMode && !statReady(st)) throw new QueueFileError('incomplete', `${path}: file is not complete`);
  return { buf: await readFile(path), st };
}

/**
 * rec_get() with REC_FLAG_DEFAULT: records in logical order (PTR records
 * followed, placeholders skipped, DTXT padding skipped, stop after END).
 */
export function* logicalRecords(buf: Buffer, start = 0, maxSize = 0): Generator<RawRecord> {
  let off = start;
  let reverse = 0;
  let savedOffset = 0;
  for (;;) {
    const r = readRecord(buf, off, maxSize);
    if (r.type === REC_EOF || r.type === REC_ERROR) {
      yield r;
      return;
    }
    off = r.end;
    if (r.type === Rec.PTR) {
      const target = Number.parseInt(r.data.trim(), 10);
      if (Number.isNaN(target) || target < 0) {
        yield { ...r, type: REC_ERROR, error: `malformed pointer record value: ${r.data}` };
        return;
      }
      if (target === 0) continue;
      if (target <= savedOffset && ++reverse > 10000) {
        yield { ...r, type: REC_ERROR, error: 'too many reverse jump records' };
        return;
      }
      if (target > buf.length) {
        yield { ...r, type: REC_ERROR, error: 'seek error after pointer record' };
        return;
      }
      savedOffset = target;
      off = target;
      continue;
    }
    if (r.type === Rec.DTXT) continue;
    yield r;
    if (r.type === Rec.END) return;
  }
}

export interface QueueRecipient {
  address: string;
  /** Postfix original recipient (O record). */
  orig?: string;
  /** DSN ORCPT "type;address". */
  dsnOrcpt?: string;
  dsnNotify?: number;
  /** Offset of the R record (qmgr marks it done in place). */
  offset: number;
  /** Already delivered (D) or canceled (/). */
  done: boolean;
}

/** The parsed envelope of a complete queue file. */
export interface QueueEnvelope {
  size?: SizeRecord;
  /** Arrival time (T record), seconds and microseconds. */
  arrival?: { sec: number; usec: number };
  createTime?: number;
  /** Offset of the W record and its value (qmgr rewrites it). */
  warnTime?: number;
  warnOffset?: number;
  fullname?: string;
  sender?: string;
  attrs: Map<string, string>;
  recipients: QueueRecipient[];
  filter?: string;
  redirect?: string;
  verp?: string;
  dsnEnvid?: string;
  dsnRet?: number;
  /** Offset of the first content record, and of the X record. */
  contentOffset: number;
  extractedOffset: number;
  /** Content text records in order (headers and body). */
  content: Array<{ type: number; data: string }>;
}

/**
 * Parse a complete file. `requireSize`: cleanup-made queue files start with
 * a SIZE record; maildrop files do not.
 */
export function parseQueueFile(buf: Buffer, opts: { requireSize?: boolean; withContent?: boolean } = {}): QueueEnvelope {
  const env: QueueEnvelope = { attrs: new Map(), recipients: [], contentOffset: -1, extractedOffset: -1, content: [] };
  let segment: 'env' | 'content' | 'extract' = 'env';
  let pendingOrig: string | undefined;
  let pendingOrcpt: string | undefined;
  let pendingNotify: number | undefined;
  let first = true;
  let sawEnd = false;
  for (const r of logicalRecords(buf)) {
    if (r.type === REC_EOF) break;
    if (r.type === REC_ERROR) throw new QueueFileError('corrupt', r.error ?? 'record read error');
    if (first) {
      first = false;
      if (opts.requireSize && r.type !== Rec.SIZE) throw new QueueFileError('corrupt', 'missing size record');
    }
    const set = segment === 'env' ? REC_TYPE_ENVELOPE : segment === 'content' ? REC_TYPE_CONTENT : REC_TYPE_EXTRACT;
    if (!inSet(set, r.type)) {
      throw new QueueFileError('corrupt', `unexpected record type ${r.type} in ${segment} segment`);
    }
    if (segment === 'content') {
      if (r.type === Rec.XTRA) {
        segment = 'extract';
        env.extractedOffset = r.offset;
      } else {
        if (env.contentOffset < 0) env.contentOffset = r.offset;
        if (opts.withContent) env.content.push({ type: r.type, data: r.data });
      }
      continue;
    }
    let type = r.type;
    let data = r.data;
    if (type === Rec.ATTR) {
      const nv = splitAttr(data);
      if (typeof nv === 'string') throw new QueueFileError('corrupt', `malformed attribute: ${nv}: ${data.slice(0, 100)}`);
      const mapped = recAttrMap(nv[0]);
      if (mapped) {
        type = mapped;
        data = nv[1];
      } else {
        env.attrs.set(nv[0], nv[1]);
        continue;
      }
    }
    switch (type) {
      case Rec.SIZE:
        env.size = parseSize(data);
        break;
      case Rec.TIME: {
        const m = /^(\d+)\D*(\d*)/.exec(data);
        if (m) env.arrival = { sec: Number(m[1]), usec: Number(m[2] || 0) };
        break;
      }
      case Rec.CTIME:
        env.createTime = Number.parseInt(data, 10);
        break;
      case Rec.WARN:
        env.warnTime = Number.parseInt(data.trim(), 10);
        env.warnOffset = r.offset;
        break;
      case Rec.FULL:
        env.fullname ??= data;
        break;
      case Rec.FROM:
        env.sender ??= data;
        break;
      case Rec.FILT:
        env.filter = data;
        break;
      case Rec.RDR:
        env.redirect = data;
        break;
      case Rec.VERP:
        env.verp = data;
        break;
      case Rec.DSN_ENVID:
        env.dsnEnvid = data;
        break;
      case Rec.DSN_RET:
        env.dsnRet = Number.parseInt(data, 10);
        break;
      case Rec.DSN_ORCPT:
        pendingOrcpt = data;
        break;
      case Rec.DSN_NOTIFY:
        pendingNotify = Number.parseInt(data, 10);
        break;
      case Rec.ORCP:
        pendingOrig = data;
        break;
      case Rec.RCPT:
      case Rec.DONE:
      case Rec.DRCP:
        env.recipients.push({
          address: data,
          orig: pendingOrig,
          dsnOrcpt: pendingOrcpt,
          dsnNotify: pendingNotify,
          offset: r.offset,
          done: type !== Rec.RCPT,
        });
        pendingOrig = pendingOrcpt = undefined;
        pendingNotify = undefined;
        break;
      case Rec.MESG:
        segment = 'content';
        break;
      case Rec.END:
        sawEnd = true;
        break;
      default:
        break;
    }
  }
  if (!sawEnd) throw new QueueFileError('incomplete', 'no end record');
  return env;
}

/** Read and parse a finished queue file (mode and END checked). */
export async function readQueueFile(
  path: string,
  opts: { requireSize?: boolean; withContent?: boolean } = {},
): Promise<QueueEnvelope & { st: Stats }> {
  const { buf, st } = await readQueueBytes(path);
  return { ...parseQueueFile(buf, opts), st };
}
