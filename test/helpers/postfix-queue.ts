/**
 * test/helpers/postfix-queue.ts: throw-away Postfix instances for queue
 * tests: a config directory and queue_directory under a temp dir, for the
 * real Postfix (started with only pickup, cleanup, trivial-rewrite and
 * postlogd, so mail stays in incoming/ for inspection) and for Postern
 * (same main.cf, its own queue). Plus helpers to compare postcat output of
 * two queue files that differ only in queue ID and times.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureQueueDirs } from '../../src/queue/layout.js';

export interface Instance {
  root: string;
  etc: string;
  spool: string;
  maillog: string;
}

/** A config and queue under `root`; `real` instances get Postfix ownerships. */
export function makeInstance(root: string, extraMain = '', real = false): Instance {
  const etc = join(root, 'etc');
  const spool = join(root, 'spool');
  const data = join(root, 'data');
  mkdirSync(etc, { recursive: true });
  mkdirSync(data, { recursive: true });
  const maillog = join(root, 'maillog');
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${spool}
data_directory = ${data}
myhostname = mx.example.test
mydomain = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file_prefixes = ${root.split('/').slice(0, 2).join('/')}
maillog_file = ${maillog}
${extraMain}`,
  );
  writeFileSync(
    join(etc, 'master.cf'),
    `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
postlog   unix-dgram n  -       n       -       1       postlogd
`,
  );
  if (real) {
    // The postfix user must reach the queue (mkdtemp makes 0700 directories).
    chmodSync(dirname(root), 0o755);
    chmodSync(root, 0o755);
    mkdirSync(spool, { recursive: true });
    spawnSync('chown', ['-R', 'postfix', spool, data]);
    spawnSync('/usr/sbin/postfix', ['-c', etc, 'check'], { env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
  } else {
    ensureQueueDirs(spool);
  }
  return { root, etc, spool, maillog };
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/bin', TZ: 'UTC' };

export function startReal(inst: Instance): void {
  const r = spawnSync('/usr/sbin/postfix', ['-c', inst.etc, 'start'], { env: ENV, encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`postfix start: ${r.stderr}`);
}

export function stopReal(inst: Instance): void {
  spawnSync('/usr/sbin/postfix', ['-c', inst.etc, 'stop'], { env: ENV });
}

export async function waitFor(cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Files of one queue (flat or hashed), newest last. */
export function queueFiles(inst: Instance, queue: string): string[] {
  const dir = join(inst.spool, queue);
  const out: Array<[string, number]> = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push([n, st.mtimeMs]);
    }
  };
  walk(dir);
  return out.sort((a, b) => a[1] - b[1]).map((x) => x[0]);
}

/** Real postcat output (TZ=UTC). */
export function realPostcat(args: string[]): string {
  return execFileSync('postcat', args, { env: ENV, encoding: 'latin1' });
}

/** postcat text with queue ID, times and the offsets that depend on them masked. */
export function normalisePostcat(text: string, id: string): string {
  return text
    .replaceAll(id, 'QID')
    .replace(/(create_time|message_arrival_time): .*/g, '$1: T')
    .replace(/^(message_size:\s+\d+\s+)\d+/m, '$1X')
    .replace(/Message-Id: <\d+\.QID/g, 'Message-Id: <D.QID')
    .replace(/\d\d:\d\d:\d\d/g, 'HH:MM:SS')
    .replace(/[A-Z][a-z][a-z], [ \d]\d [A-Z][a-z][a-z] \d{4}/g, 'DATE');
}
