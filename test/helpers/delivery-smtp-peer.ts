/**
 * test/helpers/delivery-smtp-peer.ts: a fake remote MX / relayhost on a
 * loopback port (smtp-server), recording every transaction: envelope,
 * AUTH user, whether TLS was on, and the message bytes. Options make it
 * demand STARTTLS and AUTH, reject recipients, or answer 4xx.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | undefined;
  secure: boolean;
  data: Buffer;
  mailParams: Record<string, unknown>;
  rcptParams: Array<Record<string, unknown>>;
  /** smtp-server's session id: equal ids mean one reused connection. */
  sessionId: string;
}

export interface PeerOptions {
  /** Users for AUTH (PLAIN/LOGIN/CRAM-MD5); AUTH required when given. */
  users?: Record<string, string>;
  /** Refuse MAIL/RCPT before STARTTLS. */
  requireTls?: boolean;
  /** Per recipient: an SMTP error (code + message) to answer. */
  rejectRcpt?: (addr: string) => { code: number; message: string } | undefined;
  /** Answer after the message data with an error. */
  rejectData?: { code: number; message: string };
  size?: number;
  /** Advertise no extensions beyond the basics (no PIPELINING etc.). */
  hide?: Array<'PIPELINING' | '8BITMIME' | 'SMTPUTF8' | 'DSN' | 'STARTTLS' | 'SIZE'>;
  lmtp?: boolean;
}

export interface Peer {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

export async function startPeer(opts: PeerOptions = {}): Promise<Peer> {
  const mails: ReceivedMail[] = [];
  const hide = new Set(opts.hide ?? []);
  const options: SMTPServerOptions = {
    lmtp: opts.lmtp ?? false,
    logger: false,
    banner: 'test peer',
    size: opts.size,
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
    authOptional: !opts.users,
    disabledCommands: opts.users ? [] : ['AUTH'],
    hideSTARTTLS: hide.has('STARTTLS'),
    hidePIPELINING: hide.has('PIPELINING'),
    hide8BITMIME: hide.has('8BITMIME'),
    hideSMTPUTF8: hide.has('SMTPUTF8'),
    hideDSN: hide.has('DSN'),
    hideSize: hide.has('SIZE'),
    allowInsecureAuth: false,
    onAuth(auth, _session, cb) {
      const users = opts.users ?? {};
      const pass = users[auth.username ?? ''];
      const ok =
        pass !== undefined &&
        (auth.method === 'CRAM-MD5' ? auth.validatePassword?.(pass) === true : auth.password === pass);
      if (!ok) {
        const err = new Error('5.7.8 Error: authentication failed: authentication failure') as Error & { responseCode: number };
        err.responseCode = 535;
        cb(err);
        return;
      }
      cb(null, { user: auth.username });
    },
    onMailFrom(_addr, session, cb) {
      if (opts.requireTls && !session.secure) {
        const err = new Error('5.7.0 Must issue a STARTTLS command first') as Error & { responseCode: number };
        err.responseCode = 530;
        cb(err);
        return;
      }
      cb();
    },
    onRcptTo(addr, _session, cb) {
      const r = opts.rejectRcpt?.(addr.address);
      if (r) {
        const err = new Error(r.message) as Error & { responseCode: number };
        err.responseCode = r.code;
        cb(err);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          secure: session.secure,
          data: Buffer.concat(chunks),
          mailParams: (session.envelope.mailFrom ? session.envelope.mailFrom.args : {}) as Record<string, unknown>,
          rcptParams: session.envelope.rcptTo.map((r) => (r.args || {}) as Record<string, unknown>),
          sessionId: session.id,
        });
        if (opts.rejectData) {
          const err = new Error(opts.rejectData.message) as Error & { responseCode: number };
          err.responseCode = opts.rejectData.code;
          cb(err);
          return;
        }
        cb(null, 'Ok: queued as TESTQ1');
      });
    },
  } as SMTPServerOptions;
  const server = new SMTPServer(options);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  server.on('error', () => {});
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
