/**
 * cleanup/service.ts: Postern's cleanup, in process: the CleanupService /
 * CleanupSession contract of types.ts, implemented the way cleanup(8)
 * handles one client connection (cleanup.c, cleanup_api.c).
 *
 * A session is a record stream: every call becomes the record Postfix's
 * clients send (smtpd.c, pickup.c), in call order:
 *   setAttribute(n, v) -> A "n=v"       setSender(s)   -> S s
 *   addRecipient(r, o) -> [A notify_flags=N] [A dsn_orig_rcpt=T;A] R r
 *   writeLine(l, c)    -> (M before the first line) N l, or L l when continued
 *   finish()           -> (M) X [extracted records] E
 * plus, for the mail sources Postern itself contains: setArrivalTime (T;
 * otherwise a T with the open time goes first), setFullName (F),
 * setExtraFlags (f: HOLD/DISCARD decided by access maps), addExtracted
 * (records after X: FILTER, REDIRECT, BCC recipients) and putRecord (any
 * record, for pickup which copies a maildrop file).
 *
 * Records are processed in order on an internal queue (table lookups are
 * asynchronous); finish() waits for them, rewrites the SIZE record, and
 * commits the file (fchmod 0700, fsync file and directory) before it
 * resolves with status 0. HOLD moves the file to hold/ first, DISCARD and
 * errors remove it.
 */
import { unlink } from 'node:fs/promises';
import { info as msgInfo, warn as msgWarn } from '../log/msg.js';
import { encodeRecord, formatSize, Rec } from '../queue/record.js';
import { Queue, queuePath } from '../queue/layout.js';
import { QueueFileWriter } from '../queue/writer.js';
import { mailTrigger } from '../queue/trigger.js';
import { CleanupFlag, type CleanupResult, type CleanupService, type CleanupSession, CleanupStat, type RecipientOptions } from './types.js';
import { type CleanupMaps, openCleanupMaps } from './maps.js';
import { type CleanupConfig, type CleanupSettings, readCleanupSettings } from './settings.js';
import { cleanupStrerror } from './strerror.js';
import { type CleanupLog, CleanupState, FLAG_END_SEEN, STAT_MASK_CANT_BOUNCE, STAT_MASK_INCOMPLETE } from './state.js';
import { cleanupEnvelope } from './envelope.js';
import type { Milters } from '../milter/milters.js';
import { cleanupMilterInspect, cleanupMilterOk } from './milter.js';
import { cleanupMilterEdits } from './milter-edit.js';

export interface CleanupServiceOptions {
  /** Tables (default: none; see maps-open.ts for opening the configured ones). */
  maps?: CleanupMaps;
  /** Log sink (default: msg.ts, i.e. stderr and the process's mail log). */
  log?: CleanupLog;
  /** Wake the queue manager after each message (default true). */
  notifyQmgr?: boolean;
}

/**
 * Postfix's attribute names for the DSN parameters (mail_proto.h) are not
 * the obvious ones; accept the obvious ones too.
 */
const ATTR_ALIASES: Record<string, string> = {
  dsn_envid: 'envelope_id',
  dsn_ret: 'ret_flags',
  dsn_notify: 'notify_flags',
  dsn_orcpt: 'dsn_orig_rcpt',
};

const defaultLog: CleanupLog = { info: msgInfo, warn: msgWarn };

export class PosternCleanupSession implements CleanupSession {
  readonly queueId: string;
  private readonly state: CleanupState;
  private pending: Array<[number, string]> = [];
  private draining: Promise<void> | undefined;
  private started = false;
  private inContent = false;
  private extracted: Array<[number, string]> = [];
  private done = false;
  private milters: Milters | undefined;

  constructor(
    private readonly settings: CleanupSettings,
    private readonly writer: QueueFileWriter,
    maps: CleanupMaps,
    private readonly log: CleanupLog,
    flags: number,
    private readonly notifyQmgr: boolean,
  ) {
    this.queueId = writer.id;
    this.state = new CleanupState(writer.id, writer, settings, maps, log, cleanupEnvelope);
    // cleanup_control()
    this.state.flags = flags;
    this.state.errMask = flags & CleanupFlag.BOUNCE ? STAT_MASK_INCOMPLETE : ~0;
    if (flags & CleanupFlag.SMTPUTF8) this.state.smtputf8 = 1;
  }

  /** Queue one record for processing. */
  putRecord(type: number, data: string): void {
    if (this.done) return;
    this.started = true;
    this.pending.push([type, data]);
    if (!this.draining) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    // Yield first: a drain that finished synchronously would clear `draining` before putRecord() sets it.
    await undefined;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        for (const [type, data] of batch) {
          if (!this.state.outOk()) continue;
          await this.state.action(this.state, type, data);
        }
      }
    } catch (err) {
      this.log.warn(`${this.queueId}: ${(err as Error).message}`);
      this.state.errs |= CleanupStat.WRITE;
    } finally {
      this.draining = undefined;
    }
  }

  /** Before the first contract call: the arrival time record, as smtpd sends it first. */
  private begin(): void {
    if (!this.started) this.setArrivalTime(this.writer.ctime.sec, this.writer.ctime.usec);
  }

  setArrivalTime(sec: number, usec = 0): void {
    this.putRecord(Rec.TIME, `${sec} ${usec}`);
  }

  setAttribute(name: string, value: string): void {
    this.begin();
    this.putRecord(Rec.ATTR, `${ATTR_ALIASES[name] ?? name}=${value}`);
  }

  setFullName(name: string): void {
    this.begin();
    this.putRecord(Rec.FULL, name);
  }

  setSender(address: string): void {
    this.begin();
    this.putRecord(Rec.FROM, address);
  }

  addRecipient(address: string, options: RecipientOptions = {}): void {
    this.begin();
    if (options.notify) this.putRecord(Rec.ATTR, `notify_flags=${options.notify}`);
    if (options.orcpt !== undefined) this.putRecord(Rec.ATTR, `dsn_orig_rcpt=${options.orcpt}`);
    this.putRecord(Rec.RCPT, address);
  }

  /** The mail source's filters (smtpd_milters): cleanup sends them the content at the end (milter_send). */
  setMilters(milters: Milters): void {
    this.milters = milters;
    this.state.milterContent = [];
  }

  /** HOLD / DISCARD decided by the client (smtpd access map actions). */
  setExtraFlags(flags: number): void {
    this.begin();
    // Before the content: with the envelope (smtpd at DATA); after it: in
    // the extracted segment (smtpd at end of data).
    if (this.inContent) this.extracted.push([Rec.FLGS, String(flags)]);
    else this.putRecord(Rec.FLGS, String(flags));
  }

  writeLine(line: Buffer, continued = false): void {
    this.begin();
    if (!this.inContent) {
      this.inContent = true;
      this.putRecord(Rec.MESG, '');
    }
    this.putRecord(continued ? Rec.CONT : Rec.NORM, line.toString('latin1'));
  }

  /** Records for the extracted segment (after X): FILTER, REDIRECT, BCC recipients. */
  addExtracted(type: number, data: string): void {
    this.extracted.push([type, data]);
  }

  async finish(): Promise<CleanupResult> {
    this.begin();
    if (!this.inContent) {
      this.inContent = true;
      this.putRecord(Rec.MESG, '');
    }
    this.putRecord(Rec.XTRA, '');
    for (const [t, d] of this.extracted) this.putRecord(t, d);
    this.putRecord(Rec.END, '');
    return this.flush();
  }

  /** Wait for queued records (pickup uses it with putRecord ... END). */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** cleanup_flush(): finish the queue file and report. */
  async flush(): Promise<CleanupResult> {
    await this.settle();
    this.done = true;
    const st = this.state;
    if (st.outOk()) {
      if (st.rcptCount === 0) st.errs |= CleanupStat.RCPT;
      if ((st.flags & FLAG_END_SEEN) === 0) st.errs |= CleanupStat.BAD;
    }
    if (st.flags & CleanupFlag.DISCARD) st.errs = 0;
    if (this.milters && cleanupMilterOk(st)) {
      try {
        const edits = cleanupMilterEdits(st);
        await cleanupMilterInspect(st, this.milters, edits);
        await edits.commit();
      } catch (err) {
        this.log.warn(`${this.queueId}: ${(err as Error).message}`);
        st.errs |= CleanupStat.WRITE;
      }
    }
    st.milterContent = undefined;
    if (st.outOk()) {
      // cleanup_final(): the real sizes, in place.
      const size = formatSize([st.xtraOffset - st.dataOffset, st.dataOffset, st.rcptCount, st.qmgrOpts, st.contLength, st.smtputf8]);
      await this.writer.rewrite(0, encodeRecord(Rec.SIZE, size));
      if (this.writer.error) {
        st.errs |= this.writer.error === 'size' ? CleanupStat.SIZE : CleanupStat.WRITE;
      }
    }
    const canBounce = (st.errs & STAT_MASK_CANT_BOUNCE) === 0 && st.sender !== undefined && (st.flags & CleanupFlag.BOUNCE) !== 0;
    if (st.errs !== 0 && canBounce) {
      // cleanup_bounce() would return the message to the sender here;
      // Postern has no bounce service yet, so the error is reported instead.
      this.log.warn(`${this.queueId}: cannot bounce: ${cleanupStrerror(st.errs)}`);
    }
    if (st.errs === 0 && (st.flags & CleanupFlag.DISCARD) === 0) {
      try {
        if (st.flags & CleanupFlag.HOLD) await this.writer.moveTo(Queue.HOLD);
        await this.writer.finish();
      } catch (err) {
        st.errs |= this.writer.error === 'size' ? CleanupStat.SIZE : CleanupStat.WRITE;
        this.log.warn(`${this.queueId}: ${(err as Error).message}`);
      }
    } else {
      await this.writer.close();
    }
    if (st.errs !== 0 || st.flags & CleanupFlag.DISCARD) {
      await unlink(this.writer.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.log.warn(`remove ${this.writer.path}: ${err.message}`);
      });
    } else if (this.notifyQmgr && this.writer.queueName === Queue.INCOMING) {
      const why = await mailTrigger(this.settings.layout.dir, 'public', this.settings.queueServiceName);
      if (why) this.log.warn(why);
    }
    const reason = st.flags & CleanupFlag.SMTP_REPLY && st.smtpReply ? st.smtpReply : st.reason;
    return reason !== undefined ? { status: st.errs, reason } : { status: st.errs };
  }

  async abort(): Promise<void> {
    this.done = true;
    this.pending = [];
    await this.settle().catch(() => {});
    await this.writer.remove();
  }
}

export class PosternCleanupService implements CleanupService {
  readonly settings: CleanupSettings;
  constructor(
    cfg: CleanupConfig | CleanupSettings,
    private readonly opts: CleanupServiceOptions = {},
  ) {
    this.settings = 'layout' in cfg ? cfg : readCleanupSettings(cfg);
  }

  /** cleanup_open(): a new queue file in incoming/ with its queue ID. */
  async open(flags: number): Promise<PosternCleanupSession> {
    const s = this.settings;
    const writer = await QueueFileWriter.create({
      layout: s.layout,
      queueName: Queue.INCOMING,
      longIds: s.longQueueIds,
      sizeLimit: Math.max(s.messageLimit, 0),
    });
    const log = this.opts.log ?? defaultLog;
    for (const q of [Queue.DEFER, Queue.BOUNCE, Queue.TRACE]) {
      try {
        await unlink(queuePath(s.layout, q, writer.id));
        log.warn(`${q}: removed spurious ${writer.id} log`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          await writer.remove();
          throw err;
        }
      }
    }
    return new PosternCleanupSession(s, writer, this.opts.maps ?? {}, log, flags, this.opts.notifyQmgr ?? true);
  }
}

/** The CleanupService factory smtpd and pickup use. */
export function openCleanup(cfg: CleanupConfig, opts: CleanupServiceOptions = {}): PosternCleanupService {
  return new PosternCleanupService(cfg, opts);
}

/**
 * openCleanup() with the tables main.cf names (canonical, virtual alias,
 * bcc maps, header/body checks) opened first: what a daemon calls once at
 * start (cleanup_pre_jail).
 */
export { cleanupStatDetail, cleanupStrerror } from './strerror.js';

export async function createCleanupService(cfg: CleanupConfig, opts: CleanupServiceOptions = {}): Promise<PosternCleanupService> {
  const maps = opts.maps ?? (await openCleanupMaps(cfg));
  return new PosternCleanupService(cfg, { ...opts, maps });
}
