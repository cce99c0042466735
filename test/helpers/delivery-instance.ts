/**
 * test/helpers/delivery-instance.ts: a Postern instance for delivery tests:
 * config dir (main.cf + master.cf) and queue under a temp dir, messages
 * queued through the real in-process cleanup (as smtpd or pickup would),
 * a queue manager with a test clock, and the mail log collected as
 * "tag: text" lines (no time stamps or PIDs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPostfixConfig, type PostfixConfig } from '../../compat/postfix/config.js';
import { createCleanupService, type PosternCleanupService } from '../../src/cleanup/service.js';
import { CleanupFlag } from '../../src/cleanup/types.js';
import { ensureQueueDirs } from '../../src/queue/layout.js';
import { mailDate } from '../../src/queue/dates.js';
import { QueueManager, type QmgrOptions } from '../../src/qmgr/qmgr.js';
import { backdate } from './postfix-diff.js';
import type { LogFactory } from '../../src/qmgr/transports.js';

export const TEST_MASTER_CF = `smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/$service_name
lmtp      unix  -       -       n       -       -       lmtp
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
`;

export interface DeliveryInstance {
  root: string;
  etc: string;
  spool: string;
  cfg: PostfixConfig;
  /** "postfix/qmgr: ID: from=<...>" etc. */
  log: string[];
  logs: LogFactory;
  /** Milliseconds added to the wall clock (the queue manager's clock). */
  offset: number;
  clock: () => number;
  cleanup: PosternCleanupService;
  qmgr(opts?: Partial<QmgrOptions>): QueueManager;
  /** Queue a message as pickup does for sendmail (local origin). Returns the queue ID. */
  submit(sender: string, rcpts: string[], lines: string[], opts?: { notify?: number; orcpt?: boolean }): Promise<string>;
}

export async function deliveryInstance(root: string, main: string, masterCf = TEST_MASTER_CF): Promise<DeliveryInstance> {
  const etc = join(root, 'etc');
  const spool = join(root, 'spool');
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${spool}
data_directory = ${root}/data
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
${/^mydestination\s*=/m.test(main) ? '' : 'mydestination =\n'}inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file =
${main}
`,
  );
  writeFileSync(join(etc, 'master.cf'), masterCf);
  ensureQueueDirs(spool);
  const cfg = loadPostfixConfig({ configDir: etc });
  const log: string[] = [];
  const logs: LogFactory = (tag) => ({
    info: (t) => log.push(`${tag}: ${t}`),
    warn: (t) => log.push(`${tag}: warning: ${t}`),
  });
  const inst: DeliveryInstance = {
    root,
    etc,
    spool,
    cfg,
    log,
    logs,
    offset: 0,
    clock: () => Date.now() + inst.offset,
    cleanup: await createCleanupService(cfg, { log: logs('postfix/cleanup'), notifyQmgr: false }),
    qmgr: (opts = {}) => {
      // texthash tables written within the last second are re-read after a pause (dict_thash.c).
      backdate(root);
      return new QueueManager({ cfg, logs, clock: inst.clock, cleanup: inst.cleanup, ...opts });
    },
    async submit(sender, rcpts, lines, opts = {}) {
      const s = await inst.cleanup.open(CleanupFlag.FILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK);
      s.setAttribute('rewrite_context', 'local');
      s.setSender(sender);
      for (const r of rcpts) s.addRecipient(r, { orcpt: opts.orcpt === false ? undefined : `rfc822;${r}`, notify: opts.notify });
      // What pickup adds for local submissions.
      const received = [`Received: by mx.example.test (Postfix, from userid 0)`, `\tid ${s.queueId}; ${mailDate(Math.floor(Date.now() / 1000))}`];
      for (const l of [...received, ...lines]) s.writeLine(Buffer.from(l, 'latin1'));
      const res = await s.finish();
      if (res.status !== 0) throw new Error(`cleanup status ${res.status}`);
      return s.queueId;
    },
  };
  return inst;
}
