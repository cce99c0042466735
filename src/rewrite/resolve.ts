/**
 * rewrite/resolve.ts: trivial-rewrite's "resolve" request
 * (trivial-rewrite/resolve.c resolve_addr, transport.c transport_lookup):
 * (sender, recipient) -> (transport, nexthop, recipient, flags).
 *
 * 1. Strip local domains and routing operators until a remote domain or
 *    a bare local part is left (the recipient keeps its case here;
 *    SmtpdResolver below folds it, as smtpd_resolve.c does).
 * 2. Address class, first match wins:
 *      local          domain in $mydestination, or [ip] of inet/proxy_interfaces
 *                     -> $local_transport, nexthop = domain
 *      virtual alias  $virtual_alias_domains
 *                     -> error:5.1.1 User unknown in virtual alias table
 *      virtual        $virtual_mailbox_domains -> $virtual_transport, nexthop = domain
 *      relay          $relay_domains -> $relay_transport
 *      default        anything else -> sender_dependent_default_transport_maps
 *                     or $default_transport
 *    relay/default nexthop: sender_dependent_relayhost_maps, else
 *    $relayhost, else the domain.
 * 3. "transport:nexthop" in a *_transport parameter overrides the nexthop.
 * 4. transport_maps (not for the alias class): "transport:nexthop";
 *    an empty transport keeps the class transport; a transport without a
 *    nexthop resets it to the recipient domain (error/retry: "Address is
 *    undeliverable"); "*" is the fallback entry.
 * 5. relocated_maps: error:5.1.6 User has moved to NEW.
 * 6. A recipient starting with '-' is an error unless allow_min_user.
 * Table failures set RESOLVE_FLAG_FAIL (qmgr: retry "4.3.0 address
 * resolver failure").
 */
import { findAddress, findTransport, MaFind } from '../maps/query.js';
import { DictError } from '../maps/types.js';
import { ListError } from '../smtpd/lists.js';
import {
  RESOLVE_CLASS_ALIAS,
  RESOLVE_CLASS_DEFAULT,
  RESOLVE_CLASS_LOCAL,
  RESOLVE_CLASS_RELAY,
  RESOLVE_CLASS_VIRTUAL,
  RESOLVE_FLAG_ERROR,
  RESOLVE_FLAG_FAIL,
  RESOLVE_FLAG_ROUTED,
  type RewriteSettings,
  resolveLocal,
  rewriteInternal,
  rewriteTree,
} from './rewrite.js';
import { asciiLower, validUtf8 } from '../smtpd/text.js';
import {
  quote822Local,
  TOK_QSTRING,
  Tok,
  tokInternalize,
  tokRfindType,
  tokScan,
  tokScanAddr,
  tokSubAppend,
  tokSubKeepBefore,
} from '../smtpd/tok822.js';
import { validHostaddr, validMailhostLiteral, validUtf8Hostname } from '../smtpd/valid.js';
import type { ResolveSettings } from './settings.js';

export {
  hasAddress,
  normaliseIp,
  ownAddresses,
  RESOLVE_CLASS_ALIAS,
  RESOLVE_CLASS_DEFAULT,
  RESOLVE_CLASS_FINAL,
  RESOLVE_CLASS_LOCAL,
  RESOLVE_CLASS_MASK,
  RESOLVE_CLASS_RELAY,
  RESOLVE_CLASS_VIRTUAL,
  RESOLVE_FLAG_ERROR,
  RESOLVE_FLAG_FAIL,
  RESOLVE_FLAG_FINAL,
  RESOLVE_FLAG_ROUTED,
  type RewriteSettings,
  resolveLocal,
  rewriteInternal,
} from './rewrite.js';

export interface ResolveResult {
  transport: string;
  nexthop: string;
  /** The resolved recipient, internal form, case kept. */
  recipient: string;
  flags: number;
}

const C = (ch: string): number => ch.charCodeAt(0);

/** Class names as resolve_clnt's -v trace prints them. */
export function resolveClassName(flags: number): string {
  if (flags & RESOLVE_CLASS_LOCAL) return 'local';
  if (flags & RESOLVE_CLASS_ALIAS) return 'alias';
  if (flags & RESOLVE_CLASS_VIRTUAL) return 'virtual';
  if (flags & RESOLVE_CLASS_RELAY) return 'relay';
  if (flags & RESOLVE_CLASS_DEFAULT) return 'default';
  return '';
}

/** split_at(): "a:b" -> ["a", "b"]; no ':' -> [s, undefined]. */
function splitAt(s: string, ch: string): [string, string | undefined] {
  const i = s.indexOf(ch);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

class ResolveFail extends Error {}

/** resolve_addr(). */
export async function resolveAddr(s: ResolveSettings, sender: string, addr: string): Promise<ResolveResult> {
  let flags = 0;
  const fail = (): ResolveResult => ({
    flags: flags | RESOLVE_FLAG_FAIL,
    transport: 'CHANNEL NOT UPDATED',
    nexthop: 'NEXTHOP NOT UPDATED',
    recipient: 'NEXTRCPT NOT UPDATED',
  });
  const local = async (domain: string): Promise<boolean> => {
    try {
      return await resolveLocal(s, domain);
    } catch (err) {
      if (err instanceof ListError || err instanceof DictError) throw new ResolveFail();
      throw err;
    }
  };
  const localCtx = { origin: s.myorigin, domain: s.mydomain };
  const tree = tokScanAddr(quote822Local(addr));
  let savedDomain: Tok | null = null;
  let domain: Tok | null = null;
  try {
    const loopMax = addr.length + 100;
    for (let loop = 0; ; loop++) {
      if (loop > loopMax) {
        s.warn(`resolve_addr: loop count exceeds ${loopMax} while resolving ${addr}`);
        return fail();
      }
      // Strip trailing dot at end of domain, but not dot-dot or at-dot.
      if (
        tree.tail &&
        tree.tail.type === C('.') &&
        tokRfindType(tree.tail, C('@')) !== null &&
        tree.tail.prev &&
        tree.tail.prev.type !== C('.') &&
        tree.tail.prev.type !== C('@')
      ) {
        tokSubKeepBefore(tree, tree.tail);
      }
      // Strip trailing @.
      if (s.resolveNullDomain && tree.tail && tree.tail.type === C('@')) tokSubKeepBefore(tree, tree.tail);

      // Strip (and save) @domain if local.
      if ((domain = tokRfindType(tree.tail, C('@'))) !== null) {
        if (domain.next && !(await local(tokInternalize(domain.next)))) break;
        tokSubKeepBefore(tree, domain);
        savedDomain = domain;
        domain = null;
      }
      // After stripping the local domain, if any, replace foo%bar by foo@bar, site!user by user@site.
      if (
        tokRfindType(tree.tail, C('@')) ||
        (s.swapBangpath && tokRfindType(tree.tail, C('!'))) ||
        (s.percentHack && tokRfindType(tree.tail, C('%')))
      ) {
        rewriteTree(s, localCtx, tree);
        continue;
      }
      // Crack open a quoted local part with routing operators in it.
      let oper = -1;
      let localpart = '';
      if (
        s.resolveDequoted &&
        tree.head &&
        tree.head === tree.tail &&
        tree.head.type === TOK_QSTRING &&
        ((oper = (localpart = tree.head.text).lastIndexOf('@')) >= 0 ||
          (s.percentHack && (oper = localpart.lastIndexOf('%')) >= 0) ||
          (s.swapBangpath && (oper = localpart.lastIndexOf('!')) >= 0))
      ) {
        let text = localpart;
        if (text[oper] === '%') text = `${text.slice(0, oper)}@${text.slice(oper + 1)}`;
        tree.head.text = text;
        let buf = tokInternalize(tree.head);
        if (text[oper] === '@') buf = quote822Local(buf);
        const [h, t] = tokScan(buf);
        tree.head = h;
        tree.tail = t;
        if (h) rewriteTree(s, localCtx, tree);
        continue;
      }
      // An empty local part or no local part becomes $empty_address_recipient.
      if (tree.head && tree.head === tree.tail && tree.head.type === TOK_QSTRING && tree.head.text === '') {
        tree.head = tree.tail = null;
      }
      if (tree.head === null) {
        const [h, t] = tokScan(s.emptyAddressRecipient);
        tree.head = h;
        tree.tail = t;
        continue;
      }
      // Make sure the local part is qualified.
      if (domain === null && savedDomain === null) {
        tokSubAppend(tree, new Tok(C('@')));
        const [h] = tokScan(s.myhostname);
        if (h) tokSubAppend(tree, h);
        continue;
      }
      domain = null;
      break;
    }

    if (domain === null) {
      if (savedDomain) {
        tokSubAppend(tree, savedDomain);
        savedDomain = null;
      } else {
        tokSubAppend(tree, new Tok(C('@')));
        const [h] = tokScan(s.myhostname);
        if (h) tokSubAppend(tree, h);
      }
    }

    let nextrcpt = tokInternalize(tree.head);
    let at = nextrcpt.lastIndexOf('@');
    if (at < 0) throw new Error(`no @ in address: "${nextrcpt}"`);
    let rcptDomain = nextrcpt.slice(at + 1);
    if (rcptDomain[0] === '[') {
      if (!validMailhostLiteral(rcptDomain)) flags |= RESOLVE_FLAG_ERROR;
    } else if (s.smtputf8Enable && !validUtf8(nextrcpt)) {
      flags |= RESOLVE_FLAG_ERROR;
    } else if (!validUtf8Hostname(s.smtputf8Enable, rcptDomain)) {
      if (s.resolveNumericDomain && validHostaddr(rcptDomain)) {
        nextrcpt = `${nextrcpt.slice(0, at + 1)}[${rcptDomain}]`;
        at = nextrcpt.lastIndexOf('@');
        rcptDomain = nextrcpt.slice(at + 1);
        if (await local(rcptDomain)) domain = null;
      } else {
        flags |= RESOLVE_FLAG_ERROR;
      }
    }
    if (flags & RESOLVE_FLAG_ERROR) {
      return { flags: flags | RESOLVE_CLASS_DEFAULT, transport: 'CHANNEL NOT UPDATED', nexthop: 'NEXTHOP NOT UPDATED', recipient: nextrcpt };
    }
    // Routing operators in the local part (whatever swap_bangpath/percent_hack say).
    const firstOp = nextrcpt.search(/[@!%]/);
    if (nextrcpt.slice(firstOp + 1) !== rcptDomain) flags |= RESOLVE_FLAG_ROUTED;

    const lookupOpts = {
      recipientDelimiter: s.recipientDelimiter,
      myorigin: s.myorigin,
      isLocal: (d: string) => resolveLocal(s, d),
    };
    const match = async (list: ResolveSettings['mydestination'], d: string, param: string): Promise<boolean> => {
      try {
        return await list.match(d);
      } catch (err) {
        if (err instanceof ListError || err instanceof DictError) {
          s.warn(`${param} lookup failure`);
          throw new ResolveFail();
        }
        throw err;
      }
    };
    const mapFind = async (maps: NonNullable<ResolveSettings['transportMaps']>, key: string) => {
      try {
        return (await findAddress(maps, key, { ...lookupOpts, strategy: MaFind.DEFAULT }))?.value;
      } catch (err) {
        if (err instanceof DictError) {
          s.warn(`${maps.title} lookup failure`);
          throw new ResolveFail();
        }
        throw err;
      }
    };

    let channel: string;
    let nexthop: string;
    let blame = '';
    if (domain !== null) {
      if (await match(s.virtualAliasDomains, rcptDomain, 'virtual_alias_domains')) {
        if (s.helpfulWarnings) {
          if (await s.virtualMailboxDomains.match(rcptDomain).catch(() => false)) {
            s.warn(`do not list domain ${rcptDomain} in BOTH virtual_alias_domains and virtual_mailbox_domains`);
          }
          if (await s.relayDomains.match(rcptDomain).catch(() => false)) {
            s.warn(`do not list domain ${rcptDomain} in BOTH virtual_alias_domains and relay_domains`);
          }
        }
        channel = 'error';
        nexthop = `5.1.1 User unknown${s.showUnknownTable ? ' in virtual alias table' : ''}`;
        flags |= RESOLVE_CLASS_ALIAS;
      } else if (await match(s.virtualMailboxDomains, rcptDomain, 'virtual_mailbox_domains')) {
        if (s.helpfulWarnings && (await s.relayDomains.match(rcptDomain).catch(() => false))) {
          s.warn(`do not list domain ${rcptDomain} in BOTH virtual_mailbox_domains and relay_domains`);
        }
        channel = s.virtualTransport;
        nexthop = rcptDomain;
        blame = 'virtual_transport';
        flags |= RESOLVE_CLASS_VIRTUAL;
      } else {
        if (await match(s.relayDomains, rcptDomain, 'relay_domains')) {
          channel = s.relayTransport;
          blame = 'relay_transport';
          flags |= RESOLVE_CLASS_RELAY;
        } else {
          let xport: string | undefined;
          if (s.senderDefXportMaps) {
            const key = sender !== '' ? sender : s.nullDefXportKey;
            xport = await mapFind(s.senderDefXportMaps, key);
            if (xport === '') {
              s.warn(`sender_dependent_default_transport_maps: ignoring null lookup result for ${key}`);
              xport = 'DUNNO';
            }
          }
          if (xport !== undefined) {
            channel = xport.toLowerCase() === 'dunno' ? s.defaultTransport : xport;
            blame = 'sender_dependent_default_transport_maps';
          } else {
            channel = s.defaultTransport;
            blame = 'default_transport';
          }
          flags |= RESOLVE_CLASS_DEFAULT;
        }
        let relay: string | undefined;
        if (s.senderRelayMaps) {
          const key = sender !== '' ? sender : s.nullRelayKey;
          relay = await mapFind(s.senderRelayMaps, key);
          if (relay === '') {
            s.warn(`sender_dependent_relayhost_maps: ignoring null lookup result for ${key}`);
            relay = undefined;
          } else if (relay !== undefined && relay.toLowerCase() === 'dunno') relay = undefined;
        }
        nexthop = relay ?? (s.relayhost !== '' ? s.relayhost : rcptDomain);
      }
    } else {
      if (s.helpfulWarnings) {
        if (await s.virtualAliasDomains.match(rcptDomain).catch(() => false)) {
          s.warn(`do not list domain ${rcptDomain} in BOTH mydestination and virtual_alias_domains`);
        }
        if (await s.virtualMailboxDomains.match(rcptDomain).catch(() => false)) {
          s.warn(`do not list domain ${rcptDomain} in BOTH mydestination and virtual_mailbox_domains`);
        }
      }
      channel = s.localTransport;
      nexthop = rcptDomain;
      blame = 'local_transport';
      flags |= RESOLVE_CLASS_LOCAL;
    }

    // An explicit main.cf transport:nexthop overrides the nexthop.
    const [ch, dest] = splitAt(channel, ':');
    channel = ch;
    if (dest !== undefined && dest !== '') nexthop = dest;

    if (channel === '') {
      s.warn(`file ${s.configDirectory}/main.cf: parameter ${blame}: null transport is not allowed`);
      return fail();
    }

    // transport_maps overrides (not the virtual alias class).
    if (s.transportMaps && !(flags & RESOLVE_CLASS_ALIAS)) {
      let found: Awaited<ReturnType<typeof findTransport>>;
      try {
        found = await findTransport(s.transportMaps, nextrcpt, {
          ...lookupOpts,
          parentMatchesSubdomains: s.transportParentStyle,
        });
      } catch (err) {
        if (err instanceof DictError) {
          s.warn('transport_maps lookup failure');
          return fail();
        }
        throw err;
      }
      if (found !== undefined) {
        const [newChannel, newNexthop = ''] = splitAt(found.value, ':');
        // The wildcard entry was parsed without a recipient domain.
        ({ channel, nexthop } = updateEntry(newChannel, newNexthop, rcptDomain, channel, nexthop));
      }
    }

    // relocated_maps, regardless of class.
    if (s.relocatedMaps) {
      const newloc = await mapFind(s.relocatedMaps, nextrcpt);
      if (newloc !== undefined) {
        channel = 'error';
        nexthop = `5.1.6 User has moved to ${newloc}`;
      }
    }

    if (!s.allowMinUser && nextrcpt[0] === '-') {
      flags |= RESOLVE_FLAG_ERROR;
      return { flags, transport: channel, nexthop, recipient: nextrcpt };
    }
    return { flags, transport: channel, nexthop, recipient: nextrcpt };
  } catch (err) {
    if (err instanceof ResolveFail) return fail();
    throw err;
  }
}

/** transport.c update_entry(). */
export function updateEntry(
  newChannel: string,
  newNexthop: string,
  rcptDomain: string,
  channel: string,
  nexthop: string,
): { channel: string; nexthop: string } {
  if (newChannel === '') {
    return { channel, nexthop: newNexthop !== '' ? newNexthop : nexthop };
  }
  if (newNexthop !== '') return { channel: newChannel, nexthop: newNexthop };
  if (newChannel !== 'error' && newChannel !== 'retry') return { channel: newChannel, nexthop: rcptDomain };
  return { channel: newChannel, nexthop: 'Address is undeliverable' };
}

/** The resolve settings of a process that only has the rewrite ones (smtpd): no tables. */
function withoutTables(s: RewriteSettings): ResolveSettings {
  return {
    ...s,
    recipientDelimiter: '',
    helpfulWarnings: false,
    allowMinUser: true,
    nullRelayKey: '<>',
    nullDefXportKey: '<>',
    transportParentStyle: false,
    transportMaps: undefined,
    relocatedMaps: undefined,
    senderRelayMaps: undefined,
    senderDefXportMaps: undefined,
    configDirectory: '',
    warn: () => undefined,
  };
}

/**
 * smtpd_resolve_addr(): "local" rewrite of the address, resolve, and the
 * recipient casefolded, with a per-process cache (smtpd_resolve.c keeps
 * 100 entries; so do we). Given only RewriteSettings (smtpd), the
 * class decision is made without transport/relocated/sender-dependent
 * tables: they change the nexthop, never the class.
 */
export class SmtpdResolver {
  private readonly cache = new ResolveCache(100);
  private readonly full: ResolveSettings;
  constructor(readonly settings: RewriteSettings | ResolveSettings) {
    this.full = 'transportMaps' in settings ? settings : withoutTables(settings);
  }

  resolve(addr: string, sender = ''): Promise<ResolveResult> {
    return this.cache.get(sender, addr, () =>
      resolveAddr(this.full, sender, rewriteInternal(this.full, 'local', addr)).then((res) =>
        res.flags & RESOLVE_FLAG_FAIL ? res : { ...res, recipient: asciiLower(res.recipient) },
      ),
    );
  }
}

/** A small LRU of resolve results by (sender, address); failures are not kept (the next query retries the tables). */
export class ResolveCache {
  private readonly map = new Map<string, Promise<ResolveResult>>();
  constructor(private readonly size: number) {}

  get(sender: string, addr: string, make: () => Promise<ResolveResult>): Promise<ResolveResult> {
    const key = `${sender}\0${addr}`;
    let r = this.map.get(key);
    if (r) {
      this.map.delete(key);
      this.map.set(key, r);
      return r;
    }
    r = make();
    this.map.set(key, r);
    r.then(
      (res) => {
        if (res.flags & RESOLVE_FLAG_FAIL) this.map.delete(key);
      },
      () => this.map.delete(key),
    );
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value as string);
    return r;
  }

  clear(): void {
    this.map.clear();
  }
}
