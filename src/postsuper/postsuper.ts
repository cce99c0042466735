/**
 * postsuper/postsuper.ts: the queue maintenance operations of postsuper(1)
 * (behaviour of Postfix's postsuper.c), run with the working directory at
 * queue_directory so that paths and messages are queue-relative
 * ("deferred/A/A1B2C3D4E5").
 *
 * Safety against concurrent writers is Postfix's: a message file is only
 * touched by a per-ID operation when mail_open_ok() accepts it (a regular
 * file whose owner mode is exactly rwx, which writers set only after the last
 * byte is written), -e/-f only change complete files, and the -p purge only
 * removes incomplete files older than 7 days.
 */
import { chmodSync, lstatSync, mkdirSync, renameSync, rmdirSync, type Stats, unlinkSync, utimesSync } from 'node:fs';
import { info, msgVerbose, warn, fatal } from '../log/msg.js';
import { Queue, QUEUE_STAT_EXPIRE, QUEUE_STAT_READY, type QueueLayout, queueRelPath } from '../queue/layout.js';
import { inodeOfQueueId, longIdSeparator, makeQueueId, queueIdOk } from '../queue/queue-id.js';
import { hexUsecOfLongId } from '../queue/queue-id.js';
import { readdirOrder } from '../showq/scan.js';
import { strerror } from '../util/strerror.js';

export const Action = {
  STRUCT: 1 << 0,
  PURGE: 1 << 1,
  DELETE_ONE: 1 << 2,
  DELETE_ALL: 1 << 3,
  REQUEUE_ONE: 1 << 4,
  REQUEUE_ALL: 1 << 5,
  HOLD_ONE: 1 << 6,
  HOLD_ALL: 1 << 7,
  RELEASE_ONE: 1 << 8,
  RELEASE_ALL: 1 << 9,
  STRUCT_RED: 1 << 10,
  EXPIRE_ONE: 1 << 11,
  EXPIRE_ALL: 1 << 12,
  EXP_REL_ONE: 1 << 13,
  EXP_REL_ALL: 1 << 14,
} as const;
export const ACTION_DEFAULT = Action.STRUCT | Action.PURGE;
export const ACTIONS_BY_QUEUE_ID =
  Action.DELETE_ONE | Action.REQUEUE_ONE | Action.HOLD_ONE | Action.RELEASE_ONE | Action.EXPIRE_ONE | Action.EXP_REL_ONE;
export const ACTIONS_BY_WILDCARD =
  Action.DELETE_ALL | Action.REQUEUE_ALL | Action.HOLD_ALL | Action.RELEASE_ALL | Action.EXPIRE_ALL | Action.EXP_REL_ALL;
export const ACTIONS_FOR_REPAIR = Action.PURGE | Action.STRUCT | Action.STRUCT_RED;

const MAX_TEMP_AGE = 7 * 24 * 60 * 60;
const SUFFIX = '#FIX';

/** Directories postsuper knows: expected owner permissions, recursion. */
const QUEUE_INFO: ReadonlyArray<{ name: string; perms: number; recurse: boolean }> = [
  { name: Queue.MAILDROP, perms: QUEUE_STAT_READY, recurse: false },
  { name: Queue.INCOMING, perms: QUEUE_STAT_READY, recurse: true },
  { name: Queue.ACTIVE, perms: QUEUE_STAT_READY, recurse: true },
  { name: Queue.DEFERRED, perms: QUEUE_STAT_READY, recurse: true },
  { name: Queue.HOLD, perms: QUEUE_STAT_READY, recurse: true },
  { name: Queue.TRACE, perms: 0o600, recurse: true },
  { name: Queue.DEFER, perms: 0o600, recurse: true },
  { name: Queue.BOUNCE, perms: 0o600, recurse: true },
  { name: Queue.FLUSH, perms: 0o600, recurse: true },
];
const LOG_QUEUES = [Queue.BOUNCE, Queue.DEFER, Queue.TRACE];

export const DEFAULT_QUEUES = [
  Queue.DEFER,
  Queue.BOUNCE,
  Queue.MAILDROP,
  Queue.INCOMING,
  Queue.ACTIVE,
  Queue.DEFERRED,
  Queue.HOLD,
  Queue.FLUSH,
];

function findQueueInfo(name: string) {
  const qp = QUEUE_INFO.find((q) => q.name === name);
  if (!qp) fatal(`invalid directory name: ${name}`);
  return qp;
}
const isMessageQueue = (name: string) => findQueueInfo(name).perms === QUEUE_STAT_READY;
const readyMessage = (st: Stats) => (st.mode & 0o700) === QUEUE_STAT_READY;
const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

export interface Counters {
  requeued: number;
  held: number;
  released: number;
  deleted: number;
  expired: number;
  inodeFixed: number;
  inodeMismatch: number;
  positionMismatch: number;
}

export class Postsuper {
  readonly n: Counters = {
    requeued: 0,
    held: 0,
    released: 0,
    deleted: 0,
    expired: 0,
    inodeFixed: 0,
    inodeMismatch: 0,
    positionMismatch: 0,
  };

  constructor(
    private readonly layout: QueueLayout,
    private readonly longQueueIds: boolean,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  private path(queue: string, id: string): string {
    return queueRelPath(this.layout, queue, id);
  }

  /** mail_open_ok() with its warnings. */
  private openOk(queue: string, id: string): { path: string; st: Stats } | undefined {
    if (!queueIdOk(id)) return undefined;
    const path = this.path(queue, id);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') warn(`${path}: ${strerror(err)}`);
      return undefined;
    }
    if (!st.isFile()) {
      warn(`${path}: uid ${st.uid}: not a regular file`);
      return undefined;
    }
    if ((st.mode & 0o700) !== QUEUE_STAT_READY) return undefined;
    return { path, st };
  }

  private remove(path: string): boolean {
    try {
      unlinkSync(path);
    } catch (err) {
      if (errCode(err) === 'EISDIR' || errCode(err) === 'EPERM') {
        try {
          rmdirSync(path);
          return true;
        } catch {
          /* fall through */
        }
      }
      if (errCode(err) !== 'ENOENT') fatal(`remove file ${path}: ${strerror(err)}`);
      return false;
    }
    if (msgVerbose()) info(`removed file ${path}`);
    return true;
  }

  private rename(from: string, to: string): boolean {
    try {
      renameSync(from, to);
    } catch (err) {
      let e = err;
      if (errCode(e) === 'ENOENT') {
        try {
          const slash = to.lastIndexOf('/');
          if (slash > 0) mkdirSync(to.slice(0, slash), { recursive: true, mode: 0o700 });
          renameSync(from, to);
          e = undefined;
        } catch (err2) {
          e = err2;
        }
      }
      if (e !== undefined) {
        if (errCode(e) !== 'ENOENT') fatal(`rename file ${from} as ${to}: ${strerror(e)}`);
        return false;
      }
    }
    if (msgVerbose()) info(`renamed file ${from} as ${to}`);
    return true;
  }

  private rmdir(path: string): void {
    try {
      rmdirSync(path);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') fatal(`remove directory ${path}: ${strerror(err)}`);
      return;
    }
    if (msgVerbose()) info(`remove directory ${path}`);
  }

  /** postexpire(): set the forced-expire bit on a complete, not yet expired file. */
  private expire(path: string): boolean {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') warn(`expire file ${path}: ${strerror(err)}`);
      return false;
    }
    if (!st.isFile()) {
      warn(`expire file ${path}: not a regular file`);
      return false;
    }
    if (!readyMessage(st) || (st.mode & QUEUE_STAT_EXPIRE) !== 0) return false;
    try {
      chmodSync(path, (st.mode | QUEUE_STAT_EXPIRE) & 0o7777);
    } catch (err) {
      warn(`expire file ${path}: cannot set permission: ${strerror(err)}`);
      return false;
    }
    return true;
  }

  private idOk(id: string): boolean {
    if (queueIdOk(id)) return true;
    warn(`invalid mail queue id: ${id}`);
    return false;
  }

  deleteOne(queues: readonly string[], id: string): void {
    if (!this.idOk(id)) return;
    let found = false;
    for (let tries = 0; !found && tries < 2; tries++) {
      for (const q of queues) {
        if (!isMessageQueue(q)) continue;
        const ok = this.openOk(q, id);
        if (!ok) continue;
        for (const lq of LOG_QUEUES) this.remove(this.path(lq, id));
        if (this.remove(ok.path)) {
          found = true;
          info(`${id}: removed`);
          break;
        }
      }
    }
    if (found) this.n.deleted++;
  }

  requeueOne(queues: readonly string[], id: string): void {
    if (!this.idOk(id)) return;
    let found = false;
    for (let tries = 0; !found && tries < 2; tries++) {
      for (const q of queues) {
        if (q === Queue.MAILDROP) continue;
        if (!isMessageQueue(q)) continue;
        const ok = this.openOk(q, id);
        if (!ok) continue;
        const to = this.path(Queue.MAILDROP, id);
        if (this.rename(ok.path, to)) {
          const t = this.now();
          try {
            utimesSync(to, t, t);
          } catch (err) {
            warn(`${to}: reset time stamps: ${strerror(err)}`);
          }
          info(`${id}: requeued`);
          found = true;
          break;
        }
      }
    }
    if (found) this.n.requeued++;
  }

  holdOne(queues: readonly string[], id: string): void {
    if (!this.idOk(id)) return;
    let found = false;
    for (let tries = 0; !found && tries < 2; tries++) {
      for (const q of queues) {
        if (q === Queue.MAILDROP || q === Queue.HOLD) continue;
        if (!isMessageQueue(q)) continue;
        const ok = this.openOk(q, id);
        if (!ok) continue;
        if (this.rename(ok.path, this.path(Queue.HOLD, id))) {
          info(`${id}: placed on hold`);
          found = true;
          break;
        }
      }
    }
    if (found) this.n.held++;
  }

  releaseOne(queues: readonly string[], id: string): void {
    if (!this.idOk(id)) return;
    for (const q of queues) {
      if (q !== Queue.HOLD) continue;
      const ok = this.openOk(q, id);
      if (!ok) continue;
      if (this.rename(ok.path, this.path(Queue.DEFERRED, id))) {
        info(`${id}: released from hold`);
        this.n.released++;
        return;
      }
    }
  }

  expireOne(queues: readonly string[], id: string): void {
    if (!this.idOk(id)) return;
    let found = false;
    for (let tries = 0; !found && tries < 2; tries++) {
      for (const q of queues) {
        if (!isMessageQueue(q)) continue;
        if (q === Queue.MAILDROP) continue;
        const ok = this.openOk(q, id);
        if (!ok) continue;
        if (this.expire(ok.path)) {
          found = true;
          info(`${id}: expired`);
          break;
        }
      }
    }
    if (found) this.n.expired++;
  }

  expRelOne(queues: readonly string[], id: string): void {
    this.expireOne(queues, id);
    this.releaseOne(queues, id);
  }

  /** fix_queue_id(): rename a file (and its logs) to NEWID#FIX after its inode. */
  private fixQueueId(actualPath: string, queue: string, id: string, st: Stats): void {
    const z = longIdSeparator(id);
    let newId: string;
    const ino = st.ino;
    if (z < 0) newId = id.slice(0, 5) + ino.toString(16).toUpperCase();
    else if (this.longQueueIds) newId = makeQueueId(0, 0, ino, true).replace(/^.*z/, `${id.slice(0, z)}z`);
    else newId = hexUsecOfLongId(id, z) + ino.toString(16).toUpperCase();
    for (const lq of LOG_QUEUES) this.rename(this.path(lq, id), this.path(lq, newId) + SUFFIX);
    this.rename(actualPath, this.path(queue, newId) + SUFFIX);
  }

  /** super(): the directory walks (ALL operations, -s, -p). */
  walk(queues: readonly string[], action: number): number {
    for (const queue of queues) {
      if (msgVerbose()) info(`queue: ${queue}`);
      const qp = findQueueInfo(queue);
      const wantedDepth = this.layout.hashNames.includes(queue) ? this.layout.hashDepth : 0;
      if (wantedDepth > 0 && !qp.recurse) fatal(`${queue} queue must not be hashed`);
      const message = qp.perms === QUEUE_STAT_READY;
      const scan = (dir: string, depth: number): void => {
        for (const name of readdirOrder(dir, (err) => fatal(`scan_dir_push: open directory ${dir}: ${strerror(err)}`))) {
          if (name === '.' || name === '..') continue;
          if (name.length === 1 && qp.recurse) {
            scan(`${dir}/${name}`, depth + 1);
            if (depth + 1 > wantedDepth) this.rmdir(`${dir}/${name}`);
            continue;
          }
          action = this.walkEntry(queue, message, dir, name, action);
        }
      };
      scan(queue, 0);
    }
    return action;
  }

  private walkEntry(queue: string, message: boolean, dir: string, name: string, action: number): number {
    let actualPath = `${dir}/${name}`;
    let st: Stats;
    try {
      st = lstatSync(actualPath);
    } catch {
      return action;
    }
    if (st.isDirectory()) {
      try {
        rmdirSync(actualPath);
        if (msgVerbose()) info(`remove subdirectory ${actualPath}`);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') warn(`remove subdirectory ${actualPath}: ${strerror(err)}`);
      }
      return action;
    }
    if (action & Action.DELETE_ALL) {
      if (this.remove(actualPath) && message && readyMessage(st)) this.n.deleted++;
      return action;
    }
    if (
      !st.isFile() ||
      ((action & Action.PURGE) !== 0 && message && !readyMessage(st) && this.now() > Math.floor(st.mtimeMs / 1000) + MAX_TEMP_AGE)
    ) {
      this.remove(actualPath);
      return action;
    }
    let id = name;
    if (action & Action.STRUCT && id.endsWith(SUFFIX)) {
      id = id.slice(0, -SUFFIX.length);
      if (!queueIdOk(id)) {
        warn(`bogus file name: ${actualPath}`);
        return action;
      }
      if (message) {
        const inum = inodeOfQueueId(id);
        if (inum === undefined) {
          warn(`bogus file name: ${actualPath}`);
          return action;
        }
        if (inum !== st.ino) {
          warn(`name/inode mismatch: ${actualPath}`);
          return action;
        }
      }
      const wanted = this.path(queue, id);
      if (!this.rename(actualPath, wanted)) return action;
      if (message) this.n.inodeFixed++;
      actualPath = wanted;
    }
    if (!queueIdOk(id)) {
      warn(`bogus file name: ${actualPath}`);
      return action;
    }
    if (action & Action.STRUCT && message) {
      const inum = inodeOfQueueId(id);
      if (inum === undefined) {
        warn(`bogus file name: ${actualPath}`);
        return action;
      }
      const longName = longIdSeparator(id) >= 0;
      if ((longName && !this.longQueueIds) || (inum !== st.ino && (!longName || action & Action.STRUCT_RED))) {
        this.n.inodeMismatch++;
        this.fixQueueId(actualPath, queue, id, st);
        return action & ~ACTIONS_BY_WILDCARD;
      }
    }
    if (action & Action.REQUEUE_ALL && message && queue !== Queue.MAILDROP) {
      if (this.rename(actualPath, this.path(Queue.MAILDROP, id))) this.n.requeued++;
      return action;
    }
    if (
      action & (Action.EXPIRE_ALL | Action.EXP_REL_ALL) &&
      message &&
      readyMessage(st) &&
      queue !== Queue.MAILDROP &&
      this.expire(actualPath)
    )
      this.n.expired++;
    if (action & Action.HOLD_ALL && message && queue !== Queue.MAILDROP && queue !== Queue.HOLD) {
      if (this.rename(actualPath, this.path(Queue.HOLD, id))) this.n.held++;
      return action;
    }
    if (action & (Action.RELEASE_ALL | Action.EXP_REL_ALL) && queue === Queue.HOLD) {
      if (this.rename(actualPath, this.path(Queue.DEFERRED, id))) this.n.released++;
      return action;
    }
    if (action & Action.STRUCT) {
      const wanted = this.path(queue, id);
      if (actualPath !== wanted) {
        this.n.positionMismatch++;
        this.rename(actualPath, wanted);
      }
    }
    return action;
  }
}
