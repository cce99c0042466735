/**
 * pop3/login.ts: the AUTHORIZATION state (RFC 1939 §4, RFC 2449 CAPA,
 * RFC 2595 STLS, RFC 5034 AUTH) as pop3-login runs it: greeting, CAPA,
 * USER/PASS (sent to auth as PLAIN), AUTH with SASL initial response and
 * challenge rounds, APOP refusal, STLS, QUIT, XCLIENT, the plaintext-auth
 * rule (disable_plaintext_auth unless secured) and the three-bad-commands
 * limit. It talks to the auth service's login socket with AuthClient and
 * calls `onLogin` with the authenticated user name.
 */
import { AuthClient, type AuthResult } from '../auth/client.js';
import type { Pop3Io } from './io.js';
import { loginLogLine, type LoginLogVars } from './log.js';
import type { Pop3Settings } from './settings.js';

const CLIENT_MAX_BAD_COMMANDS = 3;
const CLIENT_MAX_CMD_LEN = 8;
const AUTH_FAILED_MSG = 'Authentication failed.';
const AUTH_PLAINTEXT_DISABLED_MSG = 'Plaintext authentication disallowed on non-secure (SSL/TLS) connections.';
const LOGIN_MAX_AUTH_BUF_SIZE = 8192;

/** client_get_extra_disconnect_reason for the auth fail codes (auth-client-interface.h names). */
const FAIL_REASONS: Record<string, string> = {
  temp_fail: '(auth service reported temporary failure)',
  user_disabled: '(user disabled)',
  pass_expired: '(password expired)',
  invalid_base64: '(sent invalid base64 in response)',
  login_disabled: '(login disabled)',
  mech_invalid: '(tried to use unsupported auth mechanism)',
  mech_ssl_required: '(tried to use disallowed plaintext auth)',
};

export interface LoginConn {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  secured: boolean;
  tls: boolean;
  trusted: boolean;
  session: string;
}

export interface LoginHooks {
  /** Switch the connection to TLS (after "+OK Begin TLS negotiation now."). */
  startTls(): Promise<boolean>;
  /** Auth succeeded: finish the login (userdb, INBOX). Returns an error text to send as -ERR [SYS/TEMP] or undefined. */
  onLogin(user: string, mech: string): Promise<{ ok: true } | { ok: false; reply: string; reason: string }>;
  log(text: string): void;
}

let pidCounter = 0;
/** A client pid no other connection of this process uses. */
function nextClientPid(): number {
  pidCounter = (pidCounter + 1) % 4096;
  return ((process.pid % 500_000) * 4096 + pidCounter) % 2_000_000_000 || 1;
}

type Reply = 'ok' | 'err' | 'temp' | 'auth';

export class Pop3Login {
  private auth: AuthClient | undefined;
  private lastUser: string | undefined;
  /** The user name the log shows (login-common virtual_user): a refused USER, or user= of an auth reply. */
  private virtualUser: string | undefined;
  /** The last mechanism tried (auth_mech_name), upper-cased. */
  private lastMech: string | undefined;
  private bad = 0;
  private attempts = 0;
  private lastFail = '';
  private abortedAuth = false;
  private readonly created = Date.now();
  private firstAuth = 0;
  done = false;

  constructor(
    private readonly io: Pop3Io,
    private readonly set: Pop3Settings,
    private readonly conn: LoginConn,
    private readonly authPath: string,
    private readonly hooks: LoginHooks,
  ) {}

  private reply(kind: Reply, text: string): void {
    const prefix = kind === 'ok' ? '+OK' : kind === 'temp' ? '-ERR [SYS/TEMP]' : kind === 'auth' && text[0] !== '[' ? '-ERR [AUTH]' : '-ERR';
    this.io.writeLine(`${prefix} ${text}`);
  }

  private logVars(user?: string, mech?: string): LoginLogVars {
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

  /** Log "Disconnected: <reason> (<why>)" as client_destroy does for a login that did not succeed. */
  destroyLog(reason: string, user?: string): void {
    const secs = Math.floor((Date.now() - this.created) / 1000);
    let extra: string;
    if (this.attempts === 0) extra = `(no auth attempts in ${secs} secs)`;
    else if (this.abortedAuth && this.attempts === 1) extra = '(aborted authentication)';
    else if (this.lastFail === 'authz_fail') extra = `(authorization failed, ${this.attempts} attempts in ${this.authSecs()} secs)`;
    else if (this.lastFail in FAIL_REASONS) extra = FAIL_REASONS[this.lastFail] as string;
    else extra = `(auth failed, ${this.attempts} attempts in ${this.authSecs()} secs)`;
    const msg = reason === '' ? `Disconnected ${extra}` : `Disconnected: ${reason} ${extra}`;
    this.hooks.log(loginLogLine(this.set.loginLogFormat, this.set.loginLogFormatElements, msg, this.logVars(user ?? this.virtualUser, this.lastMech)));
  }

  private authSecs(): number {
    return Math.floor((Date.now() - (this.firstAuth || this.created)) / 1000);
  }

  /** Connect to auth and send the greeting. */
  async start(): Promise<boolean> {
    try {
      // one auth connection per session: each needs its own client pid (the auth server refuses a repeated CPID)
      this.auth = await AuthClient.connect(this.authPath, { timeoutMs: 60_000, pid: nextClientPid() });
    } catch {
      this.reply('temp', 'Waiting for authentication process to respond.');
      return false;
    }
    this.reply('ok', `${this.conn.trusted ? '[XCLIENT] ' : ''}${this.set.loginGreeting}`);
    return true;
  }

  close(): void {
    this.auth?.close();
  }

  private plaintextAllowed(): boolean {
    return this.conn.secured || (!this.set.disablePlaintextAuth && this.set.ssl !== 'required');
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

  private tlsEnabled(): boolean {
    return this.set.ssl !== 'no' && this.set.tlsContext !== undefined;
  }

  /** Split a line as pop3-login reads the command name (at most 8 characters, CRs dropped). */
  static splitCommand(line: string): { cmd: string; args: string } {
    let cmd = '';
    let i = 0;
    for (; i < line.length; i++) {
      const c = line[i] as string;
      if (c === '\r') continue;
      if (c === ' ' || c === '\0' || i >= CLIENT_MAX_CMD_LEN) break;
      cmd += c.toUpperCase();
    }
    const args = i < line.length && line[i] === ' ' ? line.slice(i + 1) : line.slice(i);
    return { cmd, args };
  }

  /** One command line; resolves when the command (and any SASL exchange) is finished. */
  async command(line: string, readLine: () => Promise<string | undefined>): Promise<void> {
    const { cmd, args } = Pop3Login.splitCommand(line);
    let ok = true;
    switch (cmd) {
      case 'CAPA':
        this.capa();
        break;
      case 'USER':
        this.user(args);
        break;
      case 'PASS':
        await this.pass(args);
        break;
      case 'APOP':
        this.reply('err', 'APOP not enabled.');
        break;
      case 'STLS':
        await this.stls();
        break;
      case 'QUIT':
        this.reply('ok', 'Logging out');
        this.destroyLog('Aborted login by logging out');
        this.done = true;
        this.io.end();
        return;
      case 'XCLIENT':
      case 'XOIP':
        this.xclient(cmd === 'XOIP' ? `ADDR=${args}` : args);
        break;
      case 'AUTH':
        await this.authCmd(args, readLine);
        break;
      default:
        this.reply('err', 'Unknown command.');
        ok = false;
    }
    if (ok) this.bad = 0;
    else if (++this.bad >= CLIENT_MAX_BAD_COMMANDS) {
      this.reply('err', 'Too many invalid bad commands.');
      this.destroyLog('Disconnected: Too many bad commands');
      this.done = true;
      this.io.end();
    }
  }

  private capa(): void {
    let s = '+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n';
    if (this.tlsEnabled() && !this.conn.tls) s += 'STLS\r\n';
    if (!this.set.disablePlaintextAuth || this.conn.secured) s += 'USER\r\n';
    s += 'SASL';
    for (const m of this.advertisedMechs()) s += ` ${m}`;
    s += '\r\n.\r\n';
    this.io.write(s);
  }

  private checkPlaintext(): boolean {
    if (this.plaintextAllowed()) return true;
    this.reply('auth', AUTH_PLAINTEXT_DISABLED_MSG);
    this.attempts++;
    return false;
  }

  private user(args: string): void {
    if (!this.checkPlaintext()) {
      if (this.virtualUser === undefined) this.virtualUser = args;
      return;
    }
    this.lastUser = args;
    this.io.write('+OK\r\n');
  }

  private async pass(args: string): Promise<void> {
    if (this.lastUser === undefined) {
      if (!this.checkPlaintext()) return;
      this.reply('err', 'No username given.');
      return;
    }
    const plain = Buffer.concat([Buffer.from([0]), Buffer.from(this.lastUser, 'latin1'), Buffer.from([0]), Buffer.from(args, 'latin1')]);
    this.lastUser = undefined;
    await this.authBegin('PLAIN', plain.toString('base64'), async () => undefined);
  }

  private async stls(): Promise<void> {
    if (this.conn.tls) {
      this.reply('err', 'TLS is already active.');
      return;
    }
    if (!this.tlsEnabled()) {
      this.reply('err', 'TLS support isn\'t enabled.');
      return;
    }
    this.reply('ok', 'Begin TLS negotiation now.');
    if (await this.hooks.startTls()) {
      this.conn.tls = true;
      this.conn.secured = true;
    }
  }

  private xclient(args: string): void {
    if (!this.conn.trusted) {
      this.reply('ok', 'You are not from trusted IP - ignoring');
      return;
    }
    let okArgs = true;
    for (const a of args.split(' ')) {
      const up = a.toUpperCase();
      if (up.startsWith('ADDR=')) {
        if (!/^[0-9a-fA-F.:]+$/.test(a.slice(5))) okArgs = false;
        else this.conn.remoteIp = a.slice(5);
      } else if (up.startsWith('PORT=')) {
        const p = Number(a.slice(5));
        if (!/^\d+$/.test(a.slice(5)) || p < 1 || p > 65535) okArgs = false;
        else this.conn.remotePort = p;
      } else if (up.startsWith('SESSION=')) {
        if (a.length - 8 <= 64) this.conn.session = a.slice(8);
      } else if (up.startsWith('TTL=')) {
        if (!/^\d+$/.test(a.slice(4))) okArgs = false;
      }
    }
    if (!okArgs) this.reply('err', 'Invalid parameters');
    else this.reply('ok', 'Updated');
  }

  private async authCmd(args: string, readLine: () => Promise<string | undefined>): Promise<void> {
    if (args === '') {
      // old-style SASL discovery (MS Outlook)
      let s = '+OK\r\n';
      for (const m of this.advertisedMechs()) s += `${m}\r\n`;
      this.io.write(`${s}.\r\n`);
      return;
    }
    const sp = args.indexOf(' ');
    const mech = sp < 0 ? args : args.slice(0, sp);
    const ir = sp < 0 ? undefined : args.slice(sp + 1);
    if (ir !== undefined && ir.length > LOGIN_MAX_AUTH_BUF_SIZE) {
      this.destroyLog('Authentication response too large');
      this.done = true;
      this.io.end();
      return;
    }
    await this.authBegin(mech, ir, readLine);
  }

  /** sasl_server_auth_begin + the reply handling of sasl_callback / pop3_client_auth_result. */
  private async authBegin(mechName: string, irBase64: string | undefined, readLine: () => Promise<string | undefined>): Promise<void> {
    if (this.set.ssl === 'required' && !this.conn.secured) {
      this.attempts++;
      this.reply('auth', 'Authentication not allowed until SSL/TLS is enabled.');
      return;
    }
    this.attempts++;
    if (this.firstAuth === 0) this.firstAuth = Date.now();
    this.lastMech = mechName.toUpperCase();
    const mech = (this.auth?.mechs ?? []).find((m) => m.name === mechName.toUpperCase());
    if (!mech || mech.flags.includes('private')) {
      this.lastFail = 'mech_invalid';
      this.reply('auth', 'Unsupported authentication mechanism.');
      return;
    }
    if (!this.conn.secured && this.set.disablePlaintextAuth && mech.flags.includes('plaintext')) {
      this.lastFail = 'mech_ssl_required';
      this.reply('auth', 'Plaintext authentication disabled.');
      return;
    }
    const params = [
      'service=pop3',
      `session=${this.conn.session}`,
      `lip=${this.conn.localIp}`,
      `rip=${this.conn.remoteIp}`,
      `lport=${this.conn.localPort}`,
      `rport=${this.conn.remotePort}`,
    ];
    if (this.conn.secured) params.push('secured');
    let aborted = false;
    const initial = irBase64 === undefined ? undefined : Buffer.from(irBase64 === '=' ? '' : irBase64, 'base64');
    if (irBase64 !== undefined && irBase64 !== '=' && !/^[A-Za-z0-9+/]*={0,2}$/.test(irBase64)) {
      this.lastFail = 'invalid_base64';
      this.reply('auth', 'Invalid base64 data in initial response');
      return;
    }
    let r: AuthResult;
    const auth = this.auth as AuthClient;
    r = await auth.authenticate(mech.name, params, initial, async (challenge) => {
      this.io.write(`+ ${challenge.toString('base64')}\r\n`);
      const line = await readLine();
      if (line === undefined) return undefined;
      if (line === '*') {
        aborted = true;
        return undefined;
      }
      return Buffer.from(line, 'base64');
    });
    if (r.user !== undefined) this.virtualUser = r.user;
    if (r.status === 'ok') {
      const user = r.user ?? '';
      const res = await this.hooks.onLogin(user, mech.name);
      if (!res.ok) {
        // the Debian 2.3.19 build sends the user+IP refusal as "-ERR [IN-USE] …"
        this.io.writeLine(res.reply.startsWith('[') ? `-ERR ${res.reply}` : `-ERR [SYS/TEMP] ${res.reply}`);
        this.hooks.log(loginLogLine(this.set.loginLogFormat, this.set.loginLogFormatElements, `Disconnected: ${res.reason}`, this.logVars(user, mech.name)));
        this.done = true;
        this.io.end();
        return;
      }
      this.hooks.log(loginLogLine(this.set.loginLogFormat, this.set.loginLogFormatElements, 'Login', { ...this.logVars(user, mech.name), mailPid: process.pid }));
      this.done = true;
      return;
    }
    if (aborted) {
      this.abortedAuth = true;
      this.lastFail = '';
      this.reply('err', 'Authentication aborted by client.');
      return;
    }
    const f = new Map(r.fields.map((x) => {
      const eq = x.indexOf('=');
      return eq < 0 ? [x, ''] : [x.slice(0, eq), x.slice(eq + 1)];
    }));
    if (r.status === 'error' || f.has('temp')) {
      this.lastFail = 'temp_fail';
      this.reply('temp', 'Temporary authentication failure.');
      return;
    }
    const code = f.get('code');
    if (code === 'authz_fail') this.reply('auth', 'Authorization failed');
    else if (code === 'user_disabled' || f.has('user_disabled')) this.reply('auth', f.get('reason') ?? 'Account is disabled.');
    else this.reply('auth', f.get('reason') ?? AUTH_FAILED_MSG);
    this.lastFail = code ?? '';
  }
}
