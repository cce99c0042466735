/**
 * delivery/smtp/sasl.ts: the SMTP client's SASL side (smtp_sasl_glue.c,
 * smtp_sasl_proto.c, xsasl_cyrus_client.c behaviour):
 *
 * - credentials from smtp_sasl_password_maps: with
 *   smtp_sender_dependent_authentication the sender (user+ext@domain,
 *   user@domain, @domain), then the host actually connected (MX name, or
 *   the address of a [literal]), then the destination exactly as written
 *   ("[smtp.isp.example]:587"); value "user:password"; no entry = no AUTH;
 * - mechanisms: what the server offers, minus smtp_sasl_mechanism_filter,
 *   minus what smtp_sasl_security_options forbids (noplaintext: PLAIN,
 *   LOGIN; noanonymous: ANONYMOUS); over TLS smtp_sasl_tls_security_options;
 *   Postern's client speaks CRAM-MD5, PLAIN and LOGIN (in that preference);
 * - failures keep Postfix's words: "SASL authentication failed; server
 *   X said: 535 ..." (5xx becomes 4xx with smtp_sasl_auth_soft_bounce),
 *   "SASL authentication failed; cannot authenticate to server X: no
 *   mechanism available".
 */
import { createHmac } from 'node:crypto';
import { findAddress, type MapList, MaFind } from '../../maps/query.js';
import type { SmtpConn, SmtpReply } from './conn.js';

export interface SaslCredentials {
  user: string;
  pass: string;
}

const PREFERENCE = ['CRAM-MD5', 'PLAIN', 'LOGIN'];

/** smtp_sasl_passwd_lookup(). */
export async function lookupPassword(
  maps: MapList,
  opts: { sender: string; senderDependent: boolean; host: string; dest: string; recipientDelimiter: string; lmtp: boolean },
): Promise<SaslCredentials | undefined> {
  let value: string | undefined;
  if (!opts.lmtp && opts.senderDependent && opts.sender !== '') {
    value = (await findAddress(maps, opts.sender, { strategy: MaFind.DEFAULT, recipientDelimiter: opts.recipientDelimiter }))?.value;
  }
  value ??= await maps.find(opts.host);
  value ??= await maps.find(opts.dest);
  if (value === undefined) return undefined;
  const colon = value.indexOf(':');
  return colon < 0 ? { user: value, pass: '' } : { user: value.slice(0, colon), pass: value.slice(colon + 1) };
}

/** Which of the offered mechanisms the security options and filter allow, best first. */
export function chooseMechanisms(offered: string[], securityOptions: string, filter: string): string[] {
  const opts = new Set(securityOptions.toLowerCase().split(/[\s,]+/).filter(Boolean));
  const filt = filter.toUpperCase().split(/[\s,]+/).filter(Boolean);
  const up = offered.map((m) => m.toUpperCase());
  return PREFERENCE.filter((m) => up.includes(m))
    .filter((m) => filt.length === 0 || filt.includes(m))
    .filter((m) => !(opts.has('noplaintext') && (m === 'PLAIN' || m === 'LOGIN')));
}

export type SaslOutcome = { ok: true } | { ok: false; status: string; reason: string; reply?: SmtpReply; remote: boolean };

/** Run AUTH; `namaddr` is "host[addr]" for the texts. */
export async function authenticate(
  conn: SmtpConn,
  mechs: string[],
  cred: SaslCredentials,
  namaddr: string,
  softBounce: boolean,
  timeoutMs: number,
): Promise<SaslOutcome> {
  const mech = mechs[0];
  if (!mech) {
    return { ok: false, status: '4.7.0', reason: `SASL authentication failed; cannot authenticate to server ${namaddr}: no mechanism available`, remote: false };
  }
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  let reply: SmtpReply;
  if (mech === 'PLAIN') {
    const init = b64(`\0${cred.user}\0${cred.pass}`);
    conn.write(mech.length + init.length + 8 <= 512 ? `AUTH PLAIN ${init}\r\n` : 'AUTH PLAIN\r\n');
    reply = await conn.reply(timeoutMs);
    if (reply.code === 334) {
      conn.write(`${init}\r\n`);
      reply = await conn.reply(timeoutMs);
    }
  } else if (mech === 'LOGIN') {
    conn.write('AUTH LOGIN\r\n');
    reply = await conn.reply(timeoutMs);
    const answers = [cred.user, cred.pass];
    for (let step = 0; reply.code === 334 && step < 100; step++) {
      conn.write(`${b64(answers.shift() ?? '')}\r\n`);
      reply = await conn.reply(timeoutMs);
    }
  } else {
    conn.write('AUTH CRAM-MD5\r\n');
    reply = await conn.reply(timeoutMs);
    if (reply.code === 334) {
      const challenge = Buffer.from(reply.lines[0]!.slice(4).trim(), 'base64');
      const digest = createHmac('md5', cred.pass).update(challenge).digest('hex');
      conn.write(`${b64(`${cred.user} ${digest}`)}\r\n`);
      reply = await conn.reply(timeoutMs);
    }
  }
  if (Math.floor(reply.code / 100) === 2) return { ok: true };
  let status = reply.dsn;
  if (softBounce && Math.floor(reply.code / 100) === 5) status = `4${status.slice(1)}`;
  return { ok: false, status, reason: `SASL authentication failed; server ${namaddr} said: ${reply.str}`, reply, remote: true };
}
