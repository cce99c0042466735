/**
 * compat/dovecot/filters.ts: Dovecot 2.3's configuration filters (config-filter.c
 * behaviour): `protocol`, `local`, `remote` and `local_name` blocks, how a
 * connection (or doveconf -f) matches them, which blocks apply and in what
 * order, and the "Conflict in setting" rule when two unrelated blocks set the
 * same key. Networks are parsed as config_parse_net does: an address or a
 * host name (resolved, first address wins) with an optional /bits.
 */
import { spawnSync } from 'node:child_process';
import { SocketAddress } from 'node:net';

export interface FilterSpec {
  protocol?: string;
  /** Network in printable form ("10.0.0.0/8", "::1"), see parseNet. */
  local?: string;
  remote?: string;
  localName?: string;
}

export interface Net {
  /** Address bytes (4 or 16). */
  addr: number[];
  bits: number;
  /** As doveconf prints it: net_ip2addr, then /bits unless all bits. */
  print: string;
}

/** inet_ntop form of address bytes. */
export function ipToText(addr: number[]): string {
  if (addr.length === 4) return addr.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((addr[i]! << 8) | addr[i + 1]!).toString(16));
  return new SocketAddress({ address: words.join(':'), family: 'ipv6' }).address;
}

/** inet_pton: bytes of an IPv4 or IPv6 literal, or undefined. */
export function ipBytes(ip: string): number[] | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const p = ip.split('.').map(Number);
    return p.every((n) => n <= 255) ? p : undefined;
  }
  if (!ip.includes(':')) return undefined;
  let text = ip;
  let tailV4: number[] = [];
  const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const b = ipBytes(v4[1]!);
    if (!b) return undefined;
    tailV4 = b;
    text = `${text.slice(0, v4.index)}:0:0`;
  }
  const parts = text.split('::');
  if (parts.length > 2) return undefined;
  const h = parts[0] ? parts[0].split(':') : [];
  const t = parts[1] ? parts[1].split(':') : [];
  const fill = 8 - h.length - t.length;
  if (parts.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const words = [...h, ...Array(parts.length === 2 ? fill : 0).fill('0'), ...t];
  if (!words.every((w) => /^[0-9a-fA-F]{1,4}$/.test(w))) return undefined;
  const bytes = words.flatMap((w) => {
    const n = Number.parseInt(w, 16);
    return [n >> 8, n & 255];
  });
  if (tailV4.length) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

/** getaddrinfo(3) through NSS (getent ahosts): the first address, or the gai_strerror text. */
function resolveHost(name: string): number[] | string {
  const r = spawnSync('getent', ['ahosts', name], { encoding: 'utf8' });
  if (r.status === 0) {
    for (const line of r.stdout.split('\n')) {
      const bytes = ipBytes(line.split(/\s+/)[0] ?? '');
      if (bytes) return bytes;
    }
  }
  return r.status === 2 || r.status === 0 ? 'Name or service not known' : 'Temporary failure in name resolution';
}

const netCache = new Map<string, Net>();

/** config_parse_net: "ip[/bits]" or "host[/bits]". Throws Error with Dovecot's text. */
export function parseNet(text: string): Net {
  const cached = netCache.get(text);
  if (cached) return cached;
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  let addr = ipBytes(host);
  if (!addr) {
    const r = resolveHost(host);
    if (typeof r === 'string') throw new Error(`gethostbyname(${host}) failed: ${r}`);
    addr = r;
  }
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^[0-9]+$/.test(b) || Number(b) > max) throw new Error(`Invalid network mask: ${b}`);
    bits = Number(b);
  }
  const net = { addr, bits, print: bits === max ? ipToText(addr) : `${ipToText(addr)}/${bits}` };
  netCache.set(text, net);
  return net;
}

/** net_is_in_network: is `ip` inside `net`? (IPv4 and IPv6 never mix, as in Dovecot.) */
export function netContains(net: Net, ip: Net): boolean {
  if (net.addr.length !== ip.addr.length) return false;
  for (let i = 0; i < net.bits; i++) {
    const mask = 0x80 >> (i & 7);
    if ((net.addr[i >> 3]! & mask) !== (ip.addr[i >> 3]! & mask)) return false;
  }
  return true;
}

const bitsOf = (net: string | undefined): number => (net === undefined ? 0 : parseNet(net).bits);

/** dns_match_wildcard over a space-separated local_name list. */
function localNameMatches(pattern: string, name: string): boolean {
  return pattern.split(' ').some((p) => wildcardMatch(p.toLowerCase(), name.toLowerCase()));
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

/** config_filter_match_service. */
export function matchService(mask: FilterSpec, want: FilterSpec): boolean {
  if (mask.protocol === undefined) return true;
  if (want.protocol === undefined) return false;
  return mask.protocol.startsWith('!') ? want.protocol !== mask.protocol.slice(1) : want.protocol === mask.protocol;
}

/** config_filter_match_rest: local_name, remote and local networks. */
export function matchRest(mask: FilterSpec, want: FilterSpec): boolean {
  if (mask.localName !== undefined) {
    if (want.localName === undefined || !localNameMatches(mask.localName, want.localName)) return false;
  }
  if (mask.remote !== undefined) {
    if (want.remote === undefined || !netContains(parseNet(mask.remote), parseNet(want.remote))) return false;
  }
  if (mask.local !== undefined) {
    if (want.local === undefined || !netContains(parseNet(mask.local), parseNet(want.local))) return false;
  }
  return true;
}

/** config_filter_parser_cmp: negative when `a` is more specific than `b`. */
export function compareSpecificity(a: FilterSpec, b: FilterSpec): number {
  if ((a.localName !== undefined) !== (b.localName !== undefined)) return a.localName !== undefined ? -1 : 1;
  const lb = bitsOf(b.local) - bitsOf(a.local);
  if (lb !== 0) return lb;
  const rb = bitsOf(b.remote) - bitsOf(a.remote);
  if (rb !== 0) return rb;
  if ((a.protocol !== undefined) !== (b.protocol !== undefined)) return a.protocol !== undefined ? -1 : 1;
  return 0;
}

/** config_filter_is_superset: may `sup` be overridden by `spec` without a conflict? */
export function isSuperset(sup: FilterSpec, spec: FilterSpec): boolean {
  if (bitsOf(sup.local) > bitsOf(spec.local)) return false;
  if (bitsOf(sup.remote) > bitsOf(spec.remote)) return false;
  if (sup.localName !== undefined && spec.localName === undefined) return false;
  if (sup.protocol !== undefined && spec.protocol === undefined) return false;
  return true;
}

interface Located {
  spec: FilterSpec;
  order: number;
}

/**
 * config_filter_find_all: the filter blocks that apply to `want`, most
 * specific first (ties in file order; glibc's qsort is a stable merge sort).
 */
export function findAll<F extends Located>(filters: F[], want: FilterSpec): F[] {
  return filters
    .filter((f) => matchService(f.spec, want) && matchRest(f.spec, want))
    .sort((a, b) => compareSpecificity(a.spec, b.spec) || a.order - b.order);
}

/**
 * config_filter_find_subset: the blocks doveconf prints under -f: those whose
 * protocol fits (when one is asked for) and whose other parts fit the parts
 * asked for; least specific first.
 */
export function findSubset<F extends Located>(filters: F[], want: FilterSpec): F[] {
  return filters
    .filter((f) => {
      if (want.protocol !== undefined && !matchService(f.spec, want)) return false;
      const mask: FilterSpec = { ...f.spec };
      if (want.localName === undefined) delete mask.localName;
      if (want.local === undefined) delete mask.local;
      if (want.remote === undefined) delete mask.remote;
      return matchRest(mask, want);
    })
    .sort((a, b) => compareSpecificity(b.spec, a.spec) || a.order - b.order);
}

export interface MergeEntry {
  key: string;
  value: string;
}

/**
 * config_filter_parsers_get: the settings the matching blocks give, the most
 * specific block winning. A less specific block that is not a superset of the
 * previous one and sets a key a previous block already set (to any value) is
 * a conflict: "Conflict in setting KEY found from filter at FILE:LINE"
 * (settings_apply in settings-parser.c).
 */
export function mergeFilters<F extends Located & { file: string; line: number }>(
  matching: F[],
  entries: (f: F) => Iterable<MergeEntry>,
): { values: Map<string, string>; conflict?: string } {
  const values = new Map<string, string>();
  for (let i = 0; i < matching.length; i++) {
    const f = matching[i]!;
    const checkConflict = i > 0 && !isSuperset(f.spec, matching[i - 1]!.spec);
    for (const e of entries(f)) {
      if (!values.has(e.key)) values.set(e.key, e.value);
      else if (checkConflict) {
        return { values, conflict: `Conflict in setting ${e.key} found from filter at ${f.file}:${f.line}` };
      }
    }
  }
  return { values };
}
