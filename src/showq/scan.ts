/**
 * showq/scan.ts: walk a queue directory as Postfix's scan_dir.c and
 * mail_scan_dir.c do: entries in readdir(3) order (opendir, not the sorted
 * readdir of libuv's scandir), "." and ".." skipped, and for hashed queues
 * every one-character name is a subdirectory to descend into.
 */
import { opendirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * scan_dir_next() over one directory: names in readdir order. A directory
 * that cannot be opened gives [] or, with `onError`, whatever it does
 * (postsuper: scan_dir_push's fatal error).
 */
export function readdirOrder(dir: string, onError?: (err: unknown) => void): string[] {
  let d: import('node:fs').Dir;
  try {
    d = opendirSync(dir);
  } catch (err) {
    onError?.(err);
    return [];
  }
  const names: string[] = [];
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name);
  } finally {
    d.closeSync();
  }
  return names;
}

/**
 * Queue IDs under `queueDir`. `recursive`: mail_scan_dir_next() (one-letter
 * names are hash subdirectories); otherwise scan_dir_next() (flat, maildrop).
 */
export function* scanQueue(queueDir: string, recursive: boolean): Generator<string> {
  for (const name of readdirOrder(queueDir)) {
    if (recursive && name.length === 1) {
      yield* scanQueue(join(queueDir, name), true);
    } else {
      yield name;
    }
  }
}
