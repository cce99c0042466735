/**
 * smtpd/checks/dnsbl.ts: the DNS list restrictions (smtpd_check.c):
 *   reject_rbl_client list[=filter]          client IP in a deny list
 *   permit_dnswl_client list[=filter]        client IP in an allow list
 *   reject_rhsbl_client / permit_rhswl_client  verified client name
 *   reject_rhsbl_reverse_client              unverified client name
 *   reject_rhsbl_helo / _sender / _recipient  HELO name, address domains
 * A listed client gets default_rbl_reply (or the rbl_reply_maps template
 * for that list) with $rbl_code (maps_rbl_reject_code), $rbl_class, $rbl_what,
 * $rbl_domain and $rbl_reason (the TXT record). A DNS failure lets a deny
 * list pass and makes an allow list defer. Allow lists never permit an
 * unauthorised relay recipient.
 */
import { macExpand } from '../../../compat/postfix/expand.js';
import { systemResolver } from '../../dns/resolver.js';
import { type DnsxlClient as Client, DnsxlClient, type DnsxlResult, reverseAddress } from '../../dnsbl/dnsxl.js';
import { IpMatchError } from '../../dnsbl/ip-match.js';
import { MapList } from '../../maps/query.js';
import { DictError, DictFlag } from '../../maps/types.js';
import type { SmtpdSettings } from '../settings.js';
import { MailError } from '../state.js';
import { applyExpandFilter, parseExpandFilter, smtpdExpandLookup } from '../expand.js';
import { permitAuthDestination } from './builtin.js';
import { registerRestriction } from './registry.js';
import { type CheckContext, DUNNO, NAME_CLIENT, NAME_HELO, NAME_RECIPIENT, NAME_REV_CLIENT, NAME_SENDER, OK } from './types.js';

let client: Client | undefined;

function dnsxl(): Client {
  client ??= new DnsxlClient(systemResolver());
  return client;
}

/** Tests: use this resolver instead of the system's (undefined: back to the default). */
export function setDnsxlClient(c: Client | undefined): void {
  client = c;
}

const replyMaps = new WeakMap<SmtpdSettings, Promise<MapList>>();

function rblReplyMaps(settings: SmtpdSettings): Promise<MapList> {
  let m = replyMaps.get(settings);
  if (!m) {
    m = MapList.open('rbl_reply_maps', settings.cfg.get('rbl_reply_maps'), {
      mode: 'read',
      dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
      param: (n) => settings.cfg.get(n),
      progName: 'smtpd',
      surrogate: true,
    });
    replyMaps.set(settings, m);
  }
  return m;
}

async function lookup(ctx: CheckContext, prefix: string, list: string): Promise<DnsxlResult> {
  try {
    return await dnsxl().lookup(prefix, list, ctx.settings.warn);
  } catch (e) {
    if (e instanceof IpMatchError) {
      // Postfix: msg_fatal("RBL reply error: …"): the smtpd process dies; this session gets a server error.
      ctx.settings.warn(`RBL reply error: ${e.message}`);
      ctx.serverError();
    }
    throw e;
  }
}

/** rbl_reject_reply(): expand the template and reject with its code and text. */
async function rblReject(ctx: CheckContext, list: string, what: string, replyClass: string, txt: string | undefined): Promise<number> {
  const s = ctx.settings;
  let template: string | undefined;
  if (s.cfg.get('rbl_reply_maps') !== '') {
    try {
      template = await (await rblReplyMaps(s)).find(list, 0);
    } catch (e) {
      if (e instanceof DictError) ctx.serverError();
      throw e;
    }
  }
  const domain = list.split('=')[0]!;
  const filter = parseExpandFilter(s.cfg.get('smtpd_expansion_filter'));
  const base = smtpdExpandLookup(ctx.state, s.cfg.get('myhostname'));
  const values = (name: string): string | undefined => {
    switch (name) {
      case 'rbl_code':
        return String(Number.parseInt(s.cfg.get('maps_rbl_reject_code'), 10));
      case 'rbl_domain':
        return domain;
      case 'rbl_reason':
      case 'rbl_txt':
        return txt ?? '';
      case 'rbl_what':
        return what;
      case 'rbl_class':
        return replyClass;
      default: {
        const v = base(name, 'use');
        if (v === undefined) s.warn(`unknown macro name "${name}" in expansion request`);
        return v;
      }
    }
  };
  const lookupFiltered = (name: string) => {
    const v = values(name);
    return v === undefined ? undefined : applyExpandFilter(v, filter);
  };
  let text: string | undefined;
  for (;;) {
    const isDefault = template === undefined;
    const t = template ?? s.cfg.get('default_rbl_reply');
    const r = macExpand(t, lookupFiltered, { warn: s.warn });
    if (r.status === 0) {
      text = r.value;
      break;
    }
    if (isDefault) throw new Error(`rbl_reject_reply: bad default rbl reply template: ${t}`);
    s.warn(`rbl_reject_reply: bad rbl reply template for domain ${list}: ${t}`);
    template = undefined;
  }
  if (!/^[45]\d\d /.test(text)) {
    s.warn(`rbl response code configuration error: ${text}`);
    return ctx.reject(MailError.POLICY, 450, '4.7.1', 'Service unavailable');
  }
  const code = Number(text.slice(0, 3));
  let rest = text.slice(4);
  let dsn = '4.7.1';
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(rest);
  if (m) {
    dsn = `${m[1]}.${m[2]}.${m[3]}`;
    rest = rest.slice(m[0].length);
  }
  // smtpd_dsn_fix: the DSN class follows the reply code.
  dsn = `${code >= 500 ? '5' : '4'}${dsn.slice(1)}`;
  return ctx.reject(MailError.POLICY, code, dsn, rest === '' ? 'Service unavailable' : rest);
}

/** A domain or address's domain that RHSBL lists may be asked about (find_dnsxl_domain). */
function rhsDomain(what: string): string | undefined {
  const at = what.lastIndexOf('@');
  const domain = at < 0 ? what : what.slice(at + 1);
  if (domain === '' || domain.startsWith('[')) return undefined;
  // Names ending in a numeric label are not asked (Spamhaus "No IP queries").
  const last = domain.slice(domain.lastIndexOf('.') + 1);
  if (/^\d*$/.test(last)) return undefined;
  let ascii = domain;
  if (/[^\x00-\x7f]/.test(domain)) {
    try {
      ascii = new URL(`http://${domain}`).hostname;
    } catch {
      return undefined;
    }
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(ascii) || ascii.length > 255) return undefined;
  return ascii;
}

function listArg(ctx: CheckContext): string | undefined {
  const arg = ctx.takeArg();
  if (arg === undefined) ctx.settings.warn(`restriction ${ctx.name} requires domain name argument`);
  return arg;
}

async function rejectAddr(ctx: CheckContext, list: string, addr: string, replyClass: string): Promise<number> {
  const r = await lookup(ctx, reverseAddress(addr), list);
  return r.status === 'listed' ? rblReject(ctx, list, addr, replyClass, r.txt) : DUNNO;
}

async function rejectDomain(ctx: CheckContext, list: string, what: string, replyClass: string): Promise<number> {
  const domain = rhsDomain(what);
  if (domain === undefined) return DUNNO;
  const r = await lookup(ctx, `${domain}.`, list);
  return r.status === 'listed' ? rblReject(ctx, list, what, replyClass, r.txt) : DUNNO;
}

/** permit_dnswl_addr / permit_dnswl_domain: OK when listed, defer_if_reject on DNS trouble. */
async function permitListed(ctx: CheckContext, prefix: string | undefined, list: string, what: string, replyClass: string): Promise<number> {
  // Never allowlist an unauthorised recipient.
  if (ctx.state.where === 'RCPT' && ctx.state.recipient !== undefined && (await permitAuthDestination(ctx, ctx.state.recipient)) !== OK) return DUNNO;
  if (prefix === undefined) return DUNNO;
  const r = await lookup(ctx, prefix, list);
  if (r.status === 'unlisted') return DUNNO;
  if (r.status === 'soft') return ctx.deferIfReject(MailError.POLICY, 450, '4.7.1', `<${what}>: ${replyClass} rejected: Service unavailable`);
  return ctx.permit(ctx.name, NAME_CLIENT, ctx.state.namaddr) === OK ? OK : DUNNO;
}

export function registerDnsblRestrictions(): void {
  const rbl = async (ctx: CheckContext) => {
    const list = listArg(ctx);
    return list === undefined ? DUNNO : rejectAddr(ctx, list, ctx.state.addr, NAME_CLIENT);
  };
  registerRestriction('reject_rbl_client', rbl);
  registerRestriction('reject_rbl', rbl);
  registerRestriction('permit_dnswl_client', async (ctx) => {
    const list = listArg(ctx);
    return list === undefined ? DUNNO : permitListed(ctx, reverseAddress(ctx.state.addr), list, ctx.state.addr, NAME_CLIENT);
  });
  registerRestriction('reject_rhsbl_client', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || ctx.state.name.toLowerCase() === 'unknown') return DUNNO;
    return rejectDomain(ctx, list, ctx.state.name, NAME_CLIENT);
  });
  registerRestriction('permit_rhswl_client', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || ctx.state.name.toLowerCase() === 'unknown') return DUNNO;
    const d = rhsDomain(ctx.state.name);
    return permitListed(ctx, d === undefined ? undefined : `${d}.`, list, ctx.state.name, NAME_CLIENT);
  });
  registerRestriction('reject_rhsbl_reverse_client', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || ctx.state.reverseName.toLowerCase() === 'unknown') return DUNNO;
    return rejectDomain(ctx, list, ctx.state.reverseName, NAME_REV_CLIENT);
  });
  registerRestriction('reject_rhsbl_helo', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || !ctx.state.heloName) return DUNNO;
    return rejectDomain(ctx, list, ctx.state.heloName, NAME_HELO);
  });
  registerRestriction('reject_rhsbl_sender', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || !ctx.state.sender) return DUNNO;
    return rejectDomain(ctx, list, ctx.state.sender, NAME_SENDER);
  });
  registerRestriction('reject_rhsbl_recipient', async (ctx) => {
    const list = listArg(ctx);
    if (list === undefined || ctx.state.recipient === undefined) return DUNNO;
    return rejectDomain(ctx, list, ctx.state.recipient, NAME_RECIPIENT);
  });
}
