/**
 * storage/maildir/mailbox.ts: one Maildir folder, kept in step with what
 * Dovecot 2.3 writes (maildir-sync.c, maildir-save.c, maildir-copy.c,
 * maildir-uidlist.c), so either server can take over the same directory:
 *
 * - State is rebuilt from disk on every sync(): the folder's new/ and cur/
 *   listings, its dovecot-uidlist (UIDs), dovecot-keywords (letters).
 *   Nothing Postern keeps in memory is needed to read the folder again.
 * - Files without a uidlist record get UIDs under the uidlist lock, in
 *   file-name order (maildir_filename_sort_cmp), after re-reading the list.
 * - A save writes tmp/<unique>, fsyncs it, then, holding the uidlist lock,
 *   renames it to new/ (no flags) or cur/<name>:2,<flags> and appends the
 *   uidlist record. The file name carries ,S=<size>,W=<vsize>.
 * - Flag changes rename the file in its directory (Dovecot too leaves a
 *   new/ file in new/ with ":2,<flags>"); expunge unlinks it. A rename or unlink that finds the file gone
 *   rescans the folder once to follow another process's rename.
 * - Copies inside one store hard-link the file: the copy keeps the source's
 *   base name as its name, or, when that name is taken in the destination,
 *   gets a new name and a `G<source base>` record (the message GUID).
 */
import { constants as C, createReadStream, readdirSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { criticalError, errnoCode, isNoQuotaErrno, MailError, ERRSTR_NO_QUOTA } from '../errors.js';
import { chownIfNeeded, fsyncDir, linkNoReplace, type Perms } from '../fs-util.js';
import { guid128Hex } from '../guid.js';
import { listen, notifyChanged } from '../notify.js';
import type {
  AppendOptions,
  AppendResult,
  FlagMode,
  Mailbox,
  MailboxStatus,
  MessageRecord,
  SyncChanges,
  SyncOptions,
} from '../types.js';
import { baseName, filenameSize, generateBaseName, isSystemFlag, parseFlags, setFlags, sizesOf, sortCompare } from './filename.js';
import { MaildirKeywords } from './keywords.js';
import { effectiveNextUid, recordExt, type UidlistHeader, type UidlistParse, type UidlistRecord } from './uidlist-format.js';
import { UidlistFile, wantCompress } from './uidlist.js';

/** What a folder needs from its store. */
export interface MaildirContext {
  perms: Perms;
  fsync: boolean;
  lockTimeout: number;
  /** A fresh UIDVALIDITY (dovecot-uidvalidity in the control root). */
  nextUidValidity(): Promise<number>;
  /** Quota check before a save (throws MailError('noquota')) and accounting after. */
  quotaCheck?(vname: string, size: number, postSession: boolean): Promise<void>;
  quotaUpdate?(bytes: number, count: number): Promise<void>;
  /** Is `other` in the same store (hard links allowed)? */
  sameStore(other: Mailbox): other is MaildirMailbox;
  /** maildir_copy_with_hardlinks */
  copyWithHardlinks: boolean;
}

interface Msg {
  uid: number;
  base: string;
  fname: string;
  dir: 'new' | 'cur';
  flags: string[];
  kwChars: string[];
  size: number;
  vsize: number;
  mtimeMs: number;
  ext: Array<[string, string]>;
  modseq: number;
}

interface DirEntry {
  dir: 'new' | 'cur';
  fname: string;
}

const SYSTEM_ORDER = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export class MaildirMailbox implements Mailbox {
  private msgs: Msg[] = [];
  private byUid = new Map<number, Msg>();
  private uidValidityValue = 0;
  private nextUidValue = 1;
  private mailboxGuid = '';
  private headerExtra: string[] = [];
  private modseq = 1;
  /** Our own appends since the last sync (reported by it as added). */
  private unreported = new Set<number>();
  private closed = false;
  private unlisteners: Array<() => void> = [];
  readonly keywordsFile: MaildirKeywords;
  readonly uidlist: UidlistFile;

  constructor(
    readonly name: string,
    /** Directory holding cur/new/tmp. */
    readonly path: string,
    /** Directory holding dovecot-uidlist and dovecot-keywords. */
    readonly controlDir: string,
    private readonly ctx: MaildirContext,
    readonly readOnly = false,
  ) {
    this.keywordsFile = new MaildirKeywords(controlDir, ctx.perms, ctx.fsync);
    this.uidlist = new UidlistFile(controlDir, ctx.perms, ctx.fsync, ctx.lockTimeout);
  }

  uidValidity(): number {
    return this.uidValidityValue;
  }

  get guid(): string {
    return this.mailboxGuid;
  }

  messages(): readonly MessageRecord[] {
    return this.msgs.map((m) => this.record(m));
  }

  get(uid: number): MessageRecord | undefined {
    const m = this.byUid.get(uid);
    return m ? this.record(m) : undefined;
  }

  keywords(): string[] {
    return this.keywordsFile.names();
  }

  /** Path of a message file as of the last sync (for hard-link copies and doveadm). */
  filePath(uid: number): string | undefined {
    const m = this.byUid.get(uid);
    return m ? join(this.path, m.dir, m.fname) : undefined;
  }

  /** The file's mtime (INTERNALDATE), stat()ed on first use. */
  private mtimeOf(m: Msg): number {
    if (m.mtimeMs < 0) {
      try {
        m.mtimeMs = statSync(join(this.path, m.dir, m.fname)).mtimeMs;
      } catch {
        const e = baseName(m.fname);
        // renamed since the last sync: any file with this base name will do
        for (const d of ['cur', 'new']) {
          try {
            const n = readdirSync(join(this.path, d)).find((x) => baseName(x) === e);
            if (n) {
              m.mtimeMs = statSync(join(this.path, d, n)).mtimeMs;
              break;
            }
          } catch {
            // keep looking
          }
        }
        if (m.mtimeMs < 0) m.mtimeMs = 0;
      }
    }
    return m.mtimeMs;
  }

  private record(m: Msg): MessageRecord {
    const kw: string[] = [];
    for (const c of m.kwChars) {
      const n = this.keywordsFile.nameOf(c);
      if (n !== undefined) kw.push(n);
    }
    const flags = SYSTEM_ORDER.filter((f) => m.flags.includes(f));
    const r: MessageRecord = {
      uid: m.uid,
      flags: [...flags, ...kw],
      size: m.size,
      vsize: m.vsize,
      internalDate: new Date(this.mtimeOf(m)),
      guid: recordExt({ uid: m.uid, ext: m.ext, base: m.base }, 'G') ?? m.base,
      modseq: m.modseq,
      isNew: m.dir === 'new',
    };
    const p = recordExt({ uid: m.uid, ext: m.ext, base: m.base }, 'P');
    if (p !== undefined) r.pop3Uidl = p;
    const o = recordExt({ uid: m.uid, ext: m.ext, base: m.base }, 'O');
    if (o !== undefined && /^\d+$/.test(o)) r.pop3Order = Number(o);
    return r;
  }

  // ---------------------------------------------------------------- scanning

  /** new/ and cur/ listings: base name → where the file is. */
  private async scan(): Promise<Map<string, DirEntry>> {
    const out = new Map<string, DirEntry>();
    for (const dir of ['new', 'cur'] as const) {
      let names: string[];
      try {
        names = await readdir(join(this.path, dir));
      } catch (e) {
        const c = errnoCode(e);
        if (c === 'ENOENT' || c === 'ENOTDIR') {
          if (dir === 'cur') {
            // the mailbox itself is gone?
            try {
              await stat(this.path);
            } catch {
              throw new MailError('notfound', `Mailbox doesn't exist: ${this.name}`);
            }
          }
          continue;
        }
        throw e;
      }
      for (const n of names) {
        if (n[0] === '.' || n[0] === ':') continue;
        const b = baseName(n);
        // the same base in new/ and cur/ (a move in progress): cur/ wins
        if (!out.has(b) || dir === 'cur') out.set(b, { dir, fname: n });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------- sync

  async sync(opts: SyncOptions = {}): Promise<SyncChanges> {
    if (this.closed) throw new Error('mailbox closed');
    let files = await this.scan();
    await this.keywordsFile.refresh();
    let parsed = await this.uidlist.read();
    const known = new Set(parsed?.records.map((r) => r.base) ?? []);
    const missing = [...files.keys()].filter((b) => !known.has(b));
    const needWrite = !parsed?.header || parsed.problems.length > 0 || missing.length > 0;
    if (needWrite && !this.readOnly) {
      const lock = await this.uidlist.lock();
      try {
        parsed = await this.uidlist.read();
        files = await this.scan();
        parsed = await this.assignUids(parsed, files);
      } finally {
        await lock.release();
      }
    }
    if (opts.moveNew && !this.readOnly) {
      let moved = false;
      for (const [b, e] of files) {
        if (e.dir !== 'new') continue;
        const dest = e.fname.includes(':') ? e.fname : `${e.fname}:2,`;
        try {
          await rename(join(this.path, 'new', e.fname), join(this.path, 'cur', dest));
          files.set(b, { dir: 'cur', fname: dest });
          moved = true;
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
        }
      }
      if (moved) files = await this.scan();
    }
    return this.rebuild(parsed, files);
  }

  /** Give UIDs to files the uidlist does not know (lock held, list just re-read). */
  private async assignUids(parsed: UidlistParse | undefined, files: Map<string, DirEntry>): Promise<UidlistParse> {
    let header: UidlistHeader | undefined = parsed?.header;
    let records = parsed?.records ?? [];
    const broken = !parsed || !header || parsed.problems.length > 0;
    if (!header) {
      header = {
        version: 3,
        uidValidity: await this.ctx.nextUidValidity(),
        nextUid: 1,
        guid: guid128Hex(),
        extra: [],
      };
      records = [];
    }
    const known = new Set(records.map((r) => r.base));
    const fresh = [...files.entries()].filter(([b]) => !known.has(b)).sort((a, b) => sortCompare(a[1].fname, b[1].fname));
    let next = effectiveNextUid({ header, records });
    const added: UidlistRecord[] = [];
    for (const [b, e] of fresh) {
      const rec: UidlistRecord = { uid: next++, ext: [], base: b };
      // S/W go to the record only when the file name lacks them
      const s = filenameSize(e.fname, 'S');
      if (s === undefined) {
        try {
          const st = await stat(join(this.path, e.dir, e.fname));
          rec.ext.push(['S', String(st.size)]);
        } catch {
          // vanished: it keeps the UID, the record is dropped at the next recreate
        }
      }
      added.push(rec);
    }
    const all = [...records, ...added];
    const live = all.filter((r) => files.has(r.base)).length;
    const version3 = header.version === 3 && header.guid !== undefined;
    if (broken || !version3 || !parsed || wantCompress(parsed.lines, added.length, live)) {
      const keep = all.filter((r) => files.has(r.base));
      const h: UidlistHeader = { ...header, version: 3, nextUid: next, guid: header.guid ?? guid128Hex() };
      await this.uidlist.recreate(h, keep);
      return { header: h, records: keep, problems: [], lines: keep.length, bytes: 0 };
    }
    await this.uidlist.append(parsed, added);
    return { header, records: all, problems: [], lines: parsed.lines + added.length, bytes: 0 };
  }

  /** Turn uidlist + listing into the message table; report what changed since the last sync. */
  private async rebuild(parsed: UidlistParse | undefined, files: Map<string, DirEntry>): Promise<SyncChanges> {
    const changes: SyncChanges = { added: [], expunged: [], flagsChanged: [] };
    const header = parsed?.header;
    if (header) {
      this.uidValidityValue = header.uidValidity;
      this.nextUidValue = effectiveNextUid({ header, records: parsed?.records ?? [] });
      this.mailboxGuid = header.guid ?? '';
      this.headerExtra = header.extra;
    }
    const next: Msg[] = [];
    const byUid = new Map<number, Msg>();
    for (const r of parsed?.records ?? []) {
      const e = files.get(r.base);
      if (!e) continue;
      const old = this.byUid.get(r.uid);
      const pf = parseFlags(e.fname);
      let m: Msg;
      if (old && old.base === r.base) {
        m = old;
        if (old.fname !== e.fname || old.dir !== e.dir) {
          const changed = old.flags.join() !== pf.flags.join() || old.kwChars.join() !== pf.keywordChars.join();
          m = { ...old, fname: e.fname, dir: e.dir, flags: pf.flags, kwChars: pf.keywordChars, ext: r.ext };
          if (changed) {
            m.modseq = ++this.modseq;
            changes.flagsChanged.push(r.uid);
          }
        }
      } else {
        let size = filenameSize(e.fname, 'S') ?? numExt(r, 'S');
        let vsize = filenameSize(e.fname, 'W') ?? numExt(r, 'W');
        // the mtime (INTERNALDATE) is read when asked for: a sync of a big
        // folder costs one readdir, not one stat per message
        let mtimeMs = -1;
        if (size === undefined) {
          try {
            const st = await stat(join(this.path, e.dir, e.fname));
            mtimeMs = st.mtimeMs;
            size = st.size;
          } catch {
            continue; // expunged between readdir and stat
          }
        }
        if (vsize === undefined) vsize = await this.computeVsize(join(this.path, e.dir, e.fname));
        m = {
          uid: r.uid,
          base: r.base,
          fname: e.fname,
          dir: e.dir,
          flags: pf.flags,
          kwChars: pf.keywordChars,
          size: size ?? 0,
          vsize,
          mtimeMs,
          ext: r.ext,
          modseq: ++this.modseq,
        };
        if (!old) changes.added.push(r.uid);
        else changes.flagsChanged.push(r.uid);
      }
      next.push(m);
      byUid.set(m.uid, m);
    }
    for (const uid of this.byUid.keys()) if (!byUid.has(uid)) changes.expunged.push(uid);
    for (const uid of this.unreported) {
      if (byUid.has(uid) && !changes.added.includes(uid)) changes.added.push(uid);
      changes.flagsChanged = changes.flagsChanged.filter((u) => u !== uid);
    }
    changes.added.sort((a, b) => a - b);
    this.unreported.clear();
    this.msgs = next;
    this.byUid = byUid;
    return changes;
  }

  private async computeVsize(path: string): Promise<number> {
    try {
      const fh = await open(path, 'r');
      try {
        return sizesOf(await fh.readFile()).vsize;
      } finally {
        await fh.close();
      }
    } catch {
      return 0;
    }
  }

  // ------------------------------------------------------------------ status

  async status(): Promise<MailboxStatus> {
    await this.sync();
    let unseen = 0;
    let recent = 0;
    let size = 0;
    let vsize = 0;
    let firstUnseenSeq = 0;
    this.msgs.forEach((m, i) => {
      if (!m.flags.includes('\\Seen')) {
        unseen++;
        if (firstUnseenSeq === 0) firstUnseenSeq = i + 1;
      }
      if (m.dir === 'new') recent++;
      size += m.size;
      vsize += m.vsize;
    });
    return {
      messages: this.msgs.length,
      recent,
      unseen,
      uidNext: this.nextUidValue,
      uidValidity: this.uidValidityValue,
      highestModseq: this.modseq,
      guid: this.mailboxGuid,
      size,
      vsize,
      firstUnseenSeq,
    };
  }

  // ------------------------------------------------------------------ saving

  /** Split flags into system flags and keyword letters (adding keywords to the file). */
  private async flagChars(flags: string[]): Promise<{ system: string[]; kw: string[] }> {
    const system = flags.filter((f) => isSystemFlag(f));
    const kwNames = flags.filter((f) => !f.startsWith('\\'));
    const kw = kwNames.length ? await this.keywordsFile.charsFor(kwNames) : [];
    return { system, kw };
  }

  /** Write the message to tmp/ (CRLF → LF), fsync; returns the temp name and sizes. */
  private async writeTmp(data: Buffer | AsyncIterable<Buffer>): Promise<{ tmpName: string; size: number; vsize: number }> {
    const tmpDir = join(this.path, 'tmp');
    let tmpName = '';
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    for (let i = 0; i < 100 && !fh; i++) {
      tmpName = generateBaseName();
      try {
        fh = await open(join(tmpDir, tmpName), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, this.ctx.perms.fileMode);
      } catch (e) {
        const c = errnoCode(e);
        if (c === 'EEXIST') continue;
        if (c === 'ENOENT') {
          await mkdir(tmpDir, { mode: this.ctx.perms.dirMode }).catch(() => {});
          await chownIfNeeded(tmpDir, this.ctx.perms).catch(() => {});
          continue;
        }
        if (isNoQuotaErrno(e)) throw new MailError('noquota', ERRSTR_NO_QUOTA);
        throw criticalError(`open(${join(tmpDir, tmpName)}) failed: ${(e as Error).message}`);
      }
    }
    if (!fh) throw criticalError(`could not create a file in ${tmpDir}`);
    const path = join(tmpDir, tmpName);
    let size = 0;
    let lfCount = 0;
    let pendingCr = false;
    try {
      if (process.getuid?.() === 0 && (this.ctx.perms.uid !== undefined || this.ctx.perms.gid !== undefined)) {
        await fh.chown(this.ctx.perms.uid ?? -1, this.ctx.perms.gid ?? -1);
      }
      const chunks: AsyncIterable<Buffer> = Buffer.isBuffer(data) ? one(data) : data;
      for await (const chunk of chunks) {
        // CRLF → LF across chunk boundaries
        let buf = chunk;
        if (pendingCr) {
          buf = Buffer.concat([Buffer.from([13]), buf]);
          pendingCr = false;
        }
        if (buf.length && buf[buf.length - 1] === 13) {
          buf = buf.subarray(0, -1);
          pendingCr = true;
        }
        const lf = toLfCount(buf);
        size += lf.out.length;
        lfCount += lf.lines;
        await fh.write(lf.out);
      }
      if (pendingCr) {
        await fh.write(Buffer.from([13]));
        size += 1;
      }
      if (this.ctx.fsync) await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(path).catch(() => {});
      if (isNoQuotaErrno(e)) throw new MailError('noquota', ERRSTR_NO_QUOTA);
      throw e instanceof MailError ? e : criticalError(`write(${path}) failed: ${(e as Error).message}`);
    }
    await fh.close();
    return { tmpName, size, vsize: size + lfCount };
  }

  async append(data: Buffer | AsyncIterable<Buffer>, opts: AppendOptions = {}): Promise<AppendResult> {
    if (this.readOnly) throw new MailError('perm', 'Mailbox is read-only');
    const t = await this.writeTmp(data);
    const tmpPath = join(this.path, 'tmp', t.tmpName);
    try {
      if (this.ctx.quotaCheck) await this.ctx.quotaCheck(this.name, t.size, opts.postSession ?? false);
      if (opts.internalDate) await utimes(tmpPath, new Date(), opts.internalDate);
      const fc = await this.flagChars(opts.flags ?? []);
      const base = `${t.tmpName},S=${t.size},W=${t.vsize}`;
      return await this.commitFile(tmpPath, base, fc, { size: t.size, vsize: t.vsize }, opts.guid);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
  }

  /**
   * Move a prepared tmp/ file into new/ or cur/ and give it a UID, holding
   * the uidlist lock (maildir_save_move_files_to_newcur + uidlist append).
   * `preserveBase` (a copy's GUID) is used as the name when it is free.
   */
  private async commitFile(
    tmpPath: string,
    base: string,
    fc: { system: string[]; kw: string[] },
    sizes: { size: number; vsize: number },
    preserveBase?: string,
  ): Promise<AppendResult> {
    const lock = await this.uidlist.lock();
    let result: AppendResult;
    try {
      // as maildir_save_sync_index: the uidlist (not a directory scan) gives
      // the next UID; only a missing or broken uidlist makes us look at the
      // folder first, so files already there keep the lower UIDs
      let parsed = await this.uidlist.read();
      if (!parsed?.header || parsed.problems.length > 0) {
        await this.assignUids(parsed, await this.scan());
        parsed = await this.uidlist.read();
        if (!parsed?.header) throw criticalError(`${this.uidlist.path}: could not be written`);
      }
      let destBase = base;
      let guidExt: string | undefined;
      if (preserveBase !== undefined) {
        const taken = parsed.records.some((r) => r.base === preserveBase);
        const sOk = filenameSize(preserveBase, 'S') === sizes.size && filenameSize(preserveBase, 'W') === sizes.vsize;
        if (!taken && sOk && !preserveBase.includes('/') && !preserveBase.includes(':')) destBase = preserveBase;
        else guidExt = preserveBase;
      }
      const hasFlags = fc.system.length > 0 || fc.kw.length > 0;
      const fname = hasFlags ? setFlags(destBase, fc.system, fc.kw) : destBase;
      const dir = hasFlags ? 'cur' : 'new';
      const dest = join(this.path, dir, fname);
      try {
        await rename(tmpPath, dest);
      } catch (e) {
        if (isNoQuotaErrno(e)) throw new MailError('noquota', ERRSTR_NO_QUOTA);
        throw criticalError(`rename(${tmpPath}, ${dest}) failed: ${(e as Error).message}`);
      }
      if (this.ctx.fsync) await fsyncDir(join(this.path, dir));
      const uid = effectiveNextUid(parsed);
      const rec: UidlistRecord = { uid, ext: guidExt ? [['G', guidExt]] : [], base: destBase };
      const header = parsed.header as UidlistHeader;
      try {
        await this.uidlist.append(parsed, [rec]);
      } catch (e) {
        // the file is in place; the next sync gives it a UID
        throw criticalError(`dovecot-uidlist update failed: ${(e as Error).message}`);
      }
      result = { uid, uidValidity: header.uidValidity, guid: guidExt ?? destBase, storagePath: dest };
      // known at once to this instance; the next sync() still reports it as added
      const pf = parseFlags(fname);
      const m: Msg = {
        uid,
        base: destBase,
        fname,
        dir,
        flags: pf.flags,
        kwChars: pf.keywordChars,
        size: sizes.size,
        vsize: sizes.vsize,
        mtimeMs: -1,
        ext: rec.ext,
        modseq: ++this.modseq,
      };
      if (this.uidValidityValue === 0 || this.uidValidityValue === header.uidValidity) {
        this.uidValidityValue = header.uidValidity;
        this.mailboxGuid = header.guid ?? this.mailboxGuid;
        this.msgs.push(m);
        this.msgs.sort((a, b) => a.uid - b.uid);
        this.byUid.set(uid, m);
        this.unreported.add(uid);
        this.nextUidValue = Math.max(this.nextUidValue, uid + 1);
      }
    } finally {
      await lock.release();
    }
    if (this.ctx.quotaUpdate) await this.ctx.quotaUpdate(sizes.size, 1).catch(() => {});
    notifyChanged(this.path);
    return result;
  }

  /** Copy messages into another folder of the same store by hard link (else by reading). */
  async copyTo(uids: number[], dest: Mailbox): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const uid of uids) {
      const m = this.byUid.get(uid);
      if (!m) continue;
      const rec = this.record(m);
      const flags = rec.flags;
      if (this.ctx.copyWithHardlinks && this.ctx.sameStore(dest) && !dest.readOnly) {
        const r = await dest.appendHardlink(this, uid, flags).catch((e) => {
          if (e instanceof MailError) throw e;
          return undefined;
        });
        if (r) {
          out.set(uid, r.uid);
          continue;
        }
      }
      const data = await this.read(uid);
      const r = await dest.append(data, { flags, internalDate: rec.internalDate });
      out.set(uid, r.uid);
    }
    return out;
  }

  /** Hard-link a message of `src` (or a file at `srcPath`) into this folder, keeping its GUID. */
  async appendHardlink(src: MaildirMailbox | string, uid: number, flags: string[], opts: { postSession?: boolean } = {}): Promise<AppendResult | undefined> {
    let srcPath: string;
    let guid: string;
    let sizes: { size: number; vsize: number };
    if (typeof src === 'string') {
      srcPath = src;
      const b = baseName(src.slice(src.lastIndexOf('/') + 1));
      guid = b;
      const size = filenameSize(b, 'S');
      const vsize = filenameSize(b, 'W');
      if (size === undefined || vsize === undefined) return undefined;
      sizes = { size, vsize };
    } else {
      const m = src.byUid.get(uid);
      if (!m) return undefined;
      srcPath = join(src.path, m.dir, m.fname);
      guid = src.record(m).guid;
      sizes = { size: m.size, vsize: m.vsize };
    }
    if (this.ctx.quotaCheck) await this.ctx.quotaCheck(this.name, sizes.size, opts.postSession ?? false);
    const tmpName = generateBaseName();
    const tmpPath = join(this.path, 'tmp', tmpName);
    try {
      if (!(await linkNoReplace(srcPath, tmpPath))) return undefined;
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'EXDEV' || c === 'EPERM' || c === 'EMLINK' || c === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const fc = await this.flagChars(flags);
      const base = `${tmpName},S=${sizes.size},W=${sizes.vsize}`;
      return await this.commitFile(tmpPath, base, fc, sizes, guid);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
  }

  // ----------------------------------------------------------------- reading

  /** Run fn on the message file, following a rename by another process. */
  private async withFile<T>(uid: number, fn: (path: string, m: Msg) => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const m = this.byUid.get(uid);
      if (!m) throw new MailError('expunged', 'Message was expunged');
      try {
        return await fn(join(this.path, m.dir, m.fname), m);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        // gone for good: the next sync() reports the expunge
        if (!(await this.relocate(m))) break;
      }
    }
    throw new MailError('expunged', 'Message was expunged');
  }

  /** The file moved (flags changed elsewhere, new → cur): find it again by base name. */
  private async relocate(m: Msg): Promise<boolean> {
    const files = await this.scan();
    const e = files.get(m.base);
    if (!e) return false;
    const pf = parseFlags(e.fname);
    const n: Msg = { ...m, fname: e.fname, dir: e.dir, flags: pf.flags, kwChars: pf.keywordChars };
    this.byUid.set(m.uid, n);
    this.msgs = this.msgs.map((x) => (x.uid === m.uid ? n : x));
    return true;
  }

  async read(uid: number): Promise<Buffer> {
    return this.withFile(uid, async (path) => {
      const fh = await open(path, 'r');
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    });
  }

  async open(uid: number): Promise<{ stream: Readable; size: number }> {
    return this.withFile(uid, async (path) => {
      const fh = await open(path, 'r');
      const st = await fh.stat();
      const stream = createReadStream('', { fd: fh.fd, autoClose: true });
      stream.on('close', () => {
        fh.close().catch(() => {});
      });
      return { stream, size: st.size };
    });
  }

  // ------------------------------------------------------------------- flags

  async setFlags(uids: number[], mode: FlagMode, flags: string[]): Promise<MessageRecord[]> {
    if (this.readOnly) throw new MailError('perm', 'Mailbox is read-only');
    const system: string[] = flags.filter((f) => isSystemFlag(f));
    const kwNames = flags.filter((f) => !f.startsWith('\\'));
    const kwChars = mode === 'remove' ? kwNames.map((n) => this.keywordsFile.charOf(n)).filter((c): c is string => !!c) : kwNames.length ? await this.keywordsFile.charsFor(kwNames) : [];
    const out: MessageRecord[] = [];
    let changedAny = false;
    for (const uid of uids) {
      if (!this.byUid.has(uid)) continue;
      let done = false;
      for (let attempt = 0; attempt < 3 && !done; attempt++) {
        const m = this.byUid.get(uid);
        if (!m) break;
        let sys: string[];
        let kw: string[];
        if (mode === 'replace') {
          sys = system;
          kw = kwChars;
        } else if (mode === 'add') {
          sys = [...new Set([...m.flags, ...system])];
          kw = [...new Set([...m.kwChars, ...kwChars])];
        } else {
          sys = m.flags.filter((f) => !system.includes(f));
          kw = m.kwChars.filter((c) => !kwChars.includes(c));
        }
        const fname = setFlags(m.fname, sys, kw);
        if (fname === m.fname) {
          done = true;
          out.push(this.record(m));
          break;
        }
        try {
          // as Dovecot: the file stays in its directory (a new/ file gets ":2,<flags>" there)
          await rename(join(this.path, m.dir, m.fname), join(this.path, m.dir, fname));
          const pf = parseFlags(fname);
          const n: Msg = { ...m, fname, flags: pf.flags, kwChars: pf.keywordChars, modseq: ++this.modseq };
          this.byUid.set(uid, n);
          this.msgs = this.msgs.map((x) => (x.uid === uid ? n : x));
          out.push(this.record(n));
          changedAny = true;
          done = true;
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e;
          if (!(await this.relocate(m))) break;
        }
      }
    }
    if (changedAny) notifyChanged(this.path);
    return out;
  }

  // ----------------------------------------------------------------- expunge

  async expunge(uids?: number[]): Promise<number[]> {
    if (this.readOnly) throw new MailError('perm', 'Mailbox is read-only');
    const targets = uids ?? this.msgs.filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
    const removed: number[] = [];
    let bytes = 0;
    for (const uid of targets) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const m = this.byUid.get(uid);
        if (!m) break;
        try {
          await unlink(join(this.path, m.dir, m.fname));
          removed.push(uid);
          bytes += m.size;
          this.byUid.delete(uid);
          this.msgs = this.msgs.filter((x) => x.uid !== uid);
          break;
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e;
          if (!(await this.relocate(m))) break;
        }
      }
    }
    if (removed.length) {
      this.modseq++;
      if (this.ctx.quotaUpdate) await this.ctx.quotaUpdate(-bytes, -removed.length).catch(() => {});
      notifyChanged(this.path);
    }
    return removed;
  }

  onChange(listener: () => void): () => void {
    const off = listen(this.path, listener);
    this.unlisteners.push(off);
    return off;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.unlisteners.splice(0)) off();
  }

  /** For tests and doveadm: the header extensions kept from the uidlist. */
  headerExtensions(): string[] {
    return [...this.headerExtra];
  }
}

function numExt(r: UidlistRecord, key: string): number | undefined {
  const v = recordExt(r, key);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

async function* one(b: Buffer): AsyncIterable<Buffer> {
  yield b;
}

/** CRLF → LF within one chunk, counting the LFs (for W=). */
function toLfCount(buf: Buffer): { out: Buffer; lines: number } {
  let lines = 0;
  if (buf.indexOf(13) < 0) {
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    return { out: buf, lines };
  }
  const out = Buffer.allocUnsafe(buf.length);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c === 13 && buf[i + 1] === 10) continue;
    if (c === 10) lines++;
    out[o++] = c;
  }
  return { out: out.subarray(0, o), lines };
}
