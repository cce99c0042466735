/**
 * storage/fs-util.ts: the file-system primitives the mail store uses, with
 * Dovecot's permissions (dirs 0700, files 0600 unless the parent says
 * otherwise) and ownership: when Postern runs as root, everything it creates
 * for a user is chowned to the user's uid/gid, as a Dovecot process that has
 * dropped privileges would have created it.
 *
 * Durability: `writeFileDurable` writes, fsyncs and renames; `fsyncDir`
 * (shared with the queue) makes the directory entry durable.
 */
import { constants as C } from 'node:fs';
import { chown, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from './errors.js';

export { fsyncDir } from '../queue/fsync.js';

/** Who owns what we create and with which modes (struct mailbox_permissions). */
export interface Perms {
  uid?: number;
  gid?: number;
  fileMode: number;
  dirMode: number;
}

export const DEFAULT_PERMS: Perms = { fileMode: 0o600, dirMode: 0o700 };

const isRoot = (): boolean => process.getuid?.() === 0;

/** chown to the mail user when we are root and the owner is known. */
export async function chownIfNeeded(path: string, perms: Perms): Promise<void> {
  if (!isRoot() || (perms.uid === undefined && perms.gid === undefined)) return;
  await chown(path, perms.uid ?? -1, perms.gid ?? -1);
}

/** mkdir -p with `perms.dirMode` and ownership for every directory created. */
export async function mkdirParents(path: string, perms: Perms): Promise<void> {
  try {
    await mkdir(path, { mode: perms.dirMode });
    await chownIfNeeded(path, perms);
    return;
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw e;
  }
  const parent = dirname(path);
  if (parent === path) return;
  await mkdirParents(parent, perms);
  try {
    await mkdir(path, { mode: perms.dirMode });
    await chownIfNeeded(path, perms);
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
  }
}

/** Create (O_EXCL) a file with content, owned by the user; false if it exists. */
export async function createExclusive(path: string, data: string | Buffer, perms: Perms, mode = perms.fileMode): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    if (isRoot() && (perms.uid !== undefined || perms.gid !== undefined)) await fh.chown(perms.uid ?? -1, perms.gid ?? -1);
    if (data.length > 0) await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  return true;
}

/** Write `path` atomically: temp file in the same dir, fsync, rename over. */
export async function writeFileDurable(path: string, data: string | Buffer, perms: Perms, opts: { fsync?: boolean; tempName?: string } = {}): Promise<void> {
  const temp = opts.tempName ?? `${path}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(temp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, perms.fileMode);
  try {
    if (isRoot() && (perms.uid !== undefined || perms.gid !== undefined)) await fh.chown(perms.uid ?? -1, perms.gid ?? -1);
    await fh.writeFile(data);
    if (opts.fsync !== false) await fh.datasync();
  } catch (e) {
    await fh.close();
    await unlink(temp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw e;
  }
}

/** stat, or undefined for ENOENT/ENOTDIR. */
export async function statOrUndef(path: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** unlink, ignoring ENOENT; true if something was removed. */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** link(), reporting EEXIST as false. */
export async function linkNoReplace(src: string, dest: string): Promise<boolean> {
  try {
    await link(src, dest);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  }
}

/** Read permissions from an existing directory (mailbox_list_get_root_permissions, simplified). */
export async function permsFromDir(dir: string, fallback: Perms): Promise<Perms> {
  const st = await statOrUndef(dir);
  if (!st) return fallback;
  const dirMode = st.mode & 0o7777;
  // Dovecot: file mode = dir mode without the x bits (0700 → 0600, 0770 → 0660)
  const fileMode = dirMode & 0o666;
  return { ...fallback, dirMode, fileMode, uid: fallback.uid ?? st.uid, gid: fallback.gid ?? st.gid };
}
