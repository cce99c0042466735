/**
 * cli/postfix.ts: postfix(1), the mail system control program; it does
 * what postfix.c plus conf/postfix-script do, with the same messages:
 *
 *   postfix [-c config_dir] [-Dv] start|start-fg|stop|quick-stop|abort|drain|
 *           reload|status|check|flush|set-permissions|upgrade-configuration|logrotate
 *
 * postfix-script's messages carry the tag "$syslog_name/postfix-script",
 * go to the mail log, and to stderr only when stderr is a terminal
 * (postlog's msg_vstream_init under isatty). Exit status: 0, or 1 after a
 * fatal message; `status` exits 1 when the system is not running.
 *
 * Differences from Postfix, on purpose:
 * - `-c` may be relative (resolved against the working directory) and a
 *   non-root user may run postfix with an explicit -c or $MAIL_CONFIG, so
 *   that `npm start` runs the example configuration without root. Without
 *   either (the system's /etc/postfix) the superuser rule holds.
 * - `start-fg` runs the master in this process.
 * - `reload` does not run `postsuper active` and `check` does not run the
 *   postsuper queue scan yet (postsuper is not implemented yet).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { configDirectory, loadPostfixConfig } from '../../compat/postfix/config.js';
import { compatLevelFromString } from '../../compat/postfix/expand.js';
import { readMasterCf } from '../../compat/postfix/master-cf.js';
import { maillogClientInit } from '../log/client.js';
import { mailTask } from '../log/maillog.js';
import { error, FatalExit, fatal, info, setMsgStderr, setProgname, setVerbose, warn } from '../log/msg.js';
import { runMaster } from '../master/main.js';
import { withAbsolutePaths } from '../master/paths.js';
import { applyPostfixDirs, checkWarnings } from '../master/permissions.js';
import { masterRunning } from '../master/pidfile.js';
import { getopt } from '../util/getopt.js';
import { outLine } from '../util/out.js';

const USAGE =
  "Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)";
const MASTER_MAIN = fileURLToPath(new URL('../master/main.js', import.meta.url));
const BIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin');
/** MASTER_INIT_TIMEOUT in master.c. */
const MASTER_INIT_TIMEOUT = 100_000;

type Cfg = ReturnType<typeof loadPostfixConfig>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main(argv: string[]): Promise<number> {
  setProgname('postfix');
  setMsgStderr(isatty(2));
  const r = getopt(argv, 'c:Dv');
  if (!r.ok) {
    process.stderr.write(`postfix: ${r.error}\n`);
    fatal('usage: postfix [-c config_dir] [-Dv] command');
  }
  let configDir: string | undefined;
  for (const [o, v] of r.opts) {
    if (o === 'c') configDir = resolve(v!);
    else if (o === 'v') setVerbose(1);
  }
  if (configDir === undefined && !process.env.MAIL_CONFIG && process.getuid?.() !== 0) {
    error('to submit mail, use the Postfix sendmail command');
    fatal('the postfix command is reserved for the superuser');
  }
  const dir = configDirectory(configDir);
  process.env.MAIL_CONFIG = dir;
  const cfg = withAbsolutePaths(loadPostfixConfig({ configDir: dir }));
  maillogClientInit(cfg, 'postfix', { fallback: true, tag: 'postfix' });
  compatNotice(cfg);

  // From here on we are postfix-script.
  const tag = mailTask('postfix-script', cfg.get('syslog_name'));
  setProgname(tag);
  maillogClientInit(cfg, 'postfix-script', { fallback: true, tag });
  const cmd = r.operands[0] ?? '';
  return script(cmd, r.operands.slice(1), cfg, dir);
}

/** postfix.c: the backwards-compatibility reminder. */
function compatNotice(cfg: Cfg): void {
  const level = compatLevelFromString(cfg.get('compatibility_level') || '0');
  const last = compatLevelFromString('3.6')!;
  if (level !== undefined && level < last) {
    info('Postfix is using backwards-compatible default settings');
    info('See http://www.postfix.org/COMPATIBILITY_README.html for details');
    info('To disable backwards compatibility use "postconf compatibility_level=3.6" and "postfix reload"');
  }
}

async function script(cmd: string, rest: string[], cfg: Cfg, configDir: string): Promise<number> {
  const queueDir = cfg.get('queue_directory');
  const running = () => masterRunning(queueDir);
  const requireRunning = (): number => {
    const pid = running();
    if (pid === undefined) fatal('the Postfix mail system is not running');
    return pid;
  };
  switch (cmd) {
    case 'start_msg':
      outLine('Start postfix');
      return 0;
    case 'stop_msg':
      outLine('Stop postfix');
      return 0;
    case 'start':
    case 'start-fg': {
      if (running() !== undefined) fatal('the Postfix mail system is already running');
      const quick = join(queueDir, 'quick-start');
      if (existsSync(quick)) spawnSync('rm', ['-f', quick]);
      else {
        if (!checkFatal(cfg, configDir)) fatal('Postfix integrity check failed!');
        checkWarn(cfg);
      }
      info('starting the Postfix mail system');
      if (cmd === 'start') {
        if (!(await startDetached(configDir))) fatal('mail system startup failed');
        return 0;
      }
      await runMaster({ configDir });
      return 0;
    }
    case 'drain':
      process.kill(requireRunning(), 'SIGKILL');
      return 0;
    case 'quick-stop': {
      const status = await stop(requireRunning(), running);
      writeFileSync(join(queueDir, 'quick-start'), '');
      return status;
    }
    case 'stop':
      return stop(requireRunning(), running);
    case 'abort': {
      const pid = requireRunning();
      info('aborting the Postfix mail system');
      process.kill(pid, 'SIGTERM');
      return 0;
    }
    case 'reload': {
      const pid = requireRunning();
      info('refreshing the Postfix mail system');
      process.kill(pid, 'SIGHUP');
      return 0;
    }
    case 'flush':
      return runTool('postqueue', ['-f']);
    case 'check':
      if (!checkFatal(cfg, configDir)) return 1;
      checkWarn(cfg);
      return 0;
    case 'status': {
      const pid = running();
      if (pid === undefined) {
        info('the Postfix mail system is not running');
        return 1;
      }
      info(`the Postfix mail system is running: PID: ${pid}`);
      return 0;
    }
    case 'set-permissions':
      createMissing(cfg, true);
      return 0;
    case 'upgrade-configuration':
      createMissing(cfg);
      return 0;
    case 'logrotate':
      return logrotate(rest, cfg, cmd);
    default:
      return fatal(`unknown command: '${cmd}'. ${USAGE}`);
  }
}

async function stop(pid: number, running: () => number | undefined): Promise<number> {
  info('stopping the Postfix mail system');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 5; i++) {
    await sleep(i === 0 ? 200 : 0);
    if (running() === undefined) return 0;
    info('waiting for the Postfix mail system to terminate');
    await sleep(1000);
  }
  if (running() === undefined) return 0;
  warn('stopping the Postfix mail system with force');
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  return 0;
}

/** `master -w`: start the master in its own session and wait for its "initialised" byte. */
function startDetached(configDir: string): Promise<boolean> {
  return new Promise((resolveStart) => {
    const child = spawn(process.execPath, [MASTER_MAIN, '-c', configDir, '-w'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pipe.destroy();
      child.unref();
      resolveStart(ok);
    };
    const timer = setTimeout(() => finish(false), MASTER_INIT_TIMEOUT);
    pipe.on('data', () => finish(true));
    pipe.on('end', () => finish(false));
    pipe.on('error', () => finish(false));
    child.on('exit', () => finish(false));
    child.on('error', () => finish(false));
  });
}

/** Run a sibling Postern command (bin/NAME) with inherited stdio. */
function runTool(name: string, args: string[]): number {
  const res = spawnSync(process.execPath, [join(BIN_DIR, name), ...args], { stdio: 'inherit' });
  return res.status ?? 1;
}

/** post-install create-missing: the queue directories, pid/ and data_directory (master/permissions.ts). */
function createMissing(cfg: Cfg, setPerms = false): void {
  try {
    applyPostfixDirs(cfg, { setPerms });
  } catch (err) {
    fatal(`unable to create missing queue directories: ${(err as Error).message}`);
  }
}

/** postfix-script check-fatal. */
function checkFatal(cfg: Cfg, configDir: string): boolean {
  createMissing(cfg);
  if (!existsSync(join(configDir, 'master.cf'))) fatal(`no ${configDir}/master.cf file found`);
  if (cfg.get('maillog_file') !== '') {
    const entries = readMasterCf(configDir, 'fail');
    if (!entries.some((e) => e.service === 'postlog' && e.type === 'unix-dgram'))
      fatal("missing 'postlog' service in master.cf - run 'postfix upgrade-configuration'");
  }
  return true;
}

/** postfix-script check-warn: ownership and mode warnings (master/permissions.ts). */
function checkWarn(cfg: Cfg): void {
  if (process.getuid?.() !== 0) return; // a non-root Postern owns everything itself
  for (const w of checkWarnings(cfg)) warn(w);
}

async function logrotate(rest: string[], cfg: Cfg, cmd: string): Promise<number> {
  if (rest.length !== 0) fatal(`usage postfix ${cmd} (no arguments)`);
  const values: Record<string, string> = {};
  for (const name of ['maillog_file', 'maillog_file_compressor', 'maillog_file_rotate_suffix']) {
    values[name] = cfg.get(name);
    if (values[name] === '') fatal(`empty '${name}' parameter value - logfile rotation failed`);
  }
  const file = values.maillog_file!;
  if (file.startsWith('/dev/')) fatal(`not rotating '${file}'`);
  const date = spawnSync('date', [`+${values.maillog_file_rotate_suffix}`], { encoding: 'utf8' });
  const suffix = (date.stdout ?? '').trim();
  let errors = '';
  try {
    renameSync(file, `${file}.${suffix}`);
    const pid = masterRunning(cfg.get('queue_directory'));
    if (pid !== undefined) process.kill(pid, 'SIGHUP');
    await sleep(1000);
    const z = spawnSync(values.maillog_file_compressor!, [`${file}.${suffix}`], { encoding: 'utf8' });
    if (z.status !== 0) errors = `${z.stderr ?? ''}${z.error ? z.error.message : ''}`.trim();
  } catch (err) {
    errors = `mv: ${(err as Error).message}`;
  }
  if (errors) fatal(`logfile '${file}' rotation failed: ${errors}`);
  return 0;
}

export { FatalExit };
