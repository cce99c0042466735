/**
 * master/supervisor.ts: the master's service table (master_conf.c,
 * master_service.c, master_spawn.c, master_avail.c in Postfix).
 *
 * For every master.cf service whose command Postern implements, the master
 * binds the listeners (inet [host:]port, unix $queue_directory/private|public/NAME)
 * and keeps its worker processes (node forks of worker.ts) running. The master
 * accepts each connection itself, paused, and hands the socket to the ready
 * worker with the fewest open connections over the IPC channel: a worker
 * that dies never takes a listening socket with it.
 *
 * Process limit (master.cf field 7, maxproc): a Postfix process serves one
 * client at a time, so maxproc caps concurrent clients. A Postern worker
 * serves many clients at once, so maxproc caps the service's concurrent
 * connections (the rest wait in the master, as they would wait in the
 * listen queue), and an inet service with maxproc > 1 gets one worker per
 * CPU (at most maxproc; POSTERN_WORKERS overrides the CPU count).
 *
 * Crashes are reported with Postfix's words (master_reap_child):
 *   warning: process /usr/lib/postfix/sbin/smtpd pid 123 exit status 1
 *   warning: process /usr/lib/postfix/sbin/smtpd pid 123 killed by signal 9
 * A worker that dies before it ever became ready also gets
 *   warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling
 * and the service makes no new process for $service_throttle_time (60s);
 * connections wait meanwhile. A worker that dies after it was ready is
 * replaced at once.
 */
import { getpwnam } from '../util/passwd.js';
import { strerror } from '../util/strerror.js';
import { type ChildProcess, fork } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MasterEntry } from '../../compat/postfix/master-cf.js';
import { info, msgVerbose, warn } from '../log/msg.js';
import { BUILTIN_COMMANDS, workerLoader } from './services.js';
import { buildService, type ListenAddress, type MasterConfigView, type MasterService } from './service.js';
import type { MasterMessage, WorkerMessage } from './types.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Connections held while a service has no ready worker. */
const MAX_PENDING = 1000;

interface Proc {
  child: ChildProcess;
  pid: number;
  ready: boolean;
  /** Connections handed over and not yet reported closed. */
  active: number;
  retiring: boolean;
  /** Configuration generation the worker was started with (bumped by each reload). */
  gen: number;
  /** We sent SIGTERM: no "killed by signal" warning (MASTER_SENT_SIGNAL). */
  killed: boolean;
}

interface ServiceState {
  svc: MasterService;
  servers: Server[];
  procs: Set<Proc>;
  throttled: boolean;
  throttleTimer?: NodeJS.Timeout;
  wakeTimer?: NodeJS.Timeout;
  pending: Socket[];
  /** Current generation: new connections go to its workers once one is ready. */
  gen: number;
}

export interface SupervisorOptions {
  /** Reads main.cf (paths absolute) and master.cf afresh; called at start and on reload. */
  load(): { cfg: MasterConfigView; entries: MasterEntry[] };
  /** Extra environment for workers. */
  env?: Record<string, string>;
}

const key = (s: { name: string; type: string }) => `${s.name}/${s.type}`;

function signalNumber(sig: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[sig] ?? 0;
}


export class Supervisor {
  private services = new Map<string, ServiceState>();
  private cfg!: MasterConfigView;
  private stopping = false;
  private logFd = -1;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Bind every listener and start the workers; rejects on a bind error. */
  async start(): Promise<void> {
    const { cfg, entries } = this.opts.load();
    this.cfg = cfg;
    this.openChildLog();
    await this.configure(entries);
  }

  /** SIGHUP: re-read main.cf and master.cf; changed services get new workers. */
  async reload(): Promise<void> {
    const { cfg, entries } = this.opts.load();
    this.cfg = cfg;
    this.openChildLog();
    await this.configure(entries);
  }

  /** Kill all workers and close all listeners. */
  stop(): void {
    this.stopping = true;
    for (const st of this.services.values()) this.stopService(st);
    this.services.clear();
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = -1;
  }

  /** PIDs of the live workers, per canonical service name (for tests and status). */
  workers(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const st of this.services.values()) out[key(st.svc)] = [...st.procs].map((p) => p.pid);
    return out;
  }

  /** Workers inherit one O_APPEND descriptor for maillog_file (they may run unprivileged). */
  private openChildLog(): void {
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = -1;
    const file = this.cfg.get('maillog_file');
    if (file) this.logFd = openSync(file, 'a', 0o644);
  }

  private async configure(entries: MasterEntry[]): Promise<void> {
    const seen = new Set<string>();
    for (const entry of entries) {
      const svc = buildService(entry, this.cfg);
      const k = key(svc);
      if (seen.has(k)) warn(`duplicate master.cf entry for service "${svc.extName}" (${svc.name}) -- using the last entry`);
      seen.add(k);
      if (BUILTIN_COMMANDS.has(svc.command)) continue;
      const old = this.services.get(k);
      if (!workerLoader(svc.command)) {
        warn(`service "${svc.extName}" (${svc.command}) is not implemented in Postern yet`);
        if (old) {
          this.stopService(old);
          this.services.delete(k);
        }
        continue;
      }
      if (svc.type !== 'inet' && svc.type !== 'unix' && svc.type !== 'pass') {
        warn(`service "${svc.extName}" (${svc.type}): transport type not supported by Postern yet`);
        continue;
      }
      if (old) {
        // master_restart_service(): the current generation finishes, the next one runs the new settings.
        // The old workers keep taking connections until a new one is ready, so that a
        // configuration the new workers cannot start with never stops the service.
        old.svc = svc;
        old.gen++;
        old.throttled = false;
        if (old.throttleTimer) clearTimeout(old.throttleTimer);
        old.throttleTimer = undefined;
        this.armWakeup(old);
        this.ensureWorkers(old);
        continue;
      }
      const st: ServiceState = { svc, servers: [], procs: new Set(), throttled: false, pending: [], gen: 0 };
      this.services.set(k, st);
      for (const addr of svc.listen) st.servers.push(await this.listen(st, addr));
      this.armWakeup(st);
      this.ensureWorkers(st);
    }
    for (const [k, st] of this.services) {
      if (!seen.has(k) || !workerLoader(st.svc.command)) {
        this.stopService(st);
        this.services.delete(k);
      }
    }
  }

  private listen(st: ServiceState, addr: ListenAddress): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true }, (sock) => this.route(st, sock));
      const onError = (err: NodeJS.ErrnoException) => {
        const why = strerror(err);
        reject(
          new Error(addr.kind === 'inet' ? `bind ${addr.host} port ${addr.port}: ${why}` : `bind: ${addr.path}: ${why}`),
        );
      };
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        server.on('error', (err) => warn(`${st.svc.name}: accept: ${strerror(err)}`));
        if (addr.path) chmodSync(addr.path, 0o666);
        resolve(server);
      };
      if (addr.kind === 'inet') server.listen({ host: addr.host, port: addr.port, backlog: 100 }, done);
      else {
        mkdirSync(dirname(addr.path!), { recursive: true, mode: 0o700 });
        try {
          unlinkSync(addr.path!);
        } catch {
          /* no stale socket */
        }
        server.listen({ path: addr.path!, backlog: 100 }, done);
      }
    });
  }

  /** Hand a paused connection to the least busy ready worker, within the process limit. */
  private route(st: ServiceState, sock: Socket): void {
    let best: Proc | undefined;
    let total = 0;
    for (const p of st.procs) {
      total += p.active;
      if (!p.ready || p.retiring || !p.child.connected) continue;
      // Prefer the current generation; an older one serves only until a new worker is ready.
      if (!best || p.gen > best.gen || (p.gen === best.gen && p.active < best.active)) best = p;
    }
    if (!best || (st.svc.maxProc > 0 && total >= st.svc.maxProc)) {
      if (st.pending.length >= MAX_PENDING) sock.destroy();
      else st.pending.push(sock);
      return;
    }
    const p = best;
    p.active++;
    p.child.send({ t: 'conn' } satisfies MasterMessage, sock, (err) => {
      if (err) {
        p.active--;
        sock.destroy();
      }
    });
  }

  /** How many workers a service gets (see the process limit note above). */
  private workerCount(svc: MasterService): number {
    if (svc.type !== 'inet' || svc.maxProc === 1) return 1;
    const cpus = Number(process.env.POSTERN_WORKERS) || availableParallelism();
    return svc.maxProc > 0 ? Math.min(svc.maxProc, cpus) : cpus;
  }

  private armWakeup(st: ServiceState): void {
    if (st.wakeTimer) clearInterval(st.wakeTimer);
    st.wakeTimer = undefined;
    if (st.svc.wakeup <= 0) return;
    st.wakeTimer = setInterval(() => {
      const p = [...st.procs].find((x) => x.ready && !x.retiring && x.child.connected);
      p?.child.send({ t: 'wakeup' } satisfies MasterMessage);
    }, st.svc.wakeup * 1000);
  }

  private ensureWorkers(st: ServiceState): void {
    if (this.stopping || st.throttled || this.services.get(key(st.svc)) !== st) return;
    const live = [...st.procs].filter((p) => !p.retiring && p.gen === st.gen).length;
    for (let n = live; n < this.workerCount(st.svc); n++) this.spawn(st);
  }

  /**
   * Who a worker runs as: an unprivileged service (master.cf field 4 "y" or
   * "-") runs as $mail_owner with its primary group and supplementary
   * groups dropped, as Postfix daemons do after startup; "n" stays root.
   * Nothing changes when the master is not root.
   */
  private workerIds(svc: MasterService): { uid: number; gid: number } | null | undefined {
    if (!svc.unprivileged || process.getuid?.() !== 0) return undefined;
    const owner = this.cfg.get('mail_owner') || 'postfix';
    const pw = getpwnam(owner);
    if (!pw) {
      // Postfix daemons die with these words; never run the worker as root instead.
      warn(`file ${this.cfg.configDir}/main.cf: parameter mail_owner: unknown user name value: ${owner}`);
      return null;
    }
    if (pw.uid === 0) {
      warn(`file ${this.cfg.configDir}/main.cf: parameter mail_owner: user ${owner} has privileged user ID: 0`);
      return null;
    }
    return { uid: pw.uid, gid: pw.gid };
  }

  private spawn(st: ServiceState): void {
    const svc = st.svc;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...this.opts.env,
      MAIL_CONFIG: this.cfg.configDir,
      POSTERN_SERVICE: JSON.stringify({ ...svc, entry: undefined, listen: undefined }),
    };
    if (msgVerbose()) env.MAIL_VERBOSE = '';
    const stdio: Array<'ignore' | 'inherit' | 'ipc' | number> = ['ignore', 'inherit', 'inherit', 'ipc'];
    if (this.logFd >= 0) {
      stdio.push(this.logFd);
      env.POSTERN_MAILLOG_FD = '4';
    } else delete env.POSTERN_MAILLOG_FD;
    const ids = this.workerIds(svc);
    if (ids === null) {
      this.throttle(st);
      return;
    }
    let child: ChildProcess;
    try {
      child = fork(WORKER_SCRIPT, [], { env, stdio, execArgv: [], ...(ids ?? {}) });
    } catch (err) {
      warn(`master_spawn: fork: ${strerror(err)} -- throttling`);
      this.throttle(st);
      return;
    }
    const proc: Proc = {
      child,
      pid: child.pid ?? 0,
      ready: false,
      active: 0,
      retiring: false,
      gen: st.gen,
      killed: false,
    };
    st.procs.add(proc);
    if (msgVerbose()) info(`spawn command ${svc.path}; pid ${proc.pid}`);
    child.on('message', (m: WorkerMessage) => {
      if (m?.t === 'ready') {
        proc.ready = true;
        // The new generation is up: the previous one finishes its clients and exits.
        if (proc.gen === st.gen) for (const p of st.procs) if (p.gen < st.gen) this.retire(p);
        this.drain(st);
      } else if (m?.t === 'done') {
        proc.active = Math.max(0, proc.active - 1);
        this.drain(st);
      }
    });
    child.on('error', () => {
      /* reported through 'exit' */
    });
    child.on('exit', (code, signal) => this.reap(st, proc, code, signal));
  }

  private drain(st: ServiceState): void {
    const waiting = st.pending.splice(0);
    for (const s of waiting) if (!s.destroyed) this.route(st, s);
  }

  /** master_reap_child(). */
  private reap(st: ServiceState, proc: Proc, code: number | null, signal: NodeJS.Signals | null): void {
    st.procs.delete(proc);
    this.drain(st);
    const path = st.svc.path;
    const normal = code === 0 && signal === null;
    if (!normal && !this.stopping) {
      if (code !== null) warn(`process ${path} pid ${proc.pid} exit status ${code}`);
      if (signal !== null && !(proc.killed && signal === 'SIGTERM'))
        warn(`process ${path} pid ${proc.pid} killed by signal ${signalNumber(signal)}`);
      if (!proc.ready && !st.throttled) {
        warn(`${path}: bad command startup -- throttling`);
        this.throttle(st);
      }
    }
    this.ensureWorkers(st);
  }

  private throttle(st: ServiceState): void {
    if (st.throttled) return;
    st.throttled = true;
    if (msgVerbose()) info(`throttling command ${st.svc.path}`);
    st.throttleTimer = setTimeout(() => {
      st.throttled = false;
      st.throttleTimer = undefined;
      if (msgVerbose()) info(`throttle released for command ${st.svc.path}`);
      this.ensureWorkers(st);
    }, st.svc.throttleDelay * 1000);
  }

  /** Ask a worker to finish its clients and exit. */
  private retire(p: Proc): void {
    if (p.retiring) return;
    p.retiring = true;
    if (p.child.connected) p.child.send({ t: 'retire' } satisfies MasterMessage);
    else this.kill(p);
  }

  private kill(p: Proc): void {
    p.killed = true;
    try {
      p.child.kill('SIGTERM');
    } catch {
      /* already gone */
    }
  }

  private stopService(st: ServiceState): void {
    if (st.throttleTimer) clearTimeout(st.throttleTimer);
    if (st.wakeTimer) clearInterval(st.wakeTimer);
    for (const s of st.servers) s.close();
    for (const s of st.pending) s.destroy();
    st.pending = [];
    for (const p of st.procs) this.stopping ? this.kill(p) : this.retire(p);
  }
}

