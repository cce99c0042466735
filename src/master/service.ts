/**
 * master/service.ts: one master.cf entry as the master runs it
 * (master_ent.c): canonical endpoint name, listen addresses, the daemon
 * path used in messages ($daemon_directory/command), limits and timers.
 *
 * master(5): field 1 of an inet service is [host:]port; without a host the
 * service listens on every $inet_interfaces address. A unix service lives
 * at $queue_directory/private/NAME (private=y) or public/NAME.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MasterEntry } from '../../compat/postfix/master-cf.js';
import type { ServiceInfo } from './types.js';

/** The main.cf values the master reads. */
export interface MasterConfigView {
  readonly configDir: string;
  get(name: string): string;
}

export interface ListenAddress {
  kind: 'inet' | 'unix';
  host?: string;
  port?: number;
  path?: string;
}

export interface MasterService extends ServiceInfo {
  /** "$daemon_directory/command", what Postfix names in process warnings. */
  path: string;
  listen: ListenAddress[];
  /** $service_throttle_time in seconds. */
  throttleDelay: number;
  /** The master.cf entry it came from. */
  entry: MasterEntry;
}

let servicesTable: Map<string, number> | undefined;

/** getservbyname(name, "tcp") from /etc/services, with the mail ports built in. */
export function servicePort(name: string): number | undefined {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return n > 0 && n < 65536 ? n : undefined;
  }
  if (!servicesTable) {
    servicesTable = new Map([
      ['smtp', 25], ['submission', 587], ['submissions', 465], ['smtps', 465], ['qmtp', 209],
      ['lmtp', 24], ['imap', 143], ['pop3', 110],
    ]);
    try {
      for (const line of readFileSync('/etc/services', 'latin1').split('\n')) {
        const m = /^([^#\s]+)\s+(\d+)\/tcp\b([^#]*)/.exec(line);
        if (!m) continue;
        const port = Number(m[2]);
        for (const n of [m[1]!, ...m[3]!.trim().split(/\s+/)]) if (n && !servicesTable.has(n)) servicesTable.set(n, port);
      }
    } catch {
      /* no /etc/services: the built-in names only */
    }
  }
  return servicesTable.get(name);
}

/** host_port(): "[host]:port", "host:port", or "port". */
export function splitHostPort(text: string): { host: string; port: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close > 0 && text[close + 1] === ':') return { host: text.slice(1, close), port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: '', port: text };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** $inet_interfaces as listen addresses. */
export function interfaceAddresses(inetInterfaces: string, inetProtocols: string): string[] {
  const words = inetInterfaces.split(/[\s,]+/).filter(Boolean).map((w) => w.toLowerCase());
  const v4 = !/^ipv6$/i.test(inetProtocols.trim());
  const v6 = /all|ipv6/i.test(inetProtocols);
  if (words.length === 0 || words.includes('all')) return v6 ? ['::'] : ['0.0.0.0'];
  const out: string[] = [];
  for (const w of words) {
    if (w === 'loopback-only' || w === 'localhost') {
      if (v4) out.push('127.0.0.1');
      if (v6 && !v4) out.push('::1');
    } else out.push(w.replace(/^\[|\]$/g, ''));
  }
  return [...new Set(out)];
}

const yes = (field: string, dflt: boolean) => (field === '-' ? dflt : field === 'y');

/** Build the running form of a master.cf entry. */
export function buildService(entry: MasterEntry, cfg: MasterConfigView): MasterService {
  const command = entry.args[0] ?? '';
  const wakeupField = entry.wakeup;
  const wakeup = wakeupField === '-' ? 0 : Number.parseInt(wakeupField, 10) || 0;
  const maxProc =
    entry.processLimit === '-' ? Number(cfg.get('default_process_limit') || '100') : Number(entry.processLimit);
  const queueDir = cfg.get('queue_directory');
  const privateService = yes(entry.private, true);
  let name = entry.service;
  const listen: ListenAddress[] = [];
  if (entry.type === 'inet') {
    const { host, port } = splitHostPort(entry.service);
    const num = servicePort(port);
    const portText = num === undefined ? port : String(num);
    const h = host.replace(/^\[|\]$/g, '');
    name = h ? `[${h === 'localhost' ? '127.0.0.1' : h}]:${portText}` : portText;
    if (num !== undefined) {
      const hosts = h
        ? [h === 'localhost' ? '127.0.0.1' : h]
        : interfaceAddresses(cfg.get('inet_interfaces'), cfg.get('inet_protocols'));
      for (const a of hosts) listen.push({ kind: 'inet', host: a, port: num });
    }
  } else {
    name = `${privateService ? 'private' : 'public'}/${entry.service}`;
    if (entry.type === 'unix' || entry.type === 'pass') listen.push({ kind: 'unix', path: join(queueDir, name) });
  }
  const throttle = cfg.get('service_throttle_time');
  return {
    extName: entry.service,
    name,
    type: entry.type,
    privateService,
    unprivileged: yes(entry.unprivileged, true),
    chroot: yes(entry.chroot, false),
    wakeup,
    wakeupConditional: wakeup > 0 && wakeupField.endsWith('?'),
    maxProc,
    command,
    args: entry.args.slice(1),
    params: entry.params,
    path: `${cfg.get('daemon_directory') || '/usr/lib/postfix/sbin'}/${command}`,
    listen,
    throttleDelay: parseSeconds(throttle, 60),
    entry,
  };
}

/** A time value with an optional s/m/h/d/w unit, in seconds. */
export function parseSeconds(text: string, dflt: number): number {
  const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!m) return dflt;
  const mult: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  return Number(m[1]) * mult[m[2]!]!;
}

/** The process title Postfix gives a daemon (master_ent.c argv). */
export function daemonArgv(s: ServiceInfo, verbose: boolean): string[] {
  const argv = [s.command];
  if (s.maxProc === 1) argv.push('-l');
  if (s.maxProc === 0) argv.push('-z');
  const base = s.command.slice(s.command.lastIndexOf('/') + 1);
  if (base !== s.extName) argv.push('-n', s.extName);
  argv.push('-t', s.type);
  if (verbose) argv.push('-v');
  if (s.unprivileged) argv.push('-u');
  if (s.chroot) argv.push('-c');
  return argv.concat(s.args);
}
