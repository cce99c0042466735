/**
 * cleanup/state.ts: the per-message state of cleanup (cleanup.h
 * CLEANUP_STATE) and its output routines (cleanup_out.c): every record goes
 * through out(), which drops it once the message has failed (CLEANUP_OUT_OK)
 * and splits long text into L records of line_length_limit bytes.
 */
import { Rec } from '../queue/record.js';
import type { QueueFileWriter } from '../queue/writer.js';
import { CleanupFlag, CleanupStat } from './types.js';
import type { CleanupSettings } from './settings.js';
import type { CleanupMaps } from './maps.js';
import type { MimeState } from './mime.js';

/** Flags internal to cleanup (cleanup.h), above the client-visible ones. */
export const FLAG_INRCPT = 1 << 16;
export const FLAG_WARN_SEEN = 1 << 17;
export const FLAG_END_SEEN = 1 << 18;
export const FLAG_FILTER_ALL = CleanupFlag.FILTER | CleanupFlag.MILTER;
export const FLAG_MASK_EXTRA = CleanupFlag.HOLD | CleanupFlag.DISCARD;

export const STAT_MASK_CANT_BOUNCE = CleanupStat.BAD | CleanupStat.WRITE | CleanupStat.DEFER | CleanupStat.RCPT;
export const STAT_MASK_INCOMPLETE = CleanupStat.BAD | CleanupStat.WRITE | CleanupStat.SIZE | CleanupStat.DEFER;

/** SMTPUTF8 flags (smtputf8.h). */
export const SMTPUTF8_REQUESTED = 1 << 0;
export const SMTPUTF8_HEADER = 1 << 1;
export const SMTPUTF8_SENDER = 1 << 2;

/** QMGR_READ_FLAG_* (qmgr_user.h). */
export const QMGR_MIXED_RCPT_OTHER = 1 << 0;

/** Where cleanup's log lines go (the mail log, tagged "postfix/cleanup"). */
export interface CleanupLog {
  info(text: string): void;
  warn(text: string): void;
}

export type RecordAction = (state: CleanupState, type: number, data: string) => Promise<void> | void;

export class CleanupState {
  flags = 0;
  errs = 0;
  errMask = ~0;
  sender: string | undefined;
  recip: string | undefined;
  fullname: string | undefined;
  origRcpt: string | undefined;
  dsnOrcpt: string | undefined;
  dsnNotify = 0;
  dsnEnvid: string | undefined;
  dsnRet = 0;
  verpDelims: string | undefined;
  tflags = 0;
  arrival = { sec: 0, usec: 0 };
  /** Named attributes; log_message_origin starts as "local" (cleanup_state.c). */
  attrs = new Map<string, string>([['log_message_origin', 'local']]);
  hdrRewriteContext: 'local' | 'remote' | undefined;
  dataOffset = -1;
  xtraOffset = -1;
  contLength = 0;
  rcptCount = 0;
  qmgrOpts = 0;
  smtputf8 = 0;
  headersSeen = 0;
  hopCount = 0;
  resent = '';
  autoHdrs: string[] = [];
  /** Content records as written (N/L), kept for the mail filters when milters are attached. */
  milterContent: Array<['N' | 'L', string]> | undefined;
  reason: string | undefined;
  smtpReply: string | undefined;
  filter: string | undefined;
  redirect: string | undefined;
  hbcRcpt: string[] | undefined;
  dups = new Set<string>();
  mime: MimeState | undefined;
  mimeErrs = 0;
  /** The processor for the next record (envelope, message, extracted). */
  action: RecordAction;

  constructor(
    readonly queueId: string,
    readonly writer: QueueFileWriter,
    readonly cfg: CleanupSettings,
    readonly maps: CleanupMaps,
    readonly log: CleanupLog,
    initial: RecordAction,
  ) {
    this.action = initial;
  }

  /** CLEANUP_OUT_OK(). */
  outOk(): boolean {
    return (this.errs & this.errMask) === 0 && (this.flags & CleanupFlag.DISCARD) === 0;
  }

  /** cleanup_out(): one record, text split at line_length_limit. */
  out(type: number, data: string): void {
    if (!this.outOk()) return;
    const text = type === Rec.NORM || type === Rec.CONT;
    const limit = this.cfg.lineLimit;
    let s = data;
    let ok = true;
    const keep = text && this.milterContent !== undefined && this.dataOffset >= 0 && this.xtraOffset < 0 ? this.milterContent : undefined;
    while (ok) {
      if (text && s.length > limit) {
        ok = this.writer.put(Rec.CONT, s.slice(0, limit));
        keep?.push(['L', s.slice(0, limit)]);
        s = s.slice(limit);
      } else {
        ok = this.writer.put(type, s);
        keep?.push([type === Rec.CONT ? 'L' : 'N', s]);
        break;
      }
    }
    if (!ok) {
      if (this.writer.error === 'size') {
        this.log.warn(`${this.queueId}: queue file size limit exceeded`);
        this.errs |= CleanupStat.SIZE;
      } else {
        this.log.warn(`${this.queueId}: write queue file: ${this.writer.errorText ?? 'Input/output error'}`);
        this.errs |= CleanupStat.WRITE;
      }
    }
  }

  /** The offset the next record will be written at (vstream_ftell). */
  tell(): number {
    return this.writer.offset;
  }

  /** cleanup_out_header(): a multi-line header, truncated at header_size_limit. */
  outHeader(header: string): void {
    if (this.cfg.smtputf8Enable && header !== '' && /[^\x00-\x7f]/.test(header)) {
      this.smtputf8 |= SMTPUTF8_HEADER;
      if (this.flags & CleanupFlag.AUTOUTF8) this.smtputf8 |= SMTPUTF8_REQUESTED;
    }
    const limit = this.cfg.headerLimit;
    let start = header;
    let pos = 0;
    let first = true;
    for (;;) {
      const nl = start.indexOf('\n', pos);
      let line = nl < 0 ? start.slice(pos) : start.slice(pos, nl);
      let last = nl < 0;
      if (pos + line.length > limit) {
        if (pos > 0.9 * limit) break;
        start = start.slice(0, limit);
        line = start.slice(pos);
        last = true;
      }
      if (first) this.out(Rec.NORM, line);
      else if (line[0] === ' ' || line[0] === '\t') this.out(Rec.NORM, line);
      else this.out(Rec.NORM, `\t${line}`);
      first = false;
      if (last) break;
      pos = nl + 1;
    }
  }
}
