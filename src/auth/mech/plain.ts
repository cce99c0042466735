/**
 * auth/mech/plain.ts: PLAIN (RFC 4616): `authzid \0 authcid \0 password`.
 * An authzid different from the authcid is a master-user login.
 */
import type { AuthRequest } from '../request.js';
import { fail, genericInitial, type MechInstance, type MechModule, type MechStep, verifyResultStep } from './types.js';

class Plain implements MechInstance {
  initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
    return genericInitial(this, req, data);
  }
  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    const n1 = data.indexOf(0);
    const n2 = n1 < 0 ? -1 : data.indexOf(0, n1 + 1);
    if (n1 < 0 || n2 < 0) {
      req.logInfo('mech', 'invalid input');
      return fail();
    }
    const cstr = (b: Buffer) => {
      const z = b.indexOf(0);
      return (z < 0 ? b : b.subarray(0, z)).toString('utf8');
    };
    let authzid = cstr(data.subarray(0, n1));
    const authcid = cstr(data.subarray(n1 + 1, n2));
    const passRaw = data.subarray(n2 + 1);
    const z = passRaw.indexOf(0);
    const pass = z < 0 ? passRaw : passRaw.subarray(0, z);
    if (authzid === authcid) authzid = '';
    let err = req.setUsername(authcid);
    if (err !== undefined) {
      req.logInfo('mech', err);
      return fail();
    }
    if (authzid !== '') {
      err = req.setLoginUsername(authzid);
      if (err !== undefined) {
        req.logInfo('mech', `login user: ${err}`);
        return fail();
      }
    }
    return verifyResultStep(await req.auth.verifyPlain(req, pass.toString('utf8'), Buffer.from(pass)));
  }
}

export const mechPlain: MechModule = {
  name: 'PLAIN',
  flags: ['plaintext'],
  allowNuls: true,
  passdbNeed: 'verify_plain',
  create: () => new Plain(),
};
