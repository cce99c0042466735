/** placeholder */
import type { AgentContext } from '../agent.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest } from '../types.js';
export class SmtpAgent implements DeliveryAgent {
  static async create(_ctx: AgentContext, _lmtp: boolean): Promise<SmtpAgent> {
    return new SmtpAgent();
  }
  async deliver(_req: DeliveryRequest): Promise<AgentResult> {
    throw new Error('smtp: not implemented');
  }
}
