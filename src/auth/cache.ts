/**
 * auth/cache.ts: the passdb/userdb result cache (auth-cache.c): entries keyed
 * by the db's cache key (the %-variables its query uses) hold the password
 * and fields of a lookup, or '' for "user unknown". auth_cache_ttl and
 * auth_cache_negative_ttl expire them, auth_cache_size bounds the memory
 * (least recently used first out), `doveadm auth cache flush` clears them.
 */
import { tabEscape } from './protocol.js';
import type { AuthRequest } from './request.js';
import { varGetKeyRange } from '../../compat/dovecot/var-expand.js';

export interface CacheNode {
  value: string;
  created: number;
  lastSuccess: boolean;
  user: string;
  size: number;
}

/** The variables of a query, deduplicated, as auth_cache_parse_key() lists them ("%u\t%{rip}"). */
export function parseCacheKey(query: string): string {
  const seen = new Set<string>();
  const extra: string[] = [];
  const shortToLong: Record<string, string> = { u: 'user', n: 'username', d: 'domain', s: 'service', h: 'home', l: 'lip', r: 'rip', p: 'pid', w: 'password', m: 'mech', c: 'secured', a: 'lport', b: 'rport', k: 'cert' };
  for (let i = 0; i < query.length; i++) {
    if (query[i] !== '%') continue;
    const rest = query.slice(i + 1);
    const r = varGetKeyRange(rest);
    if (r.size === 0) break;
    const key = rest.slice(r.idx, r.idx + r.size);
    const norm = r.long ? key : (shortToLong[key] ?? key);
    if (!r.long && !shortToLong[key]) extra.push(`%${key}`);
    else if (r.long && !Object.values(shortToLong).includes(key)) extra.push(`%{${key}}`);
    else seen.add(norm);
    i += r.idx + r.size + (r.long ? 1 : 0);
  }
  if (seen.has('username') && seen.has('domain')) {
    seen.delete('username');
    seen.delete('domain');
    seen.add('user');
  }
  const order = ['user', 'username', 'domain', 'service', 'home', 'lip', 'rip', 'pid', 'password', 'mech', 'secured', 'lport', 'rport', 'cert'];
  const keys = order.filter((k) => seen.has(k)).map((k) => `%{${k}}`);
  return [...keys, ...extra].join('\t');
}

export class AuthCache {
  private nodes = new Map<string, CacheNode>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(
    readonly maxSize: number,
    readonly ttlSecs: number,
    readonly negTtlSecs: number,
  ) {}

  private now(): number {
    return Math.floor(Date.now() / 1000);
  }

  key(req: AuthRequest, dbKey: string, dbId: string): string {
    return `${dbId}\t${req.expand(dbKey, tabEscape).value}`;
  }

  lookup(key: string): { node: CacheNode; expired: boolean; negExpired: boolean } | undefined {
    const node = this.nodes.get(key);
    if (!node) {
      this.misses++;
      return undefined;
    }
    // Most recently used last.
    this.nodes.delete(key);
    this.nodes.set(key, node);
    const age = this.now() - node.created;
    const expired = age > this.ttlSecs;
    const negExpired = node.value === '' && age > this.negTtlSecs;
    return { node, expired: expired || negExpired, negExpired };
  }

  insert(key: string, value: string, user: string, lastSuccess: boolean): void {
    if (value === '' && this.negTtlSecs === 0) return;
    const size = key.length + value.length + 64;
    if (size > this.maxSize) return;
    const old = this.nodes.get(key);
    if (old) {
      this.used -= old.size;
      this.nodes.delete(key);
    }
    while (this.used + size > this.maxSize && this.nodes.size > 0) {
      const [k, n] = this.nodes.entries().next().value as [string, CacheNode];
      this.nodes.delete(k);
      this.used -= n.size;
    }
    this.nodes.set(key, { value, created: this.now(), lastSuccess, user, size });
    this.used += size;
  }

  remove(key: string): void {
    const n = this.nodes.get(key);
    if (n) {
      this.used -= n.size;
      this.nodes.delete(key);
    }
  }

  /** Flush everything; returns how many entries were removed. */
  clear(): number {
    const n = this.nodes.size;
    this.nodes.clear();
    this.used = 0;
    return n;
  }

  /** Flush the entries of these users. */
  clearUsers(users: string[]): number {
    let count = 0;
    const want = new Set(users);
    for (const [k, n] of this.nodes) {
      if (want.has(n.user)) {
        this.nodes.delete(k);
        this.used -= n.size;
        count++;
      }
    }
    return count;
  }
}
