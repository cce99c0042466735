/**
 * delivery/log-adhoc.ts: the delivery status line every agent logs
 * (global/log_adhoc.c, util/format_tv.c):
 *
 *   ID: to=<rcpt>, orig_to=<orig>, relay=R, conn_use=N, delay=D,
 *       delays=a/b/c/d, dsn=X.Y.Z, status=sent (reason)
 *
 * orig_to only when set and different (case-insensitively); conn_use only
 * for a reused connection. delay is arrival to now; delays are before the
 * queue manager / in the queue manager / connection setup / transmission.
 * Numbers have two significant digits below 10 s and at most
 * delay_max_res (2) decimals; larger ones are rounded to whole seconds.
 */
import type { Dsn, MsgStats, Recipient, TimeVal } from './types.js';

const MILLION = 1_000_000;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** format_tv(): a time with limited precision. */
export function formatTv(secIn: number, usecIn: number, sigDig = 2, maxDig = 2): string {
  let sec = secIn;
  let usec = usecIn;
  let ures = MILLION / POW10[maxDig]!;
  const wid = POW10[sigDig]!;
  if (ures < MILLION) {
    if (sec > 0) {
      let n = 1;
      while (sec >= n && n <= wid / 10) n *= 10;
      ures = (MILLION / wid) * n;
    } else {
      while (usec >= wid * ures) ures *= 10;
    }
  }
  if (ures > 1) {
    usec += Math.floor(ures / 2);
    if (usec >= MILLION) {
      sec += 1;
      usec -= MILLION;
    }
  }
  let out = String(sec);
  if (usec >= ures) {
    out += '.';
    let rem = usec;
    for (let n = MILLION / 10; rem >= ures && n > 0; n = Math.floor(n / 10)) {
      out += '0123456789'[Math.floor(rem / n)];
      rem %= n;
    }
  }
  return out;
}

interface Delta {
  sec: number;
  usec: number;
}

function delta(y: TimeVal, z: TimeVal): Delta {
  let sec = y.sec - z.sec;
  let usec = y.usec - z.usec;
  while (usec < 0) {
    usec += MILLION;
    sec -= 1;
  }
  while (usec >= MILLION) {
    usec -= MILLION;
    sec += 1;
  }
  if (sec < 0) return { sec: 0, usec: 0 };
  return { sec, usec };
}

/** info_log_addr_form_recipient(): the address as logged (internal form). */
function logAddr(a: string): string {
  return a;
}

/** The text log_adhoc() logs (without the program prefix). */
export function formatAdhoc(
  queueId: string,
  stats: MsgStats,
  rcpt: Recipient,
  relay: string,
  dsn: Dsn,
  status: string,
  now: TimeVal,
  maxRes = 2,
): string {
  let buf = `${queueId}: to=<${logAddr(rcpt.address)}>`;
  if (rcpt.origAddr && rcpt.address.toLowerCase() !== rcpt.origAddr.toLowerCase()) {
    buf += `, orig_to=<${logAddr(rcpt.origAddr)}>`;
  }
  buf += `, relay=${relay}`;
  if (stats.reuseCount > 0) buf += `, conn_use=${stats.reuseCount + 1}`;
  const end = stats.deliverDone && stats.deliverDone.sec > 0 ? stats.deliverDone : now;
  const d = delta(end, stats.incomingArrival);
  let pdelay: Delta;
  let adelay: Delta = { sec: 0, usec: 0 };
  let sdelay: Delta = { sec: 0, usec: 0 };
  let xdelay: Delta = { sec: 0, usec: 0 };
  if (stats.activeArrival.sec > 0) {
    pdelay = delta(stats.activeArrival, stats.incomingArrival);
    if (stats.agentHandoff && stats.agentHandoff.sec > 0) {
      adelay = delta(stats.agentHandoff, stats.activeArrival);
      if (stats.connSetupDone && stats.connSetupDone.sec > 0) {
        sdelay = delta(stats.connSetupDone, stats.agentHandoff);
        xdelay = delta(end, stats.connSetupDone);
      } else {
        xdelay = delta(end, stats.agentHandoff);
      }
    } else {
      adelay = delta(end, stats.activeArrival);
    }
  } else {
    pdelay = delta(end, stats.incomingArrival);
  }
  const f = (x: Delta) => formatTv(x.sec, x.usec, 2, maxRes);
  buf += `, delay=${f(d)}, delays=${f(pdelay)}/${f(adelay)}/${f(sdelay)}/${f(xdelay)}`;
  buf += `, dsn=${dsn.status}, status=${status} (${dsn.reason})`;
  return buf;
}
