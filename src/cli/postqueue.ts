/**
 * cli/postqueue.ts: postqueue(1), the Postfix user interface to the queue.
 *
 *   postqueue [-v] [-c config_dir] -p | -j | -f | -i queue_id | -s site
 *
 * -p and -j list the queue (showq/showq.ts; Postern reads the queue
 * directory directly, there is no showq daemon). -f triggers the queue
 * manager ("FADI" on public/qmgr: unthrottle, ignore time stamps, scan
 * deferred and incoming) and pickup ("W"); -s and -i ask the flush
 * service (public/flush, flush/client.ts), -s only for a site in
 * fast_flush_domains. A service that cannot be reached is "Cannot flush
 * mail queue - mail system is down". Errors exit 69 (EX_UNAVAILABLE) with
 * the usage text, as postqueue.c does; "Invalid request" exits 64.
 */
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { FatalExit, fatal, setProgname, setVerbose, warn } from '../log/msg.js';
import { flushStdout } from '../util/out.js';
import { flushSendFileRequest, flushSendSiteRequest } from '../flush/client.js';
import { FlushStat } from '../flush/logfile.js';
import { mailTriggerRequest } from '../queue/trigger.js';
import { queueIdOk } from '../queue/queue-id.js';
import { showQueue } from '../showq/showq.js';
import { getopt } from '../util/getopt.js';
import { matchFastFlush } from '../flush/domains.js';
import { strerror } from '../util/strerror.js';

/** valid_hostname() / valid_mailhost_literal(), without their warnings. */
function validSite(site: string): boolean {
  if (site.startsWith('[')) return /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|ipv6:[0-9a-f:.]+)\]$/i.test(site);
  if (site.length === 0 || site.length > 255) return false;
  return site
    .split('.')
    .every((l) => l.length > 0 && l.length <= 63 && /^[A-Za-z0-9_-]+$/.test(l) && !l.startsWith('-') && !l.endsWith('-'));
}

const EX_UNAVAILABLE = 69;
const EX_USAGE = 64;
const EX_SOFTWARE = 70;
const USAGE =
  'usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site';

/** postqueue.c installs msg_cleanup(unavailable): every fatal error exits 69. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof FatalExit) {
      flushStdout();
      return EX_UNAVAILABLE;
    }
    throw err;
  }
}

async function run(argv: string[]): Promise<number> {
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
      return flushQueue(cfg.get('queue_service_name') || 'qmgr', cfg.get('pickup_service_name') || 'pickup');
    case 'i':
      return flushReply(await flushSendFileRequest('.', cfg.get('flush_service_name') || 'flush', id, warn), id, false);
    case 's':
      if (!matchFastFlush(cfg, site)) fatal(`Flush service is not configured for destination "${site}"`, EX_UNAVAILABLE);
      return flushReply(await flushSendSiteRequest('.', cfg.get('flush_service_name') || 'flush', site, warn), site, true);
    default:
      return fatal(USAGE, EX_UNAVAILABLE);
  }
}

const DOWN = 'Cannot flush mail queue - mail system is down';

/** flush_queue(): wake qmgr (all of the deferred queue, now) and pickup. */
async function flushQueue(qmgr: string, pickup: string): Promise<number> {
  for (const [service, request] of [
    [qmgr, 'FADI'],
    [pickup, 'W'],
  ]) {
    const r = await mailTriggerRequest('.', 'public', service, request);
    if (r.warning) warn(r.warning);
    if (!r.ok) fatal(DOWN, EX_UNAVAILABLE);
  }
  return 0;
}

/** flush_site() / flush_file(): the flush server's status (msg_cleanup makes every fatal exit 69). */
function flushReply(status: number, arg: string, site: boolean): number {
  switch (status) {
    case FlushStat.OK:
      return 0;
    case FlushStat.BAD:
      return fatal(`Invalid request: "${arg}"`, EX_USAGE);
    case FlushStat.FAIL:
      return fatal(DOWN, EX_UNAVAILABLE);
    case FlushStat.DENY:
      if (site) return fatal(`Flush service is not configured for destination "${arg}"`, EX_UNAVAILABLE);
      return fatal(`Unexpected flush server reply status ${status}`, EX_SOFTWARE);
    default:
      return fatal(`${site ? 'Unknown' : 'Unexpected'} flush server reply status ${status}`, EX_SOFTWARE);
  }
}
