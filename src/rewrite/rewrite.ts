/**
 * rewrite/rewrite.ts: trivial-rewrite's "rewrite" request and the address
 * helpers resolve shares (rewrite.c rewrite_tree, resolve_local.c,
 * own_inet_addr.c, resolve_clnt.h flags): the canonical form of an address
 * in the "local" or "remote" context, whether a domain or [address] is
 * ours, and the class bits a resolve reply carries.
 *
 * Handled like Postfix: source routes (@a,@b:user@c) are stripped,
 * site!user is swapped (swap_bangpath), user%domain becomes user@domain
 * (allow_percent_hack), @$myorigin and .$mydomain are appended
 * (append_at_myorigin, append_dot_mydomain), a trailing dot is dropped.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { type MatchList, parseIp } from '../smtpd/lists.js';
import {
  TOK_DOMLIT,
  TOK_QSTRING,
  Tok,
  quote822Local,
  tokCutAfter,
  tokFindType,
  tokRfindType,
  tokScan,
  tokScanAddr,
  tokSubAppend,
  tokSubKeepAfter,
  tokSubKeepBefore,
  tokSubPrepend,
  tokExternalize,
  unquote822Local,
} from '../smtpd/tok822.js';
import { validMailhostAddr } from '../smtpd/valid.js';

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

/** rewrite_proto(): external (quoted) form in and out, in the "local" or "remote" context. */
export function rewriteExternal(s: RewriteSettings, context: 'local' | 'remote', addr: string): string {
  if (addr === '') return '';
  const tree = tokScanAddr(addr);
  const ctx =
    context === 'local'
      ? { origin: s.myorigin, domain: s.mydomain }
      : { origin: s.remoteHeaderRewriteDomain, domain: s.remoteHeaderRewriteDomain };
  if (tree.head) rewriteTree(s, ctx, tree);
  return tokExternalize(tree.head);
}

/** rewrite_clnt_internal(): internal form in, internal form out. */
export function rewriteInternal(s: RewriteSettings, context: 'local' | 'remote', addr: string): string {
  const ext = quote822Local(addr);
  return ext === '' ? '' : unquote822Local(rewriteExternal(s, context, ext));
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
