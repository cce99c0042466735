/**
 * master/worker.ts: the process the master forks for a service. Reads the
 * service description from POSTERN_SERVICE, main.cf with the service's -o
 * overrides, sets up the mail log (tag "$syslog_name/COMMAND", the log
 * descriptor inherited from the master), loads the worker module from the
 * registry, then reports "ready" and serves what the master hands over.
 * Exits when the master goes away (IPC channel closed) or retires it.
 */
import type { Socket } from 'node:net';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { maillogClientInit } from '../log/client.js';
import { FatalExit, fatal, setProgname, setVerbose } from '../log/msg.js';
import { withAbsolutePaths } from './paths.js';
import { daemonArgv } from './service.js';
import { workerLoader } from './services.js';
import type { MasterMessage, ServiceInfo, WorkerContext, WorkerMessage } from './types.js';

async function main(): Promise<void> {
  const svc = JSON.parse(process.env.POSTERN_SERVICE ?? '{}') as ServiceInfo;
  const base = svc.command.slice(svc.command.lastIndexOf('/') + 1);
  setProgname(base);
  if (process.env.MAIL_VERBOSE !== undefined) setVerbose(1);
  process.title = daemonArgv(svc, process.env.MAIL_VERBOSE !== undefined).join(' ');
  const cfg = withAbsolutePaths(
    loadPostfixConfig({ configDir: process.env.MAIL_CONFIG }).withService(svc.params, svc.extName),
  );
  const log = maillogClientInit(cfg, base, { fallback: true, stderrFallback: true });
  const load = workerLoader(svc.command);
  if (!load) fatal(`no Postern worker for command ${svc.command}`);
  const mod = await load();

  const connHandlers: Array<(s: Socket) => void> = [];
  const wakeHandlers: Array<() => void> = [];
  const stopHandlers: Array<() => void | Promise<void>> = [];
  const ctx: WorkerContext = {
    service: svc,
    config: cfg,
    log,
    onConnection: (h) => connHandlers.push(h),
    onWakeup: (h) => wakeHandlers.push(h),
    onStop: (h) => stopHandlers.push(h),
  };
  process.on('message', (m: MasterMessage, handle?: unknown) => {
    if (m?.t === 'conn' && handle) {
      const sock = handle as Socket;
      sock.once('close', () => process.send?.({ t: 'done' } satisfies WorkerMessage));
      if (connHandlers.length === 0) sock.destroy();
      for (const h of connHandlers) h(sock);
      sock.resume();
    } else if (m?.t === 'wakeup') {
      for (const h of wakeHandlers) h();
    } else if (m?.t === 'retire') {
      void Promise.all(stopHandlers.map((h) => h())).finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  await mod.start(ctx);
  process.send?.({ t: 'ready' } satisfies WorkerMessage);
}

main().catch((err) => {
  if (err instanceof FatalExit) process.exit(err.status);
  try {
    fatal(`${(err as Error)?.stack ?? String(err)}`);
  } catch {
    /* FatalExit */
  }
  process.exit(1);
});
