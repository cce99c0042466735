/**
 * auth/mech/external.ts: EXTERNAL (RFC 4422 appendix A): the user comes from
 * the TLS client certificate (cert_username, auth_ssl_username_from_cert);
 * the data is an optional authorization id.
 */
import type { AuthRequest } from '../request.js';
import { fail, genericInitial, type MechInstance, type MechModule, type MechStep, verifyResultStep } from './types.js';

class External implements MechInstance {
  initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
    return genericInitial(this, req, data);
  }
  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    const authzid = data.toString('utf8');
    if (req.user === undefined) {
      req.logInfo('mech', 'username not known');
      return fail();
    }
    if (req.setUsername('') !== undefined) {
      req.logInfo('mech', 'Invalid username');
      return fail();
    }
    if (authzid !== '') {
      const err = req.setLoginUsername(authzid);
      if (err !== undefined) {
        req.logInfo('mech', `login user: ${err}`);
        return fail();
      }
    }
    return verifyResultStep(await req.auth.verifyPlain(req, ''));
  }
}

export const mechExternal: MechModule = {
  name: 'EXTERNAL',
  flags: [],
  allowNuls: false,
  passdbNeed: 'verify_plain',
  create: () => new External(),
};
