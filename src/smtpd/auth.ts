/**
 * smtpd/auth.ts: the hook through which SASL AUTH plugs into the protocol
 * engine (smtpd_sasl_glue.c, smtpd_sasl_proto.c). Until a SASL provider is
 * configured, AUTH answers as Postfix does with SASL support compiled in but
 * smtpd_sasl_auth_enable = no.
 */
import type { SmtpdSession } from './session.js';
import type { SmtpToken } from './syntax.js';

export interface SmtpdAuth {
  /** smtpd_sasl_is_active(): offer AUTH in EHLO and accept the command. */
  active(s: SmtpdSession): boolean;
  /** Mechanism list for "250-AUTH ...". */
  mechanisms(s: SmtpdSession): string;
  /** The AUTH command; returns 0 on success, -1 on failure (reply already sent). */
  command(s: SmtpdSession, argv: SmtpToken[]): Promise<number>;
  /** MAIL FROM AUTH=<value>: reply text on error. */
  mailOpt(s: SmtpdSession, value: string): string | undefined;
}
