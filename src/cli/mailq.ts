/**
 * cli/mailq.ts: mailq(1), the Sendmail-compatible queue listing; the same
 * as `postqueue -p` (and `sendmail -bp`). Options (-C config_dir, -v) are
 * those of sendmail; the configuration comes from -C or MAIL_CONFIG.
 */
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { setProgname } from '../log/msg.js';
import { showQueue } from '../showq/showq.js';

export function main(argv: string[]): number {
  setProgname('sendmail');
  let configDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-C' && i + 1 < argv.length) configDir = argv[++i];
    else if (a.startsWith('-C') && a.length > 2) configDir = a.slice(2);
  }
  return showQueue(loadPostfixConfig({ configDir }), []);
}
