/**
 * delivery/status.ts: what a delivery agent does with each recipient's
 * outcome (global/sent.c, bounce.c bounce_append, defer.c defer_append,
 * deliver_completed.c):
 *
 *   sent    log "status=sent", trace log when NOTIFY=SUCCESS, mark done
 *   bounce  bounce log (action failed), log "status=bounced", mark done;
 *           with soft_bounce = yes: defer log with 4.x.x, "status=SOFTBOUNCE"
 *   defer   defer log (action delayed), log "status=deferred"; the queue
 *           manager moves the message to the deferred queue
 *
 * "Mark done" overwrites the R record's type byte with D in place, as
 * deliver_completed() does; a crash before that repeats the delivery, a
 * crash after it does not (Postfix's own at-least-once behaviour).
 * When a log cannot be written the recipient is deferred with
 * "bounce or trace service failure".
 */
import { appendLog } from '../bounce/log.js';
import type { QueueLayout } from '../queue/layout.js';
import { formatAdhoc } from './log-adhoc.js';
import { type AgentLog, type Clock, type Dsn, DsnNotify, type MsgStats, type Recipient, type StatusReporter, timeVal } from './types.js';

export interface StatusTarget {
  layout: QueueLayout;
  queueId: string;
  clock: Clock;
  softBounce: boolean;
  /** backwards_bounce_logfile_compatibility. */
  oldlogCompat: boolean;
  /** delay_logging_resolution_limit. */
  delayMaxRes: number;
  /** The message's time stamps, for requests that do not pass their own. */
  stats: MsgStats;
  /** deliver_completed(): R -> D at `offset`. */
  markDone(offset: number): Promise<void>;
  /** A recipient must be tried again (message->flags |= DEL_STAT_DEFER). */
  onDeferred(): void;
  /** A recipient wants a success notice (trace log written). */
  onTrace?(): void;
  /** After a recipient was deferred: defer_append's flush_add(domain, id). */
  onDeferRecipient?(rcpt: Recipient): Promise<void>;
}

export class RecipientStatus implements StatusReporter {
  constructor(
    private readonly t: StatusTarget,
    private readonly log: AgentLog,
  ) {}

  private line(rcpt: Recipient, relay: string, dsn: Dsn, status: string, stats?: MsgStats): void {
    const now = timeVal(this.t.clock());
    this.log.info(formatAdhoc(this.t.queueId, stats ?? this.t.stats, rcpt, relay, dsn, status, now, this.t.delayMaxRes));
  }

  private async done(rcpt: Recipient): Promise<void> {
    if (rcpt.offset > 0) await this.t.markDone(rcpt.offset);
  }

  async sent(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void> {
    const my = { ...dsn, action: dsn.action ?? 'delivered' };
    if (rcpt.dsnNotify & DsnNotify.SUCCESS) {
      try {
        await appendLog(this.t.layout, 'trace', this.t.queueId, rcpt, my, this.t.oldlogCompat);
        this.t.onTrace?.();
      } catch (err) {
        this.log.warn(`${this.t.queueId}: trace log: ${(err as Error).message}`);
      }
    }
    this.line(rcpt, relay, my, 'sent', stats);
    await this.done(rcpt);
  }

  async bounce(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void> {
    const soft = this.t.softBounce;
    const my: Dsn = { ...dsn, status: soft ? `4${dsn.status.slice(1)}` : dsn.status, action: soft ? 'delayed' : 'failed' };
    try {
      await appendLog(this.t.layout, soft ? 'defer' : 'bounce', this.t.queueId, rcpt, my, this.t.oldlogCompat);
    } catch {
      await this.serviceFailure(rcpt, relay, stats);
      return;
    }
    this.line(rcpt, relay, my, soft ? 'SOFTBOUNCE' : 'bounced', stats);
    if (soft) this.t.onDeferred();
    else await this.done(rcpt);
  }

  async defer(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void> {
    const my: Dsn = { ...dsn, action: 'delayed' };
    this.t.onDeferred();
    try {
      await appendLog(this.t.layout, 'defer', this.t.queueId, rcpt, my, this.t.oldlogCompat);
    } catch (err) {
      this.log.warn(`${this.t.queueId}: defer log: ${(err as Error).message}`);
    }
    this.line(rcpt, relay, my, 'deferred', stats);
    await this.t.onDeferRecipient?.(rcpt);
  }

  private async serviceFailure(rcpt: Recipient, relay: string, stats?: MsgStats): Promise<void> {
    await this.defer(rcpt, relay, { status: '4.3.0', reason: 'bounce or trace service failure' }, stats);
  }
}
