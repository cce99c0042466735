/**
 * pickup/pickup.ts: pick up mail from the maildrop directory and feed it to
 * cleanup (src/pickup/pickup.c).
 *
 * For each complete maildrop file (mail_open_ok: regular, owner bits rwx,
 * name is a queue ID): copy its envelope records (a T record from the file
 * time when the file has none; FILTER and REDIRECT records dropped), log
 * "ID: uid=U from=<sender>" (with " orig_id=OLD" for mail requeued by
 * postsuper -r), prepend
 *   Received: by $myhostname ($mail_name, from userid U)
 *   	id ID; <date of the file>
 * copy the content records (an empty line first when the content starts
 * with white space), then the extracted records (only recipient and DSN
 * records survive), and finish. The file is removed when cleanup queued it,
 * or when it can never succeed (malformed, no sender, no recipients);
 * otherwise it stays for the next scan.
 */
import { lstat, readdir, readFile, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { strerror } from '../util/strerror.js';
import { mailDate } from '../queue/dates.js';
import { Queue } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { logicalRecords } from '../queue/reader.js';
import { inSet, REC_EOF, REC_ERROR, Rec, REC_TYPE_CONTENT, REC_TYPE_ENVELOPE, REC_TYPE_EXTRACT, recAttrMap, splitAttr } from '../queue/record.js';
import { CleanupFlag, CleanupStat } from '../cleanup/types.js';
import type { PosternCleanupService, PosternCleanupSession } from '../cleanup/service.js';
import { cleanupStrerror } from '../cleanup/strerror.js';
import { STAT_MASK_CANT_BOUNCE } from '../cleanup/state.js';

export interface PickupLog {
  info(text: string): void;
  warn(text: string): void;
}

export interface PickupOptions {
  queueDir: string;
  cleanup: PosternCleanupService;
  log: PickupLog;
  myhostname: string;
  mailName: string;
  lineLimit: number;
  /** content_filter. */
  filter: string;
  /** receive_override_options. */
  receiveOverride: string;
  /** uid of mail_owner (requeued mail detection), if known. */
  ownerUid?: number;
  smtputf8Autodetect: boolean;
}

type Outcome = 'remove' | 'keep';

/** input_transp_cleanup(): receive_override_options applied to cleanup flags. */
export function inputTranspFlags(flags: number, override: string): number {
  let f = flags;
  for (const w of override.toLowerCase().split(/[\s,]+/)) {
    if (w === 'no_address_mappings') f &= ~(CleanupFlag.MAP_OK | CleanupFlag.BCC_OK);
    else if (w === 'no_header_body_checks') f &= ~CleanupFlag.FILTER;
    else if (w === 'no_milters') f &= ~CleanupFlag.MILTER;
  }
  return f;
}

async function pickupFile(opts: PickupOptions, path: string, rel: string, st: Stats): Promise<Outcome> {
  const { log } = opts;
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') log.warn(`open input file ${rel}: ${strerror(err)}`);
    return code === 'EACCES' ? 'keep' : 'remove';
  }
  const requeued = opts.ownerUid !== undefined && st.uid === opts.ownerUid && (st.mode & 0o004) === 0;
  let flags = inputTranspFlags(
    CleanupFlag.BOUNCE | CleanupFlag.FILTER | CleanupFlag.MILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK,
    opts.receiveOverride,
  );
  if (requeued) flags &= ~CleanupFlag.MILTER;
  else if (opts.smtputf8Autodetect) flags |= CleanupFlag.AUTOUTF8;
  let session: PosternCleanupSession;
  try {
    session = await opts.cleanup.open(flags);
  } catch (err) {
    log.warn(`${rel}: cleanup: ${strerror(err)}`);
    return 'keep';
  }
  const id = session.queueId;
  const mtime = Math.floor(st.mtimeMs / 1000);
  const records = logicalRecords(buf, 0, opts.lineLimit);
  let sender: string | undefined;
  const readError = async (type: number): Promise<Outcome> => {
    log.warn(`uid=${st.uid}: unexpected or malformed record type ${type}`);
    await session.abort();
    return 'remove';
  };
  /** copy_segment(): records of one group, up to (not including) its terminator. */
  const copy = async (expected: string): Promise<Outcome | undefined> => {
    let checkFirst = expected === REC_TYPE_CONTENT;
    let timeSeen = false;
    for (;;) {
      const n = records.next();
      const r = n.done ? { type: REC_EOF, data: '' } : n.value;
      if (r.type < 0 || r.type === REC_ERROR || !inSet(expected, r.type)) return readError(r.type);
      if (r.type === expected.charCodeAt(0)) return undefined;
      if (r.type === Rec.FROM) {
        sender ??= r.data;
        if (!timeSeen) session.putRecord(Rec.TIME, String(mtime));
      }
      if (r.type === Rec.TIME) timeSeen = true;
      if (expected !== REC_TYPE_CONTENT && (r.type === Rec.FILT || r.type === Rec.RDR)) continue;
      if (expected === REC_TYPE_EXTRACT) {
        if (r.type === Rec.RRTO || r.type === Rec.ERTO) continue;
        if (r.type === Rec.ATTR) {
          const nv = splitAttr(r.data);
          if (typeof nv !== 'string' && recAttrMap(nv[0]) === 0) continue;
        }
      }
      if (checkFirst && (r.type === Rec.NORM || r.type === Rec.CONT)) {
        checkFirst = false;
        if (r.data.length > 0 && (r.data[0] === ' ' || r.data[0] === '\t')) session.putRecord(Rec.NORM, '');
      }
      session.putRecord(r.type, r.data);
    }
  };

  const now = Math.floor(Date.now() / 1000);
  if (mtime > now + 2 * 3600) log.warn(`${id}: message dated ${mtime - now} seconds into the future`);
  else if (mtime < now - 86400) log.warn(`${id}: message has been queued for ${Math.floor((now - mtime) / 86400)} days`);
  if (opts.filter !== '') session.putRecord(Rec.FILT, opts.filter);
  let o = await copy(REC_TYPE_ENVELOPE);
  if (o) return o;
  if (sender === undefined) {
    log.warn(`${id}: uid=${st.uid}: no envelope sender`);
    await session.abort();
    return 'remove';
  }
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  log.info(requeued ? `${id}: uid=${st.uid} from=<${sender}> orig_id=${name}` : `${id}: uid=${st.uid} from=<${sender}>`);
  session.putRecord(Rec.MESG, '');
  session.putRecord(Rec.NORM, `Received: by ${opts.myhostname} (${opts.mailName}, from userid ${st.uid})`);
  session.putRecord(Rec.NORM, `\tid ${id}; ${mailDate(mtime)}`);
  o = await copy(REC_TYPE_CONTENT);
  if (o) return o;
  session.putRecord(Rec.XTRA, '');
  o = await copy(REC_TYPE_EXTRACT);
  if (o) return o;
  session.putRecord(Rec.END, '');
  const result = await session.flush();
  const status = result.status;
  if (status === 0) return 'remove';
  if (!result.reason) log.warn(`${rel}: error writing ${id}: ${cleanupStrerror(status)}`);
  if (status & (CleanupStat.BAD | CleanupStat.RCPT)) return 'remove';
  if ((status & STAT_MASK_CANT_BOUNCE) === 0) {
    // Postfix's cleanup would return this message to the sender and report
    // success; Postern has no bounce service yet, so it says so and drops it.
    log.warn(`${id}: message not returned to sender <${sender}>: ${result.reason ?? cleanupStrerror(status)}`);
    return 'remove';
  }
  return 'keep';
}

/** pickup_service(): scan maildrop until a pass removes nothing. Returns the files queued. */
export async function pickupScan(opts: PickupOptions): Promise<number> {
  const dir = join(opts.queueDir, Queue.MAILDROP);
  let total = 0;
  for (;;) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      opts.log.warn(`scan_dir_open: open directory ${Queue.MAILDROP}: ${strerror(err)}`);
      return total;
    }
    let removed = 0;
    for (const id of names) {
      if (!queueIdOk(id)) continue;
      const path = join(dir, id);
      let st: Stats;
      try {
        st = await lstat(path);
      } catch {
        continue;
      }
      if (!st.isFile()) {
        opts.log.warn(`${Queue.MAILDROP}/${id}: uid ${st.uid}: not a regular file`);
        continue;
      }
      if ((st.mode & 0o700) !== 0o700) continue;
      if ((await pickupFile(opts, path, `${Queue.MAILDROP}/${id}`, st)) === 'remove') {
        try {
          await unlink(path);
          removed++;
          total++;
        } catch (err) {
          opts.log.warn(`remove ${Queue.MAILDROP}/${id}: ${strerror(err)}`);
        }
      }
    }
    if (removed === 0) return total;
  }
}
