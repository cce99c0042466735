/**
 * cleanup/log.ts: cleanup's own mail log lines. Postfix's cleanup is a
 * separate daemon, so its lines read "postfix/cleanup[PID]: ID:
 * message-id=<...>"; Postern runs cleanup inside the mail source (smtpd,
 * pickup) but keeps that tag, so pflogsumm and friends see the same lines.
 */
import { Maillog, mailTask } from '../log/maillog.js';
import type { CleanupLog } from './state.js';

/** The view of main.cf logging needs (PostfixConfig and worker configs fit). */
export interface LogConfig {
  get(name: string): string;
}

/** A mail log tagged "$syslog_name/cleanup", writing where the process's own log writes. */
export function cleanupMaillog(cfg: LogConfig): CleanupLog {
  const file = cfg.get('maillog_file');
  const log = new Maillog({
    tag: mailTask('cleanup', cfg.get('syslog_name')),
    myhostname: cfg.get('myhostname'),
    maillogFile: file,
    syslogFacility: cfg.get('syslog_facility') || 'mail',
    stderrFallback: file === '',
    fd: process.env.POSTERN_MAILLOG_FD ? Number(process.env.POSTERN_MAILLOG_FD) : undefined,
  });
  return { info: (t) => log.info(t), warn: (t) => log.warn(t) };
}
