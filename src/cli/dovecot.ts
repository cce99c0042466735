/**
 * cli/dovecot.ts: dovecot(1). Only `dovecot -n` and `dovecot -a` exist so
 * far: like the real master they run doveconf -n / -a on the same config
 * (messages say "doveconf:"). Starting the server is not implemented yet.
 */
import { doveconfMain } from '../../compat/dovecot/doveconf.js';
import { fatal } from '../log/msg.js';

export function main(argv: string[]): number {
  let path: string | undefined;
  let dump: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c') path = argv[++i];
    else if (a.startsWith('-c') && a.length > 2) path = a.slice(2);
    else if (a === '-n' || a === '-a') dump = a;
  }
  if (dump) return doveconfMain([dump, ...(path !== undefined ? ['-c', path] : [])]);
  return fatal('starting the Dovecot server is not implemented yet in Postern (only dovecot -n / -a)');
}
