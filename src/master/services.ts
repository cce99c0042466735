/**
 * master/services.ts: which master.cf commands Postern implements, and the
 * module that runs each one in a worker process.
 *
 * The key is the command name from master.cf field 8 (smtpd, qmgr, pickup,
 * cleanup, ...). A service whose command is not here is not started: the
 * master logs `warning: service "NAME" (COMMAND) is not implemented in
 * Postern yet` once per start or reload, and the rest of the system runs.
 *
 * BUILTIN commands need no process of their own: postlogd's job (append to
 * maillog_file) is done by every Postern process itself, see log/maillog.ts;
 * cleanup runs inside the process that receives the message (smtpd, pickup),
 * see cleanup/service.ts; address resolution, bounces and the delivery agents
 * run inside qmgr.
 */
import type { WorkerModule } from './types.js';

export type WorkerLoader = () => Promise<WorkerModule>;

export const serviceRegistry: Readonly<Record<string, WorkerLoader>> = {
  smtpd: () => import('../smtpd/worker.js').then((m) => m.smtpdWorker),
  pickup: () => import('../pickup/service.js').then((m) => m.pickupWorker),
  qmgr: () => import('../qmgr/worker.js').then((m) => m.qmgrWorker),
  flush: () => import('../flush/worker.js').then((m) => m.flushWorker),
  // Test workers (not Postfix commands): an echo server and a worker that
  // dies on startup, used by test/integration/master.test.ts.
  'postern-echo': () => import('./test-workers.js').then((m) => m.echoWorker),
  'postern-crash': () => import('./test-workers.js').then((m) => m.crashWorker),
};

export const BUILTIN_COMMANDS: ReadonlySet<string> = new Set([
  'postlogd',
  'cleanup',
  // Run inside qmgr (src/qmgr, src/delivery, src/rewrite, src/bounce).
  'trivial-rewrite',
  'bounce',
  'smtp',
  'lmtp',
  'local',
  'virtual',
  'pipe',
  'discard',
  'error',
]);

export function workerLoader(command: string): WorkerLoader | undefined {
  return Object.hasOwn(serviceRegistry, command) ? serviceRegistry[command] : undefined;
}
