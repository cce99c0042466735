/**
 * flush/logfile.ts: the per-destination fast-flush logfiles under
 * $queue_directory/flush (flush(8)): one file per eligible site, named by
 * the site with every non-alphanumeric byte mapped to '_' and folded to
 * lower case ("example.net" -> flush/example_net), holding the queue IDs
 * of mail deferred for that site, one per line ("ID\n"), appended to on
 * every deferral and truncated when the site is flushed.
 *
 *   add        append the ID (defer_append calls flush_add per deferral)
 *   send_site  for each listed ID: time stamps := now, deferred/ ->
 *              incoming/, then truncate the log and wake qmgr ("I");
 *              qmgr is first told to forget dead destinations ("F")
 *   send_file  the same for one queue ID, with S_IRGRP set on the queue
 *              file so qmgr unthrottles that message's destinations
 *   refresh    send_site without unthrottling for logs not read within
 *              fast_flush_refresh_time; remove empty logs unchanged for
 *              fast_flush_purge_time ("purge": every log, now)
 *
 * Postfix serialises access with a lock on the logfile; here one process
 * (the flush service, or qmgr for add) serialises its own requests per
 * file, and appends are single O_APPEND writes.
 */
import { constants } from 'node:fs';
import { chmod, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import { type QueueLayout, Queue, QUEUE_STAT_READY, QUEUE_STAT_UNTHROTTLE, makeParentDirs, queuePath } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { strerror } from '../util/strerror.js';
import { type FlushConfig, matchFastFlush } from './domains.js';

/** flush_clnt.h status codes. */
export const FlushStat = { FAIL: -1, OK: 0, BAD: 3, DENY: 4 } as const;

/** Strategies of flush_send_path(). */
export const REFRESH_ONLY = 0;
export const UNTHROTTLE_BEFORE = 1;
export const UNTHROTTLE_AFTER = 2;

/** Beyond this many IDs duplicates are no longer filtered (FLUSH_DUP_FILTER_SIZE). */
const DUP_FILTER_SIZE = 10000;

export interface FlushContext {
  cfg: FlushConfig;
  layout: QueueLayout;
  /** mail_trigger() to the queue manager ("F", "I"). */
  triggerQmgr(request: string): Promise<void>;
  warn(text: string): void;
  /** event_time(), seconds. */
  now?(): number;
}

/** flush_site_to_path(): undefined when the name cannot be made ASCII. */
export function siteToPath(site: string): string | undefined {
  let ascii = site;
  if (/[^\x00-\x7f]/.test(site)) {
    ascii = domainToASCII(site);
    if (ascii === '') return undefined;
  }
  let out = '';
  for (const ch of ascii) out += /[A-Za-z0-9]/.test(ch) ? ch.toLowerCase() : '_';
  return out;
}

const locks = new Map<string, Promise<unknown>>();

/** Run `fn` after every earlier request on the same logfile (this process). */
function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(path) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(path, tail);
  void tail.then(() => {
    if (locks.get(path) === tail) locks.delete(path);
  });
  return next;
}

/** flush_add_service(). */
export async function flushAdd(ctx: FlushContext, site: string, queueId: string): Promise<number> {
  if (!matchFastFlush(ctx.cfg, site)) return FlushStat.DENY;
  const path = siteToPath(site);
  if (path === undefined) return FlushStat.DENY;
  if (!queueIdOk(path) || !queueIdOk(queueId)) return FlushStat.BAD;
  const file = queuePath(ctx.layout, Queue.FLUSH, path);
  return withLock(file, async () => {
    await makeParentDirs(file);
    const fh = await open(file, constants.O_CREAT | constants.O_APPEND | constants.O_WRONLY, 0o600);
    try {
      await fh.write(`${queueId}\n`);
    } catch (err) {
      ctx.warn(`write fast flush logfile ${path}: ${strerror(err)}`);
    } finally {
      await fh.close();
    }
    return FlushStat.OK;
  });
}

/** flush_send_service(). */
export async function flushSendSite(ctx: FlushContext, site: string, how = UNTHROTTLE_BEFORE): Promise<number> {
  if (!matchFastFlush(ctx.cfg, site)) return FlushStat.DENY;
  const path = siteToPath(site);
  if (path === undefined) return FlushStat.DENY;
  return flushSendPath(ctx, path, how);
}

const nowSec = (ctx: FlushContext) => (ctx.now ? ctx.now() : Math.floor(Date.now() / 1000));

/** flush_send_path(). */
async function flushSendPath(ctx: FlushContext, path: string, how: number): Promise<number> {
  if (!queueIdOk(path)) return FlushStat.BAD;
  const file = queuePath(ctx.layout, Queue.FLUSH, path);
  const count = await withLock(file, async () => {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(file, constants.O_RDWR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`flush_send_path: open fast flush logfile ${path}: ${strerror(err)}`);
    }
    let n = 0;
    try {
      if (how & UNTHROTTLE_BEFORE) await ctx.triggerQmgr('F');
      const text = (await fh.readFile()).toString('latin1');
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const seen = new Set<string>();
      const now = nowSec(ctx);
      for (const id of lines) {
        n++;
        if (!queueIdOk(id)) {
          ctx.warn(`bad queue id "${id.slice(0, 30)}..." in fast flush logfile ${path}`);
          continue;
        }
        if (seen.size >= DUP_FILTER_SIZE || !seen.has(id)) {
          if (seen.size <= DUP_FILTER_SIZE) seen.add(id);
          n += await flushOneFile(ctx, id, now, how);
        }
      }
      if (n > 0) await fh.truncate(0);
    } finally {
      await fh.close();
    }
    // Workaround for noatime mounts: the refresh logic goes by atime.
    await utimes(file, new Date(), new Date()).catch(() => undefined);
    return n;
  });
  if (count > 0) await ctx.triggerQmgr('I');
  return FlushStat.OK;
}

/** flush_one_file(): 1 when the file was found and scheduled, else 0. */
async function flushOneFile(ctx: FlushContext, id: string, now: number, how: number): Promise<number> {
  let queueName: string = Queue.DEFERRED;
  let path = queuePath(ctx.layout, queueName, id);
  for (;;) {
    try {
      await utimes(path, now, now);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        ctx.warn(`flush_one_file: update ${path} time stamps: ${strerror(err)}`);
      }
      if (queueName === Queue.INCOMING) return 0;
      queueName = Queue.INCOMING;
      path = queuePath(ctx.layout, queueName, id);
    }
  }
  if (how & UNTHROTTLE_AFTER) {
    try {
      const st = await stat(path);
      if ((st.mode & QUEUE_STAT_READY) !== QUEUE_STAT_READY) return 0;
      await chmod(path, (st.mode & 0o7777) | QUEUE_STAT_UNTHROTTLE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ctx.warn(`flush_one_file: open ${path}: ${strerror(err)}`);
      return 0;
    }
  }
  if (queueName !== Queue.INCOMING) {
    const to = queuePath(ctx.layout, Queue.INCOMING, id);
    try {
      await rename(path, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        ctx.warn(`${path}: rename from ${queueName} to ${Queue.INCOMING}: ${strerror(err)}`);
      }
    }
  }
  return 1;
}

/** flush_send_file_service(). */
export async function flushSendFile(ctx: FlushContext, queueId: string): Promise<number> {
  if (!queueIdOk(queueId)) return FlushStat.BAD;
  if ((await flushOneFile(ctx, queueId, nowSec(ctx), UNTHROTTLE_AFTER)) > 0) await ctx.triggerQmgr('I');
  return FlushStat.OK;
}

/** flush_refresh_service(): maxAge 0 is "purge". */
export async function flushRefresh(ctx: FlushContext, maxAge: number): Promise<number> {
  const dir = join(ctx.layout.dir, Queue.FLUSH);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return FlushStat.OK;
  }
  const purge = ctx.cfg.time('fast_flush_purge_time');
  const now = nowSec(ctx);
  for (const name of names) {
    if (!queueIdOk(name)) continue;
    const path = queuePath(ctx.layout, Queue.FLUSH, name);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ctx.warn(`flush_refresh_service: stat ${path}: ${strerror(err)}`);
      continue;
    }
    if (!st.isFile()) continue;
    if (st.size === 0) {
      if (st.mtimeMs / 1000 + purge < now) {
        await unlink(path).catch((err) => ctx.warn(`remove logfile ${path}: ${strerror(err)}`));
      }
    } else if (st.atimeMs / 1000 + maxAge < now) {
      await flushSendPath(ctx, name, REFRESH_ONLY);
    }
  }
  return FlushStat.OK;
}
