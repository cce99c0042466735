/**
 * delivery/types.ts: the contract between the queue manager and the
 * delivery agents (Postfix deliver_request.h, recipient_list.h, dsn.h,
 * msg_stats.h), in process.
 *
 * The qmgr hands an agent one DeliveryRequest: one message, one transport,
 * one nexthop, a batch of recipients. The agent reports each recipient
 * through req.status (sent / bounce / defer: log line, bounce or defer
 * log, "done" mark in the queue file, exactly as Postfix's agents do
 * through sent(3), bounce_append(3), defer_append(3)) and returns whether
 * the destination as a whole failed (the qmgr then suspends it for a
 * while: "delivery temporarily suspended: ...").
 */
import type { Maillog } from '../log/maillog.js';

/** Wall clock in milliseconds (tests drive their own). */
export type Clock = () => number;

export interface TimeVal {
  sec: number;
  usec: number;
}

export function timeVal(ms: number): TimeVal {
  const sec = Math.floor(ms / 1000);
  return { sec, usec: Math.min(999_999, Math.round((ms - sec * 1000) * 1000)) };
}

/** DSN_NOTIFY_* (dsn_mask.h). */
export const DsnNotify = { NEVER: 1, SUCCESS: 2, FAILURE: 4, DELAY: 8 } as const;
/** DSN_RET_* (dsn_mask.h). */
export const DsnRet = { FULL: 1, HDRS: 2 } as const;

/** One recipient of a delivery request (RECIPIENT). */
export interface Recipient {
  /** Resolved address, internal form. */
  address: string;
  /** Original recipient (O record) or ''. */
  origAddr: string;
  /** DSN ORCPT ("rfc822;addr") or ''. */
  dsnOrcpt: string;
  dsnNotify: number;
  /** Offset of the R record in the queue file (-1: none, e.g. a notice). */
  offset: number;
}

/** Delivery status (DSN): RFC 3463 status and the text that goes with it. */
export interface Dsn {
  status: string;
  reason: string;
  action?: string;
  /** Diagnostic type/text ("smtp", "550 5.1.1 ..."). */
  dtype?: string;
  dtext?: string;
  /** Remote MTA type/name ("dns", "mx.example.com"). */
  mtype?: string;
  mname?: string;
}

/** MSG_STATS: time stamps for the delays= field. */
export interface MsgStats {
  incomingArrival: TimeVal;
  activeArrival: TimeVal;
  agentHandoff?: TimeVal;
  connSetupDone?: TimeVal;
  deliverDone?: TimeVal;
  reuseCount: number;
}

/** How an agent reports a recipient (what sent()/bounce_append()/defer_append() do). */
export interface StatusReporter {
  sent(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void>;
  bounce(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void>;
  defer(rcpt: Recipient, relay: string, dsn: Dsn, stats?: MsgStats): Promise<void>;
}

/** The message content, straight from the queue file. */
export interface MessageContent {
  /**
   * Content records in order: [type, data] with type 'N' (line) or 'L'
   * (piece of a longer line, continued by the next record). Data is a byte
   * string (latin1).
   */
  records(): Iterable<[number, string]>;
}

export interface DeliveryRequest {
  queueName: string;
  queueId: string;
  /** Absolute path of the queue file. */
  queuePath: string;
  /** The transport (master.cf service name) and nexthop this request is for. */
  transport: string;
  nexthop: string;
  sender: string;
  recipients: Recipient[];
  arrival: TimeVal;
  /** Content size (SIZE record field 1) and length (field 5). */
  dataSize: number;
  contentLength: number;
  content: MessageContent;
  dsnEnvid: string;
  dsnRet: number;
  /** "7bit", "8bit" or "" (encoding attribute). */
  encoding: string;
  smtputf8: number;
  /** Named attributes of the envelope (client_name, ...). */
  attrs: ReadonlyMap<string, string>;
  stats: MsgStats;
  status: StatusReporter;
  /** DEL_REQ_FLAG_CONN_LOAD / _STORE: consult / update the connection cache (smtp, lmtp). */
  connCache?: { load: boolean; store: boolean };
}

/** What an agent returns: a destination-wide failure, if any (DEL_STAT_DEFER + dsb). */
export interface AgentResult {
  siteFailure?: Dsn;
}

/** A log with the agent's tag ("postfix/smtp", "postfix/relay/smtp"). */
export interface AgentLog {
  info(text: string): void;
  warn(text: string): void;
}

/** The configuration view an agent gets: main.cf plus the service's -o overrides. */
export interface AgentConfig {
  get(name: string): string;
  int(name: string): number;
  bool(name: string): boolean;
  time(name: string): number;
}

export interface DeliveryAgent {
  deliver(req: DeliveryRequest): Promise<AgentResult>;
  close?(): Promise<void>;
}

export type { Maillog };
