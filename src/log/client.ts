/**
 * log/client.ts: maillog_client_init() for Postern processes: after main.cf
 * is read, send every msg.ts message (info, warning, error, fatal, panic)
 * to the mail log as well, tagged mail_task() style.
 *
 * Which programs write where, as in Postfix 3.7 (maillog_client.c callers):
 * - master, postfix, postlog, postsuper use MAILLOG_CLIENT_FLAG_LOGWRITER_FALLBACK:
 *   with maillog_file set they always reach the file (directly when no
 *   postlogd runs) -> `fallback: true`.
 * - daemons and the other tools (postmap, postqueue, sendmail, postdrop,
 *   postalias) reach maillog_file only through a running postlogd, that is
 *   when the mail system runs -> `fallback: false`; Postern checks the
 *   master pid file instead of connecting to public/postlog.
 */
import { fatal } from './msg.js';
import { addMsgOutput, type MsgLevel, type MsgOutput, removeMsgOutput } from './msg.js';
import { Maillog, mailTask, maillogPrefixError } from './maillog.js';
import { masterRunning } from '../master/pidfile.js';

/** The main.cf values logging needs (PostfixConfig fits). */
export interface LogConfig {
  get(name: string): string;
}

export interface MaillogClientOptions {
  /** LOGWRITER_FALLBACK: write maillog_file even when no master runs. */
  fallback: boolean;
  /** A full tag instead of mail_task(progname) (postlog -t). */
  tag?: string;
  /** Without maillog_file and syslog, write lines to stderr (daemons). */
  stderrFallback?: boolean;
}

let current: { log: Maillog; out: MsgOutput } | undefined;

/**
 * Check maillog_file against maillog_file_prefixes (fatal, with Postfix's
 * words, when it matches none) and route msg.ts output to the mail log.
 * Calling it again replaces the earlier setup (postlog re-inits with -t).
 */
export function maillogClientInit(cfg: LogConfig, progname: string, opts: MaillogClientOptions): Maillog {
  maillogClientClose();
  const file = cfg.get('maillog_file');
  const bad = maillogPrefixError(file, cfg.get('maillog_file_prefixes'));
  if (bad) fatal(bad);
  const useFile = file !== '' && (opts.fallback || masterRunning(cfg.get('queue_directory')) !== undefined);
  const log = new Maillog({
    tag: opts.tag ?? mailTask(progname, cfg.get('syslog_name')),
    myhostname: cfg.get('myhostname') || process.env.POSTLOG_HOSTNAME || '',
    maillogFile: useFile ? file : '',
    syslogFacility: cfg.get('syslog_facility') || 'mail',
    // A tool whose postlogd is down logs nowhere but stderr, like Postfix.
    stderrFallback: file === '' ? (opts.stderrFallback ?? false) : false,
    // Workers write through the descriptor the master opened (they may run unprivileged).
    fd: process.env.POSTERN_MAILLOG_FD ? Number(process.env.POSTERN_MAILLOG_FD) : undefined,
  });
  if (file !== '' && !useFile) {
    // maillog_file set but no postlogd: the line is lost, as in Postfix.
    return log;
  }
  const out: MsgOutput = (level: MsgLevel, text: string) => log.log(level, text);
  addMsgOutput(out);
  current = { log, out };
  return log;
}

/** Stop copying messages to the mail log. */
export function maillogClientClose(): void {
  if (!current) return;
  removeMsgOutput(current.out);
  current.log.close();
  current = undefined;
}

/** The active mail log, if any. */
export function currentMaillog(): Maillog | undefined {
  return current?.log;
}
