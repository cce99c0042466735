/**
 * qmgr/message.ts: one message in the active queue (qmgr_message.c): its
 * envelope as read from the queue file, and the in-place updates the
 * queue manager and the agents make to that file:
 *
 *   R -> D     a recipient is done (deliver_completed(), one byte)
 *   W          the delay warning was sent (rewritten to -1, fixed width)
 *
 * The file is read whole; the content is served from that copy (the
 * content never changes after cleanup). Files whose mode has S_IXGRP were
 * force-expired by postsuper -e; S_IRGRP asks for an unthrottled flush.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { logicalRecords, parseQueueFile, type QueueEnvelope, QueueFileError, readQueueBytes } from '../queue/reader.js';
import { encodeRecord, format15, Rec, REC_EOF, REC_ERROR } from '../queue/record.js';
import { QUEUE_STAT_EXPIRE, QUEUE_STAT_UNTHROTTLE } from '../queue/layout.js';
import type { MessageContent, TimeVal } from '../delivery/types.js';

export class QueueMessage {
  flags = 0;
  /** A recipient asked for NOTIFY=SUCCESS and a trace log entry exists. */
  traced = false;
  refcount = 0;
  activeArrival: TimeVal = { sec: 0, usec: 0 };
  private fh: FileHandle | undefined;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly queueId: string,
    public path: string,
    readonly buf: Buffer,
    readonly env: QueueEnvelope,
    readonly st: Stats,
  ) {}

  /** qmgr_message_read(): throws QueueFileError for incomplete/corrupt files. */
  static async load(queueId: string, path: string): Promise<QueueMessage> {
    const { buf, st } = await readQueueBytes(path);
    const env = parseQueueFile(buf, { requireSize: true });
    if (env.sender === undefined) throw new QueueFileError('corrupt', 'missing sender record');
    if (env.arrival === undefined) throw new QueueFileError('corrupt', 'missing arrival time record');
    return new QueueMessage(queueId, path, buf, env, st);
  }

  get sender(): string {
    return this.env.sender ?? '';
  }
  get arrival(): TimeVal {
    return this.env.arrival ? { sec: this.env.arrival.sec, usec: this.env.arrival.usec } : { sec: 0, usec: 0 };
  }
  /** create_time, else the arrival time (Postfix < 2.x files). */
  get createTime(): number {
    return this.env.createTime && this.env.createTime > 0 ? this.env.createTime : this.arrival.sec;
  }
  get dataSize(): number {
    return this.env.size?.contentSize ?? 0;
  }
  /** cont_length, or data_size for old files (what "size=" logs). */
  get contentLength(): number {
    const n = this.env.size?.contentLength ?? 0;
    return n > 0 ? n : this.dataSize;
  }
  get rcptCount(): number {
    return this.env.size?.rcptCount ?? this.env.recipients.length;
  }
  get smtputf8(): number {
    return this.env.size?.smtputf8 ?? 0;
  }
  get encoding(): string {
    return this.env.attrs.get('encoding') ?? '';
  }
  get forceExpire(): boolean {
    return (this.st.mode & QUEUE_STAT_EXPIRE) !== 0;
  }
  get unthrottle(): boolean {
    return (this.st.mode & QUEUE_STAT_UNTHROTTLE) !== 0;
  }
  get warnTime(): number {
    return this.env.warnTime ?? 0;
  }

  /** Content records (N and L) in logical order. */
  content(): MessageContent {
    const buf = this.buf;
    return {
      *records() {
        let inContent = false;
        for (const r of logicalRecords(buf)) {
          if (r.type === REC_EOF || r.type === REC_ERROR) return;
          if (!inContent) {
            if (r.type === Rec.MESG) inContent = true;
            continue;
          }
          if (r.type !== Rec.NORM && r.type !== Rec.CONT) return;
          yield [r.type, r.data] as [number, string];
        }
      },
    };
  }

  private async handle(): Promise<FileHandle> {
    if (!this.fh) this.fh = await open(this.path, constants.O_RDWR);
    return this.fh;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const p = this.writes.then(fn);
    this.writes = p.catch(() => {});
    return p;
  }

  /** deliver_completed(): overwrite the record type at `offset` with D. */
  markDone(offset: number): Promise<void> {
    return this.serial(async () => {
      const fh = await this.handle();
      await fh.write(Buffer.from([Rec.DONE]), 0, 1, offset);
    });
  }

  /** qmgr_message_update_warn(): W record := -1 (warning sent). */
  updateWarn(): Promise<void> {
    const off = this.env.warnOffset;
    if (off === undefined) return Promise.resolve();
    return this.serial(async () => {
      const fh = await this.handle();
      const rec = encodeRecord(Rec.WARN, format15(-1));
      await fh.write(rec, 0, rec.length, off);
    });
  }

  /** qmgr_message_close(). */
  async close(): Promise<void> {
    await this.writes;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
