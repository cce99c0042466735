/**
 * delivery/smtp/dest.ts: from a nexthop to the addresses to try
 * (smtp_connect.c smtp_parse_destination, smtp_addr.c).
 *
 *   example.com            MX lookup, else the A records of example.com
 *   [mail.example.com]     no MX lookup
 *   example.com:2525       MX lookup, port 2525 (or a service name)
 *   [192.0.2.1]:587        that address and port
 *   a.example, b.example   a list: tried in order (Postfix 3.5+)
 *   unix:/path, inet:h:p   LMTP forms; LMTP has no MX lookups
 *
 * Errors keep Postfix's texts, e.g. "Host or domain name not found. Name
 * service error for name=x.test type=MX: Host not found" (5.4.4; 4.4.3
 * "Host not found, try again" when the lookup failed temporarily).
 */
import { isIP } from 'node:net';
import type { Dsn } from '../types.js';
import { DnsError, type DnsResolver } from './dns.js';

export interface Destination {
  /** As written (the SASL lookup key "[host]:port"). */
  text: string;
  host: string;
  port: number;
  /** Bracketed: no MX lookup. */
  noMx: boolean;
  /** LMTP unix-domain socket path. */
  path?: string;
}

export interface Target {
  /** The host name as Postfix reports it (MX name, or the address). */
  host: string;
  addr: string;
  port: number;
  path?: string;
}

const SERVICES: Record<string, number> = { smtp: 25, submission: 587, smtps: 465, lmtp: 24 };

/** Split a nexthop list on commas and blanks. */
export function splitDestinations(nexthop: string): string[] {
  return nexthop.split(/[\s,]+/).filter(Boolean);
}

/** smtp_parse_destination(): one destination. */
export function parseDestination(text: string, defPort: number, lmtp: boolean): Destination {
  let rest = text;
  if (lmtp) {
    if (rest.startsWith('unix:')) return { text, host: '', port: 0, noMx: true, path: rest.slice(5) };
    if (rest.startsWith('inet:')) rest = rest.slice(5);
  }
  let host = rest;
  let portText = '';
  let noMx = lmtp;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close > 0) {
      host = rest.slice(1, close);
      noMx = true;
      if (rest[close + 1] === ':') portText = rest.slice(close + 2);
    }
  } else {
    const colon = rest.lastIndexOf(':');
    // A bare IPv6 address has several colons; host:port has one.
    if (colon > 0 && rest.indexOf(':') === colon) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    }
  }
  if (/^ipv6:/i.test(host)) host = host.slice(5);
  let port = defPort;
  if (portText !== '') port = /^\d+$/.test(portText) ? Number(portText) : (SERVICES[portText.toLowerCase()] ?? defPort);
  return { text, host, port, noMx };
}

function nameError(name: string, type: string, err: unknown): Dsn {
  const retry = err instanceof DnsError ? err.kind === 'retry' : true;
  return {
    status: retry ? '4.4.3' : '5.4.4',
    reason: `Host or domain name not found. Name service error for name=${name} type=${type}: ${retry ? 'Host not found, try again' : 'Host not found'}`,
  };
}

/** smtp_domain_addr() / smtp_host_addr(): the targets of one destination. */
export async function resolveDestination(
  d: Destination,
  dns: DnsResolver,
  families: Array<4 | 6>,
): Promise<{ targets: Target[] } | { error: Dsn }> {
  if (d.path !== undefined) return { targets: [{ host: '', addr: d.path, port: 0, path: d.path }] };
  if (isIP(d.host)) return { targets: [{ host: d.host, addr: d.host, port: d.port }] };
  const hostAddrs = async (name: string): Promise<{ targets: Target[] } | { error: Dsn }> => {
    try {
      const addrs = await dns.resolveHost(name, families);
      return { targets: addrs.map((addr) => ({ host: name, addr, port: d.port })) };
    } catch (err) {
      return { error: nameError(name, 'A', err) };
    }
  };
  if (d.noMx) return hostAddrs(d.host);
  let mx: Array<{ exchange: string; priority: number }>;
  try {
    mx = await dns.resolveMx(d.host);
  } catch (err) {
    return { error: nameError(d.host, 'MX', err) };
  }
  if (mx.length === 0) return hostAddrs(d.host);
  mx.sort((a, b) => a.priority - b.priority);
  const targets: Target[] = [];
  let lastError: Dsn | undefined;
  for (const m of mx) {
    const r = await hostAddrs(m.exchange.replace(/\.$/, ''));
    if ('error' in r) lastError = r.error;
    else targets.push(...r.targets);
  }
  if (targets.length === 0) return { error: lastError ?? nameError(d.host, 'MX', undefined) };
  return { targets };
}
