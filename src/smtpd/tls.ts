/**
 * smtpd/tls.ts: STARTTLS (RFC 3207) and TLS wrapper mode for the SMTP
 * server, on Node's tls module (smtpd.c starttls_cmd, smtpd_start_tls).
 *
 * The certificate comes from smtpd_tls_chain_files, else
 * smtpd_tls_cert_file + smtpd_tls_key_file. Plaintext that arrived after
 * the STARTTLS command is discarded before the handshake (the CVE-2011-0411
 * command injection defence): the stream drops its buffer and the TLS layer
 * reads the socket from then on. A failed handshake ends the session as a
 * lost connection.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { SmtpdSession } from './session.js';
import { EHLO, type SmtpdSettings } from './settings.js';
import { MailError } from './state.js';
import { SmtpIoError } from './stream.js';
import type { SmtpToken } from './syntax.js';

export class TlsServer {
  private ctx: SecureContext | undefined;

  constructor(settings: SmtpdSettings, warn: (t: string) => void) {
    if (!settings.useTls && !settings.tlsWrapper) return;
    try {
      const chain = settings.tlsChainFiles.split(/[\s,]+/).filter(Boolean);
      let key: Buffer;
      let cert: Buffer;
      if (chain.length > 0) {
        const all = Buffer.concat(chain.map((f) => readFileSync(f)));
        key = all;
        cert = all;
      } else {
        if (settings.tlsCertFile === '') {
          warn('No server certs available. TLS won\'t be enabled');
          return;
        }
        cert = readFileSync(settings.tlsCertFile);
        key = readFileSync(settings.tlsKeyFile || settings.tlsCertFile);
      }
      this.ctx = createSecureContext({ cert, key });
    } catch (err) {
      warn(`cannot load TLS certificate or key: ${(err as Error).message}`);
      warn('TLS library problem: TLS disabled');
      this.ctx = undefined;
    }
  }

  get available(): boolean {
    return this.ctx !== undefined;
  }

  /** Handshake on the session's socket (after "220 2.0.0 Ready to start TLS", or at once in wrapper mode). */
  async start(s: SmtpdSession): Promise<void> {
    const raw = s.stream.detach() as Socket;
    const sock = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.ctx,
      requestCert: s.settings.tlsAskCcert,
      rejectUnauthorized: false,
    });
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), s.settings.starttlsTimeout * 1000);
      sock.once('secure', () => {
        clearTimeout(timer);
        resolve(true);
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        s.log.warn(`TLS library problem: ${err.message}`);
        resolve(false);
      });
      sock.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    s.stream.reattach(sock);
    if (!ok) throw new SmtpIoError('eof');
    const st = s.state;
    st.tlsActive = true;
    const c = sock.getCipher();
    const bits = /256|CHACHA20/.test(c.name) ? 256 : /128/.test(c.name) ? 128 : 0;
    st.tlsInfo = { protocol: sock.getProtocol() ?? c.version, cipher: c.name, bits, algBits: bits };
  }

  reset(_s: SmtpdSession): void {
    /* the socket is closed with the session */
  }
}

/** STARTTLS. */
export async function starttlsCmd(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
  const st = s.state;
  if (argv.length !== 1) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('501 5.5.4 Syntax: STARTTLS');
    return -1;
  }
  if (st.tlsActive) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('554 5.5.1 Error: TLS already active');
    return -1;
  }
  if (!s.settings.useTls || st.ehloDiscardMask & EHLO.STARTTLS) {
    st.errorMask |= MailError.PROTOCOL;
    await s.reply('502 5.5.1 Error: command not implemented');
    return -1;
  }
  if (!s.tls?.available) {
    st.errorMask |= MailError.SOFTWARE;
    await s.reply('454 4.7.0 TLS not available due to local problem');
    return -1;
  }
  await s.reply('220 2.0.0 Ready to start TLS');
  s.stream.flush();
  s.heloReset();
  await s.mailReset();
  s.rcptReset();
  await s.tls.start(s);
  return 0;
}
