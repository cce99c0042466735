/**
 * showq/showq.ts: list the mail queue (showq(8) plus postqueue's output
 * adapters showq_compat.c and showq_json.c).
 *
 * Postern has no showq daemon: postqueue -p/-j, mailq and sendmail -bp read
 * the queue directory themselves, the way Postfix's showq does (and the way
 * real postqueue falls back to when the mail system is down, without that
 * fallback's warning). Behaviour follows showq.c:
 * - queues in the order maildrop, active, incoming, deferred, hold, each in
 *   readdir order (hash subdirectories descended);
 * - a file is listed only when mail_open_ok() accepts it (regular file,
 *   owner mode exactly rwx, i.e. completely written);
 * - records are read sequentially (pointer records are not followed);
 *   arrival = first T record (else mtime), size = first well-formed C
 *   record's content size (else the file size), sender = S record ("" ->
 *   MAILER-DAEMON), recipients = R records;
 * - right after the sender, the recipients of the defer log (defer/ID) are
 *   listed with their reasons, and those addresses are not listed again
 *   from the queue file.
 * Addresses are quote_822_local()'d and made printable.
 */
import { closeSync, lstatSync, openSync, readSync, type Stats, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { layoutFromConfig, Queue, QUEUE_STAT_EXPIRE, QUEUE_STAT_READY, type QueueLayout, queuePath } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { Rec, readRecord } from '../queue/record.js';
import { scanQueue } from './scan.js';
import { asctime24, printable, quote822Local } from './text.js';

export interface ShowqRecipient {
  address: string;
  /** Delay reason from the defer log ('' when none). */
  why: string;
}

export interface ShowqMessage {
  queue: string;
  id: string;
  arrival: number;
  size: number;
  forcedExpire: boolean;
  sender: string;
  recipients: ShowqRecipient[];
}

/** showq.c's scan order. */
export const SHOWQ_QUEUES: ReadonlyArray<[string, boolean]> = [
  [Queue.MAILDROP, false],
  [Queue.ACTIVE, true],
  [Queue.INCOMING, true],
  [Queue.DEFERRED, true],
  [Queue.HOLD, true],
];

/** mail_open_ok(): lstat info when the file is a complete queue file. */
export function mailOpenOk(layout: QueueLayout, queue: string, id: string): { path: string; st: Stats } | undefined {
  if (!queueIdOk(id)) return undefined;
  const path = queuePath(layout, queue, id);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  if ((st.mode & 0o700) !== QUEUE_STAT_READY) return undefined;
  return { path, st };
}

const HEAD_SIZE = 8192;
/** Reused for every file's head (reportMessage copies what it keeps). */
const headBuf = Buffer.allocUnsafe(HEAD_SIZE);

/** pread() up to `len` bytes at `pos` (short at EOF), into `into` when given. */
function readAt(fd: number, pos: number, len: number, into?: Buffer): Buffer {
  const buf = into ?? Buffer.allocUnsafe(Math.max(0, len));
  let off = 0;
  while (off < len) {
    const n = readSync(fd, buf, off, len - off, pos + off);
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/** open(path, O_RDONLY), or undefined when it cannot be opened. */
function openRead(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch {
    return undefined;
  }
}

/**
 * Open a queue file for showq: the first 8 KB, plus a loader for the rest
 * from any offset, so that large message contents are skipped as showq's
 * seek past the content does (the caller must close `fd`).
 */
function openQueueFile(path: string, st: Stats): { fd: number; head: Buffer; st: Stats } | undefined {
  const fd = openRead(path);
  if (fd === undefined) return undefined;
  try {
    return { fd, head: readAt(fd, 0, Math.min(st.size, HEAD_SIZE), headBuf), st };
  } catch {
    closeSync(fd);
    return undefined;
  }
}

/** Reused for every defer log (grown when one is larger). */
let logBuf = Buffer.allocUnsafe(16384);

/**
 * The whole defer log, or undefined when there is none: open() and read()
 * only (no stat: most listings are dominated by these small files).
 */
function readDeferLog(path: string): string | undefined {
  const fd = openRead(path);
  if (fd === undefined) return undefined;
  try {
    let len = 0;
    for (;;) {
      if (len === logBuf.length) {
        const bigger = Buffer.allocUnsafe(logBuf.length * 2);
        logBuf.copy(bigger, 0, 0, len);
        logBuf = bigger;
      }
      const n = readSync(fd, logBuf, len, logBuf.length - len, null);
      if (n <= 0) break;
      len += n;
    }
    return logBuf.toString('latin1', 0, len);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** bounce_log_read() over a whole defer log: (recipient, reason) pairs. */
export function parseDeferLog(text: string): ShowqRecipient[] {
  const out: ShowqRecipient[] = [];
  let found = false;
  let addr = '';
  let why = '';
  const flush = () => {
    out.push({ address: addr || '(recipient address unavailable)', why: why || '(description unavailable)' });
    addr = '';
    why = '';
    found = false;
  };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (raw === '') {
      if (found) flush();
      continue;
    }
    const line = printable(raw);
    found = true;
    if (/^[A-Za-z0-9]/.test(line)) {
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const name = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (name === 'recipient') addr = value === '' ? '(MAILER-DAEMON)' : value;
      else if (name === 'reason') why = value;
      continue;
    }
    if (line[0] !== '<') continue;
    const end = line.indexOf('>: ', 1);
    if (end < 0) continue;
    const r = line.slice(1, end);
    addr = r === '' ? '(MAILER-DAEMON)' : r;
    why = line.slice(end + 2).replace(/^\s+/, '');
  }
  // vstring_get_nonl() at EOF without a blank line: the entry is dropped.
  return out;
}

/** showq_report(): one message, or undefined when it has no sender. */
export function reportMessage(
  layout: QueueLayout,
  queue: string,
  id: string,
  head: Buffer,
  st: Stats,
  loadFrom?: (offset: number) => Buffer,
): ShowqMessage | undefined {
  // `buf` holds the file from offset `base`; it is complete when it reaches st.size.
  let buf = head;
  let base = 0;
  const complete = () => base + buf.length >= st.size || !loadFrom;
  let arrival = 0;
  let size = st.size;
  let sizeOk = false;
  let msg: ShowqMessage | undefined;
  let dup: Set<string> | undefined;
  let off = 0;
  for (;;) {
    let r = readRecord(buf, off);
    if (r.type < 0 && !complete()) {
      // Truncated by the partial read: load the rest from this record on.
      buf = loadFrom!(base + off);
      base += off;
      off = 0;
      r = readRecord(buf, off);
    }
    if (r.type < 0) break;
    off = r.end;
    const data = r.data;
    switch (r.type) {
      case Rec.TIME:
        if (arrival === 0) arrival = Number.parseInt(data, 10) || 0;
        break;
      case Rec.SIZE:
        if (!sizeOk) {
          // atol() of a string of digits and blanks: never negative.
          sizeOk = /^[0-9 ]*$/.test(data);
          size = sizeOk ? Number.parseInt(data.replace(/^ +/, ''), 10) || 0 : st.size;
        }
        break;
      case Rec.FROM: {
        const sender = printable(quote822Local(data === '' ? 'MAILER-DAEMON' : data));
        if (msg) return msg; // duplicate sender: skip the remainder
        msg = {
          queue,
          id,
          arrival: arrival > 0 ? arrival : Math.floor(st.mtimeMs / 1000),
          size,
          forcedExpire: (st.mode & QUEUE_STAT_EXPIRE) !== 0,
          sender,
          recipients: [],
        };
        const log = readDeferLog(queuePath(layout, Queue.DEFER, id));
        if (log !== undefined) {
          dup = new Set();
          for (const rc of parseDeferLog(log)) {
            if (dup.size < 1000) dup.add(rc.address);
            msg.recipients.push(rc);
          }
        }
        break;
      }
      case Rec.RCPT: {
        if (!msg) return undefined; // missing sender
        const addr = printable(quote822Local(data === '' ? 'MAILER-DAEMON' : data));
        if (!dup?.has(addr)) msg.recipients.push({ address: addr, why: '' });
        break;
      }
      case Rec.MESG:
        if (sizeOk) {
          off += size;
          if (off > buf.length && !complete()) {
            buf = loadFrom!(base + off);
            base += off;
            off = 0;
          }
        }
        break;
    }
  }
  return msg;
}

/** Walk the queues and report every complete message. */
export function* showqMessages(layout: QueueLayout): Generator<ShowqMessage> {
  for (const [queue, recursive] of SHOWQ_QUEUES) {
    for (const id of scanQueue(join(layout.dir, queue), recursive)) {
      const ok = mailOpenOk(layout, queue, id);
      if (!ok) continue;
      const file = openQueueFile(ok.path, ok.st);
      if (!file) continue;
      let m: ShowqMessage | undefined;
      try {
        m = reportMessage(layout, queue, id, file.head, file.st, (pos) =>
          readAt(file.fd, pos, Math.max(0, file.st.size - pos)),
        );
      } finally {
        closeSync(file.fd);
      }
      if (m) yield m;
    }
  }
}

/** showq_compat(): the classic mailq listing. */
export function formatClassic(messages: Iterable<ShowqMessage>, longIds: boolean, write: (s: string) => void): void {
  const row = longIds
    ? (a: string, b: string, c: string, d: string) => `${a.padEnd(17)} ${b.padStart(8)} ${c.padEnd(19)} ${d}\n`
    : (a: string, b: string, c: string, d: string) => `${a.padEnd(11)} ${b.padStart(7)} ${c.padEnd(20)} ${d}\n`;
  let count = 0;
  let total = 0;
  for (const m of messages) {
    let text = '';
    if (count > 0) text += '\n';
    else if (longIds) text += row('----Queue ID-----', '--Size--', '---Arrival Time----', '--Sender/Recipient------');
    else text += row('-Queue ID-', '--Size--', '----Arrival Time----', '-Sender/Recipient-------');
    let idStatus = m.id;
    if (m.queue === Queue.ACTIVE) idStatus += '*';
    else if (m.queue === Queue.HOLD) idStatus += '!';
    if (m.forcedExpire) idStatus += '#';
    const when = `${asctime24(m.arrival)}\n`.slice(0, longIds ? 19 : 20);
    text += row(idStatus, String(m.size), when, m.sender);
    let saved = '';
    for (const r of m.recipients) {
      if (r.why !== saved) {
        saved = r.why;
        const show = saved !== '' ? saved : 'reason unavailable';
        text += `${' '.repeat(Math.max(0, 76 - show.length))}(${show})\n`;
      }
      text += row('', '', '', r.address);
    }
    write(text);
    total += m.size;
    count++;
  }
  if (count === 0) write('Mail queue is empty\n');
  else write(`\n-- ${Math.floor(total / 1024)} Kbytes in ${count} Request${count === 1 ? '' : 's'}.\n`);
}

/** json_quote(). */
function jsonQuote(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f) {
      if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    } else if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else out += ch;
  }
  return printable(out);
}

/** showq_json(): one JSON object per message. */
export function formatJson(messages: Iterable<ShowqMessage>, write: (s: string) => void): void {
  for (const m of messages) {
    let t =
      `{"queue_name": "${jsonQuote(m.queue)}", "queue_id": "${jsonQuote(m.id)}", ` +
      `"arrival_time": ${m.arrival}, "message_size": ${m.size}, "forced_expire": ${m.forcedExpire}, ` +
      `"sender": "${jsonQuote(m.sender)}", "recipients": [`;
    m.recipients.forEach((r, i) => {
      if (i > 0) t += ', ';
      t += `{"address": "${jsonQuote(r.address)}"`;
      if (r.why !== '') t += `, "delay_reason": "${jsonQuote(r.why)}"`;
      t += '}';
    });
    write(`${t}]}\n`);
  }
}

/** Buffered byte-string (latin1) writer to fd 1. */
export function byteWriter(): { write: (s: string) => void; flush: () => void } {
  const chunks: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunks.length === 0) return;
    const buf = Buffer.from(chunks.join(''), 'latin1');
    chunks.length = 0;
    size = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(1, buf, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        if (code === 'EPIPE') return;
        throw err;
      }
    }
  };
  return {
    write: (s: string) => {
      chunks.push(s);
      size += s.length;
      if (size > 1 << 20) flush();
    },
    flush,
  };
}

/**
 * The entry point for postqueue -p/-j, mailq and sendmail -bp: list the
 * queue of `cfg` on stdout. `argv`: ['-j'] for JSON, anything else classic.
 * Returns the exit status (0).
 */
export function showQueue(cfg: PostfixConfig, argv: readonly string[] = []): number {
  const layout = layoutFromConfig(cfg);
  const w = byteWriter();
  const messages = showqMessages(layout);
  if (argv.includes('-j')) formatJson(messages, w.write);
  else formatClassic(messages, cfg.bool('enable_long_queue_ids'), w.write);
  w.flush();
  return 0;
}
