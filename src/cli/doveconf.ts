/** cli/doveconf.ts: doveconf(1); all logic lives in compat/dovecot/doveconf.ts. */
import { doveconfMain } from '../../compat/dovecot/doveconf.js';

export function main(argv: string[]): number {
  return doveconfMain(argv);
}
