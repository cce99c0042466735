/**
 * lmtp/session.ts: one LMTP connection, speaking as Dovecot 2.3's lmtp
 * (lib-smtp smtp-server-* with protocol LMTP, lmtp/lmtp-commands.c,
 * lmtp-local.c). RFC 2033 (LMTP), RFC 5321, RFC 3030 (CHUNKING), RFC 2920
 * (PIPELINING), RFC 2034 (ENHANCEDSTATUSCODES).
 *
 * Commands are read as lines (CRLF or LF), handled one at a time in order,
 * so pipelined replies come back in command order. After DATA or
 * BDAT … LAST there is one reply per accepted recipient, in RCPT order.
 * Every reply text is Dovecot's (see the command table below); the
 * differential test runs the same sessions against a real Dovecot.
 *
 * Security: untrusted input. Command lines are limited to 4096 bytes
 * ("500 5.5.2 Line too long"), more than 10 bad commands in a row end the
 * connection ("421 4.7.0 <host> Too many invalid commands."), idle
 * connections are closed after 5 minutes.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { deliver } from '../storage/deliver.js';
import { MailError } from '../storage/errors.js';
import { sessionId as newSessionId } from '../storage/guid.js';
import { createMailUser } from '../storage/user.js';
import { detailParse, encodeAddress, parseHeloDomain, parseMailPath, parsePath, type SmtpAddress } from './address.js';
import { addedHeaders, messageIdForLog } from './headers.js';
import { type MailParams, parseMailParams, parseRcptParams, type RcptParams } from './params.js';
import type { LmtpSettings } from './settings.js';

export const MAX_COMMAND_LINE = 4096;
export const MAX_BAD_COMMANDS = 10;
export const IDLE_TIMEOUT_MS = 5 * 60 * 1000;
const MAX_COMMAND_NAME = 32;

export type LogLevel = 'info' | 'warning' | 'error';
export type LmtpLog = (level: LogLevel, prefix: string, text: string) => void;

/** The userdb lookup the server does per RCPT (auth-master USER). */
export type UserLookup = (
  username: string,
  info: { session: string; localIp?: string; localPort?: number; remoteIp?: string; remotePort?: number },
) => Promise<{ ret: 1 | 0 | -1 | -2; user?: string; fields: string[] }>;

export interface ConnInfo {
  remoteIp?: string;
  remotePort?: number;
  localIp?: string;
  localPort?: number;
  unix: boolean;
}

interface Rcpt {
  path: SmtpAddress;
  params: RcptParams;
  username: string;
  detail: string;
  sessionId: string;
  fields: string[];
  duplicateOf?: Rcpt;
}

interface Transaction {
  id: string;
  mailFrom: SmtpAddress;
  params: MailParams;
  rcpts: Rcpt[];
  timestamp: Date;
  chunks: Buffer[];
  chunkBytes: number;
}

interface Reply {
  code: number;
  enh?: string;
  text: string;
}

const fmt = (r: Reply): string => `${r.code} ${r.enh ? `${r.enh} ` : ''}${r.text}\r\n`;

/** textstr: HT, SP, printable US-ASCII, and (for parameters) UTF-8. */
const BAD_PARAM_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;

export class LmtpSession {
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private busy = false;
  private badCounter = 0;
  private heloDomain: string | undefined;
  private sessionId = newSessionId();
  private transactionSeq = 0;
  private rcptSeq = 0;
  private trans: Transaction | undefined;
  /** BDAT chunks seen and whether one failed (smtp_server_connection state; reset by RSET). */
  private dataChunks = 0;
  private dataFailed = false;
  /** DATA mode: collecting lines until ".". */
  private dataMode: { lines: Buffer[]; size: number } | undefined;
  /** BDAT: bytes still to read into the current chunk. */
  private bdat: { remaining: number; parts: Buffer[]; last: boolean; size: number; ok: boolean } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private sock: Socket,
    private readonly set: LmtpSettings,
    private readonly lookup: UserLookup,
    private readonly info: ConnInfo,
    private readonly log: LmtpLog = () => {},
  ) {}

  /** login_trusted_networks, checked against the real peer (XCLIENT does not change it). */
  private realRemoteIp: string | undefined;

  get trusted(): boolean {
    const ip = this.realRemoteIp;
    if (this.info.unix || !ip) return false;
    return this.set.trustedNetworks.some((n) => ipInNet(ip, n));
  }

  start(): void {
    this.realRemoteIp = this.info.remoteIp;
    this.log('info', `lmtp(${process.pid}): `, `Connect from ${this.remoteId()}`);
    this.write(`220 ${this.set.hostname} ${this.set.loginGreeting}\r\n`);
    this.attach(this.sock);
    this.touch();
  }

  private attach(sock: Socket): void {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('end', () => this.close('Connection closed'));
    sock.on('error', () => this.close('Connection closed'));
    sock.on('close', () => {
      this.closed = true;
      if (this.idleTimer) clearTimeout(this.idleTimer);
    });
  }

  /** STARTTLS (RFC 3207): the handshake starts on the raw socket right after the 220. */
  private startTls(): void {
    const ctx = this.set.tlsContext;
    if (!ctx) return;
    const raw = this.sock;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('error');
    raw.removeAllListeners('close');
    const t = new TLSSocket(raw, { isServer: true, secureContext: ctx });
    this.sock = t as unknown as Socket;
    this.tls = true;
    this.buf = Buffer.alloc(0);
    this.heloDomain = undefined;
    this.resetTransaction();
    t.on('secure', () => {
      const c = t.getCipher();
      const bits = /256|CHACHA20/.test(c.name) ? 256 : /128/.test(c.name) ? 128 : 0;
      this.tlsSecurity = `${t.getProtocol() ?? 'TLS'} with cipher ${c.standardName ?? c.name} (${bits}/${bits} bits)`;
    });
    this.attach(this.sock);
  }

  private tls = false;
  /** ssl_iostream_get_security_string(), for the Received header. */
  private tlsSecurity: string | undefined;

  private remoteId(): string {
    return this.info.unix ? 'local' : (this.info.remoteIp ?? 'unknown');
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.write(`421 4.4.2 ${this.set.hostname} Disconnected for inactivity\r\n`);
      this.close('Disconnected for inactivity');
    }, IDLE_TIMEOUT_MS);
    this.idleTimer.unref?.();
  }

  private write(s: string): void {
    if (!this.closed && !this.sock.destroyed) this.sock.write(s, 'utf8');
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.log('info', `lmtp(${process.pid}): `, `Disconnect from ${this.remoteId()}: ${reason}`);
    this.sock.end();
  }

  // ----------------------------------------------------------------- input

  private onData(d: Buffer): void {
    this.touch();
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.pump();
  }

  /** Consume as much buffered input as the current state allows. */
  private pump(): void {
    while (!this.closed && !this.busy && this.buf.length > 0) {
      if (this.bdat) {
        const take = Math.min(this.bdat.remaining, this.buf.length);
        if (take > 0) {
          this.bdat.parts.push(this.buf.subarray(0, take));
          this.bdat.remaining -= take;
          this.buf = this.buf.subarray(take);
        }
        if (this.bdat.remaining > 0) return;
        const b = this.bdat;
        this.bdat = undefined;
        this.run(() => this.finishBdat(b));
        continue;
      }
      const nl = this.buf.indexOf(10);
      if (nl < 0) {
        if (!this.dataMode && this.buf.length > MAX_COMMAND_LINE + 2) {
          // Dovecot answers once and then skips to the end of the line
          this.buf = Buffer.alloc(0);
          this.skipToEol = true;
          this.reply({ code: 500, enh: '5.5.2', text: 'Line too long' }, true);
        }
        if (this.dataMode && this.buf.length > 1 << 20) {
          // keep long data lines flowing without buffering them whole
          this.dataMode.lines.push(this.buf);
          this.dataMode.size += this.buf.length;
          this.buf = Buffer.alloc(0);
        }
        return;
      }
      let line = this.buf.subarray(0, nl + 1);
      this.buf = this.buf.subarray(nl + 1);
      if (this.dataMode) {
        this.dataLine(line);
        continue;
      }
      if (this.skipToEol) {
        this.skipToEol = false;
        continue;
      }
      line = line.subarray(0, line.length - 1);
      let cr = false;
      if (line.length && line[line.length - 1] === 13) {
        line = line.subarray(0, -1);
        cr = true;
      }
      const text = line.toString('utf8');
      this.run(() => this.command(text, line, cr));
    }
  }

  private skipToEol = false;

  /** Handle one command (or data end) at a time, keeping replies in order. */
  private run(fn: () => Promise<void> | void): void {
    this.busy = true;
    this.queue = this.queue
      .then(fn)
      .catch((e) => {
        this.log('error', `lmtp(${process.pid}): `, `internal error: ${(e as Error).stack ?? e}`);
        this.write('451 4.3.0 Temporary internal failure\r\n');
      })
      .finally(() => {
        this.busy = false;
        if (!this.closed) setImmediate(() => this.pump());
      });
  }

  // --------------------------------------------------------------- replies

  /**
   * Send a reply and count bad ones (500/501/503). The 11th bad command in
   * a row gets no reply of its own: the connection ends with 421
   * (smtp_server_command_completed, max_bad_commands = 10).
   */
  private reply(r: Reply, bad = [500, 501, 503].includes(r.code)): void {
    if (bad && this.badCounter + 1 > MAX_BAD_COMMANDS) {
      this.badCounter++;
      this.write(`421 4.7.0 ${this.set.hostname} Too many invalid commands.\r\n`);
      this.close('Too many invalid commands.');
      return;
    }
    this.write(fmt(r));
    this.countBad(bad);
  }

  private countBad(bad: boolean): void {
    if (bad) this.badCounter++;
    else this.badCounter = 0;
  }

  // -------------------------------------------------------------- commands

  private async command(line: string, raw: Buffer, _cr: boolean): Promise<void> {
    if (raw.length > MAX_COMMAND_LINE) {
      this.reply({ code: 500, enh: '5.5.2', text: 'Line too long' });
      return;
    }
    const m = /^[A-Za-z]*/.exec(line);
    const name = (m?.[0] ?? '').toUpperCase();
    let rest = line.slice(name.length);
    if (name.length > MAX_COMMAND_NAME) {
      this.reply({ code: 500, enh: '5.5.2', text: 'Invalid command syntax' });
      return;
    }
    if (rest !== '') {
      if (rest[0] !== ' ') {
        this.reply({ code: 500, enh: '5.5.2', text: 'Invalid command syntax' });
        return;
      }
      rest = rest.slice(1);
      if (BAD_PARAM_CHAR.test(rest) || raw.includes(0)) {
        this.reply({ code: 500, enh: '5.5.2', text: 'Invalid command syntax' });
        return;
      }
      rest = rest.replace(/[ \t]+$/, '');
      if (rest.startsWith(' ')) {
        this.reply({ code: 500, enh: '5.5.2', text: 'Invalid command syntax' });
        return;
      }
    }
    switch (name) {
      case 'LHLO':
        this.cmdLhlo(rest);
        return;
      case 'MAIL':
        this.cmdMail(rest);
        return;
      case 'RCPT':
        await this.cmdRcpt(rest);
        return;
      case 'DATA':
        this.cmdData(rest);
        return;
      case 'BDAT':
        this.cmdBdat(rest);
        return;
      case 'RSET':
        if (rest !== '') {
          this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
          return;
        }
        this.resetTransaction();
        this.reply({ code: 250, enh: '2.0.0', text: 'OK' });
        return;
      case 'NOOP':
        this.reply({ code: 250, enh: '2.0.0', text: 'OK' });
        return;
      case 'VRFY':
        if (rest === '') {
          this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
          return;
        }
        this.reply({ code: 252, enh: '2.3.3', text: 'Try RCPT instead' });
        return;
      case 'QUIT':
        if (rest !== '') {
          this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
          return;
        }
        this.write('221 2.0.0 Bye\r\n');
        this.close('Logged out');
        return;
      case 'STARTTLS':
        if (this.tls) {
          this.reply({ code: 502, enh: '5.5.1', text: 'TLS is already active.' });
          return;
        }
        if (!this.set.tlsContext) {
          this.reply({ code: 502, enh: '5.5.1', text: 'TLS support is not enabled.' });
          return;
        }
        if (rest !== '') {
          this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
          return;
        }
        this.reply({ code: 220, enh: '2.0.0', text: 'Begin TLS negotiation now.' });
        this.startTls();
        return;
      case 'AUTH':
        this.reply({ code: 502, enh: '5.5.1', text: 'Unsupported command' });
        return;
      case 'XCLIENT':
        this.cmdXclient(rest);
        return;
      default:
        this.reply({ code: 500, enh: '5.5.1', text: 'Unknown command' });
        return;
    }
  }

  private cmdLhlo(params: string): void {
    if (params === '') {
      this.reply({ code: 501, text: 'Missing hostname' });
      return;
    }
    this.heloDomain = parseHeloDomain(params);
    if (this.trans) this.resetTransaction();
    const caps = ['8BITMIME', 'CHUNKING', 'ENHANCEDSTATUSCODES', 'PIPELINING'];
    if (this.set.tlsContext && !this.tls) caps.push('STARTTLS');
    if (this.trusted) caps.push('XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT', 'XRCPTFORWARD');
    const lines = [this.set.hostname, ...caps];
    this.write(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join(''));
    this.countBad(false);
  }

  private cmdMail(params: string): void {
    if (this.trans) {
      this.reply({ code: 503, enh: '5.5.0', text: 'MAIL already given' });
      return;
    }
    if (params.slice(0, 5).toUpperCase() !== 'FROM:') {
      this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
      return;
    }
    const after = params.slice(5);
    if (after[0] === ' ' || after[0] === '\t') {
      this.reply({ code: 501, enh: '5.5.4', text: 'Invalid FROM: Unexpected whitespace before path' });
      return;
    }
    const p = parseMailPath(after);
    if (p.error || !p.address) {
      this.reply({ code: 501, enh: '5.5.4', text: `Invalid FROM: ${p.error ?? 'Invalid character in path'}` });
      return;
    }
    const mp = parseMailParams(p.rest.startsWith(' ') ? p.rest.slice(1) : p.rest);
    if ('code' in mp) {
      this.reply({ code: mp.code, enh: '5.5.4', text: mp.text });
      return;
    }
    const id = this.transactionSeq++ === 0 ? this.sessionId : `${this.sessionId}:T${this.transactionSeq}`;
    this.trans = { id, mailFrom: p.address, params: mp, rcpts: [], timestamp: new Date(), chunks: [], chunkBytes: 0 };
    this.rcptSeq = 0;
    this.reply({ code: 250, enh: '2.1.0', text: 'OK' });
  }

  private async cmdRcpt(params: string): Promise<void> {
    const trans = this.trans;
    if (!trans) {
      this.reply({ code: 503, enh: '5.5.0', text: 'MAIL needed first' });
      return;
    }
    if (params.slice(0, 3).toUpperCase() !== 'TO:') {
      this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
      return;
    }
    const after = params.slice(3);
    if (after[0] === ' ' || after[0] === '\t') {
      this.reply({ code: 501, enh: '5.5.4', text: 'Invalid TO: Unexpected whitespace before path' });
      return;
    }
    const p = parsePath(after, { allowLocalpart: true });
    if (p.error || !p.address) {
      this.reply({ code: 501, enh: '5.5.4', text: `Invalid TO: ${p.error ?? 'Invalid character in path'}` });
      return;
    }
    const rp = parseRcptParams(p.rest.startsWith(' ') ? p.rest.slice(1) : p.rest, { trusted: this.trusted });
    if ('code' in rp) {
      this.reply({ code: rp.code, enh: rp.enh ?? '5.5.4', text: rp.text });
      return;
    }
    const path = p.address;
    const rcptText = `<${encodeAddress(path)}>`;
    // lmtp_recipient_create: every RCPT that gets this far takes a session id
    const sessionId = this.rcptSeq++ === 0 ? trans.id : `${trans.id}:R${this.rcptSeq}`;
    if (path.localpart === '' && path.domain === undefined) {
      this.reply({ code: 550, enh: '5.1.1', text: `${rcptText} Unacceptable TO: Empty path not allowed` });
      return;
    }
    const { username, detail } = detailParse(this.set.recipientDelimiter, path);
    let r: Awaited<ReturnType<UserLookup>>;
    try {
      r = await this.lookup(username, {
        session: sessionId,
        ...(this.info.localIp ? { localIp: this.info.localIp } : {}),
        ...(this.info.localPort ? { localPort: this.info.localPort } : {}),
        ...(this.info.remoteIp ? { remoteIp: this.info.remoteIp } : {}),
        ...(this.info.remotePort ? { remotePort: this.info.remotePort } : {}),
      });
    } catch (e) {
      this.log('error', `lmtp(${process.pid}): `, `Failed to lookup user ${username}: ${(e as Error).message}`);
      r = { ret: -1, fields: [] };
    }
    if (r.ret < 0) {
      this.log('error', `lmtp(${process.pid}): `, `Failed to lookup user ${username}: Internal error occurred. Refer to server log for more information.`);
      this.reply({ code: 451, enh: '4.3.0', text: `${rcptText} Temporary internal error` });
      return;
    }
    if (r.ret === 0) {
      this.reply({ code: 550, enh: '5.1.1', text: `${rcptText} User doesn't exist: ${username}` });
      return;
    }
    const rcpt: Rcpt = { path, params: rp, username: r.user ?? username, detail, sessionId, fields: r.fields };
    if (this.set.rcptCheckQuota) {
      const q = await this.checkQuota(rcpt);
      if (q) {
        this.reply(q);
        return;
      }
    }
    // duplicate: same path and same parameters
    const dup = trans.rcpts.find((x) => x.duplicateOf === undefined && sameAddress(x.path, path) && x.params.canonical === rp.canonical);
    if (dup) rcpt.duplicateOf = dup;
    trans.rcpts.push(rcpt);
    this.reply({ code: 250, enh: '2.1.5', text: 'OK' });
  }

  /** lmtp_rcpt_check_quota=yes: is INBOX already over quota? */
  private async checkQuota(rcpt: Rcpt): Promise<Reply | undefined> {
    const rcptText = `<${encodeAddress(rcpt.path)}>`;
    try {
      const user = await this.mailUser(rcpt);
      if (!user.quota) return undefined;
      await user.quota.check('INBOX', 0, false);
      return undefined;
    } catch (e) {
      if (e instanceof MailError && e.kind === 'noquota') {
        return this.set.quotaFullTempfail
          ? { code: 452, enh: '4.2.2', text: `${rcptText} ${e.message}` }
          : { code: 552, enh: '5.2.2', text: `${rcptText} ${e.message}` };
      }
      const detail = e instanceof MailError ? (e.internal ?? e.message) : (e as Error).message;
      this.log('error', `lmtp(${rcpt.username})<${process.pid}><${rcpt.sessionId}>: `, `mailbox_get_status(INBOX, STATUS_CHECK_OVER_QUOTA) failed: ${detail}`);
      return { code: 451, enh: '4.3.0', text: `${rcptText} Temporary internal error` };
    }
  }

  private mailUser(rcpt: Rcpt) {
    return createMailUser({
      username: rcpt.username,
      service: 'lmtp',
      settings: this.set.view,
      userdbFields: rcpt.fields,
      ...(this.info.localIp ? { localIp: this.info.localIp } : {}),
      ...(this.info.remoteIp ? { remoteIp: this.info.remoteIp } : {}),
      session: rcpt.sessionId,
    });
  }

  /** smtp_server_connection_data_check_state */
  private dataCheck(chunking: boolean, last: boolean): Reply | 'abort' | undefined {
    const trans = this.trans;
    if (this.dataChunks > 0 && this.dataFailed) return { code: 503, enh: '5.5.0', text: 'Previous data chunk failed, issue RSET first' };
    if (!trans) return { code: 503, enh: '5.5.0', text: 'MAIL needed first' };
    if (trans.rcpts.length === 0) {
      if (chunking && last) return 'abort';
      return { code: 503, enh: '5.5.0', text: 'No valid recipients' };
    }
    return undefined;
  }

  private cmdData(params: string): void {
    if (params !== '') {
      this.reply({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
      return;
    }
    const bad = this.dataCheck(false, true);
    if (bad === 'abort') return;
    if (bad) {
      this.reply(bad);
      return;
    }
    if (this.dataChunks > 0) {
      this.reply({ code: 503, enh: '5.5.0', text: 'Bad sequence of commands' });
      return;
    }
    this.write('354 OK\r\n');
    this.dataMode = { lines: [], size: 0 };
  }

  /** One line of DATA (with its line end); "." ends the message. */
  private dataLine(line: Buffer): void {
    const dm = this.dataMode as { lines: Buffer[]; size: number };
    const isEnd = (line.length === 3 && line[0] === 46 && line[1] === 13 && line[2] === 10) || (line.length === 2 && line[0] === 46 && line[1] === 10);
    if (isEnd) {
      this.dataMode = undefined;
      const data = Buffer.concat(dm.lines, dm.size);
      this.run(() => this.finishData(data));
      return;
    }
    const l = line[0] === 46 ? line.subarray(1) : line; // dot-unstuffing
    dm.lines.push(l);
    dm.size += l.length;
  }

  private chunkFail(r: Reply): void {
    this.dataFailed = true;
    this.reply(r);
  }

  private cmdBdat(params: string): void {
    this.dataChunks++;
    const argv = params.split(' ');
    let size = 0;
    let last = false;
    let ok = true;
    if (argv[0] === undefined || !/^\d+$/.test(argv[0]) || argv[0].length > 19) {
      this.chunkFail({ code: 501, enh: '5.5.4', text: 'Invalid chunk size parameter' });
      ok = false;
    } else {
      size = Number(argv[0]);
      if (argv.length > 2) {
        this.chunkFail({ code: 501, enh: '5.5.4', text: 'Invalid parameters' });
        ok = false;
      } else if (argv.length === 2) {
        if ((argv[1] as string).toUpperCase() !== 'LAST') {
          this.chunkFail({ code: 501, enh: '5.5.4', text: 'Invalid end marker parameter' });
          ok = false;
        } else last = true;
      }
    }
    // the chunk's bytes are read (and dropped) even after a syntax error
    if (size > 0) this.bdat = { remaining: size, parts: [], last, size, ok };
    else if (ok) this.run(() => this.finishBdat({ parts: [], last, size: 0, ok }));
  }

  private async finishBdat(b: { parts: Buffer[]; last: boolean; size: number; ok: boolean }): Promise<void> {
    if (!b.ok) return;
    const bad = this.dataCheck(true, b.last);
    if (bad === 'abort') return;
    if (bad) {
      this.chunkFail(bad);
      return;
    }
    const trans = this.trans as Transaction;
    trans.chunks.push(...b.parts);
    trans.chunkBytes += b.size;
    if (!b.last) {
      this.reply({ code: 250, enh: '2.0.0', text: `Added ${b.size} octets` });
      return;
    }
    const data = Buffer.concat(trans.chunks, trans.chunkBytes);
    await this.finishData(data);
  }

  /** Deliver to every accepted recipient; one reply each, in RCPT order. */
  private async finishData(data: Buffer): Promise<void> {
    const trans = this.trans;
    if (!trans) return;
    const headers = addedHeaders({
      mailFrom: trans.mailFrom,
      rcpts: trans.rcpts.map((r) => ({ path: r.path, ...(r.params.orcpt?.addr ? { orcpt: r.params.orcpt.addr } : {}) })),
      hdrDeliveryAddress: this.set.hdrDeliveryAddress,
      addReceived: this.set.addReceivedHeader,
      ...(this.heloDomain !== undefined ? { heloDomain: this.heloDomain } : {}),
      ...(this.info.unix || !this.info.remoteIp ? {} : { remoteIp: this.info.remoteIp }),
      hostname: this.set.hostname,
      protocol: this.tls ? 'LMTPS' : 'LMTP',
      ...(this.tls && this.tlsSecurity ? { security: this.tlsSecurity } : {}),
      transactionId: trans.id,
      timestamp: trans.timestamp,
    });
    const message = Buffer.concat([Buffer.from(headers, 'utf8'), data]);
    const msgid = messageIdForLog(data);
    const replies = new Map<Rcpt, Reply>();
    let firstSaved: { path: string; uid: number | undefined } | undefined;
    let anyOk = false;
    for (const rcpt of trans.rcpts) {
      if (rcpt.duplicateOf) {
        const r = replies.get(rcpt.duplicateOf) as Reply;
        this.write(fmt(r));
        continue;
      }
      const rcptText = `<${encodeAddress(rcpt.path)}>`;
      const prefix = `lmtp(${rcpt.username})<${process.pid}><${rcpt.sessionId}>: `;
      let reply: Reply;
      try {
        const user = await this.mailUser(rcpt);
        let mailbox = 'INBOX';
        if (rcpt.detail !== '' && this.set.saveToDetailMailbox) {
          const ns = user.namespaces.find((n) => n.settings.inbox) ?? user.namespaces[0];
          mailbox = (ns?.settings.prefix ?? '') + rcpt.detail;
        }
        const sameOwner = firstSaved !== undefined && firstSaved.uid === user.uid;
        const res = await deliver({
          user,
          message,
          mailbox,
          autoCreate: this.set.ldaMailboxAutocreate,
          autoSubscribe: this.set.ldaMailboxAutosubscribe,
          ...(sameOwner && firstSaved ? { src: firstSaved.path } : {}),
          envelopeFrom: encodeAddress(trans.mailFrom),
          log: (text) => this.log('info', prefix, `msgid=${msgid}: ${text}`),
        });
        if (res.ok) {
          reply = { code: 250, enh: '2.0.0', text: `${rcptText} ${rcpt.sessionId} Saved` };
          anyOk = true;
          if (!firstSaved && res.storagePath) firstSaved = { path: res.storagePath, uid: user.uid };
        } else if (res.kind === 'noquota') {
          reply = this.set.quotaFullTempfail ? { code: 452, enh: '4.2.2', text: `${rcptText} ${res.error}` } : { code: 552, enh: '5.2.2', text: `${rcptText} ${res.error}` };
        } else {
          reply = { code: 451, enh: '4.2.0', text: `${rcptText} ${res.error}` };
        }
      } catch (e) {
        const detail = e instanceof MailError ? (e.internal ?? e.message) : (e as Error).message;
        this.log('error', prefix, `Failed to initialize user: ${detail}`);
        reply = { code: 451, enh: '4.3.0', text: `${rcptText} Temporary internal error` };
      }
      replies.set(rcpt, reply);
      this.write(fmt(reply));
    }
    void anyOk;
    this.countBad(false);
    this.resetTransaction();
  }

  private cmdXclient(params: string): void {
    if (this.trans) {
      this.reply({ code: 503, enh: '5.5.0', text: 'XCLIENT not permitted during a mail transaction' });
      return;
    }
    if (!this.trusted) {
      this.reply({ code: 550, enh: '5.7.14', text: 'You are not from trusted IP' });
      return;
    }
    for (const a of params.split(' ').filter(Boolean)) {
      const eq = a.indexOf('=');
      const k = (eq < 0 ? a : a.slice(0, eq)).toUpperCase();
      const v = eq < 0 ? '' : a.slice(eq + 1);
      if (k === 'ADDR') {
        if (v.toUpperCase() !== '[UNAVAILABLE]') this.info.remoteIp = v.replace(/^IPV6:/i, '');
      } else if (k === 'PORT') {
        if (!/^\d+$/.test(v)) {
          this.reply({ code: 501, enh: '5.5.4', text: 'Invalid PORT parameter' });
          return;
        }
        this.info.remotePort = Number(v);
      } else if (k === 'HELO') {
        this.heloDomain = parseHeloDomain(v);
      }
    }
    this.write(`220 ${this.set.hostname} ${this.set.loginGreeting}\r\n`);
    this.countBad(false);
  }

  /** smtp_server_connection_reset_state: transaction and chunk state. */
  private resetTransaction(): void {
    this.trans = undefined;
    this.rcptSeq = 0;
    this.dataChunks = 0;
    this.dataFailed = false;
  }
}

function sameAddress(a: SmtpAddress, b: SmtpAddress): boolean {
  return a.localpart === b.localpart && (a.domain ?? '').toLowerCase() === (b.domain ?? '').toLowerCase();
}

/** Is `ip` inside `net` ("10.0.0.0/8", "::1", "127.0.0.1")? */
export function ipInNet(ip: string, net: string): boolean {
  const slash = net.indexOf('/');
  const base = slash < 0 ? net : net.slice(0, slash);
  const v4 = (s: string) => {
    const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(s);
    return m ? m.slice(1).map(Number) : undefined;
  };
  const a = v4(ip);
  const b = v4(base);
  if (a && b) {
    const bits = slash < 0 ? 32 : Number(net.slice(slash + 1));
    const toNum = (x: number[]) => (((x[0] as number) << 24) | ((x[1] as number) << 16) | ((x[2] as number) << 8) | (x[3] as number)) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (toNum(a) & mask) === (toNum(b) & mask);
  }
  return ip.toLowerCase() === base.toLowerCase();
}
