/**
 * flush/client.ts: the flush(8) client side (flush_clnt.c over
 * mail_command_client.c): connect to public/$flush_service_name, expect
 * the server's "protocol=queue_flush_protocol" announcement, send one
 * request as attr_print0 attributes, read back "status". Any failure is
 * status -1 (FLUSH_STAT_FAIL) with Postfix's warning ("connect to
 * public/flush: Connection refused").
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { attrPrint0, attrScan0 } from '../queue/attr0.js';
import { strerror } from '../util/strerror.js';
import { FlushStat } from './logfile.js';

export const FLUSH_PROTOCOL = 'queue_flush_protocol';

/** Seconds to wait for the server (ipc_timeout). */
const IPC_TIMEOUT_MS = 3600_000;

/**
 * mail_command_client(): returns the server's status, or -1. `queueDir`
 * may be '.' when the caller has already chdir()ed to the queue.
 */
export function mailCommandClient(
  queueDir: string,
  cls: 'public' | 'private',
  service: string,
  proto: string,
  attrs: ReadonlyArray<[string, string | number]>,
  warn: (text: string) => void,
): Promise<number> {
  const rel = `${cls}/${service}`;
  return new Promise((resolve) => {
    const sock = connect(join(queueDir, rel));
    let buf = Buffer.alloc(0);
    let stage: 'connect' | 'proto' | 'status' = 'connect';
    let settled = false;
    const finish = (status: number, why?: string) => {
      if (settled) return;
      settled = true;
      if (why) warn(why);
      sock.destroy();
      resolve(status);
    };
    sock.setTimeout(IPC_TIMEOUT_MS, () => finish(FlushStat.FAIL, `read ${rel}: Connection timed out`));
    sock.on('error', (err) => {
      if (stage === 'connect') finish(FlushStat.FAIL, `connect to ${rel}: ${strerror(err)}`);
      else finish(FlushStat.FAIL, `${stage === 'proto' ? 'read' : 'write/read'} ${rel}: ${strerror(err)}`);
    });
    sock.on('connect', () => {
      stage = 'proto';
    });
    sock.on('end', () => finish(FlushStat.FAIL, `${stage === 'proto' ? 'read' : 'write/read'} ${rel}: Success`));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const got = attrScan0(buf);
        if (!got) return;
        buf = buf.subarray(got.end);
        if (stage === 'proto') {
          if (got.attrs.get('protocol') !== proto) return finish(FlushStat.FAIL, `read ${rel}: Success`);
          stage = 'status';
          sock.write(attrPrint0(attrs));
        } else {
          const v = got.attrs.get('status');
          if (v === undefined || !/^\d+$/.test(v)) return finish(FlushStat.FAIL, `write/read ${rel}: Success`);
          return finish(Number(v) | 0);
        }
      }
    });
  });
}

/** flush_send_site(): the caller has checked fast_flush_domains. */
export function flushSendSiteRequest(queueDir: string, service: string, site: string, warn: (t: string) => void) {
  return mailCommandClient(queueDir, 'public', service, FLUSH_PROTOCOL, [['request', 'send_site'], ['site', site]], warn);
}

/** flush_send_file(). */
export function flushSendFileRequest(queueDir: string, service: string, queueId: string, warn: (t: string) => void) {
  return mailCommandClient(queueDir, 'public', service, FLUSH_PROTOCOL, [['request', 'send_file'], ['queue_id', queueId]], warn);
}
