/**
 * storage/notify.ts: change notification for IMAP IDLE and friends. A
 * process-wide registry keyed by mailbox directory: every write Postern
 * makes to a mailbox pokes its listeners at once; while anyone listens,
 * fs.watch on the directory, new/ and cur/ also reports outside writers
 * (a real Dovecot, an MTA's maildrop). Events are coalesced (one call per
 * ~50 ms burst); listeners re-sync to learn what changed.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';

interface Entry {
  listeners: Set<() => void>;
  watchers: FSWatcher[];
  timer?: NodeJS.Timeout;
}

const registry = new Map<string, Entry>();

function fire(dir: string): void {
  const e = registry.get(dir);
  if (!e || e.timer) return;
  e.timer = setTimeout(() => {
    e.timer = undefined;
    for (const l of [...e.listeners]) {
      try {
        l();
      } catch {
        // a listener's failure is its own business
      }
    }
  }, 50);
  e.timer.unref?.();
}

/** Tell listeners of `dir` (a mailbox directory) that it changed. */
export function notifyChanged(dir: string): void {
  fire(dir);
}

/** Listen for changes of a mailbox directory; returns the unsubscribe function. */
export function listen(dir: string, listener: () => void, watchDisk = true): () => void {
  let e = registry.get(dir);
  if (!e) {
    e = { listeners: new Set(), watchers: [] };
    registry.set(dir, e);
    if (watchDisk) {
      for (const d of [dir, join(dir, 'new'), join(dir, 'cur')]) {
        try {
          const w = watch(d, { persistent: false }, () => fire(dir));
          w.on('error', () => {});
          e.watchers.push(w);
        } catch {
          // directory missing or not watchable: our own writes still notify
        }
      }
    }
  }
  e.listeners.add(listener);
  return () => {
    const cur = registry.get(dir);
    if (!cur) return;
    cur.listeners.delete(listener);
    if (cur.listeners.size === 0) {
      for (const w of cur.watchers) w.close();
      if (cur.timer) clearTimeout(cur.timer);
      registry.delete(dir);
    }
  };
}
