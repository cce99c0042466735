/**
 * pop3/session-lock.ts: pop3_lock_session (pop3-client.c pop3_lock_session):
 * one POP3 session per mailbox, held by the dotlock file
 * dovecot-pop3-session.lock (no extra suffix) in the INBOX storage's
 * index/control/root directory, "pid:host" inside, refreshed while the
 * session lasts, stale after 5 minutes unchanged or when its pid on this
 * host is gone: the same file a real Dovecot's pop3 respects.
 */
import { open, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const POP3_LOCK_FNAME = 'dovecot-pop3-session.lock';
const STALE_SECS = 5 * 60;

export interface SessionLock {
  release(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

async function stale(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (Date.now() - st.mtimeMs > STALE_SECS * 1000) return true;
    const fh = await open(path, 'r');
    const text = (await fh.readFile('utf8')).trim();
    await fh.close();
    const m = /^(\d+):(.*)$/.exec(text);
    return !!m && m[2] === hostname() && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
  } catch {
    return false;
  }
}

/** How long a session waits for the lock (pop3-client.c session_dotlock_set.timeout). */
const LOCK_WAIT_SECS = 10;

/** Take the lock, waiting up to 10 s: the lock, or undefined when another session kept it. Throws on I/O errors. */
export async function lockPop3Session(dir: string, uid?: number, gid?: number, waitSecs = LOCK_WAIT_SECS): Promise<SessionLock | undefined> {
  const path = join(dir, POP3_LOCK_FNAME);
  const end = Date.now() + waitSecs * 1000;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}:${hostname()}`);
      if (uid !== undefined && gid !== undefined) await fh.chown(uid, gid).catch(() => {});
      await fh.close();
      const timer = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => {});
      }, (STALE_SECS / 2) * 1000);
      timer.unref();
      return {
        release: async () => {
          clearInterval(timer);
          await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      if (await stale(path)) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (Date.now() >= end) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
