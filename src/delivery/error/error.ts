/**
 * delivery/error/error.ts: error(8): bounce every recipient with the
 * nexthop text ("error:5.7.1 go away" -> dsn=5.7.1, "status=bounced (go
 * away)"), default status 5.0.0. Run as the "retry" service it defers
 * instead, default 4.0.0 (what the queue manager uses for "delivery
 * temporarily suspended", forced expiry and defer_transports).
 */
import { dsnSplit } from '../dsn-util.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest } from '../types.js';

export class ErrorAgent implements DeliveryAgent {
  constructor(private readonly retry: boolean) {}

  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    const { status, text } = dsnSplit(this.retry ? '4.0.0' : '5.0.0', req.nexthop);
    for (const rcpt of req.recipients) {
      const dsn = { status, reason: text };
      if (this.retry) await req.status.defer(rcpt, 'none', dsn);
      else await req.status.bounce(rcpt, 'none', dsn);
    }
    return {};
  }
}
