/**
 * queue/fsync.ts: make a directory entry durable (fsync the directory), with
 * group commit: callers that ask for the same directory while a sync is
 * still waiting to start share it, so N concurrent messages cost one
 * directory fsync instead of N. A caller's promise resolves only after a
 * sync that started after its own rename/create, so nobody is told "done"
 * early.
 */
import { open } from 'node:fs/promises';

interface Pending {
  promise: Promise<void>;
  started: boolean;
}

const pending = new Map<string, Pending>();

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync(dir) after everything the caller did to it so far. */
export function fsyncDir(dir: string): Promise<void> {
  const cur = pending.get(dir);
  if (cur && !cur.started) return cur.promise;
  const entry: Pending = { promise: Promise.resolve(), started: false };
  entry.promise = new Promise<void>((resolve, reject) => {
    setImmediate(() => {
      entry.started = true;
      if (pending.get(dir) === entry) pending.delete(dir);
      syncDir(dir).then(resolve, reject);
    });
  });
  pending.set(dir, entry);
  return entry.promise;
}
