/**
 * smtpd/resolve.ts: what trivial-rewrite(8) tells smtpd about an address:
 * the "local" rewrite (rewrite.c rewrite_tree) and the address class
 * resolver (resolve.c resolve_addr, resolve_local.c). This is the heart of
 * relay control: reject_unauth_destination permits only what resolves to a
 * final (local, virtual alias, virtual mailbox) or relay_domains class and
 * carries no routing operators in the local part.
 *
 * Handled like Postfix: source routes (@a,@b:user@c) are stripped, local
 * domains are stripped repeatedly and the rest re-examined ("%"-hack,
 * "site!user", "user@dom@other"), quoted local parts are cracked open
 * (resolve_dequoted_address), trailing dots dropped, bracketed IPs of this
 * host are local, and anything left with "@", "!" or "%" in front of a
 * non-local domain is flagged ROUTED (never relayed).
 *
 * Not yet: transport_maps, relocated_maps, sender-dependent transports and
 * relayhosts (they do not change the class, only the nexthop).
 * TODO(integrator): move to src/rewrite/ when trivial-rewrite gets its own daemon.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { ListError, type MatchList, parseIp } from './lists.js';
import {
  TOK_DOMLIT,
  TOK_QSTRING,
  Tok,
  quote822Local,
  tokCutAfter,
  tokFindType,
  tokInternalize,
  tokRfindType,
  tokScan,
  tokScanAddr,
  tokSubAppend,
  tokSubKeepAfter,
  tokSubKeepBefore,
  tokSubPrepend,
  tokExternalize,
  unquote822Local,
} from './tok822.js';
import { validHostaddr, validMailhostAddr, validMailhostLiteral, validUtf8Hostname } from './valid.js';
import { asciiLower, validUtf8 } from './text.js';

export const RESOLVE_FLAG_FINAL = 1 << 0;
export const RESOLVE_FLAG_ROUTED = 1 << 1;
export const RESOLVE_FLAG_ERROR = 1 << 2;
export const RESOLVE_FLAG_FAIL = 1 << 3;
export const RESOLVE_CLASS_LOCAL = 1 << 8;
export const RESOLVE_CLASS_ALIAS = 1 << 9;
export const RESOLVE_CLASS_VIRTUAL = 1 << 10;
export const RESOLVE_CLASS_RELAY = 1 << 11;
export const RESOLVE_CLASS_DEFAULT = 1 << 12;
export const RESOLVE_CLASS_FINAL = RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL;
export const RESOLVE_CLASS_MASK = RESOLVE_CLASS_FINAL | RESOLVE_CLASS_RELAY | RESOLVE_CLASS_DEFAULT;

export interface ResolveReply {
  flags: number;
  transport: string;
  nexthop: string;
  /** Resolved recipient, internal form, casefolded as smtpd_resolve does. */
  recipient: string;
}

/** The main.cf values trivial-rewrite reads. */
export interface RewriteSettings {
  myhostname: string;
  myorigin: string;
  mydomain: string;
  remoteHeaderRewriteDomain: string;
  swapBangpath: boolean;
  percentHack: boolean;
  appendAtMyorigin: boolean;
  appendDotMydomain: boolean;
  resolveDequoted: boolean;
  resolveNullDomain: boolean;
  resolveNumericDomain: boolean;
  emptyAddressRecipient: string;
  smtputf8Enable: boolean;
  showUnknownTable: boolean;
  localTransport: string;
  virtualTransport: string;
  relayTransport: string;
  defaultTransport: string;
  relayhost: string;
  mydestination: MatchList;
  virtualAliasDomains: MatchList;
  virtualMailboxDomains: MatchList;
  relayDomains: MatchList;
  /** inet_interfaces + proxy_interfaces addresses (numeric, normalised). */
  ownAddresses: Set<string>;
}

interface Context {
  origin: string;
  domain: string;
}

const C = (ch: string): number => ch.charCodeAt(0);

/** rewrite_tree(): canonicalize an address token tree in place. */
export function rewriteTree(s: RewriteSettings, ctx: Context, tree: Tok): void {
  if (tree.head === null) throw new Error('rewrite_tree: empty tree');
  if (tree.head === tree.tail && tree.tail!.type === TOK_QSTRING && tree.tail!.text === '') return;
  if (tree.head === tree.tail && tree.tail!.type === C('@')) {
    tokSubKeepBefore(tree, tree.tail!);
    tokSubAppend(tree, new Tok(TOK_QSTRING, ''));
    return;
  }
  // Strip source route.
  let colon: Tok | null;
  if (tree.head.type === C('@') && (colon = tokFindType(tree.head, C(':'))) !== null && colon !== tree.tail) {
    tokSubKeepAfter(tree, colon);
  }
  let domain = tokRfindType(tree.tail, C('@'));
  if (domain === null) {
    let bang: Tok | null;
    if (s.swapBangpath && (bang = tokFindType(tree.head, C('!'))) !== null) {
      tokSubKeepBefore(tree, bang);
      const local = tokCutAfter(bang);
      tokSubPrepend(tree, new Tok(C('@')));
      if (local) tokSubPrepend(tree, local);
    } else if (s.percentHack && (domain = tokRfindType(tree.tail, C('%'))) !== null) {
      domain.type = C('@');
    } else if (s.appendAtMyorigin && ctx.origin !== '') {
      domain = tokSubAppend(tree, new Tok(C('@')));
      const [h] = tokScan(ctx.origin);
      if (h) tokSubAppend(tree, h);
    }
  }
  if (
    s.appendDotMydomain &&
    ctx.domain !== '' &&
    (domain = tokRfindType(tree.tail, C('@'))) !== null &&
    domain !== tree.tail &&
    tokFindType(domain, TOK_DOMLIT) === null &&
    tokFindType(domain, C('.')) === null
  ) {
    tokSubAppend(tree, new Tok(C('.')));
    const [h] = tokScan(ctx.domain);
    if (h) tokSubAppend(tree, h);
  }
  if (tree.tail!.type === C('.') && tree.tail!.prev && tree.tail!.prev.type !== C('.') && tree.tail!.prev.type !== C('@')) {
    tokSubKeepBefore(tree, tree.tail!);
  }
}

/** rewrite_clnt_internal("local", addr): internal form in, internal form out. */
export function rewriteInternal(s: RewriteSettings, context: 'local' | 'remote', addr: string): string {
  const ext = quote822Local(addr);
  if (ext === '') return '';
  const tree = tokScanAddr(ext);
  const ctx =
    context === 'local'
      ? { origin: s.myorigin, domain: s.mydomain }
      : { origin: s.remoteHeaderRewriteDomain, domain: s.remoteHeaderRewriteDomain };
  if (tree.head) rewriteTree(s, ctx, tree);
  return unquote822Local(tokExternalize(tree.head));
}

/** resolve_local(): is this domain (or [address]) one of ours? */
export async function resolveLocal(s: RewriteSettings, addr: string): Promise<boolean> {
  let a = addr;
  if (a === '') return false;
  if (a.endsWith('.')) a = a.slice(0, -1);
  if (a === '' || a.endsWith('.')) return false;
  if (await s.mydestination.match(a)) return true;
  if (a[0] === '[' && a[a.length - 1] === ']') {
    const bare = validMailhostAddr(a.slice(1, -1));
    if (bare !== undefined) {
      const ip = normaliseIp(bare);
      if (ip !== undefined && s.ownAddresses.has(ip)) return true;
    }
  }
  return false;
}

/** Is this numeric address in the set (see ownAddresses())? */
export function hasAddress(set: ReadonlySet<string>, addr: string): boolean {
  const n = normaliseIp(addr);
  return n !== undefined && set.has(n);
}

/** A canonical text form for comparing numeric addresses. */
export function normaliseIp(addr: string): string | undefined {
  const ip = parseIp(addr);
  if (!ip) return undefined;
  return `${ip.v6 ? 6 : 4}:${ip.value.toString(16)}`;
}

/** resolve_addr() for the class decision (flags, transport, nexthop, recipient). */
export async function resolveAddr(s: RewriteSettings, addr: string): Promise<ResolveReply> {
  let flags = 0;
  const localCtx = { origin: s.myorigin, domain: s.mydomain };
  const tree = tokScanAddr(quote822Local(addr));
  let savedDomain: Tok | null = null;
  let domain: Tok | null = null;
  const fail = (): ResolveReply => ({ flags: flags | RESOLVE_FLAG_FAIL, transport: '', nexthop: '', recipient: addr });

  const loopMax = addr.length + 100;
  for (let loop = 0; ; loop++) {
    if (loop > loopMax) return fail();
    if (
      tree.tail &&
      tree.tail.type === C('.') &&
      tokRfindType(tree.tail, C('@')) !== null &&
      tree.tail.prev!.type !== C('.') &&
      tree.tail.prev!.type !== C('@')
    ) {
      tokSubKeepBefore(tree, tree.tail);
    }
    if (s.resolveNullDomain && tree.tail && tree.tail.type === C('@')) tokSubKeepBefore(tree, tree.tail);

    if ((domain = tokRfindType(tree.tail, C('@'))) !== null) {
      if (domain.next) {
        let local: boolean;
        try {
          local = await resolveLocal(s, tokInternalize(domain.next));
        } catch (err) {
          if (err instanceof ListError) return fail();
          throw err;
        }
        if (!local) break;
      }
      tokSubKeepBefore(tree, domain);
      savedDomain = domain;
      domain = null;
    }
    if (
      tokRfindType(tree.tail, C('@')) ||
      (s.swapBangpath && tokRfindType(tree.tail, C('!'))) ||
      (s.percentHack && tokRfindType(tree.tail, C('%')))
    ) {
      rewriteTree(s, localCtx, tree);
      continue;
    }
    let oper = -1;
    let local = '';
    if (
      s.resolveDequoted &&
      tree.head &&
      tree.head === tree.tail &&
      tree.head.type === TOK_QSTRING &&
      ((oper = (local = tree.head.text).lastIndexOf('@')) >= 0 ||
        (s.percentHack && (oper = local.lastIndexOf('%')) >= 0) ||
        (s.swapBangpath && (oper = local.lastIndexOf('!')) >= 0))
    ) {
      let text = local;
      if (text[oper] === '%') text = text.slice(0, oper) + '@' + text.slice(oper + 1);
      tree.head.text = text;
      let buf = tokInternalize(tree.head);
      if (text[oper] === '@') buf = quote822Local(buf);
      const [h, t] = tokScan(buf);
      tree.head = h;
      tree.tail = t;
      if (h) rewriteTree(s, localCtx, tree);
      continue;
    }
    if (tree.head && tree.head === tree.tail && tree.head.type === TOK_QSTRING && tree.head.text === '') {
      tree.head = tree.tail = null;
    }
    if (tree.head === null) {
      const [h, t] = tokScan(s.emptyAddressRecipient);
      tree.head = h;
      tree.tail = t;
      continue;
    }
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
      try {
        if (await resolveLocal(s, rcptDomain)) domain = null;
      } catch (err) {
        if (err instanceof ListError) return fail();
        throw err;
      }
    } else {
      flags |= RESOLVE_FLAG_ERROR;
    }
  }
  const folded = asciiLower(nextrcpt);
  if (flags & RESOLVE_FLAG_ERROR) {
    return { flags: flags | RESOLVE_CLASS_DEFAULT, transport: '', nexthop: '', recipient: folded };
  }
  const firstOp = nextrcpt.search(/[@!%]/);
  if (nextrcpt.slice(firstOp + 1) !== rcptDomain) flags |= RESOLVE_FLAG_ROUTED;

  let transport: string;
  let nexthop: string;
  try {
    if (domain !== null) {
      if (await s.virtualAliasDomains.match(rcptDomain)) {
        transport = 'error';
        nexthop = `5.1.1 User unknown${s.showUnknownTable ? ' in virtual alias table' : ''}`;
        flags |= RESOLVE_CLASS_ALIAS;
      } else if (await s.virtualMailboxDomains.match(rcptDomain)) {
        transport = s.virtualTransport;
        nexthop = rcptDomain;
        flags |= RESOLVE_CLASS_VIRTUAL;
      } else {
        if (await s.relayDomains.match(rcptDomain)) {
          transport = s.relayTransport;
          flags |= RESOLVE_CLASS_RELAY;
        } else {
          transport = s.defaultTransport;
          flags |= RESOLVE_CLASS_DEFAULT;
        }
        nexthop = s.relayhost !== '' ? s.relayhost : rcptDomain;
      }
    } else {
      transport = s.localTransport;
      nexthop = rcptDomain;
      flags |= RESOLVE_CLASS_LOCAL;
    }
  } catch (err) {
    if (err instanceof ListError) return fail();
    throw err;
  }
  const colon = transport.indexOf(':');
  if (colon >= 0) {
    if (colon + 1 < transport.length) nexthop = transport.slice(colon + 1);
    transport = transport.slice(0, colon);
  }
  return { flags, transport, nexthop, recipient: folded };
}

/**
 * smtpd_resolve_addr(): "local" rewrite of the address, then resolve, with
 * a per-process cache (smtpd_resolve.c keeps 100 entries; so do we).
 */
export class SmtpdResolver {
  private readonly cache = new Map<string, Promise<ResolveReply>>();
  constructor(readonly settings: RewriteSettings) {}

  resolve(addr: string): Promise<ResolveReply> {
    let r = this.cache.get(addr);
    if (r) {
      this.cache.delete(addr);
      this.cache.set(addr, r);
      return r;
    }
    r = resolveAddr(this.settings, rewriteInternal(this.settings, 'local', addr));
    this.cache.set(addr, r);
    if (this.cache.size > 100) this.cache.delete(this.cache.keys().next().value as string);
    return r;
  }
}

/**
 * own_inet_addr_list(): the addresses in inet_interfaces (or every local
 * interface for "all", loopback for "loopback-only") plus proxy_interfaces,
 * restricted to inet_protocols.
 */
export async function ownAddresses(inetInterfaces: string, proxyInterfaces: string, inetProtocols: string): Promise<Set<string>> {
  const protos = inetProtocols.toLowerCase();
  const v4 = protos.includes('all') || protos.includes('ipv4');
  const v6 = protos.includes('all') || protos.includes('ipv6');
  const out = new Set<string>();
  const add = (a: string) => {
    const isV6 = a.includes(':');
    if ((isV6 && !v6) || (!isV6 && !v4)) return;
    const n = normaliseIp(a.replace(/%.*$/, ''));
    if (n) out.add(n);
  };
  const addList = async (value: string) => {
    for (let item of value.split(/[\s,]+/).filter(Boolean)) {
      const low = item.toLowerCase();
      if (low === 'all') {
        for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) add(i.address);
      } else if (low === 'loopback-only') {
        add('127.0.0.1');
        add('::1');
      } else {
        if (item[0] === '[' && item[item.length - 1] === ']') item = item.slice(1, -1);
        if (parseIp(item)) add(item);
        else {
          try {
            for (const r of await dnsLookup(item, { all: true })) add(r.address);
          } catch {
            /* Postfix would die here; a name that does not resolve adds nothing. */
          }
        }
      }
    }
  };
  await addList(inetInterfaces);
  await addList(proxyInterfaces);
  return out;
}
