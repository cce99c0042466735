/**
 * smtpd/sasl/dovecot.ts: the client side of Dovecot's auth-client protocol
 * as Postfix's xsasl_dovecot_server.c speaks it: handshake "VERSION 1 1" /
 * "CPID", MECH lines filtered by smtpd_sasl_security_options, then one
 * "AUTH id mech service=smtp nologin lip= rip= [secured] [resp=]" per AUTH
 * command with base64 passed through unchanged, CONT rounds, OK/FAIL.
 */
import { connect, type Socket } from 'node:net';

export const XSASL_AUTH_DONE = 0;
export const XSASL_AUTH_MORE = 1;
export const XSASL_AUTH_FAIL = 2;
export const XSASL_AUTH_TEMP = 3;

export interface SaslStep {
  status: number;
  /** 334 challenge (MORE), failure reason (FAIL/TEMP). */
  reply: string;
  username?: string;
}

interface Mech {
  name: string;
  flags: string[];
}

/** One connection to the auth socket, shared by the sessions of one smtpd. */
export class DovecotSaslClient {
  private sock: Socket | undefined;
  private buf = '';
  private waiters: Array<(line: string | undefined) => void> = [];
  private lines: string[] = [];
  private closed = false;
  private requestId = 0;
  mechs: Mech[] = [];

  constructor(readonly path: string) {}

  private async connectOnce(): Promise<void> {
    if (this.sock && !this.closed) return;
    this.closed = false;
    this.buf = '';
    this.lines = [];
    this.mechs = [];
    const sock = connect(this.path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      this.buf += d.toString('latin1');
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
        nl = this.buf.indexOf('\n');
      }
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
    this.sock = sock;
    sock.write(`VERSION\t1\t1\nCPID\t${process.pid}\n`);
    for (;;) {
      const line = await this.next();
      if (line === undefined) throw new Error('SASL: Protocol error');
      const f = line.split('\t');
      if (f[0] === 'MECH' && f[1]) this.mechs.push({ name: f[1], flags: f.slice(2) });
      else if (f[0] === 'DONE') break;
    }
  }

  private next(): Promise<string | undefined> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((r) => this.waiters.push(r));
  }

  /** Mechanisms allowed by the security options (noanonymous, noplaintext, ...). */
  async mechanisms(securityOptions: string[]): Promise<string[]> {
    await this.connectOnce();
    const opts = securityOptions.map((o) => o.toLowerCase());
    return this.mechs
      .filter((m) => {
        if (opts.includes('noanonymous') && m.flags.includes('anonymous')) return false;
        if (opts.includes('noplaintext') && m.flags.includes('plaintext')) return false;
        if (opts.includes('noactive') && m.flags.includes('active')) return false;
        if (opts.includes('nodictionary') && m.flags.includes('dictionary')) return false;
        if (opts.includes('mutual_auth') && !m.flags.includes('mutual-auth')) return false;
        return true;
      })
      .map((m) => m.name);
  }

  private async reply(id: number): Promise<SaslStep> {
    for (;;) {
      const line = await this.next();
      if (line === undefined) return { status: XSASL_AUTH_TEMP, reply: 'Connection lost to authentication server' };
      const f = line.split('\t');
      if (f[1] !== String(id)) continue;
      const args = f.slice(2);
      const user = args.find((a) => a.startsWith('user='))?.slice(5);
      if (f[0] === 'OK') {
        if (user === undefined) return { status: XSASL_AUTH_FAIL, reply: 'Authentication backend error' };
        return { status: XSASL_AUTH_DONE, reply: '', username: user };
      }
      if (f[0] === 'CONT') {
        if (args.length === 0) return { status: XSASL_AUTH_FAIL, reply: 'Authentication backend error' };
        return { status: XSASL_AUTH_MORE, reply: args[0] };
      }
      if (f[0] === 'FAIL') {
        const reason = args.find((a) => a.startsWith('reason='))?.slice(7) ?? '';
        const r: SaslStep = { status: XSASL_AUTH_FAIL, reply: reason };
        if (user !== undefined) r.username = user;
        return r;
      }
    }
  }

  private currentId = 0;

  async first(
    mech: string,
    allowed: string[],
    init: string | undefined,
    info: { service: string; lip: string; rip: string; secured: boolean },
  ): Promise<SaslStep> {
    if (!allowed.some((m) => m.toLowerCase() === mech.toLowerCase())) {
      return { status: XSASL_AUTH_FAIL, reply: 'Invalid authentication mechanism' };
    }
    if (init !== undefined && !/^[0-9A-Za-z+/=]*$/.test(init)) {
      return { status: XSASL_AUTH_FAIL, reply: 'Invalid base64 data in initial response' };
    }
    for (let i = 0; i < 2; i++) {
      try {
        await this.connectOnce();
      } catch {
        return { status: XSASL_AUTH_TEMP, reply: "Can't connect to authentication server" };
      }
      this.currentId = ++this.requestId;
      let line = `AUTH\t${this.currentId}\t${mech}\tservice=${info.service}\tnologin\tlip=${info.lip}\trip=${info.rip}`;
      if (info.secured) line += '\tsecured';
      if (init !== undefined) line += `\tresp=${init}`;
      this.sock!.write(`${line}\n`);
      const r = await this.reply(this.currentId);
      if (r.status === XSASL_AUTH_TEMP && i === 0) continue;
      return r;
    }
    return { status: XSASL_AUTH_TEMP, reply: "Can't connect to authentication server" };
  }

  async nextStep(response: string): Promise<SaslStep> {
    if (!/^[0-9A-Za-z+/=]*$/.test(response)) {
      return { status: XSASL_AUTH_FAIL, reply: 'Invalid base64 data in continued response' };
    }
    this.sock!.write(`CONT\t${this.currentId}\t${response}\n`);
    return this.reply(this.currentId);
  }

  close(): void {
    this.sock?.destroy();
  }
}
