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
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { FatalExit, fatal, setProgname, setVerbose } from '../log/msg.js';
import { flushStdout } from '../util/out.js';
import { queueIdOk } from '../queue/queue-id.js';
import { showQueue } from '../showq/showq.js';
import { getopt } from '../util/getopt.js';
import { strerror } from '../util/strerror.js';

/** valid_hostname() / valid_mailhost_literal(), without their warnings. */
function validSite(site: string): boolean {
  if (site.startsWith('[')) return /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|ipv6:[0-9a-f:.]+)\]$/i.test(site);
  if (site.length === 0 || site.length > 255) return false;
  return site
    .split('.')
    .every((l) => l.length > 0 && l.length <= 63 && /^[A-Za-z0-9_-]+$/.test(l) && !l.startsWith('-') && !l.endsWith('-'));
}
import { matchFastFlush } from '../showq/flush.js';

const EX_UNAVAILABLE = 69;
const USAGE =
  'usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site';

/** postqueue.c installs msg_cleanup(unavailable): every fatal error exits 69. */
export function main(argv: string[]): number {
  try {
    return run(argv);
  } catch (err) {
    if (err instanceof FatalExit) {
      flushStdout();
      return EX_UNAVAILABLE;
    }
    throw err;
  }
}

function run(argv: string[]): number {
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
  const cfg = loadPostfixConfig({ configDir: configDir ?? process.env.MAIL_CONFIG });
  const queueDir = cfg.get('queue_directory');
  try {
    process.chdir(queueDir);
  } catch (err) {
    fatal(`chdir ${queueDir}: ${strerror(err)}`, EX_UNAVAILABLE);
  }
  if (mode === 's' && !validSite(site)) {
    fatal(
      `Cannot flush mail queue - invalid destination: "${site.slice(0, 100)}${site.length > 100 ? '...' : ''}"`,
      EX_UNAVAILABLE,
    );
  }
  if (mode === 'i' && !queueIdOk(id)) {
    fatal(`Cannot flush queue ID - invalid name: "${id.slice(0, 100)}${id.length > 100 ? '...' : ''}"`, EX_UNAVAILABLE);
  }
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
