/**
 * imap/login.ts: the not-authenticated state as imap-login runs it
 * (imap-login-client.c, client-authenticate.c, login-common): greeting,
 * CAPABILITY, NOOP, LOGOUT, ID, ENABLE, STARTTLS, LOGIN (sent to auth as
 * PLAIN) and AUTHENTICATE with SASL-IR and challenge rounds, the
 * plaintext-auth rule (disable_plaintext_auth unless secured; LOGINDISABLED)
 * and the three-bad-commands limit. Replies carry no timing here.
 */
import { AuthClient, type AuthResult } from '../auth/client.js';
import { loginLogLine, type LoginLogVars } from '../pop3/log.js';
import { preLoginCapability } from './capability.js';
import type { ImapArg } from './args.js';
import { ArgCursor, ParseError, readCommand, validTag } from './parser/command.js';
import type { ImapInput } from './parser/input.js';
import { TOO_LONG } from './parser/input.js';
import type { ImapOutput } from './output.js';
import type { ImapSettings } from './settings.js';

/** IMAP_LOGIN_MAX_LINE_LENGTH */
const LOGIN_MAX_LINE = 8192;
const CLIENT_MAX_BAD_COMMANDS = 3;
const IMAP_TAG_MAX_LEN = 80;
const LOGIN_MAX_AUTH_BUF_SIZE = 8192;
const AUTH_FAILED_MSG = 'Authentication failed.';
const PLAINTEXT_DISABLED_MSG = 'Plaintext authentication disallowed on non-secure (SSL/TLS) connections.';

export interface LoginConn {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  secured: boolean;
  tls: boolean;
  session: string;
}

export interface LoginSuccess {
  user: string;
  mech: string;
  tag: string;
  /** The client sent CAPABILITY before logging in: capabilities go untagged. */
  untaggedCapability: boolean;
}

export interface LoginHooks {
  startTls(): Promise<boolean>;
  log(text: string): void;
}

/** "<key> <text>" of a tagged reply; text starting with '[' keeps its own code. */
function coded(code: string, text: string): string {
  return `[${code}] ${text}`;
}

export class ImapLogin {
  private auth: AuthClient | undefined;
  private bad = 0;
  private attempts = 0;
  private lastFail = '';
  private abortedAuth = false;
  private readonly created = Date.now();
  private firstAuth = 0;
  private capabilitySent = false;
  private lastUser: string | undefined;

  constructor(
    private readonly input: ImapInput,
    private readonly out: ImapOutput,
    private readonly set: ImapSettings,
    private readonly conn: LoginConn,
    private readonly authPath: string,
    private readonly hooks: LoginHooks,
  ) {}

  logVars(user?: string, mech?: string): LoginLogVars {
    return {
      ...(user !== undefined ? { user } : {}),
      ...(mech !== undefined ? { mech } : {}),
      localIp: this.conn.localIp,
      remoteIp: this.conn.remoteIp,
      localPort: this.conn.localPort,
      remotePort: this.conn.remotePort,
      secured: this.conn.secured,
      tls: this.conn.tls,
      session: this.conn.session,
    };
  }

  logLine(msg: string, user?: string, mech?: string, mailPid?: number): string {
    return loginLogLine(this.set.loginLogFormat, this.set.loginLogFormatElements, msg, {
      ...this.logVars(user, mech),
      ...(mailPid !== undefined ? { mailPid } : {}),
    });
  }

  /** Log "Disconnected: <reason> (<why>)" as client_destroy does for a login that did not succeed. */
  destroyLog(reason: string): void {
    const secs = Math.floor((Date.now() - this.created) / 1000);
    let extra: string;
    if (this.attempts === 0) extra = `(no auth attempts in ${secs} secs)`;
    else if (this.abortedAuth && this.attempts === 1) extra = '(aborted authentication)';
    else if (this.lastFail === 'mech_ssl_required') extra = '(tried to use disallowed plaintext auth)';
    else if (this.lastFail === 'mech_invalid') extra = '(tried to use unsupported auth mechanism)';
    else if (this.lastFail === 'tempfail') extra = '(auth service reported temporary failure)';
    else extra = `(auth failed, ${this.attempts} attempts in ${Math.floor((Date.now() - (this.firstAuth || this.created)) / 1000)} secs)`;
    this.hooks.log(this.logLine(`Disconnected: ${reason} ${extra}`, this.lastUser));
  }

  close(): void {
    this.auth?.close();
  }

  private tlsPossible(): boolean {
    return this.set.ssl !== 'no' && this.set.tlsContext !== undefined;
  }

  private advertisedMechs(): string[] {
    const out: string[] = [];
    for (const m of this.auth?.mechs ?? []) {
      if (m.flags.includes('private')) continue;
      if (!this.conn.secured && this.set.disablePlaintextAuth && m.flags.includes('plaintext')) continue;
      out.push(m.name);
    }
    return out;
  }

  private loginDisabled(): boolean {
    if (this.conn.secured) return !(this.auth?.mechs ?? []).some((m) => m.name === 'PLAIN');
    return this.set.disablePlaintextAuth || this.set.ssl === 'required';
  }

  capability(): string {
    return preLoginCapability(this.set, {
      tls: this.conn.tls,
      tlsPossible: this.tlsPossible(),
      loginDisabled: this.loginDisabled(),
      mechs: this.advertisedMechs(),
    });
  }

  /** Connect to auth and greet. False when auth is not there. */
  async start(): Promise<boolean> {
    try {
      this.auth = await AuthClient.connect(this.authPath, { timeoutMs: 60_000 });
    } catch {
      this.out.line('* OK Waiting for authentication process to respond..');
      return false;
    }
    this.out.line(`* OK [CAPABILITY ${this.capability()}] ${this.set.loginGreeting}`);
    return true;
  }

  private reply(tag: string, text: string): void {
    this.out.line(`${tag === '' ? '*' : tag} ${text}`);
  }

  /** A bad command: BAD, or BYE and the end on the third. False when disconnected. */
  private invalid(tag: string): boolean {
    if (++this.bad >= CLIENT_MAX_BAD_COMMANDS) {
      this.out.line('* BYE Too many invalid IMAP commands.');
      this.destroyLog('Too many invalid commands');
      return false;
    }
    this.reply(tag, 'BAD Error in IMAP command received by server.');
    return true;
  }

  /**
   * Run commands until a login succeeds (returns it) or the connection
   * ends (returns undefined; the login log line is written).
   */
  async run(): Promise<LoginSuccess | undefined> {
    for (;;) {
      const r = await readCommand(this.input, {
        maxLine: LOGIN_MAX_LINE,
        literalMinus: this.set.literalMinus,
        sendContinue: () => this.out.write('+ OK\r\n'),
      });
      if (r.kind === 'eof') {
        this.destroyLog('Connection closed');
        return undefined;
      }
      if (r.kind === 'too-long') {
        this.out.line('* BYE Input buffer full, aborting');
        this.destroyLog('Input buffer full');
        return undefined;
      }
      const cur = new ArgCursor(r.pieces);
      const tag = cur.word() ?? '';
      if (r.kind === 'literal-too-big') {
        this.out.line(`* BYE ${r.message}`);
        this.destroyLog(`Disconnected: ${r.message}`);
        return undefined;
      }
      if (r.kind === 'rejected') continue;
      if (!validTag(tag) || tag.length > IMAP_TAG_MAX_LEN) {
        if (!this.invalid('*')) return undefined;
        continue;
      }
      const name = (cur.word() ?? '').toUpperCase();
      const res = await this.command(tag, name, cur);
      if (res === 'bye') return undefined;
      if (typeof res === 'object') return res;
    }
  }

  private async command(tag: string, name: string, cur: ArgCursor): Promise<'ok' | 'bye' | LoginSuccess> {
    if (name === 'AUTHENTICATE') return this.authenticate(tag, cur.restOfLine());
    let args: ImapArg[];
    try {
      args = cur.args();
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      this.reply(tag, `BAD ${e.message}`);
      return 'ok';
    }
    switch (name) {
      case 'CAPABILITY':
        this.capabilitySent = true;
        this.out.line(`* CAPABILITY ${this.capability()}`);
        this.reply(tag, 'OK Pre-login capabilities listed, post-login capabilities have more.');
        return 'ok';
      case 'NOOP':
        this.reply(tag, 'OK NOOP completed.');
        return 'ok';
      case 'LOGOUT':
        this.out.line('* BYE Logging out');
        this.reply(tag, 'OK Logout completed.');
        this.destroyLog('Aborted login by logging out');
        return 'bye';
      case 'ID':
        this.out.line('* ID ("name" "Dovecot")');
        this.reply(tag, 'OK ID completed.');
        return 'ok';
      case 'ENABLE':
        this.out.line('* ENABLED');
        this.reply(tag, 'OK ENABLE ignored in non-authenticated state.');
        return 'ok';
      case 'STARTTLS':
        return this.starttls(tag);
      case 'LOGIN':
        return this.login(tag, args);
      default:
        if (tag.toUpperCase() === 'LOGIN') {
          this.reply(
            tag,
            "BAD First parameter in line is IMAP's command tag, not the command name. Add that before the command, like: a login user pass",
          );
          return 'ok';
        }
        return this.invalid(tag) ? 'ok' : 'bye';
    }
  }

  private async starttls(tag: string): Promise<'ok' | 'bye'> {
    if (this.conn.tls) {
      this.reply(tag, 'BAD TLS is already active.');
      return 'ok';
    }
    if (!this.tlsPossible()) {
      this.reply(tag, "BAD TLS support isn't enabled.");
      return 'ok';
    }
    this.reply(tag, 'OK Begin TLS negotiation now.');
    if (!(await this.hooks.startTls())) {
      this.destroyLog('TLS handshaking failed');
      return 'bye';
    }
    this.conn.tls = true;
    this.conn.secured = true;
    return 'ok';
  }

  private astring(a: ImapArg | undefined): string | undefined {
    if (!a) return undefined;
    if (a.type === 'atom') return a.value;
    if (a.type === 'string') return a.value.toString('utf8');
    if (a.type === 'nil') return 'NIL';
    return undefined;
  }

  private async login(tag: string, args: ImapArg[]): Promise<'ok' | 'bye' | LoginSuccess> {
    const user = this.astring(args[0]);
    const pass = this.astring(args[1]);
    if (user === undefined || pass === undefined || args.length !== 2) return this.invalid(tag) ? 'ok' : 'bye';
    if (!(this.conn.secured || (!this.set.disablePlaintextAuth && this.set.ssl !== 'required'))) {
      this.lastUser ??= user;
      this.out.line(
        '* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.',
      );
      this.reply(tag, `NO ${coded('PRIVACYREQUIRED', PLAINTEXT_DISABLED_MSG)}`);
      this.attempts++;
      this.lastFail = 'mech_ssl_required';
      return 'ok';
    }
    const plain = Buffer.concat([Buffer.from([0]), Buffer.from(user, 'utf8'), Buffer.from([0]), Buffer.from(pass, 'utf8')]);
    return this.authBegin(tag, 'PLAIN', plain.toString('base64'));
  }

  private async authenticate(tag: string, rest: string): Promise<'ok' | 'bye' | LoginSuccess> {
    if (rest === '') return this.invalid(tag) ? 'ok' : 'bye';
    const sp = rest.indexOf(' ');
    const mech = sp < 0 ? rest : rest.slice(0, sp);
    const ir = sp < 0 ? '' : rest.slice(sp + 1);
    if (ir.length > LOGIN_MAX_AUTH_BUF_SIZE) {
      this.out.line('* BYE Authentication response too large');
      this.destroyLog('Authentication response too large');
      return 'bye';
    }
    return this.authBegin(tag, mech, ir === '' ? undefined : ir);
  }

  /** sasl_server_auth_begin and the reply handling of imap_client_auth_result. */
  private async authBegin(tag: string, mechName: string, irBase64: string | undefined): Promise<'ok' | 'bye' | LoginSuccess> {
    this.attempts++;
    if (this.firstAuth === 0) this.firstAuth = Date.now();
    if (this.set.ssl === 'required' && !this.conn.secured) {
      this.lastFail = 'ssl_required';
      this.reply(tag, `NO ${coded('PRIVACYREQUIRED', 'Authentication not allowed until SSL/TLS is enabled.')}`);
      return 'ok';
    }
    const mech = (this.auth?.mechs ?? []).find((m) => m.name === mechName.toUpperCase());
    if (!mech || mech.flags.includes('private')) {
      this.lastFail = 'mech_invalid';
      this.reply(tag, `NO ${coded('ALERT', 'Unsupported authentication mechanism.')}`);
      return 'ok';
    }
    if (!this.conn.secured && this.set.disablePlaintextAuth && mech.flags.includes('plaintext')) {
      this.lastFail = 'mech_ssl_required';
      this.reply(tag, `NO ${coded('PRIVACYREQUIRED', PLAINTEXT_DISABLED_MSG)}`);
      return 'ok';
    }
    if (irBase64 !== undefined && irBase64 !== '=' && !/^[A-Za-z0-9+/]*={0,2}$/.test(irBase64)) {
      this.lastFail = 'invalid_base64';
      this.reply(tag, 'BAD Invalid base64 data in initial response');
      return 'ok';
    }
    const params = [
      'service=imap',
      `session=${this.conn.session}`,
      `lip=${this.conn.localIp}`,
      `rip=${this.conn.remoteIp}`,
      `lport=${this.conn.localPort}`,
      `rport=${this.conn.remotePort}`,
    ];
    if (this.conn.secured) params.push('secured');
    let aborted = false;
    let eof = false;
    const initial = irBase64 === undefined ? undefined : Buffer.from(irBase64 === '=' ? '' : irBase64, 'base64');
    const auth = this.auth as AuthClient;
    const r: AuthResult = await auth.authenticate(mech.name, params, initial, async (challenge) => {
      this.out.write(`+ ${challenge.toString('base64')}\r\n`);
      const line = await this.input.readLine(LOGIN_MAX_AUTH_BUF_SIZE);
      if (line === undefined || line === TOO_LONG) {
        eof = true;
        return undefined;
      }
      const s = line.toString('latin1');
      if (s === '*') {
        aborted = true;
        return undefined;
      }
      return Buffer.from(s, 'base64');
    });
    const fields = new Map(
      r.fields.map((x) => {
        const eq = x.indexOf('=');
        return eq < 0 ? ([x, ''] as const) : ([x.slice(0, eq), x.slice(eq + 1)] as const);
      }),
    );
    if (r.status === 'ok') {
      const user = r.user ?? fields.get('user') ?? '';
      this.lastUser = user;
      return { user, mech: mech.name, tag, untaggedCapability: this.capabilitySent };
    }
    if (eof) {
      this.destroyLog('Connection closed');
      return 'bye';
    }
    if (aborted) {
      this.abortedAuth = true;
      this.reply(tag, 'BAD Authentication aborted by client.');
      return 'ok';
    }
    if (fields.has('user')) this.lastUser = fields.get('user');
    if (r.status === 'error' || fields.has('temp')) {
      this.lastFail = 'tempfail';
      this.reply(tag, `NO ${coded('UNAVAILABLE', 'Temporary authentication failure.')}`);
      return 'ok';
    }
    const code = fields.get('code');
    this.lastFail = code ?? '';
    const reason = fields.get('reason');
    if (code === 'authz_fail') this.reply(tag, `NO ${coded('AUTHORIZATIONFAILED', reason ?? 'Authorization failed')}`);
    else if (reason !== undefined) this.reply(tag, reason.startsWith('[') ? `NO ${reason}` : `NO ${coded('ALERT', reason)}`);
    else this.reply(tag, `NO ${coded('AUTHENTICATIONFAILED', AUTH_FAILED_MSG)}`);
    return 'ok';
  }
}
