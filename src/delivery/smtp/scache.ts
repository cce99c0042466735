/**
 * delivery/smtp/scache.ts: the SMTP/LMTP client's connection cache (the
 * job of scache(8) in Postfix; here the agents run inside qmgr, so one
 * in-process cache is shared by every delivery of a transport).
 *
 * After a successful transaction a session is kept open instead of sent
 * QUIT when the queue manager asked for it (delivery back to back to the
 * same destination: smtp_connection_cache_on_demand) or the destination is
 * in smtp_connection_cache_destinations. It is kept at most
 * smtp_connection_cache_time_limit idle, is not stored again once older
 * than smtp_connection_reuse_time_limit or used
 * smtp_connection_reuse_count_limit times, and is probed with RSET
 * before reuse (smtp_proto.c). Deliveries over a reused session log
 * "conn_use=N".
 */
import type { SmtpConn } from './conn.js';
import type { Destination, Target } from './dest.js';

export interface CachedSession<F> {
  conn: SmtpConn;
  dest: Destination;
  target: Target;
  features: F;
  /** Transactions done on this connection so far. */
  reuseCount: number;
  /** When the connection was made (clock ms). */
  born: number;
}

export class SessionCache<F> {
  private readonly idle = new Map<string, Array<{ s: CachedSession<F>; timer: NodeJS.Timeout }>>();

  /** Keep `s` for `label` at most `idleMs`; then QUIT and close. */
  put(label: string, s: CachedSession<F>, idleMs: number, quit: (conn: SmtpConn) => void): void {
    const list = this.idle.get(label) ?? [];
    const item = {
      s,
      timer: setTimeout(() => {
        const l = this.idle.get(label);
        const i = l?.indexOf(item) ?? -1;
        if (l && i >= 0) l.splice(i, 1);
        if (l && l.length === 0) this.idle.delete(label);
        quit(s.conn);
      }, idleMs),
    };
    item.timer.unref();
    list.push(item);
    this.idle.set(label, list);
  }

  /** The most recently stored session for `label` that is still connected. */
  take(label: string): CachedSession<F> | undefined {
    const list = this.idle.get(label);
    while (list && list.length > 0) {
      const item = list.pop()!;
      clearTimeout(item.timer);
      if (list.length === 0) this.idle.delete(label);
      if (item.s.conn.alive) return item.s;
      item.s.conn.close();
    }
    return undefined;
  }

  /** Agent shutdown: QUIT every idle session. */
  closeAll(quit: (conn: SmtpConn) => void): void {
    for (const list of this.idle.values()) {
      for (const item of list) {
        clearTimeout(item.timer);
        quit(item.s.conn);
      }
    }
    this.idle.clear();
  }
}
