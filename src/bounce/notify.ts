/**
 * bounce/notify.ts: the bounce(8) services the queue manager calls when a
 * message is done (bounce_notify_service.c, bounce_warn_service.c,
 * bounce_trace_service.c), in process. Each reads a delivery log, builds
 * the notice (notice.ts) and posts it through cleanup like post_mail(3):
 *
 *   flush('bounce')  failed recipients -> sender ("Undelivered Mail
 *                    Returned to Sender"), NOTIFY=FAILURE or no NOTIFY;
 *                    postmaster copy when notify_classes has "bounce"
 *   flush('defer')   the same from the defer log (message expired)
 *   warn()           delay warning from the defer log, NOTIFY=DELAY or none;
 *                    postmaster copy with "delay" in notify_classes
 *   trace()          success notice (NOTIFY=SUCCESS) from the trace log
 *
 * A notice to the null sender (a bounce that bounced) goes to
 * $2bounce_notice_recipient from double-bounce if notify_classes has
 * "bounce" or "2bounce", else it is dropped; a double bounce that fails is
 * never sent. The log is removed once the notice is queued. Lines:
 *   postfix/bounce[PID]: ID: sender non-delivery notification: NEWID
 */
import { unlink } from 'node:fs/promises';
import type { PostfixConfig } from '../../compat/postfix/config.js';
import type { CleanupService } from '../cleanup/types.js';
import { CleanupFlag } from '../cleanup/types.js';
import { type QueueLayout, queuePath } from '../queue/layout.js';
import { type LogEntry, type LogService, readLog } from './log.js';
import { buildNotice, readOriginal } from './notice.js';
import { BounceTemplates, type TemplateClass } from './templates.js';

const DSN_NOTIFY_NEVER = 1;
const DSN_NOTIFY_SUCCESS = 2;
const DSN_NOTIFY_FAILURE = 4;
const DSN_NOTIFY_DELAY = 8;
const DSN_NOTIFY_OVERRIDE = 15;
const DSN_RET_FULL = 1;
const DSN_RET_HDRS = 2;

export interface NotifyContext {
  cfg: PostfixConfig;
  layout: QueueLayout;
  cleanup: CleanupService;
  /** The bounce service's log ("postfix/bounce"). */
  log: { info(t: string): void; warn(t: string): void };
  /** Wall clock in seconds. */
  now(): number;
  templates?: BounceTemplates;
}

export interface NotifyMessage {
  queueName: string;
  queueId: string;
  sender: string;
  dsnEnvid: string;
  dsnRet: number;
  encoding: string;
  smtputf8: number;
}

/** mail_error masks for notify_classes. */
function notifyMask(value: string): Set<string> {
  return new Set(
    value
      .toLowerCase()
      .split(/[\s,]+/)
      .filter(Boolean),
  );
}

let loadedTemplates: { file: string; t: BounceTemplates } | undefined;

/** bounce_templates_load() once per process (bounce_template_file). */
export async function loadTemplates(cfg: PostfixConfig): Promise<BounceTemplates> {
  const file = cfg.get('bounce_template_file');
  if (loadedTemplates && loadedTemplates.file === file) return loadedTemplates.t;
  const t = new BounceTemplates();
  if (file !== '') {
    const { readFile } = await import('node:fs/promises');
    t.load(await readFile(file, 'latin1'), file);
  }
  loadedTemplates = { file, t };
  return t;
}

export class BounceNotifier {
  constructor(private readonly ctx: NotifyContext) {}

  private async templates(): Promise<BounceTemplates> {
    return this.ctx.templates ?? loadTemplates(this.ctx.cfg);
  }

  /** mail_addr_double_bounce(): "$double_bounce_sender@$myhostname". */
  private doubleBounce(): string {
    return `${this.ctx.cfg.get('double_bounce_sender') || 'double-bounce'}@${this.ctx.cfg.get('myhostname')}`;
  }

  private isDoubleBounce(addr: string): boolean {
    return addr.toLowerCase() === this.doubleBounce().toLowerCase();
  }

  /**
   * Post one notice; returns 0 when queued, 1 on failure, and 0 without
   * sending when no log entry passes the filter (count == 0).
   */
  private async post(
    msg: NotifyMessage,
    cls: TemplateClass,
    entries: LogEntry[],
    filter: number,
    opts: { sender: string; rcpt: string; postmasterCopy: boolean; boilerplate: boolean; ret: number; what: string },
  ): Promise<number> {
    const picked = entries.filter((e) => e.rcpt.dsnNotify === 0 || (e.rcpt.dsnNotify & filter) !== 0);
    // Failure notices go out even without log entries ("Delivery report unavailable").
    if (picked.length === 0 && !(cls === 'failure' && entries.length === 0)) return 0;
    const cfg = this.ctx.cfg;
    const tp = (await this.templates()).get(cls);
    const original = await readOriginal(queuePath(this.ctx.layout, msg.queueName, msg.queueId), `MAILER-DAEMON@${cfg.get('myhostname')}`);
    const now = this.ctx.now();
    let session: Awaited<ReturnType<CleanupService['open']>>;
    try {
      session = await this.ctx.cleanup.open(CleanupFlag.MAP_OK);
    } catch (err) {
      this.ctx.log.warn(`${msg.queueId}: cannot post ${opts.what}: ${(err as Error).message}`);
      return 1;
    }
    const lines = buildNotice({
      template: tp,
      cfg,
      queueId: msg.queueId,
      original,
      rcpt: opts.rcpt,
      postmasterCopy: opts.postmasterCopy,
      boilerplate: opts.boilerplate,
      entries: picked,
      ret: opts.ret,
      now,
      newQueueId: session.queueId,
      dsnEnvid: msg.dsnEnvid,
      smtputf8: msg.smtputf8,
      encoding: msg.encoding,
    });
    const s = session as typeof session & { setArrivalTime?(sec: number, usec?: number): void };
    s.setArrivalTime?.(Math.floor(now), Math.floor((now % 1) * 1e6));
    // Postfix's cleanup starts every message with hdr_rewrite_context = local
    // (cleanup_state.c); Postern's cleanup needs to be told.
    session.setAttribute('rewrite_context', 'local');
    session.setAttribute('log_message_origin', 'local');
    session.setAttribute('trace_flags', '0');
    session.setSender(opts.sender);
    session.addRecipient(opts.rcpt);
    for (const [type, data] of lines) session.writeLine(Buffer.from(data, 'latin1'), type === 0x4c);
    const res = await session.finish();
    if (res.status !== 0) {
      this.ctx.log.warn(`${msg.queueId}: ${opts.what} not queued: status ${res.status}`);
      return 1;
    }
    this.ctx.log.info(`${msg.queueId}: ${opts.what}: ${session.queueId}`);
    return 0;
  }

  private async entries(service: LogService, queueId: string): Promise<LogEntry[] | undefined> {
    return readLog(this.ctx.layout, service, queueId);
  }

  /** bounce_notify_service(): non-delivery notice from the bounce or defer log. */
  async flush(service: 'bounce' | 'defer', msg: NotifyMessage): Promise<number> {
    const cfg = this.ctx.cfg;
    const mask = notifyMask(cfg.get('notify_classes'));
    const entries = (await this.entries(service, msg.queueId)) ?? [];
    const recipient = msg.sender;
    let status = 1;
    if (this.isDoubleBounce(recipient)) {
      this.ctx.log.warn(`${msg.queueId}: undeliverable postmaster notification discarded`);
      status = 0;
    } else if (recipient === '') {
      if (!mask.has('bounce') && !mask.has('2bounce')) status = 0;
      else {
        status = await this.post(msg, 'failure', entries, DSN_NOTIFY_OVERRIDE, {
          sender: this.doubleBounce(),
          rcpt: cfg.get('2bounce_notice_recipient') || 'postmaster',
          postmasterCopy: true,
          boilerplate: false,
          ret: DSN_RET_FULL,
          what: 'postmaster non-delivery notification',
        });
      }
    } else {
      status = await this.post(msg, 'failure', entries, DSN_NOTIFY_FAILURE, {
        sender: '',
        rcpt: recipient,
        postmasterCopy: false,
        boilerplate: true,
        ret: msg.dsnRet || DSN_RET_FULL,
        what: 'sender non-delivery notification',
      });
      if (status === 0 && mask.has('bounce')) {
        const pm = await this.post(msg, 'failure', entries, DSN_NOTIFY_OVERRIDE, {
          sender: this.doubleBounce(),
          rcpt: cfg.get('bounce_notice_recipient') || 'postmaster',
          postmasterCopy: true,
          boilerplate: false,
          ret: DSN_RET_HDRS,
          what: 'postmaster non-delivery notification',
        });
        if (pm !== 0) this.ctx.log.warn(`${msg.queueId}: postmaster notice failed while bouncing to ${recipient}`);
      }
    }
    if (status === 0) await this.remove(service, msg.queueId);
    return status;
  }

  /** bounce_warn_service(): "Delayed Mail (still being retried)". */
  async warn(msg: NotifyMessage): Promise<number> {
    const cfg = this.ctx.cfg;
    const mask = notifyMask(cfg.get('notify_classes'));
    const entries = (await this.entries('defer', msg.queueId)) ?? [];
    const recipient = msg.sender;
    const pmRcpt = cfg.get('delay_notice_recipient') || 'postmaster';
    let status = 1;
    if (this.isDoubleBounce(recipient)) {
      this.ctx.log.warn(`${msg.queueId}: undeliverable postmaster notification discarded`);
      status = 0;
    } else if (recipient === '') {
      if (!mask.has('delay')) status = 0;
      else {
        status = await this.post(msg, 'delay', entries, DSN_NOTIFY_OVERRIDE, {
          sender: this.doubleBounce(),
          rcpt: pmRcpt,
          postmasterCopy: true,
          boilerplate: false,
          ret: DSN_RET_FULL,
          what: 'postmaster delay notification',
        });
      }
    } else {
      status = await this.post(msg, 'delay', entries, DSN_NOTIFY_DELAY, {
        sender: '',
        rcpt: recipient,
        postmasterCopy: false,
        boilerplate: true,
        ret: DSN_RET_HDRS,
        what: 'sender delay notification',
      });
      if (status === 0 && mask.has('delay')) {
        const pm = await this.post(msg, 'delay', entries, DSN_NOTIFY_OVERRIDE, {
          sender: this.doubleBounce(),
          rcpt: pmRcpt,
          postmasterCopy: true,
          boilerplate: false,
          ret: DSN_RET_HDRS,
          what: 'postmaster delay notification',
        });
        if (pm !== 0) this.ctx.log.warn(`${msg.queueId}: postmaster notice failed while warning ${recipient}`);
      }
    }
    return status;
  }

  /** bounce_trace_service(): "Successful Mail Delivery Report". */
  async trace(msg: NotifyMessage): Promise<number> {
    const cfg = this.ctx.cfg;
    const mask = notifyMask(cfg.get('notify_classes'));
    let recipient = msg.sender;
    let sender = '';
    if (this.isDoubleBounce(recipient)) {
      this.ctx.log.info(`${msg.queueId}: not sending trace/success notification for double-bounce message`);
      return 0;
    }
    if (recipient === '') {
      if (mask.has('2bounce')) {
        recipient = cfg.get('2bounce_notice_recipient') || 'postmaster';
        sender = this.doubleBounce();
      } else {
        this.ctx.log.info(`${msg.queueId}: not sending trace/success notification for single-bounce message`);
        await this.remove('trace', msg.queueId);
        return 0;
      }
    }
    const entries = await this.entries('trace', msg.queueId);
    if (entries === undefined) return 0;
    const status = await this.post(msg, 'success', entries, DSN_NOTIFY_OVERRIDE, {
      sender,
      rcpt: recipient,
      postmasterCopy: false,
      boilerplate: true,
      ret: DSN_RET_HDRS,
      what: 'sender delivery status notification',
    });
    if (status === 0) await this.remove('trace', msg.queueId);
    return status;
  }

  private async remove(service: LogService, queueId: string): Promise<void> {
    try {
      await unlink(queuePath(this.ctx.layout, service, queueId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

export { DSN_NOTIFY_DELAY, DSN_NOTIFY_FAILURE, DSN_NOTIFY_NEVER, DSN_NOTIFY_SUCCESS };
