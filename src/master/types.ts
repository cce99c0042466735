/**
 * master/types.ts: the contract between the master and a worker module.
 *
 * A worker module (registered in services.ts under a master.cf command
 * name) exports `start(ctx)`. The worker host (worker.ts) has already read
 * main.cf with the service's `-o` overrides and set up the mail log; the
 * module registers handlers and reports nothing itself: the host tells the
 * master "ready" once start() resolves.
 */
import type { Socket } from 'node:net';
import type { Maillog } from '../log/maillog.js';

/** What master.cf says about the service (master_ent.c fields). */
export interface ServiceInfo {
  /** Field 1 as written: "smtp", "127.0.0.1:2525", "pickup". */
  extName: string;
  /** Canonical endpoint: port or "[host]:port" for inet, "private/x" or "public/x" for unix. */
  name: string;
  /** inet, unix, unix-dgram, fifo, pass. */
  type: string;
  privateService: boolean;
  unprivileged: boolean;
  chroot: boolean;
  /** Wakeup interval in seconds (0 = none); conditional when it ended in "?". */
  wakeup: number;
  wakeupConditional: boolean;
  /** Process limit (0 = no limit). */
  maxProc: number;
  /** Command name (field 8) and its arguments. */
  command: string;
  args: string[];
  /** -o name=value overrides, in order. */
  params: Array<[string, string]>;
}

/** The configuration view a worker gets (PostfixConfig fits). */
export interface WorkerConfig {
  readonly configDir: string;
  get(name: string): string;
  int(name: string): number;
  bool(name: string): boolean;
  time(name: string): number;
  list(name: string): string[];
}

export interface WorkerContext {
  readonly service: ServiceInfo;
  readonly config: WorkerConfig;
  readonly log: Maillog;
  /** Called for every client connection the master hands over (inet, unix). */
  onConnection(handler: (socket: Socket) => void): void;
  /** Called on each wakeup tick (master.cf field 6). */
  onWakeup(handler: () => void): void;
  /** Called when the master retires this process (reload, stop); resolve when idle. */
  onStop(handler: () => void | Promise<void>): void;
}

export interface WorkerModule {
  start(ctx: WorkerContext): void | Promise<void>;
}

/** master -> worker messages (sent over the fork IPC channel). */
export type MasterMessage = { t: 'conn' } | { t: 'wakeup' } | { t: 'retire' };
/** worker -> master messages. */
/** done: a connection handed over has closed (the master counts them against maxproc). */
export type WorkerMessage = { t: 'ready' } | { t: 'used' } | { t: 'done' };
