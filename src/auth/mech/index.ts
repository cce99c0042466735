/**
 * auth/mech/index.ts: the mechanisms Postern's auth service offers and the
 * `auth_mechanisms` register (mech.c mech_register_init): MECH lines in the
 * order the setting lists them, with their security flags.
 */
import { AuthConfigError } from '../drivers.js';
import { mechAnonymous } from './anonymous.js';
import { mechCramMd5 } from './cram-md5.js';
import { mechExternal } from './external.js';
import { mechLogin } from './login.js';
import { mechPlain } from './plain.js';
import { mechScramSha1, mechScramSha256 } from './scram.js';
import type { MechModule } from './types.js';

export const MECHANISMS: Record<string, MechModule> = {
  PLAIN: mechPlain,
  LOGIN: mechLogin,
  'CRAM-MD5': mechCramMd5,
  EXTERNAL: mechExternal,
  'SCRAM-SHA-1': mechScramSha1,
  'SCRAM-SHA-256': mechScramSha256,
  ANONYMOUS: mechAnonymous,
};

/** Mechanisms Dovecot 2.3 knows that Postern does not implement. */
const UNIMPLEMENTED = ['DIGEST-MD5', 'APOP', 'OTP', 'GSSAPI', 'GSS-SPNEGO', 'NTLM', 'OAUTHBEARER', 'XOAUTH2', 'DOVECOT-TOKEN'];

export interface MechRegister {
  mechs: MechModule[];
  /** The MECH lines of the handshake. */
  handshake: string;
  find(name: string): MechModule | undefined;
}

export function mechRegister(names: string[], anonymousUsername: string): MechRegister {
  const mechs: MechModule[] = [];
  for (const n of names) {
    const name = n.toUpperCase();
    if (name === 'ANONYMOUS' && anonymousUsername === '') throw new AuthConfigError('ANONYMOUS listed in mechanisms, but anonymous_username not set');
    const m = MECHANISMS[name];
    if (!m) {
      if (UNIMPLEMENTED.includes(name)) throw new AuthConfigError(`Postern does not implement the authentication mechanism '${name}'`);
      throw new AuthConfigError(`Unknown authentication mechanism '${name}'`);
    }
    mechs.push(m);
  }
  if (mechs.length === 0) throw new AuthConfigError('No authentication mechanisms configured');
  const handshake = mechs.map((m) => `MECH\t${m.name}${m.flags.map((f) => `\t${f}`).join('')}\n`).join('');
  return {
    mechs,
    handshake,
    find: (name) => mechs.find((m) => m.name === name.toUpperCase()),
  };
}
