/**
 * storage/uidvalidity.ts: the next UIDVALIDITY for a new mailbox
 * (lib-storage/mailbox-uidvalidity.c). The mail root holds
 * `dovecot-uidvalidity` (8 lower-case hex digits, no newline) and an empty
 * read-only marker `dovecot-uidvalidity.<hex>`; taking a value renames the
 * marker from the current value to the next one, so two processes never
 * get the same value. With no file, the first value is the current time.
 */
import { open, readdir, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode } from './errors.js';
import { createExclusive, mkdirParents, type Perms, unlinkIfExists } from './fs-util.js';

export const UIDVALIDITY_FILE = 'dovecot-uidvalidity';

let fallbackValue = 0;
function fallback(): number {
  const now = Math.floor(Date.now() / 1000);
  if (fallbackValue < now) fallbackValue = now;
  else fallbackValue++;
  if (fallbackValue === 0) fallbackValue = 1;
  return fallbackValue >>> 0;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

async function writeValue(path: string, value: number, perms: Perms): Promise<void> {
  try {
    const fh = await open(path, 'r+').catch(async (e) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
      await createExclusive(path, '', perms, perms.fileMode);
      return open(path, 'r+');
    });
    try {
      await fh.write(hex8(value), 0, 'latin1');
    } finally {
      await fh.close();
    }
  } catch {
    // Dovecot only logs a failure here
  }
}

/** Rename <path>.<cur> → <path>.<cur+1> (retrying on races); returns the value taken. */
async function bump(path: string, cur: number): Promise<number | undefined> {
  let v = cur;
  for (let i = 0; i < 10; i++) {
    const src = `${path}.${hex8(v)}`;
    v = (v + 1) >>> 0;
    if (v === 0) v = 1;
    try {
      await rename(src, `${path}.${hex8(v)}`);
      return v;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') return undefined;
    }
  }
  return undefined;
}

async function rescan(path: string, perms: Perms): Promise<number> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') return fallback();
    await mkdirParents(dir, perms);
    names = [];
  }
  let max = 0;
  let min = 0xffffffff;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const h = n.slice(prefix.length);
    if (!/^[0-9a-fA-F]{1,8}$/.test(h)) continue;
    const v = Number.parseInt(h, 16);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max === 0) {
    let v = fallback();
    for (let i = 0; i < 10; i++) {
      if (await createExclusive(`${path}.${hex8(v)}`, '', perms, 0o444).catch(() => false)) break;
      v = fallback();
    }
    await writeValue(path, v, perms);
    return v;
  }
  if (min !== max) await unlinkIfExists(`${path}.${hex8(min)}`).catch(() => {});
  const v = await bump(path, max);
  if (v === undefined) return fallback();
  await writeValue(path, v, perms);
  return v;
}

/** mailbox_uidvalidity_next(): a fresh UIDVALIDITY from `<root>/dovecot-uidvalidity`. */
export async function nextUidValidity(root: string, perms: Perms): Promise<number> {
  const path = join(root, UIDVALIDITY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') return rescan(path, perms);
    return rescan(path, perms);
  }
  const t = text.slice(0, 8);
  const cur = /^[0-9a-fA-F]+$/.test(t) ? Number.parseInt(t, 16) : 0;
  if (cur === 0) return rescan(path, perms);
  const v = await bump(path, cur);
  if (v === undefined) return rescan(path, perms);
  await writeValue(path, v, perms);
  return v;
}

