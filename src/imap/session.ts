/**
 * imap/session.ts: one IMAP connection from greeting to logout: the
 * not-authenticated state (login.ts) until auth succeeds, the userdb
 * lookup and mail_max_userip_connections, "OK [CAPABILITY …] Logged in",
 * then the authenticated/selected states: read a command (parser/),
 * look it up in the command table, run it, bring the client's view of
 * the selected mailbox up to date and send the tagged reply with
 * Dovecot's timing. Log lines: imap-login's "Login: …" and the mail
 * process's "Disconnected: Logged out in=… out=…" (imap_logout_format).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import { mailUserVarTable, varExpand } from '../../compat/dovecot/var-expand.js';
import type { Pop3Log } from '../pop3/log.js';
import type { MailUser } from '../storage/user.js';
import type { ImapArg } from './args.js';
import { postLoginCapability } from './capability.js';
import { COMMANDS } from './commands/index.js';
import { BadCommand, type Cmd, TaggedReply } from './commands/types.js';
import { type LoginConn, type LoginSuccess, ImapLogin } from './login.js';
import { withTiming, ImapOutput } from './output.js';
import { ArgCursor, ParseError, type Piece, readCommand, validCommandName, validTag } from './parser/command.js';
import { ImapInput } from './parser/input.js';
import { decodeMailboxName } from './parser/mailbox-name.js';
import type { SelectedMailbox } from './selected.js';
import type { ImapSettings } from './settings.js';

/** The connection as the listener saw it (the handler contract). */
export interface ImapConnInfo {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** TLS, or a connection Dovecot treats as secure (loopback: remote IP = local IP, login_trusted_networks). */
  secured: boolean;
  /** The stream is already TLS (imaps). */
  tls?: boolean;
}

export type ImapUserLookup = (
  username: string,
  info: { session: string; localIp: string; remoteIp: string; localPort: number; remotePort: number },
) => Promise<{ ret: 1 | 0 | -1; user?: MailUser; error?: string }>;

export type ImapLog = Pop3Log;

export interface ImapContext {
  settings: ImapSettings;
  authClientPath: string;
  lookup: ImapUserLookup;
  log: ImapLog;
  userip: Map<string, number>;
}

const CLIENT_MAX_BAD_COMMANDS = 20;
/** Autologout: 30 minutes of no input after login (RFC 3501 §5.4), 3 minutes before. */
const IDLE_TIMEOUT_MS = 30 * 60_000;
const LOGIN_TIMEOUT_MS = 3 * 60_000;

const stripV6 = (a: string) => a.replace(/^::ffff:/, '');

function sessionId(): string {
  return randomBytes(12).toString('base64');
}

export class ImapSession {
  readonly input: ImapInput;
  readonly out: ImapOutput;
  user!: MailUser;
  selected: SelectedMailbox | undefined;
  enabled = new Set<string>();
  /** SEARCHRES saved result (UIDs). */
  savedSearch: number[] = [];
  /** Counters for imap_logout_format. */
  stats = { deleted: 0, expunged: 0, trashed: 0, fetchHdrCount: 0, fetchHdrBytes: 0, fetchBodyCount: 0, fetchBodyBytes: 0 };
  private bad = 0;
  /** Byte counts at login: imap_logout_format counts what the mail process saw. */
  private base = { in: 0, out: 0 };
  private mailPrefix = '';
  private lastCmd: { name: string; at: number } | undefined;
  private logoutDone = false;
  private useripKey: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set when the session must stop (LOGOUT, autologout, server shutdown). */
  closed = false;
  /** LOGOUT ran: log "Logged out" after the tagged reply. */
  logoutRequested = false;

  constructor(
    sock: Duplex,
    private readonly conn: ImapConnInfo,
    readonly ctx: ImapContext,
  ) {
    this.input = new ImapInput(sock);
    this.out = new ImapOutput(sock);
  }

  get settings(): ImapSettings {
    return this.ctx.settings;
  }

  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT');
  }

  get condstore(): boolean {
    return this.enabled.has('CONDSTORE') || this.enabled.has('QRESYNC');
  }

  logInfo(text: string): void {
    this.ctx.log('info', this.mailPrefix, text);
  }

  logError(text: string): void {
    this.ctx.log('error', this.mailPrefix, text);
  }

  private armTimer(ms: number, onExpire: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(onExpire, ms);
    this.timer.unref?.();
  }

  private async startTls(ctx: SecureContext | undefined): Promise<boolean> {
    if (!ctx) return false;
    const raw = this.input.detach();
    const tls = new TLSSocket(raw as never, { isServer: true, secureContext: ctx });
    return new Promise((resolve) => {
      tls.once('secure', () => {
        this.input.attach(tls);
        this.out.sock = tls;
        resolve(true);
      });
      tls.once('error', () => {
        this.input.closed = true;
        tls.destroy();
        resolve(false);
      });
    });
  }

  async run(): Promise<void> {
    const set = this.settings;
    const lconn: LoginConn = {
      localIp: stripV6(this.conn.localAddress),
      localPort: this.conn.localPort,
      remoteIp: stripV6(this.conn.remoteAddress),
      remotePort: this.conn.remotePort,
      secured: this.conn.secured,
      tls: this.conn.tls === true,
      session: sessionId(),
    };
    const login = new ImapLogin(this.input, this.out, set, lconn, this.ctx.authClientPath, {
      startTls: () => this.startTls(set.tlsContext),
      log: (text) => this.ctx.log('info', 'imap-login: ', text),
    });
    this.armTimer(LOGIN_TIMEOUT_MS, () => {
      this.out.line('* BYE Disconnected for inactivity.');
      login.destroyLog('Inactivity');
      this.out.end();
      this.input.closed = true;
    });
    let ok: LoginSuccess | undefined;
    try {
      if (!(await login.start())) {
        this.out.end();
        return;
      }
      ok = await login.run();
    } finally {
      login.close();
    }
    if (!ok) {
      clearTimeout(this.timer);
      this.out.end();
      return;
    }
    if (!(await this.finishLogin(ok.user, ok.tag, ok.untaggedCapability, lconn, login, ok.mech))) {
      clearTimeout(this.timer);
      this.out.end();
      return;
    }
    try {
      await this.commandLoop();
    } catch (e) {
      this.logError((e as Error).stack ?? String(e));
      this.disconnect(`Internal error: ${(e as Error).message}`);
    } finally {
      clearTimeout(this.timer);
      await this.selected?.box.close().catch(() => {});
      this.selected = undefined;
      this.releaseUserip();
      this.out.end();
    }
  }

  private releaseUserip(): void {
    if (!this.useripKey) return;
    const n = (this.ctx.userip.get(this.useripKey) ?? 1) - 1;
    if (n <= 0) this.ctx.userip.delete(this.useripKey);
    else this.ctx.userip.set(this.useripKey, n);
    this.useripKey = undefined;
  }

  private async finishLogin(username: string, tag: string, untagged: boolean, c: LoginConn, login: ImapLogin, mech: string): Promise<boolean> {
    const set = this.settings;
    const key = `${username}\0${c.remoteIp}`;
    const max = set.maxUseripConnections;
    if (max > 0 && (this.ctx.userip.get(key) ?? 0) >= max) {
      const text = `Maximum number of connections from user+IP exceeded (mail_max_userip_connections=${max})`;
      this.out.line(`${tag} NO [UNAVAILABLE] ${text}`);
      this.ctx.log('info', 'imap-login: ', login.logLine(`Disconnected: ${text}`, username, mech));
      return false;
    }
    const r = await this.ctx.lookup(username, {
      session: c.session,
      localIp: c.localIp,
      remoteIp: c.remoteIp,
      localPort: c.localPort,
      remotePort: c.remotePort,
    });
    if (r.ret !== 1 || !r.user) {
      if (r.error) this.ctx.log('error', 'imap-login: ', r.error);
      this.out.line('* BYE Internal login failure. Refer to server log for more information.');
      this.ctx.log('info', 'imap-login: ', login.logLine('Disconnected: Internal login failure', username, mech));
      return false;
    }
    this.useripKey = key;
    this.ctx.userip.set(key, (this.ctx.userip.get(key) ?? 0) + 1);
    this.user = r.user;
    this.ctx.log('info', 'imap-login: ', login.logLine('Login', username, mech, process.pid));
    this.mailPrefix = varExpand(
      set.mailLogPrefix,
      mailUserVarTable({
        username: r.user.username,
        service: 'imap',
        uid: r.user.uid ?? '',
        gid: r.user.gid ?? '',
        pid: process.pid,
        sessionId: c.session,
        localIp: c.localIp,
        remoteIp: c.remoteIp,
        ...(r.user.home ? { home: r.user.home } : {}),
      }),
    ).value;
    const cap = postLoginCapability(set, r.user);
    // out= counts the login reply (the imap process sends it)
    this.base = { in: this.input.inBytes, out: this.out.outBytes };
    if (untagged) this.out.write(`* CAPABILITY ${cap}\r\n${tag} OK Logged in\r\n`);
    else this.out.line(`${tag} OK [CAPABILITY ${cap}] Logged in`);
    return true;
  }

  private logoutStats(): string {
    const s = this.stats;
    return varExpand(this.settings.logoutFormat, [
      // after LOGOUT Dovecot stops reading: the CRLF ending that line is not counted
      { key: 'i', long: 'input', value: String(this.input.inBytes - this.base.in - (this.logoutRequested ? 2 : 0)) },
      { key: 'o', long: 'output', value: String(this.out.outBytes - this.base.out) },
      { long: 'deleted', value: String(s.deleted) },
      { long: 'expunged', value: String(s.expunged) },
      { long: 'trashed', value: String(s.trashed) },
      { long: 'fetch_hdr_count', value: String(s.fetchHdrCount) },
      { long: 'fetch_hdr_bytes', value: String(s.fetchHdrBytes) },
      { long: 'fetch_body_count', value: String(s.fetchBodyCount) },
      { long: 'fetch_body_bytes', value: String(s.fetchBodyBytes) },
      { long: 'user', value: this.user.username },
      { long: 'session', value: '' },
    ]).value;
  }

  /** Log "Disconnected: <reason> <stats>" once. */
  logDisconnect(reason: string): void {
    if (this.logoutDone) return;
    this.logoutDone = true;
    this.logInfo(`Disconnected: ${reason} ${this.logoutStats()}`);
  }

  /** "* BYE <text>", log, close. */
  disconnect(text: string): void {
    this.out.line(`* BYE ${text}`);
    this.logDisconnect(text);
    this.closed = true;
    this.out.end();
  }

  private commandsStatus(): string {
    if (!this.lastCmd) return ' (No commands sent)';
    const secs = ((Date.now() - this.lastCmd.at) / 1000).toFixed(3);
    return ` (${this.lastCmd.name} finished ${secs} secs ago)`;
  }

  /** Decode a mailbox name argument (mUTF-7 unless UTF8=ACCEPT), or a tagged NO. */
  mailboxName(a: ImapArg | undefined): string {
    if (a === undefined) throw new BadCommand('Missing arguments.');
    const b = a.type === 'atom' ? Buffer.from(a.value, 'latin1') : a.type === 'string' ? a.value : a.type === 'nil' ? Buffer.from('NIL') : undefined;
    if (!b) throw new BadCommand('Invalid arguments.');
    const name = decodeMailboxName(b, this.utf8);
    if (name === undefined) throw new TaggedReply('NO Mailbox name is not valid mUTF-7');
    return name;
  }

  /** The storage a vname belongs to. */
  storageFor(vname: string) {
    const ns = this.user.findNamespace(vname);
    if (!ns) throw new TaggedReply('NO Client tried to access nonexistent namespace. (Mailbox name should probably be prefixed with: )');
    return ns.storage;
  }

  /** Is APPEND's target there? Checked before "+ OK" so a missing mailbox is refused before the literal. */
  private async appendCheck(head: Piece[]): Promise<string | undefined> {
    try {
      const cur = new ArgCursor([head[0] as Buffer]);
      cur.word();
      if (cur.word()?.toUpperCase() !== 'APPEND') return undefined;
      const text = (head[0] as Buffer).toString('latin1');
      if (head.length !== 1) return undefined;
      const m = /^\S+ +\S+ +("(?:[^"\\]|\\.)*"|[^ ({]+)/.exec(text);
      if (!m) return undefined;
      const name = this.mailboxName(new ArgCursor([Buffer.from(m[1] as string, 'latin1')]).args()[0]);
      const st = this.storageFor(name);
      if (!(await st.exists(name))) return `NO [TRYCREATE] Mailbox doesn't exist: ${name}`;
    } catch (e) {
      if (e instanceof TaggedReply) return e.message;
      return undefined;
    }
    return undefined;
  }

  private async commandLoop(): Promise<void> {
    const set = this.settings;
    const armIdle = () =>
      this.armTimer(IDLE_TIMEOUT_MS, () => {
        this.disconnect('Disconnected for inactivity.');
        this.input.closed = true;
      });
    armIdle();
    while (!this.closed) {
      const r = await readCommand(this.input, {
        maxLine: set.maxLineLength,
        literalMinus: set.literalMinus,
        sendContinue: () => this.out.write('+ OK\r\n'),
        onLiteral: async (a) => {
          const head = (a.head[0] as Buffer).toString('latin1');
          // the command is looked up before its arguments are read: an unknown one never gets "+ OK"
          const m = /^(\S+) +(UID +)?(\S+)/.exec(head);
          const cname = m ? `${m[2] ? 'UID ' : ''}${(m[3] as string).toUpperCase()}` : '';
          if (a.head.length === 1 && m && !COMMANDS.has(cname) && validTag(m[1] as string)) {
            return { action: 'reject', reply: `BAD Error in IMAP command ${cname}: Unknown command.` };
          }
          const isAppend = /^\S+ +APPEND /i.test(head);
          if (!isAppend) return { action: 'read' };
          if (a.head.length === 1) {
            const reply = await this.appendCheck(a.head);
            if (reply) return { action: 'reject', reply };
          }
          return { action: 'read', unbounded: true };
        },
      });
      if (this.closed) return;
      armIdle();
      if (r.kind === 'eof') {
        this.logDisconnect(`Connection closed${this.commandsStatus()}`);
        return;
      }
      const cur = new ArgCursor(r.pieces);
      const tag = cur.word() ?? '';
      if (r.kind === 'literal-too-big') {
        this.disconnect(r.message);
        return;
      }
      if (r.kind === 'rejected') {
        this.out.line(`${tag} ${withTiming(r.reply, 0)}`);
        this.lastCmd = { name: (cur.word() ?? '').toUpperCase(), at: Date.now() };
        continue;
      }
      if (r.kind === 'too-long') {
        this.commandError(tag || '*', undefined, 'Too long argument.');
        continue;
      }
      this.out.cork();
      try {
        await this.execute(tag, cur);
      } finally {
        this.out.uncork();
      }
    }
  }

  /** "BAD Error in IMAP command X: text" and the bad-command counter. */
  private commandError(tag: string, name: string | undefined, text: string, started = Date.now()): void {
    const msg = name === undefined ? `BAD Error in IMAP command: ${text}` : `BAD Error in IMAP command ${name}: ${text}`;
    this.out.line(`${tag} ${withTiming(msg, Date.now() - started)}`);
    if (++this.bad >= CLIENT_MAX_BAD_COMMANDS) this.disconnect('Too many invalid IMAP commands.');
  }

  private async execute(tag: string, cur: ArgCursor): Promise<void> {
    const started = Date.now();
    if (!validTag(tag)) {
      this.out.line(`* ${withTiming('BAD Error in IMAP tag: Invalid tag.', 0)}`);
      return;
    }
    let name = cur.word() ?? '';
    if (name === '' || !validCommandName(name)) {
      this.commandError(tag, undefined, 'Invalid command name.', started);
      return;
    }
    name = name.toUpperCase();
    let uid = false;
    if (name === 'UID') {
      uid = true;
      const sub = (cur.word() ?? '').toUpperCase();
      name = `UID ${sub}`;
    }
    const spec = COMMANDS.get(name);
    if (!spec) {
      this.commandError(tag, name, 'Unknown command.', started);
      return;
    }
    let args: ImapArg[];
    try {
      args = cur.args({ literal8: spec.literal8 === true });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      this.commandError(tag, name, e.message, started);
      return;
    }
    if (spec.selected && !this.selected) {
      this.out.line(`${tag} ${withTiming('BAD No mailbox selected.', Date.now() - started)}`);
      return;
    }
    const cmd: Cmd = { tag, name, uid, args };
    let reply: string;
    try {
      reply = await spec.run(this, cmd);
    } catch (e) {
      if (e instanceof BadCommand) {
        this.commandError(tag, name, e.message, started);
        return;
      }
      if (e instanceof TaggedReply) reply = e.message;
      else {
        const { MailError, internalErrorText } = await import('../storage/errors.js');
        if (e instanceof MailError) {
          const { mailErrorReply } = await import('./util.js');
          if (e.kind === 'internal') this.logError(e.internal ?? e.message);
          reply = mailErrorReply(e, { nonexistent: spec.nonexistent === true });
        } else {
          this.logError(`${name}: ${(e as Error).stack ?? e}`);
          reply = `NO [SERVERBUG] ${internalErrorText()}`;
        }
      }
    }
    if (this.closed) return;
    this.bad = 0;
    if (reply === '') return;
    if (this.selected && spec.syncAfter !== false && !this.logoutRequested) {
      try {
        await this.selected.sync();
        this.selected.announce(this.out, { expunges: !spec.usesSeqs, condstore: this.condstore });
      } catch (e) {
        this.logError(`sync: ${(e as Error).message}`);
      }
    }
    const waitMs = spec.waitMs?.(this) ?? 0;
    this.out.line(`${tag} ${withTiming(reply, Date.now() - started - waitMs, waitMs)}`);
    this.lastCmd = { name, at: Date.now() };
    if (this.logoutRequested) {
      this.out.uncork();
      this.logDisconnect('Logged out');
      this.closed = true;
    }
  }
}
