/**
 * flush/worker.ts: the flush(8) service for the master (master.cf
 * "flush unix n - n 1000? 0 flush"). Each connection: announce
 * "protocol=queue_flush_protocol", read one request as attr_print0
 * attributes, answer "status=N" (flush.c flush_service):
 *
 *   request=add site=S queue_id=ID     append to the site's logfile
 *   request=send_site site=S           flush the site (postqueue -s, ETRN)
 *   request=send_file queue_id=ID      flush one message (postqueue -i)
 *   request=rfrsh                      refresh old logfiles (answered first)
 *   request=purge                      refresh all logfiles (answered first)
 *
 * A short "W\0" (a master trigger) and the master's wakeup timer are a
 * refresh. Anything else is status 3 (FLUSH_STAT_BAD).
 *
 * Register in src/master/services.ts as:
 *   flush: () => import('../flush/worker.js').then((m) => m.flushWorker)
 */
import type { Socket } from 'node:net';
import type { WorkerModule } from '../master/types.js';
import { attrPrint0, attrScan0 } from '../queue/attr0.js';
import { layoutFromConfig } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { mailTriggerRequest } from '../queue/trigger.js';
import { FLUSH_PROTOCOL } from './client.js';
import {
  type FlushContext,
  FlushStat,
  UNTHROTTLE_BEFORE,
  flushAdd,
  flushRefresh,
  flushSendFile,
  flushSendSite,
} from './logfile.js';

/** Bytes a request may take (site names and queue IDs are short). */
const MAX_REQUEST = 4096;

/** Serve one client on `socket` (also the test entry point). */
export function serveFlushClient(ctx: FlushContext, socket: Socket): void {
  let buf = Buffer.alloc(0);
  let done = false;
  const reply = (status: number) => {
    socket.end(attrPrint0([['status', status]]));
  };
  socket.on('error', () => socket.destroy());
  socket.write(attrPrint0([['protocol', FLUSH_PROTOCOL]]));
  socket.on('data', (d: Buffer) => {
    if (done) return;
    buf = Buffer.concat([buf, d]);
    if (buf.length > MAX_REQUEST) {
      done = true;
      reply(FlushStat.BAD);
      return;
    }
    // Short request: a master trigger ("W\0").
    if (buf.length <= 2 && buf.indexOf(0) >= 0) {
      done = true;
      reply(FlushStat.OK);
      void flushRefresh(ctx, ctx.cfg.time('fast_flush_refresh_time')).catch((err) => ctx.warn(err.message));
      return;
    }
    const got = attrScan0(buf);
    if (!got) return;
    done = true;
    void handle(ctx, got.attrs).then(
      (status) => reply(status),
      (err) => {
        ctx.warn((err as Error).message);
        reply(FlushStat.FAIL);
      },
    );
  });
}

async function handle(ctx: FlushContext, a: Map<string, string>): Promise<number> {
  const request = a.get('request');
  const site = a.get('site');
  const id = a.get('queue_id');
  switch (request) {
    case 'add':
      if (a.size !== 3 || site === undefined || id === undefined || !queueIdOk(id)) return FlushStat.BAD;
      return flushAdd(ctx, site, id);
    case 'send_site':
      if (a.size !== 2 || site === undefined) return FlushStat.BAD;
      return flushSendSite(ctx, site, UNTHROTTLE_BEFORE);
    case 'send_file':
      if (a.size !== 2 || id === undefined) return FlushStat.BAD;
      return flushSendFile(ctx, id);
    case 'rfrsh':
    case 'purge': {
      const maxAge = request === 'purge' ? 0 : ctx.cfg.time('fast_flush_refresh_time');
      setImmediate(() => void flushRefresh(ctx, maxAge).catch((err) => ctx.warn((err as Error).message)));
      return FlushStat.OK;
    }
    default:
      return FlushStat.BAD;
  }
}

export const flushWorker: WorkerModule = {
  start(wctx) {
    const cfg = wctx.config;
    const layout = layoutFromConfig(cfg);
    const qmgrService = cfg.get('queue_service_name') || 'qmgr';
    const ctx: FlushContext = {
      cfg,
      layout,
      warn: (t) => wctx.log.warn(t),
      triggerQmgr: async (request) => {
        const r = await mailTriggerRequest(layout.dir, 'public', qmgrService, request);
        if (r.warning) wctx.log.warn(r.warning);
      },
    };
    wctx.onConnection((socket) => serveFlushClient(ctx, socket));
    wctx.onWakeup(() => void flushRefresh(ctx, cfg.time('fast_flush_refresh_time')).catch((err) => ctx.warn(err.message)));
  },
};
