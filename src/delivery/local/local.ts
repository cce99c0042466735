/** placeholder */
import type { CleanupService } from '../../cleanup/types.js';
import type { AgentContext } from '../agent.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest } from '../types.js';
export interface ForwardSink {
  cleanup(): Promise<CleanupService>;
}
export class LocalAgent implements DeliveryAgent {
  static async create(_ctx: AgentContext): Promise<LocalAgent> {
    return new LocalAgent();
  }
  async deliver(_req: DeliveryRequest): Promise<AgentResult> {
    throw new Error('local: not implemented');
  }
}
