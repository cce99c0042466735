/**
 * bounce/log.ts: the per-message delivery logs bounce(8) keeps under
 * queue_directory (bounce_append_service.c writes, bounce_log.c reads):
 *
 *   bounce/ID   recipients that failed permanently (non-delivery notice)
 *   defer/ID    recipients that will be retried (mailq reasons, delay
 *               warnings, the notice when the message expires)
 *   trace/ID    successful deliveries with NOTIFY=SUCCESS, sendmail -v/-bv
 *
 * FORMAT (plain text, one entry per recipient, blank line before and after;
 * the first line is the pre-2.3 form kept for backwards_bounce_logfile_
 * compatibility = yes, the default):
 *
 *   <blank>
 *   <user@example.com>: reason text
 *   recipient=user@example.com          (quoted RFC 822 local part; "<>" when empty)
 *   original_recipient=alias@example.com   (when set and different, case-insensitive)
 *   offset=1234                          (of the R record, when > 0)
 *   dsn_orig_rcpt=rfc822;alias@example.com
 *   notify_flags=6
 *   status=4.4.1
 *   action=delayed
 *   diag_type=smtp                       (with diag_text, when both are set)
 *   diag_text=450 4.1.1 try later
 *   mta_type=dns                         (with mta_mname, when both are set)
 *   mta_mname=mx.example.com
 *   reason=connect to ...: Connection refused
 *   <blank>
 *
 * Appends are one write(2) plus fsync under an exclusive lock in Postfix;
 * here one appendFile per entry (the qmgr is the only writer of a
 * message's logs at a time) followed by fsync.
 */
import { constants } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { makeParentDirs, type QueueLayout, queuePath } from '../queue/layout.js';
import { quote822Local } from '../maps/address.js';

export type LogService = 'bounce' | 'defer' | 'trace';

/** What bounce_log_read() gives back per entry (RECIPIENT + DSN). */
export interface LogRecipient {
  address: string;
  origAddr: string;
  dsnOrcpt: string;
  dsnNotify: number;
  offset: number;
}

export interface LogDsn {
  status: string;
  action: string;
  reason: string;
  dtype: string;
  dtext: string;
  mtype: string;
  mname: string;
}

export interface LogEntry {
  rcpt: LogRecipient;
  dsn: LogDsn;
}

const notEmpty = (s: string | undefined): s is string => s !== undefined && s !== '';

/** The text of one entry, exactly as bounce_append_service() writes it. */
export function formatLogEntry(rcpt: LogRecipient, dsn: Partial<LogDsn> & { reason: string }, oldlogCompat = true): string {
  let out = '\n';
  const q = (a: string) => quote822Local(a);
  if (oldlogCompat) out += `<${rcpt.address === '' ? '' : q(rcpt.address)}>: ${dsn.reason}\n`;
  out += `recipient=${rcpt.address !== '' ? q(rcpt.address) : '<>'}\n`;
  if (notEmpty(rcpt.origAddr) && rcpt.address.toLowerCase() !== rcpt.origAddr.toLowerCase()) {
    out += `original_recipient=${q(rcpt.origAddr)}\n`;
  }
  if (rcpt.offset > 0) out += `offset=${rcpt.offset}\n`;
  if (notEmpty(rcpt.dsnOrcpt)) out += `dsn_orig_rcpt=${rcpt.dsnOrcpt}\n`;
  if (rcpt.dsnNotify !== 0) out += `notify_flags=${rcpt.dsnNotify}\n`;
  if (notEmpty(dsn.status)) out += `status=${dsn.status}\n`;
  if (notEmpty(dsn.action)) out += `action=${dsn.action}\n`;
  if (notEmpty(dsn.dtype) && notEmpty(dsn.dtext)) out += `diag_type=${dsn.dtype}\ndiag_text=${dsn.dtext}\n`;
  if (notEmpty(dsn.mtype) && notEmpty(dsn.mname)) out += `mta_type=${dsn.mtype}\nmta_mname=${dsn.mname}\n`;
  if (notEmpty(dsn.reason)) out += `reason=${dsn.reason}\n`;
  return `${out}\n`;
}

/** bounce_append_service(): append one entry (O_APPEND, then fsync). */
export async function appendLog(
  layout: QueueLayout,
  service: LogService,
  queueId: string,
  rcpt: LogRecipient,
  dsn: Partial<LogDsn> & { reason: string },
  oldlogCompat = true,
): Promise<void> {
  const path = queuePath(layout, service, queueId);
  const text = Buffer.from(formatLogEntry(rcpt, dsn, oldlogCompat), 'latin1');
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await makeParentDirs(path);
    fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  }
  try {
    await fh.write(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** printable(s, '?'): keep printable ASCII and valid UTF-8, else '?'. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** split_nameval() for "name=value" lines. */
function splitNameval(line: string): [string, string] | undefined {
  const eq = line.indexOf('=');
  if (eq < 0) return undefined;
  const name = line.slice(0, eq).trim();
  if (name === '' || /\s/.test(name)) return undefined;
  return [name, line.slice(eq + 1).trim()];
}

/**
 * bounce_log_read() over a whole log: every entry, with Postfix's place
 * holders for missing fields ("(recipient address unavailable)"; for the
 * defer log status 4.0.0 / action delayed, else 5.0.0 / failed).
 */
export function parseLog(text: string, service: LogService, warn: (t: string) => void = () => {}, path = service): LogEntry[] {
  const compat = service === 'defer' ? { status: '4.0.0', action: 'delayed' } : { status: '5.0.0', action: 'failed' };
  const out: LogEntry[] = [];
  const lines = text.split('\n');
  // vstring_get_nonl() at EOF: a last line without newline still counts,
  // but an entry without a terminating blank line is not returned.
  if (lines[lines.length - 1] === '') lines.pop();
  let found = false;
  let rcpt: LogRecipient = { address: '', origAddr: '', dsnOrcpt: '', dsnNotify: 0, offset: 0 };
  let dsn: LogDsn = { status: '', action: '', reason: '', dtype: '', dtext: '', mtype: '', mname: '' };
  const reset = () => {
    rcpt = { address: '', origAddr: '', dsnOrcpt: '', dsnNotify: 0, offset: 0 };
    dsn = { status: '', action: '', reason: '', dtype: '', dtext: '', mtype: '', mname: '' };
  };
  const flush = () => {
    if (rcpt.address === '') rcpt.address = '(recipient address unavailable)';
    if (dsn.status === '') dsn.status = compat.status;
    if (dsn.action === '') dsn.action = compat.action;
    if (dsn.reason === '') dsn.reason = '(description unavailable)';
    out.push({ rcpt, dsn });
    reset();
    found = false;
  };
  for (const raw of lines) {
    if (raw === '') {
      if (found) flush();
      continue;
    }
    const cp = printable(raw);
    found = true;
    if (/^[A-Za-z0-9]/.test(cp)) {
      const nv = splitNameval(cp);
      if (!nv) {
        warn(`${path}: malformed record: missing '=' after attribute name`);
        continue;
      }
      const [name, value] = nv;
      switch (name) {
        case 'recipient':
          rcpt.address = value !== '' ? value : '(MAILER-DAEMON)';
          break;
        case 'original_recipient':
          rcpt.origAddr = value !== '' ? value : '(MAILER-DAEMON)';
          break;
        case 'dsn_orig_rcpt':
          rcpt.dsnOrcpt = value;
          break;
        case 'notify_flags': {
          const n = Number.parseInt(value, 10);
          if (n > 0 && n < 16) rcpt.dsnNotify = n;
          break;
        }
        case 'offset': {
          const n = Number.parseInt(value, 10);
          if (n > 0) rcpt.offset = n;
          break;
        }
        case 'status':
          dsn.status = value;
          break;
        case 'action':
          dsn.action = value;
          break;
        case 'diag_type':
          dsn.dtype = value;
          break;
        case 'diag_text':
          dsn.dtext = value;
          break;
        case 'mta_type':
          dsn.mtype = value;
          break;
        case 'mta_mname':
          dsn.mname = value;
          break;
        case 'reason':
          dsn.reason = value;
          break;
        default:
          warn(`${path}: unknown attribute name: ${name}, ignored`);
      }
      continue;
    }
    if (cp[0] !== '<') {
      warn(`${path}: malformed record: ${cp.slice(0, 30)}...`);
      continue;
    }
    const end = cp.indexOf('>: ', 1);
    if (end < 0) {
      warn(`${path}: malformed record: ${cp.slice(0, 30)}...`);
      continue;
    }
    const r = cp.slice(1, end);
    rcpt.address = r !== '' ? r : '(MAILER-DAEMON)';
    dsn.reason = cp.slice(end + 2).replace(/^\s+/, '');
  }
  return out;
}

/** Read a log; undefined when it does not exist. */
export async function readLog(layout: QueueLayout, service: LogService, queueId: string): Promise<LogEntry[] | undefined> {
  const path = queuePath(layout, service, queueId);
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseLog(text, service);
}

/** Size of a log (-1 when absent). */
export async function logSize(layout: QueueLayout, service: LogService, queueId: string): Promise<number> {
  try {
    return (await stat(queuePath(layout, service, queueId))).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw err;
  }
}

/** mail_queue_remove() of a log; a missing file is fine. */
export async function removeLog(layout: QueueLayout, service: LogService, queueId: string): Promise<void> {
  try {
    await unlink(queuePath(layout, service, queueId));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
