/**
 * smtpd/checks/builtin.ts: the restrictions that need no lookup tables or
 * DNS (smtpd_check.c): permit, reject, defer, defer_if_permit,
 * defer_if_reject, permit_mynetworks, permit_inet_interfaces,
 * reject_unauth_destination, defer_unauth_destination,
 * permit_auth_destination, check_relay_domains, reject_unauth_pipelining,
 * reject_invalid_helo_hostname, reject_non_fqdn_{helo_hostname,sender,
 * recipient}, reject_unlisted_{sender,recipient}, reject_multi_recipient_bounce,
 * reject_plaintext_session, sleep, and the SASL/TLS permits (no-ops until
 * those features are active).
 */
import { hasAddress, RESOLVE_CLASS_FINAL, RESOLVE_CLASS_RELAY, RESOLVE_FLAG_FAIL, RESOLVE_FLAG_ROUTED } from '../../rewrite/resolve.js';
import { FLAG_ILL_PIPELINING, FLAG_SMTPUTF8, MailError } from '../state.js';
import { validHostaddr, validHostname, validMailhostAddr, validUtf8Hostname } from '../valid.js';
import { registerAccessRestrictions } from './access.js';
import { registerRestriction } from './registry.js';
import { registerSaslRestrictions } from './sasl.js';
import { registerDnsblRestrictions } from './dnsbl.js';
import { type CheckContext, DUNNO, NAME_CLIENT, NAME_HELO, NAME_RECIPIENT, NAME_SENDER, OK } from './types.js';


/** Truncate host names ending in one dot (not dot-dot). */
function dupIfTruncate(name: string): string {
  return name.length > 1 && name.endsWith('.') && name[name.length - 2] !== '.' ? name.slice(0, -1) : name;
}

function ignoredAfter(ctx: CheckContext, what: string): void {
  const next = ctx.peekArg();
  if (next !== undefined && ctx.state.warnIfReject === 0) ctx.settings.warn(`restriction \`${next}' after \`${what}' is ignored`);
}

function rejectInvalidHostaddr(ctx: CheckContext, addr: string, replyName: string, replyClass: string): number {
  let test = addr;
  if (addr[0] === '[' && addr.length > 2 && addr.endsWith(']')) test = addr.slice(1, -1);
  if (validMailhostAddr(test) === undefined) {
    return ctx.reject(MailError.POLICY, ctx.settings.codes.badName, '5.5.2', `<${replyName}>: ${replyClass} rejected: invalid ip address`);
  }
  return DUNNO;
}

function rejectInvalidHostname(ctx: CheckContext, name: string, replyName: string, replyClass: string): number {
  const test = dupIfTruncate(name);
  if (!validHostname(test) && !validHostaddr(test)) {
    return ctx.reject(MailError.POLICY, ctx.settings.codes.badName, '5.5.2', `<${replyName}>: ${replyClass} rejected: Invalid name`);
  }
  return DUNNO;
}

function rejectNonFqdnHostname(ctx: CheckContext, name: string, replyName: string, replyClass: string): number {
  const test = dupIfTruncate(name);
  if (!validUtf8Hostname((ctx.state.flags & FLAG_SMTPUTF8) !== 0, test) || !test.includes('.')) {
    return ctx.reject(
      MailError.POLICY,
      ctx.settings.codes.nonFqdn,
      '5.5.2',
      `<${replyName}>: ${replyClass} rejected: need fully-qualified hostname`,
    );
  }
  return DUNNO;
}

function rejectNonFqdnAddress(ctx: CheckContext, addr: string, replyName: string, replyClass: string): number {
  const at = addr.lastIndexOf('@');
  const domain = at >= 0 ? addr.slice(at + 1) : '';
  if (domain[0] === '[' && domain.endsWith(']')) return DUNNO;
  const test = dupIfTruncate(domain);
  if (test === '' || !validUtf8Hostname((ctx.state.flags & FLAG_SMTPUTF8) !== 0, test) || !test.includes('.')) {
    return ctx.reject(
      MailError.POLICY,
      ctx.settings.codes.nonFqdn,
      '4.5.2',
      `<${replyName}>: ${replyClass} rejected: need fully-qualified address`,
    );
  }
  return DUNNO;
}

/** permit_auth_destination(): OK for final and relay_domains destinations without routing tricks. */
export async function permitAuthDestination(ctx: CheckContext, recipient: string): Promise<number> {
  const reply = await ctx.settings.resolver.resolve(recipient);
  if (reply.flags & RESOLVE_FLAG_FAIL) ctx.dictRetry(recipient);
  if (!reply.recipient.includes('@')) return OK;
  if (!ctx.settings.allowUntrustedRouting && reply.flags & RESOLVE_FLAG_ROUTED) return DUNNO;
  if (reply.flags & RESOLVE_CLASS_FINAL) return OK;
  if (reply.flags & RESOLVE_CLASS_RELAY) return OK;
  return DUNNO;
}

async function rejectUnauthDestination(ctx: CheckContext, code: number, dsn: string): Promise<number> {
  const rcpt = ctx.state.recipient;
  if (rcpt === undefined) return DUNNO;
  if ((await permitAuthDestination(ctx, rcpt)) === OK) return DUNNO;
  return ctx.reject(MailError.POLICY, code, dsn, `<${rcpt}>: Relay access denied`);
}

let relayDomainsWarned = false;

/** Register the built-in restrictions with the engine registry (idempotent). */
export function registerBuiltins(): void {
  registerAccessRestrictions();
  registerSaslRestrictions();
  registerDnsblRestrictions();
  registerRestriction('permit', (ctx) => {
    const status = ctx.permit(ctx.name, ctx.replyClass, ctx.replyName);
    ignoredAfter(ctx, 'permit');
    return status;
  });
  registerRestriction('defer', (ctx) => {
    const status = ctx.reject(
      MailError.POLICY,
      ctx.settings.codes.defer,
      '4.3.2',
      `<${ctx.replyName}>: ${ctx.replyClass} rejected: Try again later`,
    );
    ignoredAfter(ctx, 'defer');
    return status;
  });
  registerRestriction('reject', (ctx) => {
    const status = ctx.reject(
      MailError.POLICY,
      ctx.settings.codes.reject,
      '5.7.1',
      `<${ctx.replyName}>: ${ctx.replyClass} rejected: Access denied`,
    );
    ignoredAfter(ctx, 'reject');
    return status;
  });
  registerRestriction('defer_if_permit', (ctx) =>
    ctx.deferIfPermit(MailError.POLICY, 450, '4.7.0', `<${ctx.replyName}>: ${ctx.replyClass} rejected: defer_if_permit requested`),
  );
  registerRestriction('defer_if_reject', (ctx) =>
    ctx.deferIfReject(MailError.POLICY, 450, '4.7.0', `<${ctx.replyName}>: ${ctx.replyClass} rejected: defer_if_reject requested`),
  );
  registerRestriction('sleep', async (ctx) => {
    const n = ctx.peekArg();
    if (n === undefined || !/^[0-9]+$/.test(n)) {
      ctx.settings.warn('restriction sleep must be followed by number');
      ctx.serverError();
    }
    ctx.takeArg();
    await new Promise((r) => setTimeout(r, Number(n) * 1000));
    return DUNNO;
  });
  registerRestriction('reject_plaintext_session', (ctx) =>
    ctx.state.tlsActive
      ? DUNNO
      : ctx.reject(MailError.PROTOCOL, ctx.settings.cfg.int('plaintext_reject_code'), '4.7.1', 'Session encryption is required'),
  );
  registerRestriction('reject_unauth_pipelining', (ctx) =>
    ctx.state.flags & FLAG_ILL_PIPELINING
      ? ctx.reject(
          MailError.PROTOCOL,
          503,
          '5.5.0',
          `<${ctx.replyName}>: ${ctx.replyClass} rejected: Improper use of SMTP command pipelining`,
        )
      : DUNNO,
  );

  // Client
  registerRestriction('permit_mynetworks', async (ctx) => {
    if (await ctx.settings.mynetworks.match(ctx.state.name, ctx.state.addr)) {
      return ctx.permit(ctx.name, NAME_CLIENT, ctx.state.namaddr);
    }
    return DUNNO;
  });
  registerRestriction('permit_inet_interfaces', (ctx) =>
    hasAddress(ctx.settings.inetAddresses, ctx.state.addr) ? ctx.permit(ctx.name, NAME_CLIENT, ctx.state.namaddr) : DUNNO,
  );
  registerRestriction('permit_sasl_authenticated', (ctx) =>
    ctx.state.saslUsername !== undefined ? ctx.permit(ctx.name, NAME_CLIENT, ctx.state.namaddr) : DUNNO,
  );
  for (const name of ['permit_tls_clientcerts', 'permit_tls_all_clientcerts']) {
    // SASL and TLS client certificates are a later step: nothing to permit yet.
    registerRestriction(name, () => DUNNO);
  }

  // HELO
  const invalidHelo = (ctx: CheckContext) => {
    const h = ctx.state.heloName;
    if (h === undefined) return DUNNO;
    return h[0] !== '[' ? rejectInvalidHostname(ctx, h, h, NAME_HELO) : rejectInvalidHostaddr(ctx, h, h, NAME_HELO);
  };
  registerRestriction('reject_invalid_helo_hostname', invalidHelo);
  registerRestriction('reject_invalid_hostname', invalidHelo);
  const nonFqdnHelo = (ctx: CheckContext) => {
    const h = ctx.state.heloName;
    if (h === undefined) return DUNNO;
    return h[0] !== '[' ? rejectNonFqdnHostname(ctx, h, h, NAME_HELO) : rejectInvalidHostaddr(ctx, h, h, NAME_HELO);
  };
  registerRestriction('reject_non_fqdn_helo_hostname', nonFqdnHelo);
  registerRestriction('reject_non_fqdn_hostname', nonFqdnHelo);

  // Sender
  registerRestriction('reject_non_fqdn_sender', (ctx) => {
    const s = ctx.state.sender;
    return s ? rejectNonFqdnAddress(ctx, s, s, NAME_SENDER) : DUNNO;
  });
  registerRestriction('reject_unlisted_sender', (ctx) => {
    const s = ctx.state.sender;
    return s ? ctx.checkSenderMaps(s) : DUNNO;
  });

  // Recipient
  registerRestriction('reject_non_fqdn_recipient', (ctx) => {
    const r = ctx.state.recipient;
    return r !== undefined ? rejectNonFqdnAddress(ctx, r, r, NAME_RECIPIENT) : DUNNO;
  });
  registerRestriction('reject_unauth_destination', (ctx) => rejectUnauthDestination(ctx, ctx.settings.codes.relay, '5.7.1'));
  registerRestriction('defer_unauth_destination', (ctx) => rejectUnauthDestination(ctx, ctx.settings.codes.relay - 100, '4.7.1'));
  registerRestriction('permit_auth_destination', async (ctx) => {
    const r = ctx.state.recipient;
    if (r === undefined) return DUNNO;
    const status = await permitAuthDestination(ctx, r);
    return status === OK ? ctx.permit(ctx.name, NAME_RECIPIENT, r) : status;
  });
  registerRestriction('check_relay_domains', async (ctx) => {
    if (!relayDomainsWarned) {
      relayDomainsWarned = true;
      ctx.settings.warn(
        'support for restriction "check_relay_domains" will be removed from Postfix; use "reject_unauth_destination" instead',
      );
    }
    const r = ctx.state.recipient;
    let status = DUNNO;
    if (r !== undefined) {
      if (await ctx.settings.rewrite.relayDomains.match(ctx.state.name)) status = OK;
      else if ((await permitAuthDestination(ctx, r)) === OK) status = OK;
      else
        status = ctx.reject(
          MailError.POLICY,
          ctx.settings.codes.relay,
          '5.7.1',
          `<${r}>: ${NAME_RECIPIENT} rejected: Relay access denied`,
        );
    }
    if (status === OK) status = ctx.permit(ctx.name, NAME_RECIPIENT, r ?? '');
    ignoredAfter(ctx, 'check_relay_domains');
    return status;
  });
  const unlistedRcpt = (ctx: CheckContext) => {
    const r = ctx.state.recipient;
    return r ? ctx.checkRecipientMaps(r) : DUNNO;
  };
  registerRestriction('reject_unlisted_recipient', unlistedRcpt);
  registerRestriction('check_recipient_maps', unlistedRcpt);
  registerRestriction('reject_multi_recipient_bounce', (ctx) => {
    const st = ctx.state;
    if (st.sender === '' && st.rcptCount > (st.where !== 'RCPT' ? 1 : 0)) {
      return ctx.reject(
        MailError.POLICY,
        ctx.settings.cfg.int('multi_recipient_bounce_reject_code'),
        '5.5.3',
        `<${ctx.replyName}>: ${ctx.replyClass} rejected: Multi-recipient bounce`,
      );
    }
    return DUNNO;
  });
}
