/**
 * delivery/virtual/mailbox.ts: writing one message into a Maildir or an
 * mbox file the way virtual(8) and local(8) do (virtual/maildir.c,
 * virtual/mailbox.c, global/mbox_open.c, util/dot_lockfile.c).
 *
 * Maildir: write tmp/TIME.PPID.HOST (O_EXCL, mode 0600, fsync), link it to
 * new/TIME.VdevIinodeMusec.HOST and unlink the tmp name; missing tmp/,
 * new/ and cur/ are created (0700). HOST is the machine's host name with
 * '/' and ':' replaced (\057, \072), as in the Maildir spec.
 * mbox: append under a dot-lock (PATH.lock); on a write error the file is
 * cut back to its old length. File-system errors become Postfix's texts
 * ("create maildir file %s: %m", "delivery failed to mailbox %s: ...").
 * When the process runs as root, created files and directories are given
 * to the recipient's uid/gid (Postfix writes as that user instead).
 */
import { constants } from 'node:fs';
import { chown, link, mkdir, open, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { strerror } from '../../util/strerror.js';
import { mboxDsn } from '../dsn-util.js';

export interface MailboxOwner {
  uid: number;
  gid: number;
}

export interface WriteResult {
  ok: boolean;
  status?: string;
  /** Error text (without the "maildir delivery failed: " prefix). */
  reason?: string;
  code?: string;
  /** The new file (Maildir) or the mailbox (mbox). */
  path?: string;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** get_hostname() as the Maildir spec wants it. */
export function maildirHostname(): string {
  return hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');
}

let tmpCounter = 0;

async function makeDirs(path: string, owner: MailboxOwner | undefined): Promise<void> {
  const made = await mkdir(path, { recursive: true, mode: 0o700 });
  if (made && owner && isRoot()) {
    // chown every directory mkdir created, from the first one down.
    let p = path;
    const list: string[] = [];
    while (p.length >= made.length) {
      list.unshift(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
    for (const d of list) await chown(d, owner.uid, owner.gid).catch(() => {});
  }
}

/** deliver_maildir(): `dir` ends in '/'. */
export async function writeMaildir(
  dir: string,
  data: Buffer,
  owner: MailboxOwner | undefined,
  now: { sec: number; usec: number },
  sizeLimit = 0,
): Promise<WriteResult> {
  const host = maildirHostname();
  const tmpdir = `${dir}tmp/`;
  const newdir = `${dir}new/`;
  const curdir = `${dir}cur/`;
  // Postfix's tmp name is unique per process; ours adds a counter (one process, many deliveries).
  const tmpfile = `${tmpdir}${now.sec}.P${process.pid}Q${++tmpCounter}.${host}`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(tmpfile, flags, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { ok: false, status: mboxDsn(code, '4.2.0'), reason: `create maildir file ${tmpfile}: ${strerror(err)}`, code };
    try {
      await makeDirs(tmpdir, owner);
      fh = await open(tmpfile, flags, 0o600);
    } catch (err2) {
      const c2 = (err2 as NodeJS.ErrnoException).code;
      return { ok: false, status: mboxDsn(c2, '4.2.0'), reason: `create maildir file ${tmpfile}: ${strerror(err2)}`, code: c2 };
    }
  }
  let newfile = '';
  try {
    const st = await fh.stat({ bigint: true });
    newfile = `${newdir}${now.sec}.V${st.dev.toString(16)}I${st.ino.toString(16)}M${now.usec}.${host}`;
    if (owner && isRoot()) await fh.chown(owner.uid, owner.gid).catch(() => {});
    if (sizeLimit > 0 && data.length > sizeLimit) {
      const e = new Error('File too large') as NodeJS.ErrnoException;
      e.code = 'EFBIG';
      throw e;
    }
    await fh.write(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmpfile).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, status: mboxDsn(code, '5.2.0'), reason: `write ${tmpfile}: ${strerror(err)}`, code };
  }
  await fh.close();
  let result: WriteResult = { ok: true, path: newfile };
  try {
    await link(tmpfile, newfile);
  } catch (err) {
    let failure: unknown = err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        await makeDirs(curdir, owner);
        await makeDirs(newdir, owner);
        await link(tmpfile, newfile);
        failure = undefined;
      } catch (err2) {
        failure = err2;
      }
    }
    if (failure !== undefined) {
      const code = (failure as NodeJS.ErrnoException).code;
      result = { ok: false, status: mboxDsn(code, '4.2.0'), reason: `create maildir file ${newfile}: ${strerror(failure)}`, code };
    }
  }
  await unlink(tmpfile).catch(() => {});
  return result;
}

/** dot_lockfile(): create PATH.lock exclusively, retrying for a while; stale locks (> 500 s) are removed. */
async function dotLock(path: string): Promise<string | undefined> {
  const lock = `${path}.lock`;
  for (let i = 0; i < 50; i++) {
    try {
      const fh = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0);
      await fh.close();
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') return `cannot create lock file ${lock}: ${strerror(err)}`;
      try {
        const st = await stat(lock);
        if (Date.now() - st.mtimeMs > 500_000) await unlink(lock).catch(() => {});
      } catch {
        /* gone meanwhile */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return `unable to lock ${path}: file exists`;
}

/** deliver_mailbox_file(): append to an mbox file. */
export async function writeMbox(path: string, data: Buffer, owner: MailboxOwner | undefined, sizeLimit = 0): Promise<WriteResult> {
  const lockErr = await dotLock(path).catch((e: Error) => e.message);
  if (lockErr) return { ok: false, status: '4.2.0', reason: lockErr };
  try {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, status: mboxDsn(code, '5.2.0'), reason: `cannot open file: ${strerror(err)}`, code };
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        return { ok: false, status: '5.3.5', reason: 'mail system configuration error', code: 'NOTREG' };
      }
      if (owner && isRoot() && st.size === 0) await fh.chown(owner.uid, owner.gid).catch(() => {});
      const orig = st.size;
      try {
        if (sizeLimit > 0 && orig + data.length > sizeLimit) {
          const e = new Error('File too large') as NodeJS.ErrnoException;
          e.code = 'EFBIG';
          throw e;
        }
        await fh.write(data);
        await fh.sync();
      } catch (err) {
        await fh.truncate(orig).catch(() => {});
        const code = (err as NodeJS.ErrnoException).code;
        return { ok: false, status: mboxDsn(code, '5.2.0'), reason: `error writing message: ${strerror(err)}`, code };
      }
      return { ok: true, path };
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(`${path}.lock`).catch(() => {});
  }
}
