/**
 * queue/trigger.ts: mail_trigger(): wake a service that watches a queue
 * ("public/qmgr" after cleanup queued a message, "public/pickup" after
 * postdrop wrote a maildrop file) by writing one request byte to its
 * endpoint: a FIFO (Postfix's default for qmgr and pickup), or a unix
 * stream socket. A missing endpoint is reported as Postfix words it
 * ("unable to look up public/qmgr: No such file or directory"); a service
 * that is not listening is not an error: the periodic scan picks the mail
 * up.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { strerror } from '../util/strerror.js';

/** TRIGGER_REQ_WAKEUP. */
export const TRIGGER_WAKEUP = 'W';

/**
 * Returns a warning text when the service could not be found, else
 * undefined. `request` is the byte to send (qmgr also reads 'D', 'I', 'A', 'F').
 */
export async function mailTrigger(
  queueDir: string,
  cls: 'public' | 'private',
  service: string,
  request = TRIGGER_WAKEUP,
): Promise<string | undefined> {
  return (await mailTriggerRequest(queueDir, cls, service, request)).warning;
}

/**
 * mail_trigger() with its status: ok is false when the endpoint is missing
 * (warning set, as Postfix logs it), is neither a socket nor a FIFO, or
 * nobody listens (no warning: fifo_trigger/unix_trigger are silent then).
 * postqueue -f turns that into "mail system is down".
 */
export async function mailTriggerRequest(
  queueDir: string,
  cls: 'public' | 'private',
  service: string,
  request: string,
): Promise<{ ok: boolean; warning?: string }> {
  const rel = `${cls}/${service}`;
  const path = join(queueDir, rel);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    return { ok: false, warning: `unable to look up ${rel}: ${strerror(err)}` };
  }
  try {
    if (st.isFIFO()) {
      const fh = await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        await fh.write(request);
      } finally {
        await fh.close();
      }
      return { ok: true };
    }
    if (st.isSocket()) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(path);
        let connected = false;
        const done = () => {
          s.destroy();
          resolve(connected);
        };
        s.setTimeout(1000, done);
        s.on('error', done);
        s.on('connect', () => {
          connected = true;
          s.end(request, done);
        });
      });
      return { ok };
    }
    return { ok: false, warning: `${rel} is not a socket or a fifo` };
  } catch {
    return { ok: false };
  }
}
