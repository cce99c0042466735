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
import { readMasterCf } from '../../compat/postfix/master-cf.js';
import { maillogClientInit } from '../log/client.js';
import { FatalExit, fatal, info, setMsgStderr, setProgname, setVerbose } from '../log/msg.js';
import { getopt } from '../util/getopt.js';
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

function loadConfig(configDir: string) {
  return withAbsolutePaths(loadPostfixConfig({ configDir }));
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
  let cfg = loadConfig(configDir);
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
    writeDataLock(dataDir, process.pid);
  } catch (err) {
    fatal(`open lock file ${dataDir}/master.lock: ${(err as Error).message}`);
  }
  const sup = new Supervisor({
    load: () => ({ cfg, entries: readMasterCf(configDir, 'fail') }),
  });
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
  let reloading = false;
  process.on('SIGHUP', () => {
    if (reloading) return;
    reloading = true;
    info(`reload -- version ${version}, configuration ${configDir}`);
    try {
      cfg = loadConfig(configDir);
      maillogClientInit(cfg, 'master', { fallback: true, stderrFallback: true });
    } catch (err) {
      if (!(err instanceof FatalExit)) throw err;
    }
    sup
      .reload()
      .catch((err) => info(`warning: ${(err as Error).message}`))
      .finally(() => {
        reloading = false;
      });
  });
  await new Promise<void>(() => {
    for (const [sig, num] of SIGNALS) {
      process.on(sig, () => {
        info(`terminating on signal ${num}`);
        sup.stop();
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
