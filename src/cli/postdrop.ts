/**
 * cli/postdrop.ts: postdrop(1), the mail posting agent behind sendmail
 * (src/postdrop/postdrop.c): copies a record stream from stdin into a new
 * maildrop file and wakes the pickup service.
 *
 *   postdrop [-rv] [-c config_dir]
 *
 * Protocol (queue/attr0.ts): postdrop first answers
 * "protocol=postdrop, queue_id=ID", reads the client's records up to E
 * (envelope MFSRVAin, content XLN, extracted EAR; T records are replaced by
 * postdrop's own time; only a few A attributes are allowed), then answers
 * "status=N, reason=TEXT" and exits with N.
 *
 * Real Postfix installs postdrop set-group-id postdrop so users can write
 * into the 0730 maildrop directory. Postern cannot run scripts set-gid; it
 * writes the same file with the same modes (0644 while writing, 0744 when
 * complete), so it works for root and for the mail owner, and the files it
 * writes are the files the real postdrop writes.
 */
import { unlinkSync, writeSync } from 'node:fs';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { maillogClientInit } from '../log/client.js';
import { fatal, FatalExit, setVerbose, warn } from '../log/msg.js';
import { getopt } from '../util/getopt.js';
import { strerror } from '../util/strerror.js';
import { attrPrint0 } from '../queue/attr0.js';
import { FdRecordReader } from '../queue/fd-records.js';
import { layoutFromConfig, Queue } from '../queue/layout.js';
import {
  inSet,
  Rec,
  REC_EOF,
  REC_ERROR,
  REC_TYPE_POST_CONTENT,
  REC_TYPE_POST_ENVELOPE,
  REC_TYPE_POST_EXTRACT,
  recAttrMap,
  splitAttr,
} from '../queue/record.js';
import { mailTrigger } from '../queue/trigger.js';
import { now, QueueFileWriter } from '../queue/writer.js';
import { checkUserAcl, currentUid } from '../queue/submit.js';
import { CleanupStat } from '../cleanup/types.js';

function send(buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return; // SIGPIPE is ignored: the client went away
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const g = getopt(argv, 'c:rv');
  let configDir: string | undefined;
  let verbose = 0;
  for (const [o, v] of g.opts) {
    if (o === 'c') {
      configDir = v;
      process.env.MAIL_CONFIG = v;
    } else if (o === 'v' && currentUid() === 0) verbose++;
  }
  if (!g.ok) {
    process.stderr.write(`postdrop: ${g.error}\n`);
    return fatal('usage: postdrop [-c config_dir] [-v]');
  }
  setVerbose(verbose);
  const cfg = loadPostfixConfig({ configDir });
  maillogClientInit(cfg, 'postdrop', { fallback: false });
  const layout = layoutFromConfig(cfg);
  const uid = currentUid();
  const lineLimit = Number.parseInt(cfg.get('line_length_limit'), 10) || 2048;
  const messageLimit = Number.parseInt(cfg.get('message_size_limit'), 10) || 0;
  try {
    process.chdir(layout.dir);
  } catch (err) {
    fatal(`chdir ${layout.dir}: ${strerror(err)}`);
  }
  const who = checkUserAcl(cfg.get('authorized_submit_users'), uid);
  if (who !== undefined) fatal(`User ${who}(${uid}) is not allowed to submit mail`);

  const start = now();
  const dst = await QueueFileWriter.create({
    layout,
    queueName: Queue.MAILDROP,
    longIds: cfg.get('enable_long_queue_ids') === 'yes',
    mode: 0o444,
    sizeLimit: Math.max(messageLimit, 0),
  });
  // Remove the partial file on a fatal error or an interrupt.
  let path: string | undefined = dst.path;
  const cleanup = () => {
    if (path) {
      try {
        unlinkSync(path);
      } catch {
        /* gone */
      }
      path = undefined;
    }
  };
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(1);
    });
  }
  process.on('SIGPIPE', () => {});
  try {
    send(attrPrint0([
      ['protocol', 'postdrop_protocol'],
      ['queue_id', dst.id],
    ]));
    const input = new FdRecordReader(0);
    const segments = [REC_TYPE_POST_ENVELOPE, REC_TYPE_POST_CONTENT, REC_TYPE_POST_EXTRACT, ''];
    let seg = 0;
    let status = 0;
    let fromCount = 0;
    let rcptCount = 0;
    let validate = true;
    dst.put(Rec.TIME, `${start.sec} ${start.usec}`);
    for (;;) {
      const r = input.next(lineLimit);
      if (r.type === REC_EOF) {
        // Request canceled.
        await dst.close();
        cleanup();
        return 0;
      }
      if (r.type === REC_ERROR) {
        warn(`${input.path}: ${r.error}`);
        fatal(`uid=${uid}: malformed input`);
      }
      if (!inSet(segments[seg]!, r.type)) fatal(`uid=${uid}: unexpected record type: ${r.type}`);
      if (r.type === segments[seg]!.charCodeAt(0)) seg++;
      if (r.type === Rec.TIME) continue;
      const data = r.data.toString('latin1');
      if (r.type === Rec.FROM) {
        if (data.includes('\0')) status |= CleanupStat.BAD;
        fromCount++;
      }
      if (r.type === Rec.RCPT) rcptCount++;
      if (r.type === Rec.ATTR) {
        const nv = splitAttr(data);
        if (typeof nv === 'string') {
          warn(`uid=${uid}: ignoring malformed record: ${nv}: ${data.slice(0, 200)}`);
          continue;
        }
        const [n, v] = nv;
        if (
          (n === 'encoding' && (v === '7bit' || v === '8bit' || v === 'none')) ||
          n === 'envelope_id' ||
          n === 'notify_flags' ||
          recAttrMap(n) !== 0 ||
          (n === 'rewrite_context' && (v === 'local' || v === 'remote')) ||
          n === 'trace_flags'
        ) {
          dst.put(Rec.ATTR, `${n}=${v}`);
        } else {
          warn(`uid=${uid}: ignoring attribute record: ${n.slice(0, 200)}=${v.slice(0, 200)}`);
        }
        continue;
      }
      if (status !== 0 || !dst.put(r.type, r.data)) {
        for (;;) {
          const s = input.next(lineLimit);
          if (s.type === Rec.END || s.type === REC_EOF) break;
          if (s.type === REC_ERROR) fatal(`uid=${uid}: malformed input`);
        }
        validate = false;
        if (status === 0) status = dst.error === 'size' ? CleanupStat.SIZE : CleanupStat.WRITE;
        break;
      }
      if (r.type === Rec.END) break;
    }
    if (validate && (fromCount === 0 || rcptCount === 0)) status |= CleanupStat.BAD;
    if (status !== 0) {
      await dst.close();
      cleanup();
    } else {
      try {
        await dst.finish();
      } catch (err) {
        status = dst.error === 'size' ? CleanupStat.SIZE : CleanupStat.WRITE;
        warn(`uid=${uid}: ${(err as Error).message}`);
        cleanup();
      }
    }
    path = undefined;
    if (status === 0) {
      const why = await mailTrigger(layout.dir, 'public', cfg.get('pickup_service_name') || 'pickup');
      if (why) warn(why);
    }
    send(attrPrint0([
      ['status', status],
      ['reason', ''],
    ]));
    return status;
  } catch (err) {
    cleanup();
    if (err instanceof FatalExit) throw err;
    throw err;
  }
}
