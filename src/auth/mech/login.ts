/**
 * auth/mech/login.ts: LOGIN (draft-murchison-sasl-login): the server asks
 * "Username:" then "Password:".
 */
import type { AuthRequest } from '../request.js';
import { cont, fail, type MechInstance, type MechModule, type MechStep, verifyResultStep } from './types.js';

class Login implements MechInstance {
  async initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
    if (data === undefined || data.length === 0) return cont('Username:');
    return this.continue(req, data);
  }
  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    if (req.user === undefined) {
      const err = req.setUsername(data.toString('utf8'));
      if (err !== undefined) {
        req.logInfo('mech', err);
        return fail();
      }
      return cont('Password:');
    }
    return verifyResultStep(await req.auth.verifyPlain(req, data.toString('utf8'), Buffer.from(data)));
  }
}

export const mechLogin: MechModule = {
  name: 'LOGIN',
  flags: ['plaintext'],
  allowNuls: false,
  passdbNeed: 'verify_plain',
  create: () => new Login(),
};
