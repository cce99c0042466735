/**
 * queue/writer.ts: create, write and commit one queue file the way
 * mail_queue_enter() and mail_stream_file() do (record format: record.ts).
 *
 * Life of a file:
 * 1. create "QUEUE/<usec>.<pid>" with O_CREAT|O_EXCL and mode 0600 (postdrop:
 *    0644), then rename it to its queue ID, which is derived from the time
 *    and the new file's inode (queue-id.ts);
 * 2. records are appended (buffered; written in the background);
 * 3. in-place rewrites (the SIZE record) go to fixed offsets;
 * 4. finish(): all data written, fchmod 0700 (| extra mode bits: maildrop
 *    files become 0744), fsync(file), close, fsync(directory). Only then is
 *    the file complete, and only then may the caller report success.
 *
 * A crash anywhere before step 4 leaves a 0600 file (usually also without
 * its END record), which mail_open_ok() and our reader refuse.
 *
 * message_size_limit: Postfix sets RLIMIT_FSIZE so that writing past the
 * limit fails with EFBIG; here put() refuses the record and `error` becomes
 * 'size' (CLEANUP_STAT_SIZE), anything else that fails is 'write'.
 */
import { rename, unlink, type FileHandle, open, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeRecord } from './record.js';
import { makeQueueId } from './queue-id.js';
import { type QueueLayout, QUEUE_STAT_READY, queuePath, makeParentDirs } from './layout.js';
import { fsyncDir } from './fsync.js';

export interface TimeVal {
  sec: number;
  usec: number;
}

let lastUsec = 0;

/** gettimeofday(): wall clock with microseconds (ms from Date, sub-ms from the monotonic clock). */
export function now(): TimeVal {
  const t = performance.timeOrigin + performance.now();
  let sec = Math.floor(t / 1000);
  let usec = Math.floor((t - sec * 1000) * 1000);
  const ms = Date.now();
  // Keep seconds consistent with Date (timeOrigin drifts slowly from the wall clock).
  if (Math.floor(ms / 1000) !== sec) {
    sec = Math.floor(ms / 1000);
    usec = (ms % 1000) * 1000 + (usec % 1000);
  }
  const flat = sec * 1e6 + usec;
  if (flat <= lastUsec) {
    const n = lastUsec + 1;
    sec = Math.floor(n / 1e6);
    usec = n - sec * 1e6;
  }
  lastUsec = sec * 1e6 + usec;
  return { sec, usec };
}

export interface CreateOptions {
  layout: QueueLayout;
  /** "incoming" (cleanup) or "maildrop" (postdrop). */
  queueName: string;
  /** enable_long_queue_ids. */
  longIds: boolean;
  /** Extra mode bits for the file (postdrop: 0o444). */
  mode?: number;
  /** Maximal file size in bytes (message_size_limit); 0 = none. */
  sizeLimit?: number;
}

const FLUSH_AT = 64 * 1024;

export class QueueFileWriter {
  /** Bytes appended so far (the logical end of file). */
  offset = 0;
  /** First failure, if any: records after it are dropped. */
  error: 'size' | 'write' | undefined;
  errorText: string | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private fh: FileHandle,
    readonly layout: QueueLayout,
    public queueName: string,
    readonly id: string,
    public path: string,
    /** Creation time (mail_stream ctime: the Message-Id time stamp). */
    readonly ctime: TimeVal,
    private readonly mode: number,
    private readonly sizeLimit: number,
  ) {}

  /** mail_queue_enter(): a new, uniquely named, empty file in `queueName`. */
  static async create(opts: CreateOptions): Promise<QueueFileWriter> {
    const { layout, queueName } = opts;
    const mode = opts.mode ?? 0;
    const qdir = join(layout.dir, queueName);
    let fh: FileHandle | undefined;
    let temp = '';
    let tries = 0;
    for (;;) {
      const tv = now();
      temp = join(qdir, `${tv.usec}.${process.pid}`);
      try {
        fh = await open(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600 | mode);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'EISDIR') continue;
        if (code === 'ENOENT' && tries++ === 0) {
          await mkdir(qdir, { recursive: true, mode: 0o700 });
          continue;
        }
        throw err;
      }
    }
    // umask may have cut the mode; the incomplete-file mode must be exact.
    await fh.chmod(0o600 | mode);
    const st = await fh.stat({ bigint: true });
    for (let count = 0; ; count++) {
      const tv = now();
      const id = makeQueueId(tv.sec, tv.usec, st.ino, opts.longIds);
      const path = queuePath(layout, queueName, id);
      try {
        await rename(temp, path);
        return new QueueFileWriter(fh, layout, queueName, id, path, tv, mode, opts.sizeLimit ?? 0);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') await makeParentDirs(path);
        else if (code !== 'EPERM' && code !== 'EISDIR') {
          await fh.close().catch(() => {});
          await unlink(temp).catch(() => {});
          throw err;
        }
        if (count > 1000) {
          await fh.close().catch(() => {});
          await unlink(temp).catch(() => {});
          throw err;
        }
      }
    }
  }

  /** Append one record. Returns false (and sets `error`) when it does not fit or writing failed. */
  put(type: number, data: string | Buffer): boolean {
    if (this.error) return false;
    const rec = encodeRecord(type, data);
    return this.putRaw(rec);
  }

  /** Append bytes that are already encoded records. */
  putRaw(rec: Buffer): boolean {
    if (this.error) return false;
    if (this.sizeLimit > 0 && this.offset + rec.length > this.sizeLimit) {
      this.error = 'size';
      this.errorText = 'File too large';
      return false;
    }
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    this.offset += rec.length;
    if (this.pendingBytes >= FLUSH_AT) this.flushInBackground();
    return true;
  }

  private flushInBackground(): void {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const pos = this.written;
    this.pending = [];
    this.pendingBytes = 0;
    this.written += buf.length;
    this.chain = this.chain.then(async () => {
      if (this.error === 'write') return;
      try {
        let off = 0;
        while (off < buf.length) {
          const r = await this.fh.write(buf, off, buf.length - off, pos + off);
          off += r.bytesWritten;
        }
      } catch (err) {
        this.error = 'write';
        this.errorText = (err as Error).message;
      }
    });
  }

  /** Wait until every appended byte is in the file. */
  async flush(): Promise<void> {
    this.flushInBackground();
    await this.chain;
  }

  /** Overwrite bytes at `offset` (same length as before: fixed-width records). */
  async rewrite(offset: number, bytes: Buffer): Promise<void> {
    await this.flush();
    if (this.error) return;
    try {
      await this.fh.write(bytes, 0, bytes.length, offset);
    } catch (err) {
      this.error = 'write';
      this.errorText = (err as Error).message;
    }
  }

  /** Cut the file at `offset` (an earlier record boundary); appending continues there. */
  async truncate(offset: number): Promise<void> {
    await this.flush();
    if (this.error) return;
    try {
      await this.fh.truncate(offset);
      this.offset = offset;
      this.written = offset;
    } catch (err) {
      this.error = 'write';
      this.errorText = (err as Error).message;
    }
  }

  /** mail_stream_ctl(QUEUE): rename into another queue before finishing (hold). */
  async moveTo(queueName: string): Promise<void> {
    if (queueName === this.queueName) return;
    const to = queuePath(this.layout, queueName, this.id);
    try {
      await rename(this.path, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await makeParentDirs(to);
      await rename(this.path, to);
    }
    this.path = to;
    this.queueName = queueName;
  }

  /**
   * mail_stream_finish_file(): write everything, mark complete (0700 | mode),
   * fsync file, close, fsync the directory. Throws when any step failed.
   */
  async finish(): Promise<void> {
    await this.flush();
    if (this.error) throw new Error(this.errorText ?? 'queue file write error');
    try {
      await this.fh.chmod(QUEUE_STAT_READY | this.mode);
      await this.fh.sync();
    } finally {
      this.closed = true;
      await this.fh.close();
    }
    await fsyncDir(dirname(this.path));
  }

  /** Close and remove an unfinished (or unwanted) file. */
  async remove(): Promise<void> {
    await this.chain.catch(() => {});
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Close without removing (mail_stream_cleanup after a discard decision by the caller). */
  async close(): Promise<void> {
    await this.chain.catch(() => {});
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
  }
}
