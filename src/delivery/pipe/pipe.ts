/** placeholder */
import type { AgentContext } from '../agent.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest } from '../types.js';
export class PipeAgent implements DeliveryAgent {
  static async create(_ctx: AgentContext): Promise<PipeAgent> {
    return new PipeAgent();
  }
  async deliver(_req: DeliveryRequest): Promise<AgentResult> {
    throw new Error('pipe: not implemented');
  }
}
