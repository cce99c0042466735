/**
 * qmgr/worker.ts: the qmgr(8) service for the master (master.cf
 * "qmgr unix n - n 300 1 qmgr"). Delivery agents run inside this process.
 *
 * Requests arrive as bytes on public/qmgr (mail_trigger(); qmgr.c
 * qmgr_trigger_event):
 *   W, I  scan incoming/ (cleanup after each message, the master's wakeup)
 *   D     scan deferred/
 *   F     unthrottle dead destinations first (postqueue -f, sendmail -q)
 *   A     ignore time stamps (scan everything now)
 * deferred/ is also scanned every queue_run_delay, and both queues at
 * start-up, after messages left in active/ went back to incoming/.
 * Requests that arrive during a run are merged and served by the next one.
 *
 * Register in src/master/services.ts as:
 *   qmgr: () => import('../qmgr/worker.js').then((m) => m.qmgrWorker)
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';
import type { WorkerModule } from '../master/types.js';
import { type PassOptions, QueueManager } from './qmgr.js';

/** Fold trigger bytes into pass options (qmgr_trigger_event). */
export function parseTriggers(bytes: string, into: PassOptions = {}): PassOptions {
  for (const c of bytes) {
    if (c === 'W' || c === 'I') into.incoming = true;
    else if (c === 'D') into.deferred = true;
    else if (c === 'F') into.flushDead = true;
    else if (c === 'A') into.scanAll = true;
  }
  return into;
}

/** One run at a time; requests made meanwhile are merged into the next run. */
export class QmgrRunner {
  private running: Promise<void> | undefined;
  private pending: PassOptions | undefined;

  constructor(
    private readonly qmgr: QueueManager,
    private readonly onError: (err: Error) => void,
    /** Wait for deliveries inside a run (tests); the daemon does not. */
    private readonly wait = false,
  ) {}

  request(opts: PassOptions): void {
    this.pending = { ...this.pending, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v)) };
    if (!this.running) this.running = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending) {
        const opts = this.pending;
        this.pending = undefined;
        // A flush (F or A) applies to both queues.
        const pass: PassOptions = {
          incoming: opts.incoming || opts.scanAll || opts.flushDead || false,
          deferred: opts.deferred || opts.scanAll || opts.flushDead || false,
          scanAll: opts.scanAll ?? false,
          flushDead: opts.flushDead ?? false,
          wait: this.wait,
        };
        if (!pass.incoming && !pass.deferred) continue;
        try {
          await this.qmgr.runOnce(pass);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
    await this.qmgr.idle();
  }
}

export const qmgrWorker: WorkerModule = {
  async start(ctx) {
    const cfg = ctx.config as unknown as PostfixConfig;
    const qmgr = new QueueManager({ cfg, notifyQmgr: true });
    await qmgr.recover();
    const runner = new QmgrRunner(qmgr, (err) => ctx.log.warn(`qmgr: ${err.message}`));
    ctx.onConnection((socket) => {
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => runner.request(parseTriggers(d)));
      socket.on('error', () => socket.destroy());
      socket.on('end', () => socket.destroy());
    });
    ctx.onWakeup(() => runner.request({ incoming: true }));
    const delay = Math.max(1, cfg.time('queue_run_delay')) * 1000;
    const timer = setInterval(() => runner.request({ deferred: true }), delay);
    timer.unref();
    ctx.onStop(async () => {
      clearInterval(timer);
      await runner.idle();
      await qmgr.close();
    });
    runner.request({ incoming: true, deferred: true });
  },
};
