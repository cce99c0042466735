/**
 * pickup/service.ts: the pickup(8) service for the master (master.cf
 * "pickup unix n - y 60 1 pickup"). It scans maildrop/ when it starts, on
 * every wakeup tick (field 6, 60 s by default), and whenever something
 * connects to its endpoint (public/pickup: postdrop's trigger), one scan at
 * a time. Messages go through the in-process cleanup (cleanup/service.ts);
 * pickup logs as postfix/pickup, cleanup as postfix/cleanup.
 *
 * Register in src/master/services.ts as:
 *   pickup: () => import('../pickup/service.js').then((m) => m.pickupWorker)
 */
import { getpwnam } from '../util/passwd.js';
import { createCleanupService } from '../cleanup/service.js';
import { cleanupMaillog } from '../cleanup/log.js';
import type { WorkerConfig, WorkerModule } from '../master/types.js';
import { type PickupOptions, pickupScan } from './pickup.js';

/** Pickup settings from main.cf (and the service's -o overrides). */
export async function pickupOptions(cfg: WorkerConfig, log: PickupOptions['log']): Promise<PickupOptions> {
  const classes = cfg.get('smtputf8_autodetect_classes').toLowerCase().split(/[\s,]+/);
  return {
    queueDir: cfg.get('queue_directory'),
    cleanup: await createCleanupService(cfg, { log: cleanupMaillog(cfg) }),
    log,
    myhostname: cfg.get('myhostname'),
    mailName: cfg.get('mail_name') || 'Postfix',
    lineLimit: cfg.int('line_length_limit'),
    filter: cfg.get('content_filter'),
    receiveOverride: cfg.get('receive_override_options'),
    ownerUid: getpwnam(cfg.get('mail_owner'))?.uid,
    smtputf8Autodetect: cfg.bool('smtputf8_enable') && classes.includes('sendmail'),
  };
}

export const pickupWorker: WorkerModule = {
  async start(ctx) {
    const opts = await pickupOptions(ctx.config, { info: (t) => ctx.log.info(t), warn: (t) => ctx.log.warn(t) });
    let running: Promise<void> | undefined;
    let again = false;
    const scan = () => {
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          try {
            await pickupScan(opts);
          } catch (err) {
            ctx.log.warn(`pickup: ${(err as Error).message}`);
          }
        } while (again);
      })().finally(() => {
        running = undefined;
      });
    };
    ctx.onConnection((socket) => {
      socket.on('data', () => {});
      socket.on('error', () => socket.destroy());
      socket.on('end', () => socket.destroy());
      scan();
    });
    ctx.onWakeup(scan);
    ctx.onStop(async () => {
      while (running) await running;
    });
    scan();
  },
};
