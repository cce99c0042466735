/**
 * dns/resolver.ts: the DNS queries Postern's daemons make (DNSBL/DNSWL
 * lists now; MX, SPF and friends as they move here), with Postfix's three
 * outcomes (dns_lookup.c): an answer, "not found" (NXDOMAIN or no record of
 * that type: a definitive no), or a temporary error with the words Postfix
 * logs. Servers come from /etc/resolv.conf, or from POSTERN_DNS_SERVERS
 * ("127.0.0.1:5353,[::1]:53"), which lets tests and sandboxes use their own
 * name server without touching the system's configuration.
 */
import { Resolver } from 'node:dns/promises';

export type DnsResult<T> = { status: 'ok'; records: T[]; ttl: number } | { status: 'notfound' } | { status: 'error'; why: string };

export interface DnsResolver {
  a(name: string): Promise<DnsResult<string>>;
  txt(name: string): Promise<DnsResult<string>>;
}

/** Node's error codes that mean "this name or record does not exist". */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

/** The hstrerror() text Postfix puts after "Name service error for name=N type=T: ". */
function errorText(code: string): string {
  if (code === 'EREFUSED' || code === 'EBADRESP' || code === 'EFORMERR' || code === 'ENOTIMP') return 'Non-recoverable errors during lookup';
  return 'Host not found, try again';
}

class NodeResolver implements DnsResolver {
  private readonly r: Resolver;
  constructor(servers: string[] | undefined) {
    // Postfix's resolver: a few seconds per try, retried (res_init defaults: 5 s, 2 tries).
    this.r = new Resolver({ timeout: 5000, tries: 2 });
    if (servers && servers.length > 0) this.r.setServers(servers);
  }

  private fail(name: string, type: string, e: unknown): { status: 'notfound' } | { status: 'error'; why: string } {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (NOT_FOUND.has(code)) return { status: 'notfound' };
    return { status: 'error', why: `Host or domain name not found. Name service error for name=${name} type=${type}: ${errorText(code)}` };
  }

  async a(name: string): Promise<DnsResult<string>> {
    try {
      const recs = await this.r.resolve4(name, { ttl: true });
      if (recs.length === 0) return { status: 'notfound' };
      return { status: 'ok', records: recs.map((x) => x.address), ttl: Math.min(...recs.map((x) => x.ttl)) };
    } catch (e) {
      return this.fail(name, 'A', e);
    }
  }

  async txt(name: string): Promise<DnsResult<string>> {
    try {
      const recs = await this.r.resolveTxt(name);
      if (recs.length === 0) return { status: 'notfound' };
      // A TXT record is a list of character-strings: one record is their concatenation.
      return { status: 'ok', records: recs.map((parts) => parts.join('')), ttl: 0 };
    } catch (e) {
      return this.fail(name, 'TXT', e);
    }
  }
}

let shared: DnsResolver | undefined;

/** The process's resolver (POSTERN_DNS_SERVERS or the system's name servers). */
export function systemResolver(): DnsResolver {
  const env = process.env.POSTERN_DNS_SERVERS;
  shared ??= new NodeResolver(env ? env.split(/[,\s]+/).filter(Boolean) : undefined);
  return shared;
}

export function createResolver(servers?: string[]): DnsResolver {
  return new NodeResolver(servers);
}
