/**
 * util/file-watch.ts: watch a set of configuration files (main.cf,
 * master.cf, dovecot.conf, included files, map files) with chokidar and
 * report, after a quiet period, which of them changed. Files that do not
 * exist yet are watched too: creating one counts as a change. An editor's
 * save-by-rename comes out as one change. The set can be replaced (after a
 * reload the list of included files and maps may differ).
 */
import type { FSWatcher } from 'chokidar';

export interface FileWatch {
  /** Replace the watched set; paths must be absolute. */
  setFiles(files: readonly string[]): void;
  close(): Promise<void>;
  /** Resolves once the initial scan is done (changes before that are not reported). */
  readonly ready: Promise<void>;
}

export interface FileWatchOptions {
  /** Quiet time before reporting, in ms (several writes to one file give one report). */
  debounceMs?: number;
  /** Poll instead of inotify (file systems without events); interval in ms. */
  pollMs?: number;
}

export async function watchFiles(
  files: readonly string[],
  onChange: (changed: string[]) => void,
  opts: FileWatchOptions = {},
): Promise<FileWatch> {
  const { watch } = await import('chokidar');
  const debounce = opts.debounceMs ?? 300;
  let current = new Set(files);
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch([...current], {
    ignoreInitial: true,
    persistent: true,
    usePolling: opts.pollMs !== undefined,
    interval: opts.pollMs,
    atomic: true,
  });
  const note = (path: string) => {
    if (!current.has(path)) return;
    pending.add(path);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const changed = [...pending].sort();
      pending.clear();
      onChange(changed);
    }, debounce);
  };
  watcher.on('add', note).on('change', note).on('unlink', note);
  watcher.on('error', () => {
    /* a vanished directory: nothing to report until it comes back */
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    setFiles(next: readonly string[]) {
      const want = new Set(next);
      const gone = [...current].filter((f) => !want.has(f));
      const added = [...want].filter((f) => !current.has(f));
      current = want;
      if (gone.length) watcher.unwatch(gone);
      if (added.length) watcher.add(added);
    },
    async close() {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
