/**
 * postfix/host.ts: the defaults Postfix computes from the machine itself:
 * myhostname, mydomain (mail_params.c check_myhostname/check_mydomainname)
 * and mynetworks (mynetworks.c, by mynetworks_style host/subnet/class).
 */
import { hostname, networkInterfaces } from 'node:os';

/** DEF_MYDOMAIN: used when the host name has no dot. */
export const DEFAULT_MYDOMAIN = 'localdomain';

/** myhostname default: the host name, with ".$mydomain" appended when it has no dot. */
export function defaultMyhostname(mydomain: string | undefined): string {
  const name = hostname();
  return name.includes('.') ? name : `${name}.${mydomain ?? DEFAULT_MYDOMAIN}`;
}

/** mydomain default: what follows the first dot of myhostname. */
export function defaultMydomain(myhostname: string): string {
  const dot = myhostname.indexOf('.');
  return dot < 0 ? DEFAULT_MYDOMAIN : myhostname.slice(dot + 1);
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}
function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Expand an IPv6 address to 8 numeric groups. */
export function ipv6Groups(addr: string): number[] {
  let a = addr;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    tail = [Math.floor(n / 65536), n % 65536];
    a = a.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = rest === undefined ? h : [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

/** inet_ntop(AF_INET6) text form: longest run of two or more zero groups becomes "::". */
export function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function maskIpv6(groups: number[], prefix: number): number[] {
  return groups.map((g, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    return bits === 16 ? g : bits === 0 ? 0 : g & (0xffff << (16 - bits)) & 0xffff;
  });
}

/**
 * mynetworks default for a mynetworks_style ("host", "subnet" or "class").
 * Lists IPv4 networks first, then IPv6, each in interface order, as Postfix's
 * inet_addr_local() walk does. `protocols` follows inet_protocols.
 */
export function defaultMynetworks(style: string, protocols = 'all'): string {
  const wantV4 = /\b(all|ipv4)\b/.test(protocols);
  const wantV6 = /\b(all|ipv6)\b/.test(protocols);
  const v4: string[] = [];
  const v6: string[] = [];
  const seen = new Set<string>();
  const push = (list: string[], text: string) => {
    if (!seen.has(text)) {
      seen.add(text);
      list.push(text);
    }
  };
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const prefix = Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      if (a.family === 'IPv4' && wantV4) {
        const n = ipv4ToInt(a.address);
        if (style === 'host') push(v4, `${a.address}/32`);
        else if (style === 'class') {
          const first = n >>> 24;
          const bits = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
          const mask = bits === 32 ? n : n - (n % 2 ** (32 - bits));
          push(v4, `${intToIpv4(mask)}/${bits}`);
        } else {
          const net = prefix === 0 ? 0 : n - (n % 2 ** (32 - prefix));
          push(v4, `${intToIpv4(net)}/${prefix}`);
        }
      } else if (a.family === 'IPv6' && wantV6) {
        const groups = ipv6Groups(a.address);
        if (style === 'host') push(v6, `[${formatIpv6(groups)}]/128`);
        else push(v6, `[${formatIpv6(maskIpv6(groups, prefix))}]/${prefix}`);
      }
    }
  }
  // mynetworks.c appends "net/len " per network: the value ends in a blank.
  return [...v4, ...v6].map((n) => `${n} `).join('');
}

/**
 * The value of a parameter whose default Postfix computes (str_fn:
 * myhostname, mydomain, mynetworks). `explicit(n)` is n's main.cf value,
 * expanded, or undefined; `effective(n)` is the value in force, expanded.
 */
export function computedDefault(
  name: string,
  explicit: (n: string) => string | undefined,
  effective: (n: string) => string,
): string {
  switch (name) {
    case 'myhostname':
      return defaultMyhostname(explicit('mydomain'));
    case 'mydomain':
      return defaultMydomain(effective('myhostname'));
    case 'mynetworks':
      return defaultMynetworks(effective('mynetworks_style'), effective('inet_protocols'));
    default:
      return '';
  }
}
