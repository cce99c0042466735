/**
 * cli/newaliases.ts: newaliases(1), which is sendmail(1) started under
 * that name (sendmail.c: argv[0] "newaliases" selects SM_MODE_NEWALIAS,
 * like -bi or -I). It runs postalias(1) on every table in
 * $alias_database; messages come from postalias.
 */
import { main as sendmail } from './sendmail.js';

export async function main(argv: string[]): Promise<number> {
  return sendmail(['-bi', ...argv]);
}
