/**
 * auth/mech/anonymous.ts: ANONYMOUS (RFC 4505): always succeeds as
 * auth_anonymous_username; the trace data is only logged.
 */
import type { AuthRequest } from '../request.js';
import { genericInitial, type MechInstance, type MechModule, type MechStep, success } from './types.js';

class Anonymous implements MechInstance {
  initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
    return genericInitial(this, req, data);
  }
  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    if (req.set.verbose) {
      req.user = data.toString('utf8').split('\0')[0];
      req.logInfo('mech', 'login');
    }
    req.user = req.set.anonymousUsername;
    req.passdbSuccess = true;
    return success();
  }
}

export const mechAnonymous: MechModule = {
  name: 'ANONYMOUS',
  flags: ['anonymous'],
  allowNuls: true,
  passdbNeed: 'nothing',
  create: () => new Anonymous(),
};
