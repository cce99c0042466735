/**
 * dnsbl/dnsxl.ts: DNS allow/deny list lookups as Postfix's smtpd does them
 * (smtpd_check.c find_dnsxl_addr/find_dnsxl_domain, rbl_pagein):
 * - an IPv4 client is queried as its reversed octets, an IPv6 client as its
 *   32 reversed nibbles, a domain as itself, each + "." + the list domain;
 * - `list.example=127.0.0.[2..11]` accepts only replies that match;
 * - a listed name's TXT records (joined with " / ", at most 500 bytes) are
 *   the reason text;
 * - a DNS failure is neither listed nor unlisted ("soft": deny lists let the
 *   mail through, allow lists defer), logged as "NAME: RBL lookup error: …".
 * Results are cached per process (Postfix keeps 100 per smtpd process);
 * an entry lives no longer than the record's TTL, at most an hour, a
 * failure one minute.
 */
import { isIPv6 } from 'node:net';
import type { DnsResolver } from '../dns/resolver.js';
import { ipMatches, parseIpMatch } from './ip-match.js';

export type DnsxlResult = { status: 'listed'; addresses: string[]; txt: string | undefined } | { status: 'unlisted' } | { status: 'soft' };

const TXT_LIMIT = 500;
const CACHE_SIZE = 100;
const MAX_TTL_MS = 3600_000;
const SOFT_TTL_MS = 60_000;

interface CacheEntry {
  result: Promise<DnsxlResult>;
  expires: number;
}

/** The reversed form of an address for a DNSBL query (without the list domain). */
export function reverseAddress(addr: string): string {
  if (isIPv6(addr)) {
    const bytes = ipv6Bytes(addr);
    let out = '';
    for (let i = 15; i >= 0; i--) out += `${(bytes[i]! & 0xf).toString(16)}.${(bytes[i]! >> 4).toString(16)}.`;
    return out;
  }
  return `${addr.split('.').reverse().join('.')}.`;
}

function ipv6Bytes(addr: string): number[] {
  let a = addr;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    a = `${a.slice(0, -v4[1]!.length)}0:0`;
  }
  const [head, rest] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - r.length).fill('0'), ...r].map((g) => Number.parseInt(g, 16));
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

export class DnsxlClient {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly filters = new Map<string, ReturnType<typeof parseIpMatch>>();

  constructor(
    private readonly resolver: DnsResolver,
    private readonly now: () => number = Date.now,
  ) {}

  /** Look `prefix` (a reversed address ending in "." or a domain + ".") up in `list` ("domain[=filter]"). */
  async lookup(prefix: string, list: string, warn: (text: string) => void): Promise<DnsxlResult> {
    const eq = list.indexOf('=');
    const domain = eq < 0 ? list : list.slice(0, eq);
    const filterText = eq < 0 ? undefined : list.slice(eq + 1);
    const query = `${prefix}${domain}`;
    const result = await this.cached(query, warn);
    if (result.status !== 'listed' || filterText === undefined) return result;
    let filter = this.filters.get(filterText);
    if (!filter) {
      filter = parseIpMatch(filterText);
      this.filters.set(filterText, filter);
    }
    return result.addresses.some((a) => ipMatches(filter!, a)) ? result : { status: 'unlisted' };
  }

  private cached(query: string, warn: (text: string) => void): Promise<DnsxlResult> {
    const key = query.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.result;
    }
    const now = this.now;
    const entry: CacheEntry = { result: this.query(query, setTtl, warn), expires: now() + MAX_TTL_MS };
    function setTtl(ms: number) {
      entry.expires = Math.min(entry.expires, now() + ms);
    }
    this.cache.set(key, entry);
    while (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return entry.result;
  }

  private async query(query: string, setTtl: (ms: number) => void, warn: (text: string) => void): Promise<DnsxlResult> {
    const a = await this.resolver.a(query);
    if (a.status === 'error') {
      warn(`${query}: RBL lookup error: ${a.why}`);
      // Postfix caches a failure too (for the smtpd process's life): one warning, not one per list entry.
      setTtl(SOFT_TTL_MS);
      return { status: 'soft' };
    }
    if (a.status === 'notfound') return { status: 'unlisted' };
    setTtl(a.ttl * 1000);
    const t = await this.resolver.txt(query);
    let txt: string | undefined;
    if (t.status === 'ok') {
      txt = '';
      for (let i = 0; i < t.records.length && txt.length < TXT_LIMIT; i++) {
        txt += t.records[i]!.slice(0, TXT_LIMIT - txt.length);
        if (i + 1 < t.records.length && TXT_LIMIT - txt.length > 3) txt += ' / ';
      }
    }
    return { status: 'listed', addresses: a.records, txt };
  }
}
