/**
 * util/reload-queue.ts: run a reload at most once at a time. Requests that
 * arrive while one runs (a SIGHUP during a reload, a burst of file changes)
 * are merged into one more run after it, with every reason kept, so that
 * the last change on disk is always the one in force.
 */

export interface ReloadQueue {
  /** Ask for a reload; resolves when a reload that started after this call has finished. */
  request(reason?: string): Promise<void>;
  /** True while a reload runs. */
  readonly busy: boolean;
}

export function createReloadQueue(run: (reasons: string[]) => Promise<void> | void): ReloadQueue {
  let running: Promise<void> | undefined;
  let next: { reasons: string[]; done: Promise<void>; resolve: () => void } | undefined;

  const start = (reasons: string[]): Promise<void> => {
    // run() starts on the next tick, after `running` is set, even if it throws at once.
    const p = Promise.resolve()
      .then(() => run(reasons))
      .finally(() => {
        running = undefined;
        const n = next;
        next = undefined;
        if (n) void start(n.reasons).then(n.resolve, n.resolve);
      });
    running = p;
    return p;
  };

  return {
    get busy() {
      return running !== undefined;
    },
    request(reason?: string): Promise<void> {
      const reasons = reason === undefined ? [] : [reason];
      if (!running) return start(reasons).catch(() => undefined);
      if (!next) {
        let resolve!: () => void;
        const done = new Promise<void>((r) => {
          resolve = r;
        });
        next = { reasons: [], done, resolve };
      }
      for (const r of reasons) if (!next.reasons.includes(r)) next.reasons.push(r);
      return next.done;
    },
  };
}
