/**
 * delivery/discard/discard.ts: discard(8): report every recipient as
 * delivered without delivering, with the nexthop text as the reason
 * ("discard:silently dropped" -> "status=sent (silently dropped)"), an
 * optional leading status code, default 2.0.0.
 */
import { dsnSplit } from '../dsn-util.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest } from '../types.js';

export class DiscardAgent implements DeliveryAgent {
  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    const { status, text } = dsnSplit('2.0.0', req.nexthop);
    for (const rcpt of req.recipients) await req.status.sent(rcpt, 'none', { status, reason: text });
    return {};
  }
}
