/**
 * qmgr/scan.ts: list the queue IDs in a queue directory (qmgr_scan.c,
 * scan_dir.c, mail_scan_dir.c): hashed queues (hash_queue_names) are
 * walked into their one-character subdirectories; names that are not
 * valid queue IDs (temporary files "usec.pid", dot files) are skipped.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { queueIdOk } from '../queue/queue-id.js';
import type { QueueLayout } from '../queue/layout.js';

export async function scanQueue(layout: QueueLayout, queueName: string): Promise<string[]> {
  const hashed = layout.hashNames.some((n) => n.toLowerCase() === queueName.toLowerCase());
  const depth = hashed ? Math.max(1, layout.hashDepth) : 0;
  const out: string[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    let names: import('node:fs').Dirent[];
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const d of names) {
      if (d.name.startsWith('.')) continue;
      if (level < depth && d.isDirectory()) {
        if (d.name.length === 1) await walk(join(dir, d.name), level + 1);
        continue;
      }
      if (queueIdOk(d.name)) out.push(d.name);
    }
  };
  await walk(join(layout.dir, queueName), 0);
  return out;
}
