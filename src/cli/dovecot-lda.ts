/**
 * cli/dovecot-lda.ts: Dovecot's local delivery agent (src/lda/main.c), for
 * Postfix's mailbox_command or a pipe transport:
 *
 *   dovecot-lda [-c <config file>] [-d <username>] [-p <path>] [-m <mailbox>]
 *               [-e] [-k] [-f <envelope sender>] [-a <original envelope recipient>]
 *               [-r <final envelope recipient>] [-o key=value]
 *
 * The message is read from stdin (a leading mbox "From " line is dropped and
 * gives the envelope sender and the received date) or from -p <path>, and
 * saved into -m <mailbox> (missing → INBOX unless lda_mailbox_autocreate)
 * unchanged: the LDA adds no headers. The user is looked up through the
 * auth service's userdb socket (auth_socket_path under base_dir).
 *
 * Exit codes (sysexits): 0 delivered (or rejected and the rejection sent),
 * 64 EX_USAGE, 67 EX_NOUSER, 75 EX_TEMPFAIL (including every Fatal), 77
 * EX_NOPERM (rejected with -e; the reason on stderr), 89 config error.
 * Usage errors go to stdout/stderr as the real one prints them; everything
 * after the options is logged to log_path in Dovecot's format
 * ("lda(user)<pid><session>: Info: msgid=…: saved mail to INBOX").
 */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ParsedConfig, parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { varExpand } from '../../compat/dovecot/var-expand.js';
import { parseMailPath, parsePath, type SmtpAddress } from '../lmtp/address.js';
import { messageIdForLog } from '../lmtp/headers.js';
import { firstHeader, sendRejection } from '../lmtp/rejection.js';
import { deliver } from '../storage/deliver.js';
import { MailError } from '../storage/errors.js';
import { sessionId } from '../storage/guid.js';
import { getpwuid } from '../util/passwd.js';
import { serviceLookup } from '../storage/service.js';
import { isValidUtf8Name } from '../storage/mutf7.js';
import { getopt } from '../util/getopt.js';

export const EX_OK = 0;
export const EX_USAGE = 64;
export const EX_NOUSER = 67;
export const EX_TEMPFAIL = 75;
export const EX_NOPERM = 77;
export const EX_CONFIG = 89;

const USAGE =
  'Usage: dovecot-lda [-c <config file>] [-d <username>] [-p <path>]\n' +
  '                   [-m <mailbox>] [-e] [-k] [-f <envelope sender>]\n' +
  '                   [-a <original envelope recipient>]\n' +
  '                   [-r <final envelope recipient>] \n';

/** Thrown to end the program with a status (i_fatal_status). */
class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

/** Dovecot's log line writer for this process (log_path, log_timestamp). */
class LdaLog {
  prefix = 'lda: ';
  constructor(
    private readonly path: string | undefined,
    private readonly timestamp: string,
  ) {}
  line(level: 'Info' | 'Warning' | 'Error' | 'Fatal', text: string): void {
    if (!this.path || this.path === 'syslog') return;
    const p = this.path === '/dev/stderr' ? undefined : this.path;
    const out = `${strftime(this.timestamp, new Date())}${this.prefix}${level}: ${text}\n`;
    if (!p) process.stderr.write(out);
    else {
      try {
        appendFileSync(p, out);
      } catch {
        process.stderr.write(out);
      }
    }
  }
}

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** The strftime subset log_timestamp uses ("%b %d %H:%M:%S "). */
function strftime(fmt: string, d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return fmt.replace(/%([bdHMSYmy%])/g, (_, c: string) => {
    switch (c) {
      case 'b':
        return MON[d.getMonth()] as string;
      case 'd':
        return p2(d.getDate());
      case 'H':
        return p2(d.getHours());
      case 'M':
        return p2(d.getMinutes());
      case 'S':
        return p2(d.getSeconds());
      case 'Y':
        return String(d.getFullYear());
      case 'm':
        return p2(d.getMonth() + 1);
      case 'y':
        return p2(d.getFullYear() % 100);
      default:
        return '%';
    }
  });
}

/** mbox_from_parse(): "From <sender> <asctime>" → sender and time. */
export function parseFromLine(line: string): { sender?: string; time?: Date } {
  const m = /^From (\S+)\s+(?:[A-Z][a-z]{2}\s+)?([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:[A-Z]{3,4}\s+|[+-]\d{4}\s+)?(\d{4})/.exec(line);
  if (!m) {
    const s = /^From (\S+)/.exec(line);
    return s ? { sender: s[1] as string } : {};
  }
  const mon = MON.indexOf(m[2] as string);
  if (mon < 0) return { sender: m[1] as string };
  const t = new Date(Number(m[7]), mon, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return { sender: m[1] as string, time: t };
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await lda(argv);
  } catch (e) {
    if (e instanceof Exit) return e.status;
    throw e;
  }
}

async function lda(argv: string[]): Promise<number> {
  const prog = process.argv[1] ?? 'dovecot-lda';
  const early = (text: string, status: number): never => {
    process.stderr.write(`lda: Fatal: ${text}\n`);
    throw new Exit(status);
  };
  const g = getopt(argv, 'a:d:ef:m:p:r:c:i:ko:OL');
  if (!g.ok) {
    process.stderr.write(`${prog}: ${g.error}\n`);
    process.stdout.write(USAGE);
    return EX_USAGE;
  }
  let configPath = '/etc/dovecot/dovecot.conf';
  const overrides = new Map<string, string>();
  let user = process.env.USER;
  let userFromOpt = false;
  let rcptTo: SmtpAddress | undefined;
  let finalRcptTo: SmtpAddress | undefined;
  let mailFrom: SmtpAddress | undefined;
  let mailbox = 'INBOX';
  let path: string | undefined;
  let stderrRejection = false;
  for (const [o, v] of g.opts) {
    const val = v ?? '';
    switch (o) {
      case 'c':
        configPath = val;
        break;
      case 'o': {
        const eq = val.indexOf('=');
        if (eq < 0) early(`Configuration line is missing '=': ${val}`, EX_CONFIG);
        overrides.set(val.slice(0, eq), val.slice(eq + 1));
        break;
      }
      case 'a': {
        const r = parsePath(val, { allowLocalpart: true, bracketsOptional: true });
        if (r.error || !r.address || r.rest !== '') early(`Invalid -a parameter: ${r.error ?? 'Invalid character in path'}`, EX_USAGE);
        rcptTo = r.address;
        break;
      }
      case 'd':
        user = val;
        userFromOpt = true;
        break;
      case 'e':
        stderrRejection = true;
        break;
      case 'f': {
        const r = parseMailPath(val, { bracketsOptional: true, allowLocalpart: true });
        if (r.error) early(`Invalid -f parameter: ${r.error}`, EX_USAGE);
        mailFrom = r.address;
        break;
      }
      case 'm':
        if (val !== '') {
          if (!isValidUtf8Name(val)) early(`Mailbox name not UTF-8: ${val}`, EX_TEMPFAIL);
          mailbox = val;
        }
        break;
      case 'p':
        path = isAbsolute(val) ? val : resolve(val);
        break;
      case 'r': {
        const r = parsePath(val, { allowLocalpart: true, bracketsOptional: true });
        if (r.error || !r.address || r.rest !== '') early(`Invalid -r parameter: ${r.error ?? 'Invalid character in path'}`, EX_USAGE);
        finalRcptTo = r.address;
        break;
      }
      default:
        // -i instance, -k, -O, -L: master service options Postern does not need
        break;
    }
  }
  if (g.operands.length > 0) {
    process.stdout.write(USAGE);
    early(`Unknown argument: ${g.operands[0]}`, EX_USAGE);
  }
  const euid = process.geteuid?.() ?? 0;
  if (!userFromOpt) {
    if (euid !== 0) {
      if (!(user && process.env.HOME)) {
        const pw = getpwuid(euid);
        if (pw) user = pw.name;
        else if (!user) early(`Couldn't lookup our username (uid=${euid})`, EX_USAGE);
      }
    } else {
      early('destination user parameter (-d user) not given', EX_USAGE);
    }
  }
  const username = user as string;

  let cfg: ParsedConfig;
  try {
    cfg = parseConfigFile(configPath, { expand: true });
    if (cfg.lateError) throw cfg.lateError;
  } catch (e) {
    if (e instanceof ConfigError) early(e.message, EX_CONFIG);
    throw e;
  }
  const preView = (await import('../../compat/dovecot/settings-view.js')).settingsView(cfg, { protocol: 'lda' }, overrides);
  const log = new LdaLog(preView.get('log_path'), preView.get('log_timestamp') ?? '%b %d %H:%M:%S ');
  const session = sessionId();
  log.prefix = `lda(${username})<${process.pid}><${session}>: `;
  const fatal = (text: string, status = EX_TEMPFAIL): never => {
    log.line('Fatal', text);
    throw new Exit(status);
  };

  const lookup = await serviceLookup({ cfg, service: 'lda', username, overrides, info: { sessionId: session } }).catch((e) => {
    // the user could not be initialised: Dovecot has no user log prefix yet
    log.prefix = `lda(${process.pid}): `;
    if (e instanceof MailError) fatal(e.internal ?? e.message);
    throw e;
  });
  if (lookup.ret === 0) return EX_NOUSER;
  if (lookup.ret < 0 || !lookup.user) fatal(lookup.error ?? 'Internal error occurred. Refer to server log for more information.');
  const mailUser = lookup.user as NonNullable<typeof lookup.user>;
  const set = lookup.settings;
  log.prefix = `lda(${mailUser.username})<${process.pid}><${session}>: `;

  // the message
  let raw: Buffer;
  let received: Date | undefined;
  if (path !== undefined) {
    try {
      raw = readFileSync(path);
      received = statSync(path).mtime;
    } catch {
      return fatal(`Can't open delivery mail as raw: Mailbox doesn't exist: ${path}`);
    }
  } else {
    raw = await readStdin();
    if (raw.subarray(0, 5).toString('latin1') === 'From ') {
      const nl = raw.indexOf(10);
      const line = raw.subarray(0, nl < 0 ? raw.length : nl).toString('latin1');
      raw = nl < 0 ? Buffer.alloc(0) : raw.subarray(nl + 1);
      const f = parseFromLine(line.replace(/\r$/, ''));
      if (f.time) received = f.time;
      if (f.sender !== undefined && mailFrom === undefined) {
        const r = parsePath(f.sender, { bracketsOptional: true });
        if (r.error) log.line('Warning', `Failed to parse address from \`From_'-line: ${r.error}`);
        else mailFrom = r.address;
      }
    }
  }

  // the recipient address for the rejection and logs
  if (!rcptTo) {
    const hdr = set.get('lda_original_recipient_header') ?? '';
    if (hdr !== '') {
      const v = firstHeader(raw, hdr);
      if (v !== undefined) {
        const r = parsePath(v.replace(/^.*<|>.*$/g, ''), { bracketsOptional: true, allowLocalpart: true });
        if (!r.error) rcptTo = r.address;
      }
    }
  }
  if (!rcptTo) {
    const at = username.lastIndexOf('@');
    rcptTo = at < 0 ? { localpart: username, domain: set.get('hostname') || (await import('node:os')).hostname() } : { localpart: username.slice(0, at), domain: username.slice(at + 1) };
  }
  const finalRcpt = finalRcptTo ?? rcptTo;

  const msgid = messageIdForLog(raw);
  const res = await deliver({
    user: mailUser,
    message: raw,
    mailbox,
    autoCreate: set.bool('lda_mailbox_autocreate'),
    autoSubscribe: set.bool('lda_mailbox_autosubscribe'),
    ...(received ? { internalDate: received } : {}),
    log: (text) => log.line('Info', `msgid=${msgid}: ${text}`),
  });
  if (res.ok) return EX_OK;
  if (stderrRejection) process.stderr.write(`${res.error}\n`);
  if (res.kind === 'temp') return EX_TEMPFAIL;
  // NOQUOTA
  if (set.bool('quota_full_tempfail')) return EX_TEMPFAIL;
  log.line('Info', `msgid=${msgid}: rejected: ${res.error.length > 512 ? `${res.error.slice(0, 509)}...` : res.error}`);
  if (stderrRejection) return EX_NOPERM;
  const hostname = set.get('hostname') || (await import('node:os')).hostname();
  const at = mailUser.username.lastIndexOf('@');
  const postmaster = varExpand(set.get('postmaster_address') ?? '', [
    { key: 'd', long: 'domain', value: at < 0 ? '' : mailUser.username.slice(at + 1) },
    { key: 'n', long: 'username', value: at < 0 ? mailUser.username : mailUser.username.slice(0, at) },
    { key: 'u', long: 'user', value: mailUser.username },
    { long: 'hostname', value: hostname },
  ]).value;
  let returnAddress = mailFrom;
  if (!returnAddress || (returnAddress.localpart === '' && returnAddress.domain === undefined)) {
    const rp = firstHeader(raw, 'Return-Path');
    if (rp !== undefined) {
      const r = parsePath(rp.trim(), { bracketsOptional: true, allowEmpty: true });
      returnAddress = r.error ? undefined : r.address;
    } else returnAddress = undefined;
  }
  const sent = await sendRejection({
    message: raw,
    recipient: finalRcpt,
    ...(returnAddress ? { returnAddress } : {}),
    reason: res.error,
    hostname,
    postmasterAddress: postmaster,
    rejectionSubject: set.get('rejection_subject') ?? 'Rejected: %s',
    rejectionReason: set.get('rejection_reason') ?? 'Your message to <%t> was automatically rejected:%n%r',
    mailboxFull: true,
    sendmailPath: set.get('sendmail_path') ?? '/usr/sbin/sendmail',
    log: (level, text) => log.line(level === 'info' ? 'Info' : 'Error', text),
  });
  return sent < 0 ? EX_TEMPFAIL : EX_OK;
}

function readStdin(): Promise<Buffer> {
  return new Promise((resolveP, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (d: Buffer) => chunks.push(d));
    process.stdin.on('end', () => resolveP(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}
