/**
 * qmgr/qmgr.ts: the queue manager (qmgr(8): qmgr.c, qmgr_active.c,
 * qmgr_message.c, qmgr_queue.c, qmgr_deliver.c, qmgr_defer.c), with the
 * delivery agents in process.
 *
 * A pass: files in incoming/ (and deferred/ when asked, skipping files
 * whose mtime is still in the future unless "scan all") are renamed to
 * active/, read, logged ("ID: from=<s>, size=N, nrcpt=M (queue active)"),
 * their defer log is removed, each recipient not yet done is resolved by
 * trivial-rewrite and bound to a per-destination queue (transport +
 * nexthop, or localpart@nexthop when the transport takes one recipient per
 * delivery), and the recipients are cut into delivery requests of at most
 * <transport>_destination_recipient_limit. Requests run under the
 * transport's process limit and the destination's concurrency window,
 * which follows Postfix's feedback: +1 per success up to
 * <transport>_destination_concurrency_limit, -1 per failed connection,
 * and a destination that keeps failing (failed cohorts >= limit) is
 * throttled for minimal_backoff_time: its pending and new recipients are
 * deferred with "delivery temporarily suspended: <reason>".
 *
 * When all recipients of a message were tried (qmgr_active_done): a
 * bounce log becomes a non-delivery notice; a trace log a success notice;
 * if some recipients were deferred the message either expired
 * (maximal_queue_lifetime, bounce_queue_lifetime for the null sender, or
 * postsuper -e: "ID: from=<s>, status=expired, returned to sender" and a
 * notice from the defer log) or waits in deferred/ with its mtime set to
 * now + min(max(age, minimal_backoff_time), maximal_backoff_time), after a
 * delay warning once delay_warning_time has passed; otherwise the file is
 * removed ("ID: removed").
 *
 * Crash safety is Postfix's: a recipient is marked done only after its
 * delivery; a qmgr that dies leaves files in active/, which the next
 * start moves back to incoming/.
 */
import { chmod, rename, stat, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { BounceNotifier, DSN_NOTIFY_SUCCESS, type NotifyMessage } from '../bounce/notify.js';
import { logSize, removeLog } from '../bounce/log.js';
import type { CleanupService } from '../cleanup/types.js';
import type { ForwardSink } from '../delivery/local/local.js';
import type { DnsResolver } from '../delivery/smtp/dns.js';
import { RecipientStatus } from '../delivery/status.js';
import { verpSender } from '../delivery/verp.js';
import { type Clock, type DeliveryRequest, type Dsn, type MsgStats, type Recipient, type StatusReporter, timeVal } from '../delivery/types.js';
import { FlushStat, flushAdd } from '../flush/logfile.js';
import { Maillog, mailTask } from '../log/maillog.js';
import { Queue, QUEUE_STAT_UNTHROTTLE, queuePath, makeParentDirs } from '../queue/layout.js';
import { QueueFileError, statReady } from '../queue/reader.js';
import {
  RESOLVE_CLASS_LOCAL,
  RESOLVE_FLAG_ERROR,
  RESOLVE_FLAG_FAIL,
  type ResolveResult,
} from '../rewrite/resolve.js';
import type { TrivialRewrite } from '../rewrite/trivial-rewrite.js';
import { QueueMessage } from './message.js';
import { scanQueue } from './scan.js';
import { type QmgrSettings, readQmgrSettings } from './settings.js';
import {
  type LogFactory,
  loadTransports,
  type TransportEntry,
  type TransportRuntime,
  transportAgent,
  transportRuntime,
} from './transports.js';

const SUSPENDED = 'delivery temporarily suspended: ';

interface DestQueue {
  key: string;
  transport: TransportRuntime;
  name: string;
  nexthop: string;
  todo: Entry[];
  busy: number;
  window: number;
  success: number;
  failure: number;
  failCohorts: number;
  /** On-demand connection caching (qmgr_entry_select): load and store flags, last delivery done (s). */
  connLoad?: boolean;
  connStore?: boolean;
  lastDone?: number;
  /** Throttled: the reason, and when to try again (clock ms). */
  dsn?: Dsn;
  deadUntil?: number;
}

interface Entry {
  message: QueueMessage;
  queue: DestQueue;
  recipients: Recipient[];
}

interface Bound {
  rcpt: Recipient;
  transport?: TransportRuntime;
  queue?: DestQueue;
}

export interface QmgrOptions {
  /** main.cf (a PostfixConfig: per-transport parameters and service views). */
  cfg: PostfixConfig;
  clock?: Clock;
  /** Log per program tag ("postfix/qmgr", "postfix/smtp", ...). */
  logs?: LogFactory;
  /** master.cf delivery services; default: read master.cf. */
  transports?: Map<string, TransportEntry>;
  rewrite?: TrivialRewrite;
  resolver?: DnsResolver;
  /** Where notices (and local(8) forwards) are posted; default: the in-process cleanup. */
  cleanup?: CleanupService;
  /** The default cleanup wakes public/qmgr after each notice (the daemon); default false. */
  notifyQmgr?: boolean;
}

export interface PassOptions {
  incoming?: boolean;
  deferred?: boolean;
  /** Ignore future time stamps (postqueue -f, QMGR_REQ_SCAN_ALL). */
  scanAll?: boolean;
  /** Unthrottle dead destinations first (QMGR_REQ_FLUSH_DEAD). */
  flushDead?: boolean;
  /**
   * Wait until everything fed is done, rescanning incoming/ for the
   * notices it produced (default; tests). The daemon passes false: it
   * feeds and returns, deliveries go on, notices trigger a new scan.
   */
  wait?: boolean;
}

export interface PassReport {
  /** Messages taken into the active queue. */
  fed: number;
  removed: number;
  deferred: number;
}

/** The default log factory: one Maillog per tag, writing where main.cf says. */
export function maillogFactory(cfg: PostfixConfig): LogFactory {
  const logs = new Map<string, { info(t: string): void; warn(t: string): void }>();
  return (tag: string) => {
    let l = logs.get(tag);
    if (!l) {
      const file = cfg.get('maillog_file');
      const m = new Maillog({
        tag,
        myhostname: cfg.get('myhostname'),
        maillogFile: file,
        syslogFacility: cfg.get('syslog_facility') || 'mail',
        stderrFallback: file === '',
        fd: process.env.POSTERN_MAILLOG_FD ? Number(process.env.POSTERN_MAILLOG_FD) : undefined,
      });
      l = { info: (t: string) => m.info(t), warn: (t: string) => m.warn(t) };
      logs.set(tag, l);
    }
    return l;
  };
}

export class QueueManager {
  readonly settings: QmgrSettings;
  readonly clock: Clock;
  private readonly logs: LogFactory;
  private readonly log: { info(t: string): void; warn(t: string): void };
  private readonly transportEntries: Map<string, TransportEntry>;
  private readonly transports = new Map<string, TransportRuntime>();
  private readonly queues = new Map<string, DestQueue>();
  private readonly active = new Set<QueueMessage>();
  private idleWaiters: Array<() => void> = [];
  private slotWaiters: Array<() => void> = [];
  private notifier: BounceNotifier | undefined;
  private rewrite: TrivialRewrite | undefined;
  private cleanup: CleanupService | undefined;
  private report: PassReport = { fed: 0, removed: 0, deferred: 0 };

  constructor(private readonly opts: QmgrOptions) {
    this.settings = readQmgrSettings(opts.cfg);
    this.clock = opts.clock ?? Date.now;
    this.logs = opts.logs ?? maillogFactory(opts.cfg);
    this.log = this.logs(mailTask('qmgr', opts.cfg.get('syslog_name')));
    this.transportEntries = opts.transports ?? loadTransports(opts.cfg, this.settings.defaultProcessLimit);
    this.rewrite = opts.rewrite;
    this.cleanup = opts.cleanup;
  }

  private now(): number {
    return this.clock();
  }
  private eventTime(): number {
    return Math.floor(this.clock() / 1000);
  }

  private async getRewrite(): Promise<TrivialRewrite> {
    if (!this.rewrite) {
      const { TrivialRewrite } = await import('../rewrite/trivial-rewrite.js');
      this.rewrite = await TrivialRewrite.open(this.opts.cfg, {
        warn: (t) => this.logs(mailTask('trivial-rewrite', this.opts.cfg.get('syslog_name'))).warn(t),
      });
    }
    return this.rewrite;
  }

  private async getCleanup(): Promise<CleanupService> {
    if (!this.cleanup) {
      const { createCleanupService } = await import('../cleanup/service.js');
      const { cleanupMaillog } = await import('../cleanup/log.js');
      const log = this.opts.logs ? this.logs(mailTask('cleanup', this.opts.cfg.get('syslog_name'))) : cleanupMaillog(this.opts.cfg);
      this.cleanup = await createCleanupService(this.opts.cfg, { log, notifyQmgr: this.opts.notifyQmgr ?? false });
    }
    return this.cleanup;
  }

  private async getNotifier(): Promise<BounceNotifier> {
    if (!this.notifier) {
      this.notifier = new BounceNotifier({
        cfg: this.opts.cfg,
        layout: this.settings.layout,
        cleanup: await this.getCleanup(),
        log: this.logs(mailTask('bounce', this.opts.cfg.get('syslog_name'))),
        now: () => this.clock() / 1000,
      });
    }
    return this.notifier;
  }

  /** local(8) forwarding target: resubmit through cleanup. */
  private forwardSink(): ForwardSink {
    return { cleanup: () => this.getCleanup() };
  }

  private transport(name: string): TransportRuntime | undefined {
    let t = this.transports.get(name);
    if (!t) {
      const entry = this.transportEntries.get(name);
      if (!entry) return undefined;
      t = transportRuntime(this.opts.cfg, entry, this.logs);
      this.transports.set(name, t);
    }
    return t;
  }

  /**
   * Start-up (qmgr.c pre_accept/post_init): messages left in active/ by a
   * queue manager that died go back to incoming/.
   */
  async recover(): Promise<void> {
    const ids = await scanQueue(this.settings.layout, Queue.ACTIVE);
    for (const id of ids) {
      const from = queuePath(this.settings.layout, Queue.ACTIVE, id);
      const to = queuePath(this.settings.layout, Queue.INCOMING, id);
      try {
        await rename(from, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  /**
   * One queue run: feed the requested queues into the active queue and
   * deliver until everything fed (and the notices it produced) is done.
   */
  async runOnce(opts: PassOptions = { incoming: true }): Promise<PassReport> {
    this.report = { fed: 0, removed: 0, deferred: 0 };
    if (opts.flushDead) {
      for (const q of this.queues.values()) if (q.window === 0) this.unthrottleQueue(q);
      for (const t of this.transports.values()) t.dead = undefined;
    }
    const seen = new Set<string>();
    let scanDeferred = opts.deferred ?? false;
    for (let round = 0; round < 50; round++) {
      const incoming = opts.incoming !== false ? await scanQueue(this.settings.layout, Queue.INCOMING) : [];
      const deferred = scanDeferred ? await scanQueue(this.settings.layout, Queue.DEFERRED) : [];
      scanDeferred = false;
      // Round-robin between the incoming and deferred scans (qmgr_loop).
      const work: Array<[string, string]> = [];
      for (let i = 0; i < Math.max(incoming.length, deferred.length); i++) {
        if (i < incoming.length) work.push([Queue.INCOMING, incoming[i]!]);
        if (i < deferred.length) work.push([Queue.DEFERRED, deferred[i]!]);
      }
      let fedAny = false;
      for (const [queue, id] of work) {
        const key = `${queue}/${id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        while (this.active.size >= this.settings.activeLimit) await new Promise<void>((r) => this.slotWaiters.push(r));
        if (await this.feed(queue, id, opts.scanAll ?? false)) fedAny = true;
      }
      if (opts.wait === false) break;
      await this.idle();
      if (!fedAny || opts.incoming === false) break;
    }
    return this.report;
  }

  /** Wait until no message is active. */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** qmgr_active_feed(): one file into the active queue. */
  private async feed(queueName: string, id: string, scanAll: boolean): Promise<boolean> {
    const layout = this.settings.layout;
    const path = queuePath(layout, queueName, id);
    let st: Stats;
    try {
      st = await stat(path);
    } catch {
      return false;
    }
    if (!statReady(st)) return false;
    if (!scanAll && st.mtimeMs > this.now() + 1000) return false;
    const activePath = queuePath(layout, Queue.ACTIVE, id);
    try {
      await rename(path, activePath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.log.warn(`qmgr_active_feed: ${id}: rename from ${queueName} to ${Queue.ACTIVE}: No such file or directory`);
        return false;
      }
      throw err;
    }
    let msg: QueueMessage;
    try {
      msg = await QueueMessage.load(id, activePath);
    } catch (err) {
      if (err instanceof QueueFileError) {
        await this.corrupt(id);
        return false;
      }
      throw err;
    }
    // MAYBE_UPDATE_MODE(): a flush's unthrottle request counts once.
    if (msg.unthrottle) await chmod(activePath, st.mode & 0o7777 & ~QUEUE_STAT_UNTHROTTLE).catch(() => undefined);
    this.report.fed++;
    msg.activeArrival = timeVal(this.now());
    this.active.add(msg);
    try {
      await this.alloc(msg);
    } catch (err) {
      this.log.warn(`${id}: ${(err as Error).message}`);
      msg.flags |= 1;
      msg.refcount = 0;
    }
    if (msg.refcount === 0) await this.activeDone(msg);
    else this.pump();
    return true;
  }

  /** qmgr_active_corrupt(). */
  private async corrupt(id: string): Promise<void> {
    const layout = this.settings.layout;
    const to = queuePath(layout, Queue.CORRUPT, id);
    try {
      await makeParentDirs(to);
      await rename(queuePath(layout, Queue.ACTIVE, id), to);
      this.log.warn(`saving corrupt file "${id}" from queue "${Queue.ACTIVE}" to queue "${Queue.CORRUPT}"`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** opened(): the "from=" line. */
  private opened(msg: QueueMessage): void {
    this.log.info(`${msg.queueId}: from=<${msg.sender}>, size=${msg.contentLength}, nrcpt=${msg.rcptCount} (queue ${Queue.ACTIVE})`);
  }

  /** Reporter for recipients the queue manager itself disposes of (relay=none). */
  private qmgrStatus(msg: QueueMessage): StatusReporter {
    return new RecipientStatus(this.statusTarget(msg, this.baseStats(msg)), this.log);
  }

  private baseStats(msg: QueueMessage): MsgStats {
    return { incomingArrival: msg.arrival, activeArrival: msg.activeArrival, reuseCount: 0 };
  }

  private statusTarget(msg: QueueMessage, stats: MsgStats) {
    return {
      layout: this.settings.layout,
      queueId: msg.queueId,
      clock: this.clock,
      softBounce: this.settings.softBounce,
      oldlogCompat: this.settings.oldlogCompat,
      delayMaxRes: this.settings.delayMaxRes,
      stats,
      markDone: (offset: number) => msg.markDone(offset),
      onDeferred: () => {
        msg.flags |= 1;
      },
      onTrace: () => {
        msg.traced = true;
      },
      onDeferRecipient: (rcpt: Recipient) => this.flushAdd(msg.queueId, rcpt.address),
    };
  }

  /** defer_append(): tell the fast-flush log about mail deferred for a domain. */
  private async flushAdd(queueId: string, address: string): Promise<void> {
    const at = address.lastIndexOf('@');
    if (at < 0 || at === address.length - 1) return;
    const ctx = {
      cfg: this.opts.cfg,
      layout: this.settings.layout,
      triggerQmgr: async () => undefined,
      warn: (t: string) => this.log.warn(t),
    };
    const status = await flushAdd(ctx, address.slice(at + 1), queueId).catch(() => FlushStat.FAIL);
    if (status !== FlushStat.OK && status !== FlushStat.DENY) {
      this.log.warn(`${queueId}: ${this.opts.cfg.get('flush_service_name') || 'flush'} service failure`);
    }
  }

  /** qmgr_message_alloc() after the file was read: resolve and assign. */
  private async alloc(msg: QueueMessage): Promise<void> {
    this.opened(msg);
    const layout = this.settings.layout;
    if (msg.forceExpire && (await logSize(layout, 'defer', msg.queueId)) > 0) {
      msg.flags = 1;
      return;
    }
    await removeLog(layout, 'defer', msg.queueId);
    const rcpts: Recipient[] = msg.env.recipients
      .filter((r) => !r.done)
      .map((r) => ({
        address: r.address,
        origAddr: r.orig ?? '',
        dsnOrcpt: r.dsnOrcpt ?? '',
        dsnNotify: r.dsnNotify ?? 0,
        offset: r.offset,
      }));
    // A trace log may exist from this or an earlier attempt (qmgr_active_done_2_generic).
    if (rcpts.some((r) => r.dsnNotify & DSN_NOTIFY_SUCCESS)) msg.traced = true;
    const pre = rcpts.map((rcpt) => ({ rcpt }) as Bound);
    sortRecipients(pre);
    rcpts.splice(0, rcpts.length, ...pre.map((b) => b.rcpt));
    const bound: Bound[] = [];
    const rewrite = await this.getRewrite();
    let redirected = false;
    for (const rcpt of rcpts) {
      let reply: ResolveResult;
      if (msg.env.redirect !== undefined) {
        if (redirected) continue;
        redirected = true;
        rcpt.address = rewrite.rewrite('local', msg.env.redirect);
        reply = this.checkResolve(await rewrite.resolve(msg.sender, rcpt.address));
        rcpt.address = reply.recipient;
      } else if (msg.env.filter !== undefined && msg.env.filter !== '') {
        const f = msg.env.filter;
        const colon = f.indexOf(':');
        const transport = colon < 0 ? f : f.slice(0, colon);
        let nexthop = colon < 0 ? '' : f.slice(colon + 1);
        if (nexthop === '') {
          nexthop = this.settings.defaultFilterNexthop;
          if (nexthop === '') {
            const at = rcpt.address.lastIndexOf('@');
            nexthop = at >= 0 && at + 1 < rcpt.address.length ? rcpt.address.slice(at + 1) : this.settings.myhostname;
          }
        }
        reply = { flags: 0, transport, nexthop, recipient: rcpt.address };
      } else {
        reply = this.checkResolve(await rewrite.resolve(msg.sender, rcpt.address));
        rcpt.address = reply.recipient;
      }
      if (rcpt.address === '') reply = { ...reply, flags: 0, transport: 'error', nexthop: '5.1.3 null recipient address' };
      if (msg.forceExpire) reply = { ...reply, flags: 0, transport: 'retry', nexthop: '4.7.0 message is administratively expired' };
      if (reply.flags & RESOLVE_CLASS_LOCAL) {
        const at = reply.recipient.lastIndexOf('@');
        const local = at >= 0 ? reply.recipient.slice(0, at) : reply.recipient;
        if (local.toLowerCase() === this.settings.doubleBounceSender.toLowerCase()) {
          await this.qmgrStatus(msg).sent(rcpt, 'none', { status: '2.0.0', reason: 'undeliverable postmaster notification discarded' });
          continue;
        }
      }
      if (this.settings.deferTransports.includes(reply.transport) && !msg.unthrottle) {
        reply = { ...reply, flags: 0, transport: 'retry', nexthop: '4.3.2 deferred transport' };
      }
      const b = await this.bind(msg, rcpt, reply);
      if (b) bound.push(b);
    }
    sortRecipients(bound);
    this.assign(msg, bound);
  }

  private checkResolve(reply: ResolveResult): ResolveResult {
    if (reply.flags & RESOLVE_FLAG_FAIL) return { ...reply, flags: 0, transport: 'retry', nexthop: '4.3.0 address resolver failure' };
    if (reply.flags & RESOLVE_FLAG_ERROR) return { ...reply, flags: 0, transport: 'error', nexthop: '5.1.3 bad address syntax' };
    return reply;
  }

  /** Find the transport and per-destination queue of a recipient (rest of qmgr_message_resolve). */
  private async bind(msg: QueueMessage, rcpt: Recipient, reply: ResolveResult): Promise<Bound | undefined> {
    let transport = this.transport(reply.transport);
    let nexthop = reply.nexthop;
    const now = this.now();
    if (!transport) {
      this.log.warn(`connect to transport private/${reply.transport}: No such file or directory`);
      const dsn = { status: '4.3.0', reason: 'mail transport unavailable' };
      return this.deadEnd(msg, rcpt, dsn);
    }
    if (transport.dead && msg.unthrottle) transport.dead = undefined;
    if (transport.dead && now >= transport.dead.until) transport.dead = undefined;
    if (transport.dead) {
      const dsn = { status: transport.dead.status, reason: transport.dead.reason };
      const retry = this.transport('retry');
      if (!retry || retry === transport) return this.deadEnd(msg, rcpt, dsn);
      transport = retry;
      nexthop = `${dsn.status} ${dsn.reason}`;
    }
    let queueName = nexthop;
    const name = transport.entry.service;
    if (name !== 'error' && name !== 'retry' && transport.recipientLimit === 1) {
      const at = reply.recipient.lastIndexOf('@');
      let local = at >= 0 ? reply.recipient.slice(0, at) : reply.recipient;
      const delims = this.settings.recipientDelimiter;
      if (delims !== '') {
        for (let i = 0; i < local.length; i++) {
          if (delims.includes(local[i]!) && i > 0) {
            local = local.slice(0, i);
            break;
          }
        }
      }
      queueName = `${local}@${nexthop}`;
    }
    queueName = queueName.toLowerCase();
    let queue = this.queue(transport, queueName, nexthop);
    if (queue.window === 0 && (msg.unthrottle || (queue.deadUntil !== undefined && now >= queue.deadUntil))) {
      this.unthrottleQueue(queue);
    }
    if (queue.window === 0) {
      const dsn = queue.dsn ?? { status: '4.0.0', reason: `${SUSPENDED}unknown error` };
      const retry = this.transport('retry');
      if (!retry) return this.deadEnd(msg, rcpt, dsn);
      const nh = `${dsn.status} ${dsn.reason}`;
      queue = this.queue(retry, nh.toLowerCase(), nh);
    }
    return { rcpt, transport: queue.transport, queue };
  }

  /** qmgr_defer_recipient(): defer now, logged by the queue manager. */
  private async deadEnd(msg: QueueMessage, rcpt: Recipient, dsn: Dsn): Promise<undefined> {
    await this.qmgrStatus(msg).defer(rcpt, 'none', dsn);
    return undefined;
  }

  private queue(transport: TransportRuntime, name: string, nexthop: string): DestQueue {
    const key = `${transport.entry.service}\0${name}`;
    let q = this.queues.get(key);
    if (!q) {
      const init = transport.initConcurrency > 0 ? transport.initConcurrency : 1;
      q = {
        key,
        transport,
        name,
        nexthop,
        todo: [],
        busy: 0,
        window: transport.concurrencyLimit > 0 ? Math.min(init, transport.concurrencyLimit) : init,
        success: 0,
        failure: 0,
        failCohorts: 0,
      };
      this.queues.set(key, q);
    }
    return q;
  }

  /** qmgr_message_assign(): bundle recipients of one queue into requests. */
  private assign(msg: QueueMessage, bound: Bound[]): void {
    let entry: Entry | undefined;
    for (const b of bound) {
      const q = b.queue!;
      // A VERP message goes out one recipient per delivery (message->single_rcpt).
      const limit = msg.env.verp ? 1 : q.transport.recipientLimit;
      if (!entry || entry.queue !== q || (limit > 0 && entry.recipients.length >= limit)) {
        entry = { message: msg, queue: q, recipients: [] };
        q.todo.push(entry);
        msg.refcount++;
      }
      entry.recipients.push(b.rcpt);
    }
  }

  /** qmgr_active_drain() + the scheduler: start what the limits allow. */
  private pump(): void {
    for (const q of [...this.queues.values()]) {
      const maxProc = q.transport.entry.maxProc > 0 ? q.transport.entry.maxProc : Number.POSITIVE_INFINITY;
      while (q.todo.length > 0 && q.window > 0 && q.busy < q.window && q.transport.busy < maxProc) {
        const entry = q.todo.shift()!;
        void this.deliver(entry);
      }
    }
  }

  /** qmgr_deliver() and its completion (qmgr_deliver_update). */
  private async deliver(entry: Entry): Promise<void> {
    const { queue: q, message: msg } = entry;
    const t = q.transport;
    q.busy++;
    t.busy++;
    // qmgr_entry_select(): allow session caching for back-to-back deliveries.
    const nowSec = Math.floor(this.now() / 1000);
    const backToBack = q.lastDone !== undefined && q.lastDone + 1 >= nowSec;
    if (!q.connStore) {
      if (backToBack) q.connLoad = q.connStore = true;
    } else if (!(q.busy > 1 || backToBack)) q.connStore = false;
    const stats: MsgStats = { ...this.baseStats(msg), agentHandoff: timeVal(this.now()) };
    const inner = new RecipientStatus(this.statusTarget(msg, stats), t.log);
    // Remember who was reported, so a crashing agent leaves no recipient unaccounted for.
    const reported = new Set<Recipient>();
    const status: StatusReporter = {
      sent(r, relay, dsn, st) {
        reported.add(r);
        return inner.sent(r, relay, dsn, st);
      },
      bounce(r, relay, dsn, st) {
        reported.add(r);
        return inner.bounce(r, relay, dsn, st);
      },
      defer(r, relay, dsn, st) {
        reported.add(r);
        return inner.defer(r, relay, dsn, st);
      },
    };
    const req: DeliveryRequest = {
      queueName: Queue.ACTIVE,
      queueId: msg.queueId,
      queuePath: msg.path,
      transport: t.entry.service,
      nexthop: q.nexthop,
      sender: msg.env.verp && msg.sender !== '' ? verpSender(msg.env.verp, msg.sender, entry.recipients[0]!.address) : msg.sender,
      recipients: entry.recipients,
      arrival: msg.arrival,
      dataSize: msg.dataSize,
      contentLength: msg.contentLength,
      content: msg.content(),
      dsnEnvid: msg.env.dsnEnvid ?? '',
      dsnRet: msg.env.dsnRet ?? 0,
      encoding: msg.encoding,
      smtputf8: msg.smtputf8,
      attrs: msg.env.attrs,
      stats,
      status,
      connCache: { load: q.connLoad ?? false, store: q.connStore ?? false },
    };
    let siteFailure: Dsn | undefined;
    let crashed = false;
    let agent: Awaited<ReturnType<typeof transportAgent>> | undefined;
    try {
      agent = await transportAgent(t, {
        clock: this.clock,
        resolver: this.opts.resolver,
        rewrite: await this.getRewrite(),
        forward: this.forwardSink(),
      });
    } catch (err) {
      // The agent cannot start (qmgr_deliver: "mail transport unavailable").
      crashed = true;
      t.log.warn(`${(err as Error).message}`);
      const dsn = { status: '4.3.0', reason: 'mail transport unavailable' };
      t.dead = { ...dsn, until: this.now() + this.settings.minBackoff * 1000 };
      const st = this.qmgrStatus(msg);
      for (const r of entry.recipients) await st.defer(r, 'none', dsn);
    }
    if (agent) {
      try {
        siteFailure = (await agent.deliver(req)).siteFailure;
      } catch (err) {
        crashed = true;
        t.log.warn(`${msg.queueId}: ${(err as Error).message}`);
        this.log.warn(
          `transport ${t.entry.service} failure -- see a previous warning/fatal/panic logfile record for the problem description`,
        );
        msg.flags |= 1;
        const dsn = { status: '4.3.0', reason: 'unknown mail transport error' };
        t.dead = { ...dsn, until: this.now() + this.settings.minBackoff * 1000 };
        const st = this.qmgrStatus(msg);
        for (const r of entry.recipients) if (!reported.has(r)) await st.defer(r, 'none', dsn);
      }
    }
    q.busy--;
    t.busy--;
    q.lastDone = Math.floor(this.now() / 1000);
    if (siteFailure) {
      msg.flags |= 1;
      const status = /^[245]\.\d{1,3}\.\d{1,3}$/.test(siteFailure.status) ? siteFailure.status : '4.0.0';
      const dsn: Dsn = { status, reason: `${SUSPENDED}${siteFailure.reason || 'unknown error'}` };
      if (q.window > 0) {
        this.throttleQueue(q, dsn);
        if (q.window === 0) await this.deferTodo(q, dsn);
      }
    } else if (!crashed) {
      this.unthrottleQueue(q);
    }
    this.entryDone(entry);
  }

  /** qmgr_defer_todo(): defer everything waiting for a queue that just died. */
  private async deferTodo(q: DestQueue, dsn: Dsn): Promise<void> {
    const todo = q.todo;
    q.todo = [];
    for (const entry of todo) {
      const st = this.qmgrStatus(entry.message);
      for (const rcpt of entry.recipients) await st.defer(rcpt, 'none', dsn);
      this.entryDone(entry);
    }
  }

  /** qmgr_queue_throttle(): negative feedback; dead after enough failed cohorts. */
  private throttleQueue(q: DestQueue, dsn: Dsn): void {
    const t = q.transport;
    if (q.window > 0) {
      q.failCohorts += 1 / q.window;
      if (t.failCohortLimit > 0 && q.failCohorts >= t.failCohortLimit) q.window = 0;
    }
    if (q.window > 0) {
      const feedback = 1;
      q.failure -= feedback;
      while (q.failure - feedback / 2 < 0) {
        q.window -= 1;
        q.success = 0;
        q.failure += 1;
      }
      if (q.window < 1) q.window = 1;
    }
    if (q.window === 0) {
      q.dsn = dsn;
      q.deadUntil = this.now() + this.settings.minBackoff * 1000;
    }
  }

  /** qmgr_queue_unthrottle(): positive feedback, or back from the dead. */
  private unthrottleQueue(q: DestQueue): void {
    const t = q.transport;
    q.failCohorts = 0;
    if (q.window === 0) {
      q.dsn = undefined;
      q.deadUntil = undefined;
      q.window = q.busy > 0 ? q.busy : Math.max(1, t.initConcurrency);
      q.success = q.failure = 0;
      return;
    }
    if (t.concurrencyLimit === 0 || t.concurrencyLimit > q.window) {
      if (q.window < q.busy + t.initConcurrency) {
        const feedback = 1;
        q.success += feedback;
        while (q.success + feedback / 2 >= 1) {
          q.window += 1;
          q.success -= 1;
          q.failure = 0;
        }
        if (t.concurrencyLimit > 0 && q.window > t.concurrencyLimit) q.window = t.concurrencyLimit;
      }
    }
  }

  /** qmgr_entry_done(). */
  private entryDone(entry: Entry): void {
    const q = entry.queue;
    // An idle live queue is forgotten (the next one starts at the initial window).
    if (q.todo.length === 0 && q.busy === 0 && q.window > 0) this.queues.delete(q.key);
    const msg = entry.message;
    if (--msg.refcount === 0) {
      void this.activeDone(msg).catch((err) => this.log.warn(`${msg.queueId}: ${(err as Error).message}`));
    }
    this.pump();
  }

  private notifyMessage(msg: QueueMessage): NotifyMessage {
    return {
      queueName: Queue.ACTIVE,
      queueId: msg.queueId,
      sender: msg.sender,
      dsnEnvid: msg.env.dsnEnvid ?? '',
      dsnRet: msg.env.dsnRet ?? 0,
      encoding: msg.encoding,
      smtputf8: msg.smtputf8,
    };
  }

  /** qmgr_active_done() and its continuations. */
  private async activeDone(msg: QueueMessage): Promise<void> {
    try {
      const layout = this.settings.layout;
      const id = msg.queueId;
      const bsize = await logSize(layout, 'bounce', id);
      if (bsize === 0) await removeLog(layout, 'bounce', id);
      else if (bsize > 0) msg.flags |= await (await this.getNotifier()).flush('bounce', this.notifyMessage(msg));
      if (msg.traced) {
        const status = await (await this.getNotifier()).trace(this.notifyMessage(msg));
        msg.flags |= status;
      }
      if (msg.flags) {
        const now = this.eventTime();
        let expire: string | undefined;
        if (msg.forceExpire) expire = 'force-expired';
        else if (now >= msg.createTime + (msg.sender !== '' ? this.settings.maxQueueTime : this.settings.dsnQueueTime)) expire = 'expired';
        if (expire) {
          this.log.info(`${id}: from=<${msg.sender}>, status=${expire}, returned to sender`);
          msg.flags = await (await this.getNotifier()).flush('defer', this.notifyMessage(msg));
        } else if (msg.warnTime > 0 && now >= msg.warnTime - 1) {
          const status = await (await this.getNotifier()).warn(this.notifyMessage(msg));
          if (status === 0) await msg.updateWarn();
        }
      }
      await msg.close();
      if (msg.flags) {
        let delay: number;
        const now = this.eventTime();
        if (msg.createTime > 0) {
          delay = now - msg.createTime;
          if (delay > this.settings.maxBackoff) delay = this.settings.maxBackoff;
          if (delay < this.settings.minBackoff) delay = this.settings.minBackoff;
        } else delay = this.settings.minBackoff;
        await this.deferFile(id, delay);
        this.report.deferred++;
      } else {
        try {
          const { unlink } = await import('node:fs/promises');
          await unlink(queuePath(layout, Queue.ACTIVE, id));
          this.log.info(`${id}: removed`);
          this.report.removed++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          this.log.warn(`qmgr_active_done_3_generic: remove ${id} from ${Queue.ACTIVE}: No such file or directory`);
        }
      }
    } finally {
      this.active.delete(msg);
      const slot = this.slotWaiters.shift();
      slot?.();
      if (this.active.size === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  /** qmgr_active_defer(): mtime := now + delay, then into deferred/. */
  private async deferFile(id: string, delay: number): Promise<void> {
    const layout = this.settings.layout;
    const from = queuePath(layout, Queue.ACTIVE, id);
    const when = this.eventTime() + delay;
    try {
      await utimes(from, when, when);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const to = queuePath(layout, Queue.DEFERRED, id);
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      try {
        await makeParentDirs(to);
        await rename(from, to);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code !== 'ENOENT') throw err2;
        this.log.warn(`qmgr_active_defer: rename ${id} from ${Queue.ACTIVE} to ${Queue.DEFERRED}: No such file or directory`);
      }
    }
  }

  /** Close agents and tables. */
  async close(): Promise<void> {
    for (const t of this.transports.values()) {
      const a = await t.agent?.catch(() => undefined);
      await a?.close?.();
    }
    if (!this.opts.rewrite) await this.rewrite?.close();
  }
}

/** qmgr_message_sort(): by transport, queue, domain (case-insensitive), address. */
function sortRecipients(list: Bound[]): void {
  list.sort((a, b) => {
    const qa = a.queue;
    const qb = b.queue;
    if (qa && !qb) return -1;
    if (!qa && qb) return 1;
    if (qa && qb) {
      const t = cmp(qa.transport.entry.service, qb.transport.entry.service);
      if (t !== 0) return t;
      const n = cmp(qa.name, qb.name);
      if (n !== 0) return n;
    }
    const ata = a.rcpt.address.lastIndexOf('@');
    const atb = b.rcpt.address.lastIndexOf('@');
    if (ata < 0 && atb >= 0) return 1;
    if (ata >= 0 && atb < 0) return -1;
    if (ata >= 0 && atb >= 0) {
      const d = cmp(a.rcpt.address.slice(ata).toLowerCase(), b.rcpt.address.slice(atb).toLowerCase());
      if (d !== 0) return d;
    }
    return cmp(a.rcpt.address, b.rcpt.address);
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
