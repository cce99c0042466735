/**
 * qmgr/settings.ts: the main.cf parameters the queue manager reads
 * (qmgr.c's CONFIG_*_TABLEs), with Postfix's adjustments
 * (bounce_queue_lifetime never above maximal_queue_lifetime).
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { layoutFromConfig, type QueueLayout } from '../queue/layout.js';

export interface QmgrSettings {
  layout: QueueLayout;
  queueRunDelay: number;
  minBackoff: number;
  maxBackoff: number;
  maxQueueTime: number;
  dsnQueueTime: number;
  activeLimit: number;
  deferTransports: string[];
  doubleBounceSender: string;
  myhostname: string;
  recipientDelimiter: string;
  defaultFilterNexthop: string;
  softBounce: boolean;
  oldlogCompat: boolean;
  delayMaxRes: number;
  defaultProcessLimit: number;
  longQueueIds: boolean;
}

export function readQmgrSettings(cfg: PostfixConfig): QmgrSettings {
  const maxQueueTime = cfg.time('maximal_queue_lifetime');
  let dsnQueueTime = cfg.time('bounce_queue_lifetime');
  if (dsnQueueTime > maxQueueTime) dsnQueueTime = maxQueueTime;
  const res = Number.parseInt(cfg.get('delay_logging_resolution_limit') || '2', 10);
  return {
    layout: layoutFromConfig(cfg),
    queueRunDelay: cfg.time('queue_run_delay'),
    minBackoff: cfg.time('minimal_backoff_time'),
    maxBackoff: cfg.time('maximal_backoff_time'),
    maxQueueTime,
    dsnQueueTime,
    activeLimit: cfg.int('qmgr_message_active_limit'),
    deferTransports: cfg.list('defer_transports'),
    doubleBounceSender: cfg.get('double_bounce_sender') || 'double-bounce',
    myhostname: cfg.get('myhostname'),
    recipientDelimiter: cfg.get('recipient_delimiter'),
    defaultFilterNexthop: cfg.get('default_filter_nexthop'),
    softBounce: cfg.bool('soft_bounce'),
    oldlogCompat: cfg.bool('backwards_bounce_logfile_compatibility'),
    delayMaxRes: Number.isNaN(res) ? 2 : Math.max(0, Math.min(6, res)),
    defaultProcessLimit: cfg.int('default_process_limit'),
    longQueueIds: cfg.bool('enable_long_queue_ids'),
  };
}
