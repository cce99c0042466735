/**
 * delivery/smtp/dns.ts: the DNS lookups the SMTP/LMTP client makes (MX,
 * then A/AAAA; dns_lookup.c's view), behind an interface so tests inject
 * a zone or point node:dns at a test server. Results keep Postfix's
 * error classes: a name that does not exist (NXDOMAIN / no data) is a
 * "not found", anything else is a temporary failure.
 */
import { Resolver as NodeResolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface MxRecord {
  exchange: string;
  priority: number;
}

export class DnsError extends Error {
  constructor(
    /** 'notfound': NXDOMAIN or no records of that type; 'retry': anything else. */
    readonly kind: 'notfound' | 'retry',
    message: string,
  ) {
    super(message);
  }
}

export interface DnsResolver {
  /** MX records; [] when the name exists without MX; DnsError otherwise. */
  resolveMx(name: string): Promise<MxRecord[]>;
  /** Addresses of a host (A, then AAAA per inet_protocols); DnsError when none. */
  resolveHost(name: string, families: Array<4 | 6>): Promise<string[]>;
}

const NOTFOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/** node:dns, optionally pointed at other servers (tests: a local DNS server). */
export class SystemResolver implements DnsResolver {
  private readonly r: NodeResolver;
  constructor(servers?: string[]) {
    this.r = new NodeResolver();
    if (servers && servers.length > 0) this.r.setServers(servers);
  }

  async resolveMx(name: string): Promise<MxRecord[]> {
    try {
      return await this.r.resolveMx(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENODATA') return [];
      throw new DnsError(NOTFOUND.has(code) ? 'notfound' : 'retry', code);
    }
  }

  async resolveHost(name: string, families: Array<4 | 6>): Promise<string[]> {
    if (isIP(name)) return [name];
    const out: string[] = [];
    let lastCode = 'ENOTFOUND';
    let retry = false;
    for (const f of families) {
      try {
        out.push(...(f === 4 ? await this.r.resolve4(name) : await this.r.resolve6(name)));
      } catch (err) {
        lastCode = (err as NodeJS.ErrnoException).code ?? lastCode;
        if (!NOTFOUND.has(lastCode)) retry = true;
      }
    }
    if (out.length > 0) return out;
    throw new DnsError(retry ? 'retry' : 'notfound', lastCode);
  }
}

/** A fixed zone for tests: { mx: {domain: [[prio, host]]}, a: {host: [addr]} }. */
export class StaticResolver implements DnsResolver {
  constructor(
    private readonly zone: {
      mx?: Record<string, Array<[number, string]>>;
      a?: Record<string, string[]>;
      fail?: Record<string, 'notfound' | 'retry'>;
    },
  ) {}

  async resolveMx(name: string): Promise<MxRecord[]> {
    const key = name.toLowerCase().replace(/\.$/, '');
    const f = this.zone.fail?.[key];
    if (f) throw new DnsError(f, f === 'retry' ? 'ESERVFAIL' : 'ENOTFOUND');
    const mx = this.zone.mx?.[key];
    if (mx) return mx.map(([priority, exchange]) => ({ priority, exchange }));
    if (this.zone.a?.[key]) return [];
    throw new DnsError('notfound', 'ENOTFOUND');
  }

  async resolveHost(name: string): Promise<string[]> {
    if (isIP(name)) return [name];
    const key = name.toLowerCase().replace(/\.$/, '');
    const f = this.zone.fail?.[key];
    if (f) throw new DnsError(f, f === 'retry' ? 'ESERVFAIL' : 'ENOTFOUND');
    const a = this.zone.a?.[key];
    if (a && a.length > 0) return a;
    throw new DnsError('notfound', 'ENOTFOUND');
  }
}
