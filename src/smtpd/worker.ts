/**
 * smtpd/worker.ts: the master.cf "smtpd" command as a Postern worker
 * module (see src/master/README.md). The master forks the worker with the
 * service's -o overrides already applied to ctx.config and hands over each
 * accepted connection; every connection is one SmtpdSession, all in this
 * process, so a stuck client never blocks the others. On retire (reload,
 * stop) the worker lets running sessions finish.
 *
 * Register in src/master/services.ts:
 *   smtpd: () => import('../smtpd/worker.js').then((m) => m.smtpdWorker),
 *
 * The cleanup service is Postern's in-process cleanup (src/cleanup).
 */
import { cleanupMaillog } from '../cleanup/log.js';
import { createCleanupService } from '../cleanup/service.js';
import type { CleanupService } from '../cleanup/types.js';
import type { WorkerModule } from '../master/types.js';
import { createSmtpd } from './server.js';
import type { SmtpdConfig } from './settings.js';

/**
 * How the worker gets its cleanup service (replaceable for tests): the
 * in-process cleanup with its tables (canonical, virtual, checks), logging
 * as postfix/cleanup.
 */
export let cleanupFactory: (cfg: SmtpdConfig) => Promise<CleanupService> = async (cfg) =>
  createCleanupService(cfg, { log: cleanupMaillog(cfg) });

export function setCleanupFactory(f: typeof cleanupFactory): void {
  cleanupFactory = f;
}

export const smtpdWorker: WorkerModule = {
  async start(ctx) {
    const raw = ctx.config as unknown as Partial<SmtpdConfig> & SmtpdConfig;
    const cfg: SmtpdConfig = {
      get: (n) => raw.get(n),
      int: (n) => raw.int(n),
      long: (n) => (typeof raw.long === 'function' ? raw.long(n) : raw.int(n)),
      bool: (n) => raw.bool(n),
      time: (n) => raw.time(n),
      list: (n) => raw.list(n),
      has: (n) => (typeof raw.has === 'function' ? raw.has(n) : false),
    };
    const cleanup = await cleanupFactory(cfg);
    const smtpd = await createSmtpd(cfg, { cleanup, log: ctx.log, serviceName: ctx.service.extName });
    ctx.onConnection((socket) => {
      void smtpd.serve(socket);
    });
    ctx.onStop(
      () =>
        new Promise<void>((resolve) => {
          const tick = () => (smtpd.active === 0 ? resolve() : setTimeout(tick, 200).unref());
          tick();
        }),
    );
  },
};
