/**
 * cli/sendmail.ts: the Sendmail-compatible interface, sendmail(1) of Postfix
 * 3.7 (src/sendmail/sendmail.c): options, diagnostics and exit status as
 * the real one. Mail is handed to postdrop(1) (Postern's, or the program in
 * $POSTERN_POSTDROP) over the queue-file record protocol; pickup(8) then
 * feeds it to cleanup.
 *
 *   sendmail [options] [recipient...]      enqueue (default, -bm)
 *   -t   also take recipients from To:/Cc:/Bcc: (or Resent-*: when present)
 *   -i, -oi   a line with a single "." does not end the input
 *   -f sender, -r sender   envelope sender ("<>" = null sender)
 *   -F name   full name;  -G  gateway (remote rewriting context)
 *   -N dsn, -R ret, -V envid, -XV / -XVxy (VERP), -B 7BIT|8BITMIME
 *   -bv  address verification report;  -v  delivery report
 *   -q, -qRsite, -qIid   flush (postqueue -f / -s / -i);  -bd, -bl  start the mail system
 *   -bi, -I   newaliases;  -bh, -bH  ignored;  -bp  postqueue -p (mailq)
 *   -bs  stand-alone SMTP (needs smtpd -S; not yet in Postern)
 *
 * Like Postfix's, every fatal error exits with EX_TEMPFAIL (75): sendmail
 * installs a cleanup hook that turns any fatal exit into a temporary
 * failure, so mail user agents retry instead of losing mail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { basename, dirname } from 'node:path';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { maillogClientInit } from '../log/client.js';
import { fatal, FatalExit, info, msgVerbose, setVerbose, warn } from '../log/msg.js';
import { out, flushStdout } from '../util/out.js';
import { strerror } from '../util/strerror.js';
import { attrScan0 } from '../queue/attr0.js';
import { encodeRecord, Rec, REC_EOF } from '../queue/record.js';
import { checkUserAcl, currentUid, fullname, username } from '../queue/submit.js';
import { HDR_OPT_EXTRACT, HDR_OPT_RECIP, HDR_OPT_RR } from '../cleanup/header-opts.js';
import { MIME_HDR_PRIMARY, MIME_OPT_DISABLE_MIME, MIME_OPT_REPORT_TRUNC_HEADER, MimeState, mimeError } from '../cleanup/mime.js';
import { extractAddresses, grep, internalize, parse, TOK_ADDR } from '../cleanup/tok822.js';
import { CleanupStat } from '../cleanup/types.js';
import { cleanupStrerror } from '../cleanup/strerror.js';

const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_UNAVAILABLE = 69;
const EX_SOFTWARE = 70;
const EX_OSERR = 71;
const EX_TEMPFAIL = 75;
const EX_NOPERM = 77;

const SM_FLAG_AEOF = 1 << 0;
const SM_FLAG_XRCPT = 1 << 1;
const DEL_REQ_FLAG_USR_VRFY = 1 << 9;
const DEL_REQ_FLAG_RECORD = 1 << 10;
const TRACE_MASK = (1 << 8) | (1 << 9) | (1 << 10) | (1 << 13);
const TRACE_ONLY_MASK = (1 << 8) | (1 << 9);

type Mode = 'enqueue' | 'newalias' | 'mailq' | 'daemon' | 'user' | 'flushq' | 'ignore';

const OPTSTRING = 'A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx';

/** One getopt(3) step over argv (glibc words); the index and cluster position persist. */
class Getopt {
  optind = 0;
  private pos = 1;
  constructor(
    private readonly argv: string[],
    private readonly optstring: string,
  ) {}
  /** The next option, or undefined at the first operand / "--" / end. */
  next(): { ch: string; arg?: string } | { error: string; ch: string } | undefined {
    const arg = this.argv[this.optind];
    if (arg === undefined) return undefined;
    if (this.pos === 1) {
      if (arg === '--') {
        this.optind++;
        return undefined;
      }
      if (arg.length < 2 || arg[0] !== '-') return undefined;
    }
    const ch = arg[this.pos]!;
    const at = ch === ':' ? -1 : this.optstring.indexOf(ch);
    const advance = () => {
      if (++this.pos >= arg.length) {
        this.optind++;
        this.pos = 1;
      }
    };
    if (at < 0) {
      advance();
      return { error: `invalid option -- '${ch}'`, ch };
    }
    if (this.optstring[at + 1] === ':') {
      let value: string | undefined;
      if (this.pos + 1 < arg.length) value = arg.slice(this.pos + 1);
      else value = this.argv[++this.optind];
      this.optind++;
      this.pos = 1;
      if (value === undefined) return { error: `option requires an argument -- '${ch}'`, ch };
      return { ch, arg: value };
    }
    advance();
    return { ch };
  }
}

function stderrLine(text: string): void {
  flushStdout();
  process.stderr.write(`${text}\n`);
}

/** dsn_notify_mask(): NEVER, SUCCESS, FAILURE, DELAY; 0 when invalid. */
function dsnNotifyMask(s: string): number {
  const names: Record<string, number> = { never: 1, success: 2, failure: 4, delay: 8 };
  let mask = 0;
  for (const w of s.split(/[\s,]+/)) {
    if (w === '') continue;
    const v = names[w.toLowerCase()];
    if (v === undefined) return 0;
    mask |= v;
  }
  const ok = mask === 1 || (mask !== 0 && (mask & 1) === 0);
  return ok ? mask : 0;
}

function dsnRetCode(s: string): number {
  const v = s.toUpperCase();
  return v === 'FULL' ? 1 : v === 'HDRS' ? 2 : 0;
}

/** The postdrop program: $POSTERN_POSTDROP, else Postern's own bin/postdrop. */
function postdropCommand(verbose: number): { cmd: string; args: string[]; display: string } {
  const extra = ['-r', ...Array.from({ length: verbose }, () => '-v')];
  const env = process.env.POSTERN_POSTDROP;
  if (env) return { cmd: env, args: extra, display: [env, ...extra].join(' ') };
  const script = fileURLToPath(new URL('../../../bin/postdrop', import.meta.url));
  return { cmd: process.execPath, args: [script, ...extra], display: [`${dirname(script)}/postdrop`, ...extra].join(' ') };
}

/** Lines of stdin as rec_streamlf_get() returns them (NORM ends in LF, CONT does not). */
async function* stdinRecords(limit: number): AsyncGenerator<{ type: number; text: Buffer }> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = pending.indexOf(0x0a, start);
      const avail = (nl < 0 ? pending.length : nl) - start;
      if (avail >= limit) {
        yield { type: Rec.CONT, text: pending.subarray(start, start + limit) };
        start += limit;
        continue;
      }
      if (nl < 0) break;
      yield { type: Rec.NORM, text: pending.subarray(start, nl) };
      start = nl + 1;
    }
    pending = Buffer.from(pending.subarray(start));
  }
  if (pending.length > 0) yield { type: Rec.CONT, text: pending };
}

interface EnqueueArgs {
  flags: number;
  encoding?: string;
  dsnEnvid?: string;
  dsnRet: number;
  dsnNotify: number;
  rewriteContext: string;
  sender?: string;
  fullName?: string;
  recipients: string[];
  verpDelims?: string;
  verbose: number;
}

async function enqueue(cfg: ReturnType<typeof loadPostfixConfig>, a: EnqueueArgs): Promise<void> {
  const uid = currentUid();
  const who = checkUserAcl(cfg.get('authorized_submit_users'), uid);
  if (who !== undefined) fatal(`User ${who}(${uid}) is not allowed to submit mail`, EX_NOPERM);
  const lineLimit = Number.parseInt(cfg.get('line_length_limit'), 10) || 2048;

  let savedSender: string;
  if (a.sender !== undefined) {
    const tree = parse(a.sender);
    const addrs = grep(tree, TOK_ADDR);
    savedSender = addrs.length > 0 ? internalize(addrs[0]!.head) : '';
    if (addrs.length > 1) warn(`-f option specified malformed sender: ${a.sender}`);
  } else {
    const u = username(uid);
    if (u === undefined) fatal(`no login name found for user ID ${uid}`, EX_OSERR);
    savedSender = u;
  }

  const pd = postdropCommand(a.verbose);
  const child = spawn(pd.cmd, pd.args, { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
  let outBuf = Buffer.alloc(0);
  let outEnded = false;
  let wake: (() => void) | undefined;
  child.stdout.on('data', (b: Buffer) => {
    outBuf = Buffer.concat([outBuf, b]);
    wake?.();
  });
  child.stdout.on('end', () => {
    outEnded = true;
    wake?.();
  });
  const readAttrs = async (): Promise<Map<string, string> | undefined> => {
    for (;;) {
      const r = attrScan0(outBuf);
      if (r) {
        outBuf = outBuf.subarray(r.end);
        return r.attrs;
      }
      if (outEnded) return undefined;
      const err = await Promise.race([new Promise<undefined>((res) => (wake = () => res(undefined))), spawnError]);
      if (err) return undefined;
    }
  };
  const hello = await readAttrs();
  if (hello?.get('protocol') !== 'postdrop_protocol' || !hello.has('queue_id')) {
    child.kill();
    fatal(`${savedSender}(${uid}): unable to execute ${pd.display}: ${strerror(child.exitCode === null ? 'ENOENT' : 'EPIPE')}`, EX_UNAVAILABLE);
  }
  try {
    child.stdin.on('error', () => {});
    const put = async (type: number, data: string | Buffer) => {
      if (!child.stdin.write(encodeRecord(type, data))) await new Promise((r) => child.stdin.once('drain', r));
    };
    let rcptCount = 0;
    if (a.dsnEnvid) await put(Rec.ATTR, `envelope_id=${a.dsnEnvid}`);
    if (a.dsnRet) await put(Rec.ATTR, `ret_flags=${a.dsnRet}`);
    await put(Rec.ATTR, `rewrite_context=${a.rewriteContext}`);
    const full = a.fullName ?? fullname(uid);
    if (full !== undefined) await put(Rec.FULL, full);
    await put(Rec.FROM, savedSender);
    if (a.verpDelims && savedSender === '') fatal(`${savedSender}(${uid}): -V option requires non-null sender address`, EX_USAGE);
    if (a.encoding) await put(Rec.ATTR, `encoding=${a.encoding}`);
    if (a.flags & TRACE_MASK) await put(Rec.ATTR, `trace_flags=${a.flags & TRACE_MASK}`);
    if (a.verpDelims) await put(Rec.VERP, a.verpDelims);
    for (const r of a.recipients) {
      const addrs = extractAddresses(r);
      for (const addr of addrs) {
        if (a.dsnNotify) await put(Rec.ATTR, `notify_flags=${a.dsnNotify}`);
        await put(Rec.RCPT, addr);
        rcptCount++;
      }
      if (addrs.length === 0) {
        await put(Rec.RCPT, '');
        rcptCount++;
      }
    }
    await put(Rec.MESG, '');
    const recips: string[] = [];
    const resentRecips: string[] = [];
    let resent = false;
    if (a.flags & TRACE_ONLY_MASK) {
      if (a.flags & SM_FLAG_XRCPT) fatal(`${savedSender}(${uid}): -t option cannot be used with -bv`, EX_USAGE);
      if (savedSender !== '') await put(Rec.NORM, `From: ${savedSender}`);
      await put(Rec.NORM, 'Subject: probe');
      if (a.recipients.length > 0) {
        await put(Rec.CONT, 'To:');
        for (let i = 0; i < a.recipients.length; i++) {
          await put(Rec.NORM, `\t${a.recipients[i]}${i + 1 < a.recipients.length ? ',' : ''}`);
        }
      }
    } else {
      const fix = cfg.get('sendmail_fix_line_endings') || 'always';
      let stripCr: 'do' | 'dunno' | 'dont';
      if (fix === 'always') stripCr = 'do';
      else if (fix === 'strict') stripCr = 'dunno';
      else if (fix === 'never') stripCr = 'dont';
      else fatal(`invalid sendmail_fix_line_endings value: ${fix}`, EX_USAGE);
      let mime: MimeState | undefined;
      if (a.flags & SM_FLAG_XRCPT) {
        mime = new MimeState(
          MIME_OPT_DISABLE_MIME | MIME_OPT_REPORT_TRUNC_HEADER,
          {
            headerLimit: Number.parseInt(cfg.get('header_size_limit'), 10) || 102400,
            maxDepth: 100,
            boundLimit: 2048,
          },
          {
            head: async (cls, opts, header) => {
              if (
                cls === MIME_HDR_PRIMARY &&
                opts &&
                opts.flags & HDR_OPT_RECIP &&
                opts.flags & HDR_OPT_EXTRACT &&
                (!resent || opts.flags & HDR_OPT_RR)
              ) {
                let list = recips;
                if (opts.flags & HDR_OPT_RR) {
                  list = resentRecips;
                  resent = true;
                }
                list.push(...extractAddresses(header.slice(opts.name.length + 1)));
              }
              for (const line of header.split('\n')) {
                let rest = line;
                while (rest.length > lineLimit) {
                  await put(Rec.CONT, rest.slice(0, lineLimit));
                  rest = rest.slice(lineLimit);
                }
                await put(Rec.NORM, rest);
              }
            },
            body: (type, text) => put(type, text),
          },
          new Set(),
        );
      }
      let skipFrom = true;
      let prevType = 0;
      for await (const rec of stdinRecords(lineLimit)) {
        let text = rec.text;
        if (stripCr === 'dunno' && rec.type === Rec.NORM) {
          stripCr = text.length > 0 && text[text.length - 1] === 0x0d ? 'do' : 'dont';
        }
        if (skipFrom) {
          if (rec.type === Rec.NORM) {
            const s = text.toString('latin1');
            if (s.replace(/^>*/, '').startsWith('From ')) {
              prevType = rec.type;
              continue;
            }
          }
          skipFrom = false;
        }
        if (stripCr === 'do' && rec.type === Rec.NORM) {
          let end = text.length;
          while (end > 0 && text[end - 1] === 0x0d) end--;
          text = text.subarray(0, end);
        }
        if (a.flags & SM_FLAG_AEOF && prevType !== Rec.CONT && text.length === 1 && text[0] === 0x2e) break;
        if (mime) {
          const errs = await mime.update(rec.type, text.toString('latin1'));
          if (errs) fatal(`${savedSender}(${uid}): unable to extract recipients: ${mimeError(errs)}`, EX_DATAERR);
        } else {
          await put(rec.type, text);
        }
        prevType = rec.type;
      }
      process.stdin.destroy();
      if (mime) {
        const errs = await mime.update(REC_EOF, '');
        if (errs) fatal(`${savedSender}(${uid}): unable to extract recipients: ${mimeError(errs)}`, EX_DATAERR);
      }
    }
    await put(Rec.XTRA, '');
    if (a.flags & SM_FLAG_XRCPT) {
      for (const r of resent ? resentRecips : recips) {
        if (a.dsnNotify) await put(Rec.ATTR, `notify_flags=${a.dsnNotify}`);
        await put(Rec.RCPT, r);
        rcptCount++;
      }
    }
    if (rcptCount === 0) {
      child.stdin.destroy();
      fatal(
        a.flags & SM_FLAG_XRCPT
          ? `${savedSender}(${uid}): No recipient addresses found in message header`
          : `${savedSender}(${uid}): Recipient addresses must be specified on the command line or via the -t option`,
        EX_USAGE,
      );
    }
    await put(Rec.END, '');
    const result = await readAttrs();
    child.stdin.end();
    let status: number = CleanupStat.WRITE;
    let why = '';
    if (result?.has('status') && result.has('reason')) {
      status = Number.parseInt(result.get('status')!, 10) || 0;
      why = result.get('reason')!;
    }
    if (status !== 0) {
      const code =
        status & CleanupStat.BAD
          ? EX_SOFTWARE
          : status & CleanupStat.WRITE
            ? EX_TEMPFAIL
            : status & CleanupStat.NOPERM
              ? EX_NOPERM
              : EX_UNAVAILABLE;
      fatal(`${savedSender}(${uid}): ${why !== '' ? why : cleanupStrerror(status)}`, code);
    }
  } catch (err) {
    // Closing the pipe makes postdrop cancel the request and remove its file.
    child.stdin.destroy();
    throw err;
  }
  if (a.flags & TRACE_MASK) out(`Mail Delivery Status Report will be mailed to <${savedSender}>.\n`);
}

/** Replace this process by another Postern command (mail_run_replace). */
function runCommand(name: string, args: string[]): number {
  const script = fileURLToPath(new URL(`../../../bin/${name}`, import.meta.url));
  flushStdout();
  const r = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

async function sendmail(argv: string[]): Promise<number> {
  // Pre-scan for -C so that main.cf is the right one (options may override it).
  let configDir: string | undefined;
  {
    const g = new Getopt(argv, OPTSTRING);
    for (;;) {
      if (argv[g.optind] === '-q') {
        g.optind++;
        continue;
      }
      const o = g.next();
      if (!o) break;
      if ('error' in o) {
        stderrLine(`sendmail: ${o.error}`);
        continue;
      }
      if (o.ch === 'C') {
        const base = basename(o.arg!);
        configDir = base === 'main.cf' ? dirname(o.arg!) : o.arg!;
        process.env.MAIL_CONFIG = configDir;
      }
    }
  }
  const cfg = loadPostfixConfig({ configDir });
  maillogClientInit(cfg, 'sendmail', { fallback: false });
  const queueDir = cfg.get('queue_directory');
  try {
    process.chdir(queueDir);
  } catch (err) {
    fatal(`chdir ${queueDir}: ${strerror(err)}`, EX_UNAVAILABLE);
  }

  let mode: Mode = 'enqueue';
  let flags = SM_FLAG_AEOF;
  let verbose = 0;
  let sender: string | undefined;
  let fullName: string | undefined;
  let encoding: string | undefined;
  let dsnNotify = 0;
  let dsnRet = 0;
  let dsnEnvid: string | undefined;
  let rewriteContext = 'local';
  let verpDelims: string | undefined;
  let qtime: string | undefined;
  let siteToFlush: string | undefined;
  let idToFlush: string | undefined;
  let aliasMapFromArgs: string | undefined;
  const args = [...argv];
  const g = new Getopt(args, OPTSTRING);
  for (;;) {
    const cur = args[g.optind];
    if (cur === '-q') {
      if (mode === 'daemon') warn('ignoring -q option in daemon mode');
      else mode = 'flushq';
      g.optind++;
      continue;
    }
    if (cur === '-V' && args[g.optind + 1] !== undefined && args[g.optind + 1]!.length === 2) {
      warn('option -V is deprecated with Postfix 2.3; specify -XV instead');
      args[g.optind] = '-XV';
    }
    const c2 = args[g.optind];
    if (c2?.startsWith('-V') && c2.length === 4) {
      warn(`option ${c2} is deprecated with Postfix 2.3; specify -X${c2.slice(1)} instead`);
      args[g.optind] = `-X${c2.slice(1)}`;
    }
    if (args[g.optind] === '-XV') {
      verpDelims = cfg.get('default_verp_delimiters');
      g.optind++;
      continue;
    }
    const o = g.next();
    if (!o) break;
    if ('error' in o) {
      stderrLine(`sendmail: ${o.error}`);
      fatal('usage: sendmail [options]', EX_USAGE);
    }
    const arg = o.arg ?? '';
    switch (o.ch) {
      case 'n':
        fatal(`-${o.ch} option not supported`, EX_USAGE);
        break;
      case 'B':
        if (arg === '8BITMIME') encoding = '8bit';
        else if (arg === '7BIT') encoding = '7bit';
        else fatal('-B option needs 8BITMIME or 7BIT', EX_USAGE);
        break;
      case 'F':
        fullName = arg;
        break;
      case 'G':
        rewriteContext = 'remote';
        break;
      case 'I':
        mode = 'newalias';
        break;
      case 'N':
        dsnNotify = dsnNotifyMask(arg);
        if (dsnNotify === 0) warn('bad -N option value -- ignored');
        break;
      case 'R':
        dsnRet = dsnRetCode(arg);
        if (dsnRet === 0) warn('bad -R option value -- ignored');
        break;
      case 'V':
        if (arg.length > 100) warn('too long -V option value -- ignored');
        else if (!/^[\x20-\x7e]*$/.test(arg)) warn('bad syntax in -V option value -- ignored');
        else dsnEnvid = arg;
        break;
      case 'X':
        if (arg[0] !== 'V') fatal(`unsupported: -${o.ch}${arg[0] ?? ''}`, EX_USAGE);
        {
          const d = arg.slice(1);
          const filter = cfg.get('verp_delimiter_filter') || '-=+';
          if (d.length !== 2 || ![...d].every((ch) => filter.includes(ch))) {
            fatal(`-V requires two characters from ${filter}`, EX_USAGE);
          }
          verpDelims = d;
        }
        break;
      case 'b':
        switch (arg[0]) {
          case 'd':
          case 'l':
            if (mode === 'flushq') warn('ignoring -q option in daemon mode');
            mode = 'daemon';
            break;
          case 'h':
          case 'H':
            mode = 'ignore';
            break;
          case 'i':
            mode = 'newalias';
            break;
          case 'm':
            mode = 'enqueue';
            break;
          case 'p':
            mode = 'mailq';
            break;
          case 's':
            mode = 'user';
            break;
          case 'v':
            flags |= DEL_REQ_FLAG_USR_VRFY;
            break;
          default:
            fatal(`unsupported: -${o.ch}${arg[0] ?? ''}`, EX_USAGE);
        }
        break;
      case 'f':
      case 'r':
        sender = arg;
        break;
      case 'i':
        flags &= ~SM_FLAG_AEOF;
        break;
      case 'o':
        switch (arg[0]) {
          case 'A':
            if (arg.length === 1) fatal('-oA requires pathname', EX_USAGE);
            aliasMapFromArgs = arg.slice(1);
            break;
          case 'i':
            flags &= ~SM_FLAG_AEOF;
            break;
          default:
            if (msgVerbose()) info(`-${o.ch}${arg[0] ?? ''} option ignored`);
        }
        break;
      case 'q':
        if (/^\d/.test(arg)) qtime = arg;
        else if (arg[0] === 'R') {
          siteToFlush = arg.slice(1);
          if (siteToFlush === '') fatal('specify: -qRsitename', EX_USAGE);
        } else if (arg[0] === 'I') {
          idToFlush = arg.slice(1);
          if (idToFlush === '') fatal('specify: -qIqueueid', EX_USAGE);
        } else fatal(`-q${arg[0] ?? ''} is not implemented`, EX_USAGE);
        break;
      case 't':
        flags |= SM_FLAG_XRCPT;
        break;
      case 'v':
        verbose++;
        setVerbose(verbose);
        break;
      default:
        if (msgVerbose()) info(`-${o.ch} option ignored`);
    }
  }
  const operands = args.slice(g.optind);
  if (flags & SM_FLAG_XRCPT && mode !== 'enqueue') fatal('-t can be used only in delivery mode', EX_USAGE);
  if (siteToFlush && mode !== 'enqueue') fatal('-qR can be used only in delivery mode', EX_USAGE);
  if (idToFlush && mode !== 'enqueue') fatal('-qI can be used only in delivery mode', EX_USAGE);
  if (flags & DEL_REQ_FLAG_USR_VRFY) {
    if (flags & SM_FLAG_XRCPT) fatal('-t option cannot be used with -bv', EX_USAGE);
    if (dsnNotify) fatal('-N option cannot be used with -bv', EX_USAGE);
    if (dsnRet) fatal('-R option cannot be used with -bv', EX_USAGE);
    if (verbose === 1) fatal('-v option cannot be used with -bv', EX_USAGE);
  }
  if (verbose === 1 && mode === 'enqueue') {
    verbose = 0;
    setVerbose(0);
    flags |= DEL_REQ_FLAG_RECORD;
  }
  if (qtime && mode !== 'daemon') return 0;
  const vflags = Array.from({ length: verbose }, () => '-v');
  switch (mode) {
    case 'enqueue':
      if (siteToFlush) {
        if (operands.length) fatal('flush site requires no recipient', EX_USAGE);
        return runCommand('postqueue', ['-s', siteToFlush, ...vflags]);
      }
      if (idToFlush) {
        if (operands.length) fatal('flush queue_id requires no recipient', EX_USAGE);
        return runCommand('postqueue', ['-i', idToFlush, ...vflags]);
      }
      await enqueue(cfg, {
        flags,
        encoding,
        dsnEnvid,
        dsnRet,
        dsnNotify,
        rewriteContext,
        sender,
        fullName,
        recipients: operands,
        verpDelims,
        verbose,
      });
      return 0;
    case 'mailq':
      if (operands.length) fatal('display queue mode requires no recipient', EX_USAGE);
      return runCommand('postqueue', ['-p', ...vflags]);
    case 'flushq':
      if (operands.length) fatal('flush queue mode requires no recipient', EX_USAGE);
      return runCommand('postqueue', ['-f', ...vflags]);
    case 'daemon': {
      if (operands.length) fatal('daemon mode requires no recipient', EX_USAGE);
      const script = fileURLToPath(new URL('../../../bin/postfix', import.meta.url));
      const child = spawn(process.execPath, [script, ...vflags, 'start'], { stdio: 'ignore', detached: true });
      child.unref();
      return 0;
    }
    case 'newalias': {
      if (operands.length) fatal('alias initialization mode requires no recipient', EX_USAGE);
      const db = cfg.get('alias_database');
      if (aliasMapFromArgs === undefined && db === '') return 0;
      const maps = aliasMapFromArgs !== undefined ? [aliasMapFromArgs] : db.split(/[\s,]+/).filter((s) => s !== '');
      return runCommand('postalias', [...vflags, '--', ...maps]);
    }
    case 'user': {
      if (operands.length) fatal('stand-alone mode requires no recipient', EX_USAGE);
      const uid = currentUid();
      const who = checkUserAcl(cfg.get('authorized_submit_users'), uid);
      if (who !== undefined) fatal(`User ${who}(${uid}) is not allowed to submit mail`, EX_NOPERM);
      return fatal('this command is not implemented yet in Postern');
    }
    case 'ignore':
      return 0;
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await sendmail(argv);
  } catch (err) {
    // msg_cleanup(tempfail): every fatal error exits with EX_TEMPFAIL.
    if (err instanceof FatalExit) throw new FatalExit(EX_TEMPFAIL);
    throw err;
  }
}
