/**
 * queue/layout.ts: the queue_directory layout and where a queue ID lives in
 * it (mail_queue.c mail_queue_dir/mail_queue_path, dir_forest.c), as
 * `postfix check` creates it (postfix-files):
 *
 *   maildrop   0730 postfix:postdrop   postdrop output, read by pickup
 *   incoming   0700 postfix            written by cleanup
 *   active     0700                    being delivered (qmgr)
 *   deferred   0700                    waiting for retry
 *   hold       0700                    on hold
 *   corrupt    0700                    damaged files
 *   defer, bounce, trace               per-message delivery logs
 *   flush, saved                       fast-flush logs, dont_remove copies
 *   private 0700, public 0710 postfix:postdrop   service sockets
 *   pid 0755 root                      master.pid
 *
 * Queues named in hash_queue_names (default "deferred, defer") get
 * hash_queue_depth levels of one-character subdirectories taken from the
 * queue ID (for long IDs, from the hex microseconds): deferred/9/93F5E20C6BE.
 */
import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hexUsecOfLongId, longIdSeparator } from './queue-id.js';

export const Queue = {
  MAILDROP: 'maildrop',
  HOLD: 'hold',
  INCOMING: 'incoming',
  ACTIVE: 'active',
  DEFERRED: 'deferred',
  TRACE: 'trace',
  DEFER: 'defer',
  BOUNCE: 'bounce',
  CORRUPT: 'corrupt',
  FLUSH: 'flush',
  SAVED: 'saved',
} as const;

/** File modes (mail_queue.h MAIL_QUEUE_STAT_*). */
export const QUEUE_STAT_READY = 0o700; // owner rwx: complete
export const QUEUE_STAT_CORRUPT = 0o400;
export const QUEUE_STAT_UNTHROTTLE = 0o040; // S_IRGRP
export const QUEUE_STAT_EXPIRE = 0o010; // S_IXGRP: postsuper -e

/** The layout settings (main.cf hash_queue_names, hash_queue_depth). */
export interface QueueLayout {
  /** Absolute queue_directory. */
  readonly dir: string;
  readonly hashNames: readonly string[];
  readonly hashDepth: number;
}

export function queueLayout(dir: string, hashQueueNames = 'deferred, defer', hashQueueDepth = 1): QueueLayout {
  return {
    dir,
    hashNames: hashQueueNames.split(/[\s,]+/).filter((s) => s !== ''),
    hashDepth: hashQueueDepth,
  };
}

/** The view of main.cf the layout needs. */
export interface LayoutConfig {
  get(name: string): string;
}

export function layoutFromConfig(cfg: LayoutConfig): QueueLayout {
  const depth = Number.parseInt(cfg.get('hash_queue_depth') || '1', 10);
  return queueLayout(cfg.get('queue_directory'), cfg.get('hash_queue_names'), Number.isNaN(depth) ? 1 : depth);
}

/** dir_forest(): "a/b/" for depth 2; '_' when the name is too short. */
function dirForest(id: string, depth: number): string {
  let out = '';
  for (let i = 0; i < depth; i++) out += `${i < id.length ? id[i] : '_'}/`;
  return out;
}

/** mail_queue_dir(): "deferred/9/" (relative to queue_directory, with trailing '/'). */
export function queueSubdir(layout: QueueLayout, queueName: string, id: string): string {
  let dir = `${queueName}/`;
  if (layout.hashNames.some((n) => n.toLowerCase() === queueName.toLowerCase())) {
    const z = longIdSeparator(id);
    dir += dirForest(z >= 0 ? hexUsecOfLongId(id, z) : id, Math.max(1, layout.hashDepth));
  }
  return dir;
}

/** mail_queue_path() relative to queue_directory: "deferred/9/93F5E20C6BE". */
export function queueRelPath(layout: QueueLayout, queueName: string, id: string): string {
  return queueSubdir(layout, queueName, id) + id;
}

/** Absolute path of a queue file. */
export function queuePath(layout: QueueLayout, queueName: string, id: string): string {
  return join(layout.dir, queueRelPath(layout, queueName, id));
}

/** Directories of a fresh queue and their modes (postfix-files). */
export const QUEUE_DIRS: ReadonlyArray<[string, number]> = [
  ['active', 0o700],
  ['bounce', 0o700],
  ['corrupt', 0o700],
  ['defer', 0o700],
  ['deferred', 0o700],
  ['flush', 0o700],
  ['hold', 0o700],
  ['incoming', 0o700],
  ['maildrop', 0o730],
  ['pid', 0o755],
  ['private', 0o700],
  ['public', 0o710],
  ['saved', 0o700],
  ['trace', 0o700],
];

/** Create missing queue directories (no ownership changes). */
export function ensureQueueDirs(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, mode] of QUEUE_DIRS) {
    try {
      mkdirSync(join(dir, name), { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** mail_queue_mkdirs(): create the (hash) directories above `path`, mode 0700. */
export async function makeParentDirs(path: string): Promise<void> {
  const slash = path.lastIndexOf('/');
  if (slash > 0) await mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
}
