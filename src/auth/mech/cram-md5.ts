/**
 * auth/mech/cram-md5.ts: CRAM-MD5 (RFC 2195): challenge
 * `<16 random digits.unixtime@hostname>`, response `user SP hexdigest`
 * checked against the CRAM-MD5 credentials of the passdb.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuthRequest } from '../request.js';
import { hmacMd5FromContext } from './md5-context.js';
import { cont, fail, type MechInstance, type MechModule, type MechStep, success } from './types.js';

class CramMd5 implements MechInstance {
  challenge = '';

  async initial(): Promise<MechStep> {
    let digits = '';
    for (let i = 0; i < 16; i++) digits += String(randomInt(10));
    this.challenge = `<${digits}.${Math.floor(Date.now() / 1000)}@${hostname()}>`;
    return cont(this.challenge);
  }

  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    let error: string | undefined;
    let space = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0) {
        error = 'NULs in response';
        break;
      }
      if (data[i] === 0x20) space = i;
    }
    if (error === undefined && space === 0) error = 'missing digest';
    if (error === undefined) {
      const username = data.subarray(0, space).toString('utf8');
      const response = data.subarray(space + 1).toString('latin1');
      error = req.setUsername(username);
      if (error === undefined) {
        const r = await req.auth.lookupCredentials(req, 'CRAM-MD5');
        if (r.result === 'internal_failure') return fail(true);
        if (r.result !== 'ok') return fail();
        const creds = r.credentials ?? Buffer.alloc(0);
        if (creds.length !== 32) {
          req.logError('mech', 'invalid credentials length');
          return fail();
        }
        const digest = hmacMd5FromContext(creds, Buffer.from(this.challenge)).toString('hex');
        const a = Buffer.from(digest);
        const b = Buffer.from(response.slice(0, 32).padEnd(32, '\0'), 'latin1');
        if (!timingSafeEqual(a, b)) {
          req.logInfo('mech', 'Password mismatch');
          return fail();
        }
        return success();
      }
    }
    req.logInfo('mech', error ?? 'authentication failed');
    return fail();
  }
}

export const mechCramMd5: MechModule = {
  name: 'CRAM-MD5',
  flags: ['dictionary', 'active'],
  allowNuls: false,
  passdbNeed: 'lookup_credentials',
  create: () => new CramMd5(),
};
