/**
 * smtpd/sasl/smtpd-auth.ts: SASL AUTH for smtpd with smtpd_sasl_type =
 * dovecot (smtpd_sasl_proto.c smtpd_sasl_auth_cmd, smtpd_sasl_glue.c
 * smtpd_sasl_authenticate): the EHLO mechanism list filtered by
 * smtpd_sasl_security_options / smtpd_sasl_tls_security_options, AUTH with
 * an initial response ("=" = empty), 334 rounds, "*" to cancel, and
 * Postfix's replies and warnings. The SmtpdAuth hook is in ../auth.ts.
 *
 * Each AUTH command uses its own connection to the auth socket
 * (smtpd_sasl_path, relative to queue_directory unless absolute).
 */
import { isAbsolute, join } from 'node:path';
import type { SmtpdAuth } from '../auth.js';
import type { SmtpdSession } from '../session.js';
import type { SmtpdSettings } from '../settings.js';
import { MailError } from '../state.js';
import { printable } from '../text.js';
import type { SmtpToken } from '../syntax.js';
import { DovecotSaslClient, XSASL_AUTH_DONE, XSASL_AUTH_MORE, XSASL_AUTH_TEMP } from './dovecot.js';

const words = (v: string) => v.split(/[\s,]+/).filter((w) => w !== '');

/** The auth socket path of smtpd_sasl_path. */
export function saslSocketPath(settings: SmtpdSettings): string {
  const p = settings.cfg.get('smtpd_sasl_path');
  return isAbsolute(p) ? p : join(settings.cfg.get('queue_directory'), p);
}

/**
 * Build the AUTH provider for a service, or undefined when SASL is off or
 * the type is not dovecot. The mechanism lists are fetched once, here.
 */
export async function createSaslAuth(settings: SmtpdSettings): Promise<SmtpdAuth | undefined> {
  const cfg = settings.cfg;
  if (!cfg.bool('smtpd_sasl_auth_enable')) return undefined;
  if (cfg.get('smtpd_sasl_type') !== 'dovecot') {
    settings.warn(`unsupported SASL server implementation: ${cfg.get('smtpd_sasl_type')}`);
    return undefined;
  }
  const path = saslSocketPath(settings);
  const plainOpts = words(cfg.get('smtpd_sasl_security_options'));
  const tlsOpts = words(cfg.get('smtpd_sasl_tls_security_options'));
  let plainMechs: string[] = [];
  let tlsMechs: string[] = [];
  const probe = new DovecotSaslClient(path);
  try {
    plainMechs = await probe.mechanisms(plainOpts);
    tlsMechs = await probe.mechanisms(tlsOpts);
  } catch {
    settings.warn(`SASL: Connect to Dovecot auth socket '${path}' failed: No such file or directory`);
  } finally {
    probe.close();
  }
  const service = cfg.get('smtpd_sasl_service');
  const respLimit = cfg.int('smtpd_sasl_response_limit');
  const mechsFor = (s: SmtpdSession) => (s.state.tlsActive ? tlsMechs : plainMechs);

  return {
    active: () => true,
    mechanisms: (s) => mechsFor(s).join(' '),
    mailOpt: () => undefined,
    async command(s: SmtpdSession, argv: SmtpToken[]): Promise<number> {
      const st = s.state;
      if (settings.tlsAuthOnly && !st.tlsActive) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('504 5.5.4 Encryption required for requested authentication mechanism');
        return -1;
      }
      if (st.saslUsername !== undefined) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('503 5.5.1 Error: already authenticated');
        return -1;
      }
      if (argv.length < 2 || argv.length > 3) {
        st.errorMask |= MailError.PROTOCOL;
        await s.reply('501 5.5.4 Syntax: AUTH mechanism');
        return -1;
      }
      const method = argv[1].str;
      let init = argv.length === 3 ? argv[2].str : undefined;
      if (init === '=') init = '';
      const client = new DovecotSaslClient(path);
      try {
        let r = await client.first(method, mechsFor(s), init, {
          service,
          lip: st.destAddr,
          rip: st.addr,
          secured: st.tlsActive,
        });
        while (r.status === XSASL_AUTH_MORE) {
          await s.reply(`334 ${r.reply}`);
          s.stream.flush();
          const got = await s.stream.getLine(respLimit, 1);
          if (got.last !== 10) {
            await s.reply('500 5.5.6 SASL response limit exceeded');
            return -1;
          }
          const line = got.line;
          if (line === '*') {
            s.log.warn(`${st.namaddr}: SASL ${method} authentication aborted`);
            await s.reply('501 5.7.0 Authentication aborted');
            return -1;
          }
          r = await client.nextStep(line);
        }
        if (r.status !== XSASL_AUTH_DONE) {
          const reason = r.reply !== '' ? printable(r.reply, '?', false) : '(reason unavailable)';
          s.log.warn(
            `${st.namaddr}: SASL ${method.slice(0, 100)} authentication failed: ${reason.slice(0, 100)}, sasl_username=${(r.username ?? '(unavailable)').slice(0, 100)}`,
          );
          st.errorMask |= MailError.POLICY;
          await s.reply(
            r.status === XSASL_AUTH_TEMP
              ? `454 4.7.0 Temporary authentication failure: ${reason}`
              : `535 5.7.8 Error: authentication failed: ${reason}`,
          );
          return -1;
        }
        await s.reply('235 2.7.0 Authentication successful');
        st.saslUsername = printable(r.username ?? '', '?', false);
        st.saslMethod = printable(method, '?', false);
        return 0;
      } finally {
        client.close();
      }
    },
  };
}
