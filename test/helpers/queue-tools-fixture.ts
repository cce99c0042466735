/**
 * test/helpers/queue-tools-fixture.ts: build a throw-away Postfix config
 * and queue_directory from real-made queue files (fixtures/queue/, written
 * by the real Postfix 3.7.11) and real-format defer logs
 * (fixtures/queue-tools/), for the postqueue/mailq/postsuper tests. The
 * spool is chowned to postfix because the real showq and postsuper drop
 * privileges to mail_owner.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ensureQueueDirs, queueLayout, queueRelPath } from '../../src/queue/layout.js';
import { REPO } from './postfix-diff.js';

const QFIX = join(REPO, 'fixtures/queue');
const TFIX = join(REPO, 'fixtures/queue-tools');

export interface QueueTree {
  etc: string;
  spool: string;
}

export interface QueueEntry {
  queue: string;
  id: string;
  /** File under fixtures/queue. */
  from: string;
  mode?: number;
  /** Defer log under fixtures/queue-tools. */
  defer?: string;
  /** Seconds to move the mtime back. */
  age?: number;
}

/** The standard mixed queue (short IDs). */
export const MIXED: QueueEntry[] = [
  { queue: 'maildrop', id: '7D3F2A1B0C', from: 'real-maildrop', mode: 0o744 },
  { queue: 'active', id: '3AB21C0A0E', from: 'real-incoming' },
  { queue: 'incoming', id: '1C2D3E4F50', from: 'real-milter-hold' },
  { queue: 'incoming', id: '2C2D3E4F51', from: 'real-incoming', mode: 0o600 },
  { queue: 'deferred', id: 'A1B2C3D4E5', from: 'real-incoming', defer: 'defer-two-reasons' },
  { queue: 'deferred', id: 'B1B2C3D4E6', from: 'real-incoming', mode: 0o710, defer: 'defer-mixed' },
  { queue: 'deferred', id: 'C1B2C3D4E7', from: 'real-milter-hold' },
  { queue: 'hold', id: '5BC1234567', from: 'real-milter-hold', defer: 'defer-two-reasons' },
  { queue: 'hold', id: 'bad-name', from: 'real-milter-hold' },
];

/** Long queue IDs (enable_long_queue_ids = yes). */
export const LONG: QueueEntry[] = [
  { queue: 'deferred', id: '4jXb3m3nq8zJ99b', from: 'real-longid', defer: 'defer-two-reasons' },
  { queue: 'hold', id: '4jXb445QkMzJ9rR', from: 'real-longid' },
  { queue: 'active', id: '4jXb4P1Xy2zJ9rS', from: 'real-incoming' },
];

export function makeQueueTree(root: string, entries: QueueEntry[], extraMain = ''): QueueTree {
  const etc = join(root, 'etc');
  const spool = join(root, 'spool');
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6\nqueue_directory = ${spool}\ndata_directory = ${join(root, 'data')}\n` +
      `myhostname = mx.example.test\n${extraMain}`,
  );
  ensureQueueDirs(spool);
  const layout = queueLayout(spool);
  for (const e of entries) {
    const path = join(spool, queueRelPath(layout, e.queue, e.id));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    copyFileSync(join(QFIX, e.from), path);
    chmodSync(path, e.mode ?? 0o700);
    if (e.age) {
      const t = new Date(Date.now() - e.age * 1000);
      utimesSync(path, t, t);
    }
    if (e.defer) {
      const log = join(spool, queueRelPath(layout, 'defer', e.id));
      mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
      copyFileSync(join(TFIX, e.defer), log);
      chmodSync(log, 0o600);
    }
  }
  execFileSync('chown', ['-R', 'postfix', spool]);
  return { etc, spool };
}

/** A symlink in a message queue (postsuper removes non-regular files). */
export function addSymlink(tree: QueueTree, rel: string): void {
  symlinkSync('/nonexistent', join(tree.spool, rel));
}

/** Every file under the spool with its permission bits, sorted: "hold/ID 700". */
export function treeListing(tree: QueueTree): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else out.push(`${relative(tree.spool, p)} ${st ? (st.mode & 0o7777).toString(8) : 'dangling'}`);
    }
  };
  walk(tree.spool);
  return out.sort();
}
