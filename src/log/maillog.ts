/**
 * log/maillog.ts: the mail log, in Postfix's exact line format.
 *
 * Line format (msg_logger.c, the same bytes postlogd(8) appends to
 * maillog_file):
 *
 *   Mon DD HH:MM:SS host tag[pid]: text            (info)
 *   Mon DD HH:MM:SS host tag[pid]: warning: text   (warning, error, fatal, panic)
 *
 * - the date is strftime("%b %d %H:%M:%S") in local time and the C locale,
 *   so the day is zero-padded ("Nov 03"), unlike classic syslog's "%e";
 * - host is the first label of $myhostname ("amnesiac" when empty);
 * - tag is mail_task(): "$syslog_name/<program>" (postfix/smtpd,
 *   postfix/submission/smtpd) or a postlog -t tag;
 * - text is cut at 2000 bytes (MSG_LOGGER_RECLEN).
 *
 * Sinks (maillog_client.c decides between them the same way):
 * - maillog_file set: append the line to that file. Postfix sends the line
 *   to postlogd(8) over a unix-domain datagram socket; Node cannot use
 *   datagram unix sockets without a native module, so every Postern process
 *   is its own log writer: it opens the file with O_APPEND and writes each
 *   line with one write(2), which the kernel keeps whole for regular files.
 *   The result on disk is the same as postlogd's. /dev/stdout works too.
 *   maillog_file must start with one of $maillog_file_prefixes, else every
 *   program dies with "maillog_file value '...' does not match any prefix
 *   in maillog_file_prefixes" (real Postfix 3.7.11).
 * - maillog_file empty: syslog. Node cannot write to the /dev/log datagram
 *   socket either, so when /dev/log exists Postern hands the lines to a
 *   long-lived util-linux `logger` child (facility from $syslog_facility).
 *   Without /dev/log (containers) or `logger`, daemon lines go to stderr in
 *   the format above, which is what a container log collector wants; a
 *   command-line tool already shows its messages on stderr and adds nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';

export type Severity = 'info' | 'warning' | 'error' | 'fatal' | 'panic';

/** MSG_LOGGER_RECLEN: longest text that goes into one record. */
export const MAILLOG_RECLEN = 2000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** strftime("%b %d %H:%M:%S") in local time. */
export function formatTimestamp(d: Date): string {
  return `${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The host field: first label of myhostname, "amnesiac" when there is none. */
export function logHostname(myhostname: string | undefined): string {
  const h = myhostname || 'amnesiac';
  const dot = h.indexOf('.');
  return dot < 0 ? h : h.slice(0, dot);
}

/** Cut text to MAILLOG_RECLEN bytes (C's "%.*s" counts bytes). */
function clip(text: string): string {
  if (text.length <= MAILLOG_RECLEN / 4) return text;
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= MAILLOG_RECLEN ? text : buf.subarray(0, MAILLOG_RECLEN).toString('utf8');
}

/** Text as it follows "tag[pid]: ": info has no severity word. */
export function severityText(level: Severity, text: string): string {
  return level === 'info' ? clip(text) : `${level}: ${clip(text)}`;
}

/** One complete log line, without the newline. */
export function formatLogLine(
  date: Date,
  host: string,
  tag: string,
  pid: number,
  level: Severity,
  text: string,
): string {
  return `${formatTimestamp(date)} ${host} ${tag}[${pid}]: ${severityText(level, text)}`;
}

/**
 * maillog_client_init's check: maillog_file must start with one of the
 * prefixes (plain string prefixes, comma/space separated). Returns the
 * fatal text when it does not, else undefined.
 */
export function maillogPrefixError(file: string, prefixes: string): string | undefined {
  if (!file) return undefined;
  for (const p of prefixes.split(/[\s,]+/)) {
    if (p !== '' && file.startsWith(p)) return undefined;
  }
  return `maillog_file value '${file}' does not match any prefix in maillog_file_prefixes`;
}

/** mail_task(): "$syslog_name/prog"; MAIL_LOGTAG in the environment wins, as in Postfix. */
export function mailTask(progname: string, syslogName: string): string {
  const slash = progname.lastIndexOf('/');
  const base = slash >= 0 && slash + 1 < progname.length ? progname.slice(slash + 1) : progname;
  const tag = process.env.MAIL_LOGTAG || syslogName || 'postfix';
  return `${tag}/${base}`;
}

/** Where lines go. */
export interface LogSink {
  write(level: Severity, line: string): void;
  close(): void;
}

/** Append to maillog_file: one write(2) per line on an O_APPEND descriptor. */
export class FileSink implements LogSink {
  /** `fd`: a descriptor already open on the file (inherited from the master). */
  constructor(
    readonly path: string,
    private fd = -1,
  ) {}
  private open(): void {
    // logwriter_open_or_die(): O_CREAT|O_WRONLY|O_APPEND, mode 0644.
    this.fd = openSync(this.path, 'a', 0o644);
  }
  write(_level: Severity, line: string): void {
    if (this.fd < 0) this.open();
    writeSync(this.fd, `${line}\n`);
  }
  /** Close now; the next line reopens (after `postfix logrotate` renamed the file). */
  reopen(): void {
    this.close();
  }
  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already gone */
      }
      this.fd = -1;
    }
  }
}

/** Lines in maillog format on stderr (no syslog socket). */
export class StderrSink implements LogSink {
  write(_level: Severity, line: string): void {
    try {
      writeSync(2, `${line}\n`);
    } catch {
      /* stderr closed: nothing else to tell */
    }
  }
  close(): void {}
}

const SYSLOG_LEVEL: Record<Severity, number> = { info: 6, warning: 4, error: 3, fatal: 2, panic: 2 };
const SYSLOG_FACILITY: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

/** True when syslog_facility names a facility msg_syslog knows. */
export function isSyslogFacility(name: string): boolean {
  return name in SYSLOG_FACILITY;
}

/**
 * syslog through a `logger --prio-prefix` child: the line's "<PRI>" picks
 * facility and severity, logger adds the timestamp and host as syslogd
 * does for Postfix's own syslog(3) calls.
 */
export class LoggerSink implements LogSink {
  private child: ChildProcess | undefined;
  constructor(
    private readonly tag: string,
    private readonly facility: string,
  ) {}
  static available(): boolean {
    return existsSync('/dev/log') && (existsSync('/usr/bin/logger') || existsSync('/bin/logger'));
  }
  write(level: Severity, line: string): void {
    if (!this.child) {
      this.child = spawn('logger', ['--prio-prefix', '-u', '/dev/log', '-t', this.tag, `--id=${process.pid}`], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      this.child.on('error', () => {
        this.child = undefined;
      });
      this.child.unref();
      (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    }
    const pri = (SYSLOG_FACILITY[this.facility] ?? 2) * 8 + SYSLOG_LEVEL[level];
    // Syslog carries only the text after "tag[pid]: ".
    const at = line.indexOf(']: ');
    this.child.stdin?.write(`<${pri}>${at >= 0 ? line.slice(at + 3) : line}\n`);
  }
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }
}

/** What a process needs to know to log (main.cf values, already expanded). */
export interface MaillogSettings {
  /** mail_task() tag: "postfix/master", "postfix/submission/smtpd", a postlog -t tag. */
  tag: string;
  /** $myhostname. */
  myhostname: string;
  /** $maillog_file ('' = syslog). */
  maillogFile: string;
  /** $syslog_facility. */
  syslogFacility: string;
  /** Without maillog_file and syslog: write lines to stderr (daemons) or drop them (tools). */
  stderrFallback: boolean;
  /** A descriptor open on maillogFile (workers inherit the master's). */
  fd?: number;
}

/** The process-wide mail log. */
export class Maillog {
  private sink: LogSink | undefined;
  private host: string;
  constructor(private settings: MaillogSettings) {
    this.host = logHostname(settings.myhostname);
  }
  get tag(): string {
    return this.settings.tag;
  }
  setTag(tag: string): void {
    if (tag !== this.settings.tag) {
      this.settings = { ...this.settings, tag };
      if (this.sink instanceof LoggerSink) this.closeSink();
    }
  }
  private makeSink(): LogSink | undefined {
    const s = this.settings;
    if (s.maillogFile) return new FileSink(s.maillogFile, s.fd ?? -1);
    if (LoggerSink.available()) return new LoggerSink(s.tag, s.syslogFacility);
    return s.stderrFallback ? new StderrSink() : undefined;
  }
  log(level: Severity, text: string): void {
    if (!this.sink) this.sink = this.makeSink();
    if (!this.sink) return;
    this.sink.write(level, formatLogLine(new Date(), this.host, this.settings.tag, process.pid, level, text));
  }
  info(text: string): void {
    this.log('info', text);
  }
  warn(text: string): void {
    this.log('warning', text);
  }
  error(text: string): void {
    this.log('error', text);
  }
  /** Reopen the file on the next line (SIGHUP after logrotate). */
  reopen(): void {
    this.closeSink();
  }
  private closeSink(): void {
    this.sink?.close();
    this.sink = undefined;
  }
  close(): void {
    this.closeSink();
  }
}
