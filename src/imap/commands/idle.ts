/**
 * imap/commands/idle.ts: IDLE (RFC 2177): "+ idling", then mailbox changes
 * (the storage's onChange: our own writes, LMTP, other processes) are sent
 * as they happen, "* OK Still here" every imap_idle_notify_interval, until
 * DONE ("OK Idle completed.") or anything else ("BAD Expected DONE.").
 */
import { TOO_LONG } from '../parser/input.js';
import type { ImapSession } from '../session.js';
import { TaggedReply } from './types.js';

const NOTIFY_DELAY_MS = 500;

export async function cmdIdle(s: ImapSession): Promise<string> {
  s.out.line('+ idling');
  s.out.uncork();
  const sel = s.selected;
  let busy = false;
  let again = false;
  const update = async () => {
    if (!sel || s.selected !== sel) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await sel.sync();
        sel.announce(s.out, { expunges: true, condstore: s.condstore });
      } while (again);
    } catch (e) {
      s.logError(`IDLE sync: ${(e as Error).message}`);
    } finally {
      busy = false;
    }
  };
  // lib-storage mailbox-watch.c: changes are looked at 500 ms after the first notification
  let delay: NodeJS.Timeout | undefined;
  const unsub = sel?.box.onChange(() => {
    if (delay) return;
    delay = setTimeout(() => {
      delay = undefined;
      void update();
    }, NOTIFY_DELAY_MS);
  });
  const keepalive = setInterval(() => s.out.line('* OK Still here'), s.settings.idleNotifyInterval * 1000);
  keepalive.unref?.();
  try {
    const line = await s.input.readLine(s.settings.maxLineLength);
    if (line === undefined || line === TOO_LONG) {
      s.closed = true;
      s.logDisconnect('Connection closed (IDLE running)');
      return '';
    }
    if (line.toString('latin1').toUpperCase() !== 'DONE') throw new TaggedReply('BAD Expected DONE.');
  } finally {
    clearInterval(keepalive);
    if (delay) clearTimeout(delay);
    unsub?.();
  }
  return 'OK Idle completed.';
}
