/**
 * qmgr/transports.ts: the transports the queue manager can deliver to
 * (qmgr_transport.c): a master.cf service of type unix whose command is a
 * delivery agent. Each transport has its settings from main.cf and the
 * service's -o overrides:
 *
 *   process limit          master.cf field 7 ("-" = default_process_limit)
 *   recipient limit        <transport>_destination_recipient_limit
 *   concurrency limit      <transport>_destination_concurrency_limit
 *   initial concurrency    <transport>_initial_destination_concurrency
 *   failed cohort limit    <transport>_destination_concurrency_failed_cohort_limit
 *
 * and one in-process agent, created on first use. Without a master.cf the
 * stock Postfix services are assumed (smtp, relay, lmtp, local, virtual,
 * discard, error, retry).
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { type MasterEntry, readMasterCf, serviceView } from '../../compat/postfix/master-cf.js';
import { mailTask } from '../log/maillog.js';
import { type AgentContext, agentFactory } from '../delivery/agent.js';
import type { AgentLog, DeliveryAgent } from '../delivery/types.js';
import { withAbsolutePaths } from '../master/paths.js';

export interface TransportEntry {
  service: string;
  command: string;
  args: string[];
  params: Array<[string, string]>;
  maxProc: number;
}

/** The stock master.cf delivery services (Debian's, minus chroot). */
export const DEFAULT_TRANSPORTS: ReadonlyArray<Omit<TransportEntry, 'maxProc'>> = [
  { service: 'smtp', command: 'smtp', args: [], params: [] },
  { service: 'relay', command: 'smtp', args: [], params: [['syslog_name', 'postfix/$service_name']] },
  { service: 'lmtp', command: 'lmtp', args: [], params: [] },
  { service: 'local', command: 'local', args: [], params: [] },
  { service: 'virtual', command: 'virtual', args: [], params: [] },
  { service: 'discard', command: 'discard', args: [], params: [] },
  { service: 'error', command: 'error', args: [], params: [] },
  { service: 'retry', command: 'error', args: [], params: [] },
];

/** unix services from master.cf whose command is a delivery agent. */
export function transportsFromMaster(entries: MasterEntry[], defaultProcessLimit: number): Map<string, TransportEntry> {
  const out = new Map<string, TransportEntry>();
  for (const e of entries) {
    if (e.type !== 'unix') continue;
    const [cmd = '', ...rest] = e.args;
    const command = cmd.slice(cmd.lastIndexOf('/') + 1);
    if (!agentFactory(command)) continue;
    // Arguments after the options (pipe's flags=/argv=).
    const args: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '-o') {
        i++;
        continue;
      }
      if (/^-[vDdSt]/.test(rest[i]!) && args.length === 0) continue;
      args.push(rest[i]!);
    }
    const limit = e.processLimit === '-' ? defaultProcessLimit : Number.parseInt(e.processLimit, 10);
    out.set(e.service, { service: e.service, command, args, params: serviceView(e), maxProc: Number.isNaN(limit) ? defaultProcessLimit : limit });
  }
  return out;
}

export function loadTransports(cfg: PostfixConfig, defaultProcessLimit: number): Map<string, TransportEntry> {
  let entries: MasterEntry[] = [];
  try {
    entries = readMasterCf(cfg.configDir, 'warn');
  } catch {
    entries = [];
  }
  if (entries.length > 0) return transportsFromMaster(entries, defaultProcessLimit);
  return new Map(DEFAULT_TRANSPORTS.map((t) => [t.service, { ...t, maxProc: defaultProcessLimit }]));
}

/** Makes a log for a program tag; tests collect lines instead. */
export type LogFactory = (tag: string) => AgentLog;

export interface TransportRuntime {
  entry: TransportEntry;
  cfg: PostfixConfig;
  recipientLimit: number;
  concurrencyLimit: number;
  initConcurrency: number;
  failCohortLimit: number;
  log: AgentLog;
  agent?: Promise<DeliveryAgent>;
  busy: number;
  /** Throttled transport (agent unavailable): reason and until when (ms). */
  dead?: { status: string; reason: string; until: number };
}

function intOf(cfg: PostfixConfig, transport: string, suffix: string, fallback: string): number {
  const { value } = cfg.forTransport(transport, suffix, fallback);
  const n = Number.parseInt(value, 10);
  return Number.isNaN(n) ? 0 : n;
}

/** The per-transport settings and log. */
export function transportRuntime(base: PostfixConfig, entry: TransportEntry, logs: LogFactory): TransportRuntime {
  const cfg = withAbsolutePaths(base.withService(entry.params, entry.service));
  return {
    entry,
    cfg,
    recipientLimit: intOf(cfg, entry.service, '_destination_recipient_limit', 'default_destination_recipient_limit'),
    concurrencyLimit: intOf(cfg, entry.service, '_destination_concurrency_limit', 'default_destination_concurrency_limit'),
    initConcurrency: intOf(cfg, entry.service, '_initial_destination_concurrency', 'initial_destination_concurrency'),
    failCohortLimit: intOf(
      cfg,
      entry.service,
      '_destination_concurrency_failed_cohort_limit',
      'default_destination_concurrency_failed_cohort_limit',
    ),
    log: logs(mailTask(entry.command, cfg.get('syslog_name'))),
    busy: 0,
  };
}

/** Create (once) the agent of a transport. */
export function transportAgent(t: TransportRuntime, extra: Partial<AgentContext> & Pick<AgentContext, 'clock'>): Promise<DeliveryAgent> {
  if (!t.agent) {
    const factory = agentFactory(t.entry.command);
    if (!factory) return Promise.reject(new Error(`no agent for ${t.entry.command}`));
    t.agent = factory({
      ...extra,
      service: t.entry.service,
      command: t.entry.command,
      args: t.entry.args,
      cfg: t.cfg,
      log: t.log,
    });
    t.agent.catch(() => {
      t.agent = undefined;
    });
  }
  return t.agent;
}
