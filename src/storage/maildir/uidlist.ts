/**
 * storage/maildir/uidlist.ts: reading and updating a folder's
 * dovecot-uidlist on disk, under Dovecot's locking rules: every change
 * holds `dovecot-uidlist.lock` (a dotlock, 2 min stale timeout) and re-reads
 * the file first, so UIDs are never assigned twice by us and a real Dovecot
 * working on the same Maildir. New records are appended (O_APPEND +
 * fdatasync); the file is recreated (`dovecot-uidlist.tmp` renamed over it)
 * when it is missing or broken, or when at most 75 % of its records are
 * still live (UIDLIST_COMPRESS_PERCENTAGE).
 */
import { constants as C } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Dotlock, dotlockCreate } from '../dotlock.js';
import { errnoCode } from '../errors.js';
import { type Perms, writeFileDurable } from '../fs-util.js';
import { formatRecord, formatUidlist, parseUidlist, type UidlistHeader, type UidlistParse, type UidlistRecord } from './uidlist-format.js';

export const UIDLIST_FILE = 'dovecot-uidlist';
export const UIDLIST_COMPRESS_PERCENTAGE = 75;

export class UidlistFile {
  readonly path: string;

  constructor(
    readonly dir: string,
    private readonly perms: Perms,
    private readonly fsync = true,
    /** mail_max_lock_timeout in seconds (0 = Dovecot's default 122). */
    private readonly lockTimeout = 0,
  ) {
    this.path = join(dir, UIDLIST_FILE);
  }

  /** The parsed file, or undefined when it does not exist. */
  async read(): Promise<UidlistParse | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
      throw e;
    }
    return parseUidlist(text);
  }

  /** A cheap change check: [ino, size, mtimeMs] or undefined. */
  async stamp(): Promise<string | undefined> {
    try {
      const st = await stat(this.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  lock(): Promise<Dotlock> {
    return dotlockCreate(this.path, { timeout: this.lockTimeout > 0 ? this.lockTimeout : 122, staleTimeout: 120, perms: this.perms });
  }

  /** Write a whole new file (caller holds the lock). */
  async recreate(header: UidlistHeader, records: UidlistRecord[]): Promise<void> {
    await writeFileDurable(this.path, formatUidlist(header, records), this.perms, {
      fsync: this.fsync,
      tempName: join(this.dir, `${UIDLIST_FILE}.tmp`),
    });
  }

  /**
   * Append records to the file read as `current` (caller holds the lock and
   * has just re-read it). Falls back to recreate when the file is missing,
   * broken or has an incomplete last line.
   */
  async append(current: UidlistParse, records: UidlistRecord[]): Promise<void> {
    if (records.length === 0) return;
    const fh = await open(this.path, C.O_WRONLY | C.O_APPEND);
    try {
      const st = await fh.stat();
      if (st.size !== current.bytes) {
        // a torn last line or a concurrent writer without the lock: rewrite
        await fh.close();
        if (!current.header) throw new Error('uidlist: append without header');
        await this.recreate(current.header, [...current.records, ...records]);
        return;
      }
      await fh.write(records.map(formatRecord).join(''));
      if (this.fsync) await fh.datasync();
    } finally {
      await fh.close().catch(() => {});
    }
  }
}

/** Should the file be rewritten rather than appended to (maildir_uidlist_want_compress)? */
export function wantCompress(fileRecords: number, newRecords: number, liveRecords: number): boolean {
  const min = Math.floor(((fileRecords + newRecords) * UIDLIST_COMPRESS_PERCENTAGE) / 100);
  return min >= liveRecords && fileRecords + newRecords > liveRecords;
}
