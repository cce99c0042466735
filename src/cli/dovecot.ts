/** cli/dovecot.ts: not implemented yet; see the open issues. */
import { fatal } from '../log/msg.js';

export function main(_argv: string[]): number {
  return fatal('this command is not implemented yet in Postern');
}
