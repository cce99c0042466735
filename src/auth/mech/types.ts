/**
 * auth/mech/types.ts: the SASL mechanism interface (mech.h). A mechanism
 * turns client data into one step: send a challenge (CONT), succeed (with
 * optional final server data), or fail. The handler owns the protocol.
 */
import type { AuthRequest } from '../request.js';

export type MechStep = { kind: 'continue'; data: Buffer } | { kind: 'success'; data?: Buffer } | { kind: 'fail'; internal?: boolean };

export interface MechInstance {
  /** First data: undefined when AUTH had no resp=, else the decoded bytes (maybe empty). */
  initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep>;
  continue(req: AuthRequest, data: Buffer): Promise<MechStep>;
}

export type MechFlag = 'private' | 'anonymous' | 'plaintext' | 'dictionary' | 'active' | 'forward-secrecy' | 'mutual-auth';

export interface MechModule {
  /** Upper-case SASL name. */
  name: string;
  /** Security flags in the order the MECH line prints them. */
  flags: MechFlag[];
  /** NULs allowed in client data (PLAIN, ANONYMOUS). */
  allowNuls: boolean;
  passdbNeed: 'nothing' | 'verify_plain' | 'lookup_credentials';
  create(): MechInstance;
}

export const fail = (internal = false): MechStep => ({ kind: 'fail', internal });
export const cont = (data: string | Buffer): MechStep => ({ kind: 'continue', data: typeof data === 'string' ? Buffer.from(data) : data });
export const success = (data?: Buffer): MechStep => (data === undefined ? { kind: 'success' } : { kind: 'success', data });

/** plain_verify_callback: a passdb result as a step. */
export function verifyResultStep(result: string): MechStep {
  if (result === 'ok') return success();
  return fail(result === 'internal_failure');
}

/** mech_generic_auth_initial: no data -> an empty challenge; data (even empty) -> continue. */
export async function genericInitial(m: MechInstance, req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
  if (data === undefined) return cont(Buffer.alloc(0));
  return m.continue(req, data);
}
