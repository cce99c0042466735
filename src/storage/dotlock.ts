/**
 * storage/dotlock.ts: Dovecot's dotlocks (lib/file-dotlock.c) as used for
 * `dovecot-uidlist.lock`, `dovecot-keywords.lock` and `maildirsize`:
 * the lock is `<path>.lock`, created with O_EXCL (dotlock_use_excl=yes, the
 * default) and holding "<pid>:<hostname>". Another process's lock is
 * overridden when it is stale: its pid is on this host and no longer
 * running, or the lock file has not changed for `staleTimeout` seconds.
 * Waiting polls until `timeout` seconds pass (then MAIL_ERRSTR_LOCK_TIMEOUT).
 *
 * "Replace" locks (keywords) write the new content into the lock file
 * itself and rename it over the target.
 */
import { constants as C } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ERRSTR_LOCK_TIMEOUT, errnoCode, MailError } from './errors.js';
import { chownIfNeeded, type Perms } from './fs-util.js';

export interface DotlockOptions {
  /** Give up after this many seconds (default 122: MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT + 2). */
  timeout?: number;
  /** Override a lock unchanged for this many seconds (default 120). */
  staleTimeout?: number;
  /** Fail at once when locked (DOTLOCK_CREATE_FLAG_NONBLOCK). */
  nonblock?: boolean;
  perms?: Perms;
}

export interface Dotlock {
  readonly lockPath: string;
  /** Remove the lock (file_dotlock_delete). */
  release(): Promise<void>;
  /** Write `data` into the lock file and rename it over the locked path (file_dotlock_replace). */
  replace(data: string | Buffer, fsync?: boolean): Promise<void>;
  /** Refresh the lock's mtime so others don't take it as stale. */
  touch(): Promise<void>;
}

const myHost = hostname();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** Is the existing lock stale? */
async function isStale(lockPath: string, staleTimeout: number): Promise<boolean> {
  let st: import('node:fs').Stats;
  try {
    st = await stat(lockPath);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return true;
    throw e;
  }
  try {
    const text = (await readFile(lockPath, 'latin1')).replace(/\n$/, '');
    const colon = text.indexOf(':');
    if (colon > 0 && text.slice(colon + 1) === myHost) {
      const pid = Number(text.slice(0, colon));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) return true;
    }
  } catch {
    // unreadable: fall back to the age check
  }
  const changed = Math.max(st.mtimeMs, st.ctimeMs);
  return Date.now() - changed > staleTimeout * 1000;
}

/**
 * Waiters inside this process queue in memory, so only one of them at a
 * time polls the lock file (and the others do not burn their timeout
 * against their own process).
 */
const inProcess = new Map<string, Promise<void>>();

/** Take `<path>.lock`. Throws MailError('temp', "Timeout while waiting for lock") on timeout. */
export async function dotlockCreate(path: string, opts: DotlockOptions = {}): Promise<Dotlock> {
  const prev = inProcess.get(path) ?? Promise.resolve();
  let releaseTurn!: () => void;
  const turn = new Promise<void>((r) => {
    releaseTurn = r;
  });
  const chained = prev.then(() => turn);
  inProcess.set(path, chained);
  const cleanup = () => {
    releaseTurn();
    if (inProcess.get(path) === chained) inProcess.delete(path);
  };
  await prev;
  try {
    const lock = await fileDotlock(path, opts);
    const release = lock.release.bind(lock);
    const replace = lock.replace.bind(lock);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        cleanup();
      }
    };
    return {
      lockPath: lock.lockPath,
      touch: lock.touch.bind(lock),
      async release() {
        try {
          await release();
        } finally {
          finish();
        }
      },
      async replace(data, fsync) {
        try {
          await replace(data, fsync);
        } finally {
          finish();
        }
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

async function fileDotlock(path: string, opts: DotlockOptions): Promise<Dotlock> {
  const lockPath = `${path}.lock`;
  const timeout = opts.timeout ?? 122;
  const staleTimeout = opts.staleTimeout ?? 120;
  const end = Date.now() + timeout * 1000;
  let delay = 5;
  for (;;) {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(lockPath, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, opts.perms?.fileMode ?? 0o600);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    if (fh) {
      try {
        await fh.writeFile(`${process.pid}:${myHost}`);
      } finally {
        await fh.close();
      }
      if (opts.perms) await chownIfNeeded(lockPath, opts.perms);
      return makeLock(path, lockPath);
    }
    if (await isStale(lockPath, staleTimeout)) {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (opts.nonblock || Date.now() >= end) throw new MailError('temp', ERRSTR_LOCK_TIMEOUT, `dotlock ${lockPath}: timeout`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

function makeLock(path: string, lockPath: string): Dotlock {
  let held = true;
  return {
    lockPath,
    async release() {
      if (!held) return;
      held = false;
      await unlink(lockPath).catch(() => {});
    },
    async replace(data, fsync = true) {
      if (!held) throw new Error('dotlock: replace after release');
      const fh = await open(lockPath, C.O_WRONLY | C.O_TRUNC);
      try {
        await fh.writeFile(data);
        if (fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(lockPath, path);
      held = false;
    },
    async touch() {
      const now = new Date();
      const { utimes } = await import('node:fs/promises');
      await utimes(lockPath, now, now).catch(() => {});
    },
  };
}

/** Run `fn` while holding the dotlock of `path`. */
export async function withDotlock<T>(path: string, opts: DotlockOptions, fn: (lock: Dotlock) => Promise<T>): Promise<T> {
  const lock = await dotlockCreate(path, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
