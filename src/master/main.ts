/**
 * master/main.ts: the master process (Postfix master(8)): lock the pid
 * file, bind the master.cf services, supervise the workers, reload on
 * SIGHUP, stop on SIGTERM.
 *
 * `postfix start` runs this file as a detached process (new session, like
 * `master -w`) and waits for the byte it writes on descriptor 3 once it is
 * initialised; `postfix start-fg` calls runMaster() in its own process.
 * Log lines, as Postfix writes them:
 *   postfix/master[PID]: daemon started -- version 3.7.11, configuration /etc/postfix
 *   postfix/master[PID]: reload -- version 3.7.11, configuration /etc/postfix
 *   postfix/master[PID]: terminating on signal 15
 */
import { closeSync, mkdirSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configDirectory, loadPostfixConfig } from '../../compat/postfix/config.js';
import { maillogClientInit } from '../log/client.js';
import { FatalExit, fatal, info, setMsgStderr, setProgname, setVerbose, trapFatal, warn } from '../log/msg.js';
import { createReloadQueue } from '../util/reload-queue.js';
import { type FileWatch, watchFiles } from '../util/file-watch.js';
import { describeChanges, type LoadedConfig, loadChecked, loadConfig, watchedFiles } from './reload.js';
import { maintenanceJobs } from './maintenance.js';
import { posternBool, posternParam } from './postern-params.js';
import { type Scheduler, scheduleError, startScheduler } from '../util/scheduler.js';
import { getopt } from '../util/getopt.js';
import { getpwnam } from '../util/passwd.js';
import { withAbsolutePaths } from './paths.js';
import { masterRunning, pidFilePath, writeDataLock, writePidFile } from './pidfile.js';
import { Supervisor } from './supervisor.js';

export interface MasterRunOptions {
  /** Configuration directory (absolute or relative to the working directory). */
  configDir: string;
  /** Descriptor to write one byte to once initialised (`master -w`). */
  readyFd?: number;
  verbose?: number;
}

function loadMain(configDir: string) {
  return withAbsolutePaths(loadPostfixConfig({ configDir }));
}

const SIGHUP = 'SIGHUP';
const AUTO = 'auto';

const SCHEDULE_PARAMS: Record<string, string> = {
  'queue run': 'postern_queue_run_schedule',
  'temp cleanup': 'postern_temp_cleanup_schedule',
  'hold expiry': 'postern_hold_expire_schedule',
  'cert check': 'postern_cert_check_schedule',
};

/** (Re)start the maintenance jobs for the configuration in force; a bad schedule disables its job with a warning. */
async function startMaintenance(loaded: LoadedConfig): Promise<Scheduler> {
  const cfg = loaded.cfg;
  const jobs = [];
  const tz = posternParam(cfg, 'postern_cron_timezone') || undefined;
  const tzProblem = await scheduleError('', tz);
  if (tzProblem) warn(`postern_cron_timezone: ${tzProblem} -- using the system time zone`);
  for (const job of maintenanceJobs(cfg, () => loaded.entries)) {
    const problem = await scheduleError(job.schedule);
    if (problem) warn(`${SCHEDULE_PARAMS[job.name]}: ${problem} -- job "${job.name}" disabled`);
    else jobs.push(job);
  }
  return startScheduler(jobs, {
    timezone: tzProblem ? undefined : tz,
    onError: (job, err) => warn(`scheduled ${job.name}: ${(err as Error)?.message ?? String(err)}`),
  });
}

const SIGNALS: Array<[NodeJS.Signals, number]> = [
  ['SIGTERM', 15],
  ['SIGINT', 2],
  ['SIGQUIT', 3],
];

/** Run the master until a termination signal; rejects (FatalExit) when startup fails. */
export async function runMaster(opts: MasterRunOptions): Promise<void> {
  setProgname('master');
  if (opts.verbose) setVerbose(opts.verbose);
  const configDir = resolve(opts.configDir);
  let cfg = loadMain(configDir);
  maillogClientInit(cfg, 'master', { fallback: true, stderrFallback: true });
  // master(8) has no terminal: everything goes to the mail log from here on.
  setMsgStderr(false);
  const queueDir = cfg.get('queue_directory');
  const dataDir = cfg.get('data_directory');
  const running = masterRunning(queueDir);
  if (running !== undefined && running !== process.pid)
    fatal(`open lock file ${pidFilePath(queueDir)}: unable to set exclusive lock: Resource temporarily unavailable`);
  // Postfix chdirs to queue_directory; Postern stays put so that relative
  // paths (the example configuration) mean the same in every worker.
  try {
    mkdirSync(queueDir, { recursive: true, mode: 0o755 });
  } catch (err) {
    fatal(`chdir ${queueDir}: ${(err as Error).message}`);
  }
  writePidFile(queueDir, process.pid);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pw = process.getuid?.() === 0 ? getpwnam(cfg.get('mail_owner')) : undefined;
    writeDataLock(dataDir, process.pid, pw && { uid: pw.uid, gid: pw.gid });
  } catch (err) {
    fatal(`open lock file ${dataDir}/master.lock: ${(err as Error).message}`);
  }
  let loaded: LoadedConfig = { ...loadConfig(configDir), cfg };
  const sup = new Supervisor({ load: () => ({ cfg: loaded.cfg, entries: loaded.entries }) });
  try {
    await sup.start();
  } catch (err) {
    if (err instanceof FatalExit) throw err;
    fatal((err as Error).message);
  }
  const version = cfg.get('mail_version') || '3.7.11';
  info(`daemon started -- version ${version}, configuration ${configDir}`);
  if (opts.readyFd !== undefined) {
    try {
      writeSync(opts.readyFd, '\0');
      closeSync(opts.readyFd);
    } catch {
      /* the starter went away */
    }
  }
  let watcher: FileWatch | undefined;
  let watching: Promise<void> = Promise.resolve();
  const rewatch = () => {
    watching = watching.then(async () => {
      const want = trapFatal(() => posternBool(loaded.cfg, 'postern_auto_reload'));
      if (want.ok && want.value) {
        const files = watchedFiles(configDir, loaded);
        if (watcher) watcher.setFiles(files);
        else {
          watcher = await watchFiles(files, (changed) => {
            for (const f of changed) info(`auto reload: ${f} changed`);
            void reloads.request(AUTO);
          });
          await watcher.ready;
        }
      } else if (watcher) {
        await watcher.close();
        watcher = undefined;
      }
    });
    return watching;
  };
  const reloads = createReloadQueue(async (reasons) => {
    info(`reload -- version ${version}, configuration ${configDir}`);
    const next = loadChecked(configDir);
    if (!next.ok) {
      warn(next.text);
      warn('reload failed -- keeping the running configuration');
      return;
    }
    if (reasons.includes(AUTO)) for (const line of describeChanges(loaded, next.value)) info(`auto reload: ${line}`);
    loaded = next.value;
    cfg = loaded.cfg;
    maillogClientInit(cfg, 'master', { fallback: true, stderrFallback: true });
    await sup.reload().catch((err) => warn((err as Error).message));
    await rewatch();
    scheduler?.stop();
    scheduler = await startMaintenance(loaded);
  });
  process.on('SIGHUP', () => void reloads.request(SIGHUP));
  await rewatch();
  let scheduler: Scheduler | undefined = await startMaintenance(loaded);
  await new Promise<void>(() => {
    for (const [sig, num] of SIGNALS) {
      process.on(sig, () => {
        info(`terminating on signal ${num}`);
        sup.stop();
        void watcher?.close();
        scheduler?.stop();
        // Die by the same signal, as master_sig.c does.
        process.removeAllListeners(sig);
        process.kill(process.pid, sig);
      });
    }
  });
}

/** `node dist/src/master/main.js [-c dir] [-v] [-w]` (what `postfix start` runs). */
async function cli(argv: string[]): Promise<number> {
  setProgname('master');
  const r = getopt(argv, 'c:Dde:istvw');
  if (!r.ok) fatal('usage: master [-c config_dir] [-D (debug)] [-d (don\'t detach from terminal)] [-e exit_time] [-t (test)] [-v] [-w (wait for initialization)]');
  let configDir = configDirectory();
  let wait = false;
  let verbose = 0;
  for (const [o, v] of r.opts) {
    if (o === 'c') configDir = v!;
    else if (o === 'w') wait = true;
    else if (o === 'v') verbose++;
  }
  await runMaster({ configDir, readyFd: wait ? 3 : undefined, verbose });
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).catch((err) => {
    process.exitCode = err instanceof FatalExit ? err.status : 1;
    if (!(err instanceof FatalExit)) process.stderr.write(`master: panic: ${(err as Error)?.stack}\n`);
  });
}
