/**
 * cli/postqueue.ts: postqueue(1), the Postfix user interface to the queue.
 *
 *   postqueue [-v] [-c config_dir] -p | -j | -f | -i queue_id | -s site
 *
 * -p and -j list the queue (showq/showq.ts; Postern reads the queue
 * directory directly, there is no showq daemon). -f, -i and -s ask the
 * queue manager / flush service to deliver: -f and -i are silent and exit
 * 0 as the real ones do (the request is a wakeup), -s fails unless the
 * site is in fast_flush_domains. Errors exit 69 (EX_UNAVAILABLE) with the
 * usage text, as postqueue.c does.
 */
import { isAbsolute } from 'node:path';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { fatal, setProgname, setVerbose } from '../log/msg.js';
import { showQueue } from '../showq/showq.js';
import { getopt } from '../util/getopt.js';
import { matchFastFlush } from '../showq/flush.js';

const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const USAGE =
  'usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site';

export function main(argv: string[]): number {
  setProgname('postqueue');
  const g = getopt(argv, 'c:fi:jps:vt');
  if (!g.ok) {
    process.stderr.write(`postqueue: ${g.error}\n`);
    return fatal(USAGE, EX_UNAVAILABLE);
  }
  let configDir: string | undefined;
  let mode = '';
  let id = '';
  let site = '';
  let verbose = 0;
  for (const [opt, val] of g.opts) {
    switch (opt) {
      case 'c':
        if (!isAbsolute(val!)) fatal('-c requires absolute pathname', EX_USAGE);
        configDir = val;
        break;
      case 'v':
        verbose++;
        break;
      case 'i':
        if (mode !== '') fatal(USAGE, EX_UNAVAILABLE);
        mode = 'i';
        id = val!;
        break;
      case 's':
        if (mode !== '') fatal(USAGE, EX_UNAVAILABLE);
        mode = 's';
        site = val!;
        break;
      default:
        if (mode !== '') fatal(USAGE, EX_UNAVAILABLE);
        mode = opt;
    }
  }
  setVerbose(verbose);
  if (g.operands.length > 0) fatal(USAGE, EX_UNAVAILABLE);
  if (mode === '') fatal(USAGE, EX_UNAVAILABLE);
  const cfg = loadPostfixConfig({ configDir });
  switch (mode) {
    case 'p':
      return showQueue(cfg, []);
    case 'j':
      return showQueue(cfg, ['-j']);
    case 'f':
    case 'i':
      void id;
      return 0;
    case 's':
      if (!matchFastFlush(cfg, site)) fatal(`Flush service is not configured for destination "${site}"`, EX_UNAVAILABLE);
      return 0;
    default:
      return fatal(USAGE, EX_UNAVAILABLE);
  }
}
