/**
 * delivery/agent.ts: how the queue manager gets a delivery agent for a
 * transport. Postfix connects to private/<transport> and master.cf says
 * which program serves it; Postern looks up the same master.cf entry and
 * creates the in-process agent for its command (smtp, lmtp, virtual,
 * local, discard, error, pipe) with the entry's -o overrides applied.
 */
import type { TrivialRewrite } from '../rewrite/trivial-rewrite.js';
import type { AgentConfig, AgentLog, Clock, DeliveryAgent } from './types.js';
import type { DnsResolver } from './smtp/dns.js';

/** A configuration view that can produce a service's view (PostfixConfig fits). */
export interface ServiceConfig extends AgentConfig {
  forTransport?(transport: string, suffix: string, fallback: string): { name: string; value: string };
}

export interface AgentContext {
  /** master.cf service name (the transport): "smtp", "relay", "virtual". */
  service: string;
  /** master.cf command: "smtp", "virtual", "error", ... */
  command: string;
  /** Command arguments after the -o options (pipe: flags=... argv=...). */
  args: string[];
  /** main.cf with the service's -o overrides. */
  cfg: ServiceConfig;
  /** The agent's log ("postfix/smtp", or "$syslog_name/smtp" from -o). */
  log: AgentLog;
  clock: Clock;
  /** DNS for smtp/lmtp (tests inject a mock). */
  resolver?: DnsResolver;
  /** trivial-rewrite, for local(8) alias and .forward targets. */
  rewrite?: TrivialRewrite;
  /** Resubmission of mail (local(8) forwarding): see local.ts. */
  forward?: import('./local/local.js').ForwardSink;
}

export type AgentFactory = (ctx: AgentContext) => Promise<DeliveryAgent>;

/** master.cf command -> agent. */
export const AGENT_FACTORIES: Readonly<Record<string, AgentFactory>> = {
  discard: async () => new (await import('./discard/discard.js')).DiscardAgent(),
  error: async (ctx) => new (await import('./error/error.js')).ErrorAgent(ctx.service === 'retry'),
  virtual: async (ctx) => (await import('./virtual/virtual.js')).VirtualAgent.create(ctx),
  smtp: async (ctx) => (await import('./smtp/smtp.js')).SmtpAgent.create(ctx, false),
  lmtp: async (ctx) => (await import('./smtp/smtp.js')).SmtpAgent.create(ctx, true),
  local: async (ctx) => (await import('./local/local.js')).LocalAgent.create(ctx),
  pipe: async (ctx) => (await import('./pipe/pipe.js')).PipeAgent.create(ctx),
};

export function agentFactory(command: string): AgentFactory | undefined {
  return Object.hasOwn(AGENT_FACTORIES, command) ? AGENT_FACTORIES[command] : undefined;
}

export type { AgentLog, Clock };
