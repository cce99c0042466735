/**
 * smtpd/session.ts: one SMTP session, start to end (smtpd.c smtpd_service()
 * and smtpd_proto(), smtpd_chat.c): peer lookup, "connect from", the
 * greeting, the command loop with its error/junk limits and pipelining
 * checks, the reply choke point, and "disconnect from ... commands=N".
 *
 * Error handling follows Postfix's setjmp/longjmp design with exceptions:
 * SmtpIoError('eof'|'time') from the stream, SessionJump for 'quiet'
 * (already reported), 'data' (local data error -> 421) and 'restart'
 * (XCLIENT: greet again as if newly connected).
 */
import type { CleanupService } from '../cleanup/types.js';
import type { SmtpdAuth } from './auth.js';
import type { SmtpdChecks } from './checks/types.js';
import { COMMANDS, FLAG_LAST, FLAG_LIMIT, FLAG_PRE_TLS, type SmtpdCommand } from './commands/index.js';
import { quitCmd } from './commands/misc.js';
import { lookupPeer, type PeerEndpoints } from './peer.js';
import { BARE_LF_REPLY_REJECT, ehloMask, type SmtpdSettings } from './settings.js';
import {
  AFTER_BDAT,
  AFTER_DATA,
  AFTER_EOM,
  BDAT_NONE,
  FLAG_HANGUP,
  FLAG_ILL_PIPELINING,
  MailError,
  MASK_MAIL_KEEP,
  SmtpdState,
} from './state.js';
import { GET_SKIP, SmtpIoError, SmtpStream } from './stream.js';
import { smtpTokenize } from './syntax.js';
import { quote822Local } from './tok822.js';
import { cEscape, isHeader, printable, validUtf8 } from './text.js';
import type { TlsServer } from './tls.js';
import type { Milters } from '../milter/milters.js';
import { checkMilterReply, setupMilters } from './milter.js';

/** Non-I/O exceptions that end or restart the protocol loop. */
export class SessionJump {
  constructor(readonly kind: 'quiet' | 'data' | 'restart') {}
}

/** The mail log as smtpd uses it (Maillog fits). */
export interface SmtpdLog {
  info(text: string): void;
  warn(text: string): void;
}

export interface SessionDeps {
  settings: SmtpdSettings;
  checks: SmtpdChecks;
  cleanup: CleanupService;
  log: SmtpdLog;
  tls?: TlsServer;
  auth?: SmtpdAuth;
  onEtrn?: (site: string) => void;
}

export class SmtpdSession {
  readonly state = new SmtpdState();
  readonly stream: SmtpStream;
  readonly settings: SmtpdSettings;
  readonly checks: SmtpdChecks;
  readonly cleanupService: CleanupService;
  readonly log: SmtpdLog;
  readonly tls: TlsServer | undefined;
  readonly auth: SmtpdAuth | undefined;
  /** Called after a permitted ETRN (hook for the flush/queue manager). */
  onEtrn: ((site: string) => void) | undefined;
  /** Bytes held by an unfinished BDAT line (for the "lost connection after BDAT" count). */
  bdatPending = 0;
  /** The BDAT line splitter of the current transaction. */
  bdatLines: unknown;
  /** The session's mail filters (smtpd_milters), see milter.ts. */
  milters: Milters | undefined;
  /** A milter_mail_event() was sent: the next mail_reset() aborts the filters' message. */
  milterNeedAbort = false;
  /** The restriction reply a rejected recipient got, for {rcpt_*} macros (SMFIP_RCPT_REJ). */
  milterRejectText: string | undefined;
  /** Resolve an address for the {mail_*}/{rcpt_*} macros before an event (set by setupMilters). */
  milterResolve: (addr: string) => Promise<void> = async () => {};
  /** The milter's answer to the last HELO/EHLO (a 5xx trims the EHLO list). */
  milterHeloReply: string | undefined;
  /** Concurrent connections from this client (anvil), for {client_connections}. */
  clientConnections = 0;
  /** Per-command success/total counters for the disconnect line. */
  private readonly stats = new Map<string, { ok: number; total: number }>();

  constructor(
    socket: import('node:stream').Duplex,
    deps: SessionDeps,
    private readonly endpoints: PeerEndpoints,
  ) {
    this.settings = deps.settings;
    this.checks = deps.checks;
    this.cleanupService = deps.cleanup;
    this.log = deps.log;
    this.tls = deps.tls;
    this.auth = deps.auth;
    this.onEtrn = deps.onEtrn;
    // In TLS wrapper mode the client's first bytes are its TLS handshake.
    this.stream = new SmtpStream(socket, this.settings.timeout, !this.settings.tlsWrapper);
    this.state.service = this.settings.serviceName;
    this.state.clientPortLogging = this.settings.clientPortLogging;
  }

  // --- replies (smtpd_chat_reply) ---

  async reply(text: string): Promise<void> {
    const st = this.state;
    const s = this.settings;
    let delayed = false;
    if (st.errorCount >= s.softErrorLimit && s.errorSleepTime > 0) {
      this.stream.flush();
      await new Promise((r) => setTimeout(r, s.errorSleepTime * 1000));
      delayed = true;
    }
    const parts = text.split('\r\n');
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    for (let i = 0; i < parts.length; i++) {
      let line = parts[i];
      if (s.softBounce && line[0] === '5') {
        line = '4' + line.slice(1);
        if (line[4] === '5') line = line.slice(0, 4) + '4' + line.slice(5);
      }
      if (i + 1 < parts.length) line = line.slice(0, 3) + '-' + line.slice(4);
      this.stream.writeLine(line);
    }
    if (delayed || Date.now() - this.stream.lastIo > 10_000) this.stream.flush();
    if (this.stream.writeError) throw new SmtpIoError('eof');
    if (text.startsWith('421') || text.startsWith('521')) st.flags |= FLAG_HANGUP;
  }

  /** smtpd_chat_query(): read one command line, bounded by line_length_limit. */
  async query(): Promise<string> {
    const limit = this.settings.lineLengthLimit;
    const r = await this.stream.getLine(limit, GET_SKIP);
    if (r.last !== 10) {
      this.log.warn(
        `${this.state.namaddr}: request longer than ${limit}: ${printable(r.line.slice(0, 30), '?', this.settings.smtputf8Enable)}...`,
      );
    }
    return r.line;
  }

  /** smtpd_flag_ill_pipelining(): input waiting where the client should wait for us. */
  flagIllPipelining(): boolean {
    if (this.stream.pending() > 0) {
      const n = Math.min(this.stream.pending(), 100);
      this.log.info(
        `improper command pipelining after ${this.state.where} from ${this.state.namaddr}: ${cEscape(this.stream.peek(n))}`,
      );
      this.state.flags |= FLAG_ILL_PIPELINING;
      return true;
    }
    return false;
  }

  // --- resets ---

  heloReset(): void {
    if (this.state.heloName !== undefined) {
      this.state.heloName = undefined;
      this.milters?.abort();
    }
  }

  chatReset(): void {
    this.state.errorMask = 0;
  }

  async mailReset(): Promise<void> {
    const st = this.state;
    st.msgSize = 0;
    st.actSize = 0;
    st.flags &= MASK_MAIL_KEEP;
    if (st.cleanup) {
      const c = st.cleanup;
      st.cleanup = undefined;
      try {
        await c.abort();
      } catch {
        /* cleanup removes the file on its own */
      }
    }
    st.err = 0;
    st.queueId = undefined;
    st.sender = undefined;
    if (this.milterNeedAbort) {
      this.milters?.abort();
      this.milterNeedAbort = false;
    }
    st.verpDelims = undefined;
    st.savedFlags = 0;
    st.savedFilter = undefined;
    st.savedRedirect = undefined;
    st.savedBcc = [];
    st.prepend = [];
    st.saslSender = undefined;
    st.discard = false;
    st.xforward = { flags: 0 };
    st.dsnEnvid = undefined;
    st.bdatState = BDAT_NONE;
    this.bdatLines = undefined;
    this.bdatPending = 0;
  }

  rcptReset(): void {
    this.state.recipient = undefined;
    this.state.rcptCount = 0;
    this.state.rcptOvershoot = 0;
  }

  // --- main ---

  private count(name: string, ok: boolean): void {
    let c = this.stats.get(name);
    if (!c) this.stats.set(name, (c = { ok: 0, total: 0 }));
    c.total++;
    if (ok) c.ok++;
  }

  /** smtpd_format_cmd_stats(). */
  formatStats(): string {
    let out = '';
    let ok = 0;
    let total = 0;
    for (const name of [...COMMANDS.map((c) => c.name), 'UNKNOWN']) {
      const c = this.stats.get(name);
      if (!c || c.total === 0) continue;
      out += ` ${name.toLowerCase()}=${c.ok}`;
      if (c.ok !== c.total) out += `/${c.total}`;
      ok += c.ok;
      total += c.total;
    }
    out += ` commands=${ok}`;
    if (ok !== total || total === 0) out += `/${total}`;
    return out;
  }

  /** Serve the connection until QUIT, error or disconnect. */
  async run(): Promise<void> {
    const st = this.state;
    const s = this.settings;
    await lookupPeer(st, this.endpoints, {
      ipv4: /all|ipv4/i.test(s.cfg.get('inet_protocols')),
      peernameLookup: s.peernameLookup,
      warn: (t) => this.log.warn(t),
      info: (t) => this.log.info(t),
    });
    this.log.info(`connect from ${st.namaddr}`);
    await this.evalClientLists();
    this.milters = setupMilters(this);
    try {
      await this.proto();
    } finally {
      this.milters?.close();
      this.log.info(`disconnect from ${st.namaddr}${this.formatStats()}`);
      this.stream.close();
    }
  }

  /** xclient/xforward authorization and bare-LF detection for the current client. */
  async evalClientLists(): Promise<void> {
    const st = this.state;
    const s = this.settings;
    const safe = async (p: Promise<boolean>) => {
      try {
        return await p;
      } catch {
        return false;
      }
    };
    st.xclientAllowed = await safe(s.xclientHosts.match(st.name, st.addr));
    st.xforwardAllowed = await safe(s.xforwardHosts.match(st.name, st.addr));
    this.stream.detectBareLf =
      s.bareLfMask !== 0 && !(await safe(s.bareLfExclusions.match(st.name, st.addr))) ? s.bareLfMask : 0;
  }

  private async proto(): Promise<void> {
    const st = this.state;
    const s = this.settings;
    for (;;) {
      this.stream.timeout = s.timeout;
      try {
        await this.protoBody();
      } catch (err) {
        if (err instanceof SessionJump && err.kind === 'restart') continue;
        if (err instanceof SmtpIoError) {
          if (err.kind === 'time') {
            st.reason = 'timeout';
            try {
              await this.reply(`421 4.4.2 ${s.myhostname} Error: timeout exceeded`);
            } catch {
              /* gone */
            }
          } else {
            st.reason = 'lost connection';
          }
        } else if (err instanceof SessionJump && err.kind === 'data') {
          this.log.info(
            `${st.queueId ?? 'NOQUEUE'}: reject: ${st.where} from ${st.namaddr}: 421 4.3.0 ${s.myhostname} Server local data error`,
          );
          st.errorMask |= MailError.DATA;
          try {
            await this.reply(`421 4.3.0 ${s.myhostname} Server local data error`);
          } catch {
            /* gone */
          }
        } else if (!(err instanceof SessionJump)) {
          throw err;
        }
      }
      break;
    }
    if (st.reason && st.where) {
      if (st.where === AFTER_DATA) {
        this.log.info(`${st.reason} after DATA (${st.actSize + this.stream.pending()} bytes) from ${st.namaddr}`);
      } else if (st.where === AFTER_BDAT) {
        this.log.info(`${st.reason} after BDAT (${st.actSize + this.bdatPending} bytes) from ${st.namaddr}`);
      } else if (st.where !== AFTER_EOM || st.reason !== 'lost connection') {
        this.log.info(`${st.reason} after ${st.where} from ${st.namaddr}`);
      }
    }
    if (this.tls) this.tls.reset(this);
    this.heloReset();
    this.chatReset();
    await this.mailReset();
    this.rcptReset();
    this.milters?.discEvent();
  }


  private async protoBody(): Promise<void> {
    const st = this.state;
    const s = this.settings;
    if (s.tlsWrapper && !st.tlsActive) {
      if (!this.tls?.available) {
        this.stream.reattach(this.stream.socket);
        this.log.warn(
          `Wrapper-mode request dropped from ${st.namaddr} for service ${st.service}. TLS context initialization failed. For details see earlier warnings in your logs.`,
        );
        return;
      }
      await this.tls.start(this);
    }
    if (!s.tlsWrapper && !(st.flags & FLAG_ILL_PIPELINING) && this.flagIllPipelining() && s.forbidUnauthPipelining) {
      await this.reply('554 5.5.0 Error: SMTP protocol synchronization');
      return;
    }
    st.ehloDiscardMask = ehloMask(s.discardEhloKeywords);
    let err: string | undefined;
    if (!s.delayReject && (err = await this.checks.client(st)) !== undefined) {
      st.errorMask |= MailError.POLICY;
      st.accessDenied = err;
      await this.reply(err);
      st.errorCount++;
    } else {
      await this.milterConnect();
    }

    for (;;) {
      if (st.flags & FLAG_HANGUP) break;
      this.stream.timeout = s.timeout;
      if (st.errorCount >= s.hardErrorLimit) {
        st.reason = 'too many errors';
        st.errorMask |= MailError.PROTOCOL;
        await this.reply(`421 4.7.0 ${s.myhostname} Error: too many errors`);
        break;
      }
      const line = await this.query();
      if (this.stream.gotBareLf & BARE_LF_REPLY_REJECT) {
        this.logWhatsup('reject', 'bare <LF> received');
        st.errorMask |= MailError.PROTOCOL;
        await this.reply(`${s.bareLfCode} 5.5.2 ${s.myhostname} Error: bare <LF> received`);
        break;
      }
      if (s.smtputf8Enable && !validUtf8(line)) {
        st.errorMask |= MailError.PROTOCOL;
        await this.reply('500 5.5.2 Error: bad UTF-8 syntax');
        st.errorCount++;
        continue;
      }
      const argv = smtpTokenize(line);
      if (argv.length === 0) {
        st.errorMask |= MailError.PROTOCOL;
        await this.reply('500 5.5.2 Error: bad syntax');
        st.errorCount++;
        continue;
      }
      if (!s.noopCommands.empty && (await s.noopCommands.match(argv[0].str).catch(() => false))) {
        await this.reply('250 2.0.0 Ok');
        if (st.junkCmds++ > s.junkCommandLimit) st.errorCount++;
        continue;
      }
      const name = argv[0].str.toUpperCase();
      const cmd: SmtpdCommand | undefined = COMMANDS.find((c) => c.name === name);
      if (!cmd) {
        st.where = 'UNKNOWN';
        if (
          isHeader(argv[0].str) ||
          (!s.forbiddenCommands.empty && (await s.forbiddenCommands.match(argv[0].str).catch(() => false)))
        ) {
          this.count('UNKNOWN', false);
          this.log.warn(`non-SMTP command from ${st.namaddr}: ${cEscape(line).slice(0, 100)}`);
          await this.reply('221 2.7.0 Error: I can break rules, too. Goodbye.');
          break;
        }
      }
      if (st.accessDenied !== undefined && cmd?.action !== quitCmd) {
        this.count(cmd ? cmd.name : 'UNKNOWN', false);
        if (st.accessDenied.slice(1, 3) === '21') {
          await this.reply(st.accessDenied);
          continue;
        }
        await this.reply(`503 5.7.0 Error: access denied for ${st.namaddr}`);
        st.errorCount++;
        continue;
      }
      if (!cmd) {
        this.count('UNKNOWN', false);
        let merr: string | undefined;
        if (this.milters && (merr = await this.milters.unknownEvent(argv[0].str)) !== undefined) merr = checkMilterReply(this, merr);
        await this.reply(merr ?? '500 5.5.2 Error: command not recognized');
        st.errorMask |= MailError.PROTOCOL;
        st.errorCount++;
        continue;
      }
      if (s.enforceTls && !st.tlsActive && !(cmd.flags & FLAG_PRE_TLS)) {
        this.count(cmd.name, false);
        await this.reply('530 5.7.0 Must issue a STARTTLS command first');
        st.errorCount++;
        continue;
      }
      st.where = cmd.name;
      if (
        (st.protocol.toUpperCase() !== 'ESMTP' || cmd.flags & FLAG_LAST) &&
        !(st.flags & FLAG_ILL_PIPELINING) &&
        this.flagIllPipelining() &&
        s.forbidUnauthPipelining
      ) {
        this.count(cmd.name, false);
        await this.reply('554 5.5.0 Error: SMTP protocol synchronization');
        break;
      }
      let status: number;
      try {
        status = await cmd.action(this, argv);
      } catch (e) {
        this.count(cmd.name, false);
        throw e;
      }
      this.count(cmd.name, status === 0);
      if (status !== 0) st.errorCount++;
      if (cmd.flags & FLAG_LIMIT && st.junkCmds++ > s.junkCommandLimit) st.errorCount++;
      if (cmd.action === quitCmd) break;
    }
  }

  /**
   * The greeting after a milter CONNECT event: 554 for a hard reject, 421
   * for a shutdown, else the banner (a temporary reject persists and
   * answers MAIL FROM and later commands).
   */
  private async milterConnect(): Promise<void> {
    const st = this.state;
    const s = this.settings;
    let err: string | undefined;
    if (this.milters) {
      const family = st.addrFamily === 2 ? 4 : st.addrFamily === 10 ? 6 : st.addrFamily === 1 ? 1 : st.addrFamily;
      err = await this.milters.connEvent(st.name, st.addr, st.port !== 'unknown' ? st.port : '0', family);
      if (err !== undefined) err = checkMilterReply(this, err);
    }
    if (err?.[0] === '5') {
      st.errorMask |= MailError.POLICY;
      await this.reply(`554 ${s.myhostname} ESMTP not accepting connections`);
      st.errorCount++;
    } else if (err?.startsWith('421')) {
      st.errorMask |= MailError.POLICY;
      await this.reply(`421 ${s.myhostname} Service unavailable - try again later`);
    } else {
      await this.reply(`220 ${s.banner}`);
    }
  }

  /** log_whatsup() for protocol-level rejects. */
  logWhatsup(whatsup: string, text: string): void {
    const st = this.state;
    const ext = this.settings.infoLogExternal;
    let line = `${st.queueId ?? 'NOQUEUE'}: ${whatsup}: ${st.where} from ${st.namaddr}: ${text};`;
    if (st.sender !== undefined) line += ` from=<${quoteIf(st.sender, ext)}>`;
    if (st.recipient !== undefined) line += ` to=<${quoteIf(st.recipient, ext)}>`;
    if (st.protocol) line += ` proto=${st.protocol}`;
    if (st.heloName !== undefined) line += ` helo=<${st.heloName}>`;
    this.log.info(line);
  }
}

const quoteIf = (a: string, ext: boolean): string => (ext ? quote822Local(a) : a);
