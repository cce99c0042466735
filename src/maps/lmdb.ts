/**
 * maps/lmdb.ts: the lmdb:, hash: and btree: table driver (Postfix's
 * dict_lmdb.c semantics on the file format of lmdb-format.ts).
 *
 * Files: lmdb:NAME is NAME.lmdb, byte-compatible with real Postfix's.
 * hash:NAME and btree:NAME are NAME.db, as in Postfix, but hold the same
 * LMDB layout; a Berkeley DB file left there by a real Postfix is never
 * read as an empty table: opening it fails with a message that names the
 * file and the postmap command that rebuilds it.
 *
 * Records: keys are folded to lower case when the table is opened with
 * DICT_FLAG_FOLD_FIX (ASCII here; full Unicode folding is the UTF-8
 * layer's job, see dict-utf8.ts), and key and value carry one trailing
 * NUL (DICT_FLAG_TRY1NULL) or none (TRY0NULL). A table opened with neither
 * tries both on lookup and keeps whichever hits first; an update then
 * picks the platform default, with NUL (dict_lmdb_update).
 *
 * Writes never touch a file readers may have open: postmap, postalias
 * and the update()/delete() calls of postmap -i/-d collect their changes
 * and close() writes a complete new file beside the old one and renames
 * it over (Postfix readers hold fcntl locks Node cannot take). Readers
 * stat the file at most every CHECK_INTERVAL_MS and reopen it when it was
 * replaced, or re-read its meta pages when it was written in place (a
 * real postmap -i), like the dict_changed() checks of Postfix daemons.
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { fatal, warn } from '../log/msg.js';
import { strerror } from '../util/strerror.js';
import { sortByteKeys } from './byte-sort.js';
import { casefold, lowercaseAscii } from './casefold.js';
import { printable, utf8EnableOf } from './dict-utf8.js';
import { LmdbBulkWriter, LmdbError, LmdbReader, MAX_KEY_SIZE, isBerkeleyDb } from './lmdb-format.js';
import { Split, scanLogicalLines, split, splitKeyValue, lineIsBadUtf8, lineText } from './source-file.js';
import { DictError, DictFlag, DictStat, type LookupTable, type OpenOptions } from './types.js';

export const DEFAULT_LMDB_MAP_SIZE = 16777216;
/** How often a reader looks for a replaced or rewritten file. */
export const CHECK_INTERVAL_MS = 100;

const BAD_VALSIZE = 'MDB_BAD_VALSIZE: Unsupported size of key/DB name/data, or wrong DUPFIXED size';

/** The data file of a table: NAME.lmdb for lmdb:, NAME.db for hash: and btree:. */
export function lmdbDataPath(type: string, name: string): string {
  return type === 'lmdb' ? `${name}.lmdb` : `${name}.db`;
}

function mapSizeOf(opts: OpenOptions): number {
  const raw = opts.param?.('lmdb_map_size');
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_LMDB_MAP_SIZE;
}

function errorText(err: unknown): string {
  if (err instanceof LmdbError) return err.message;
  return strerror(err);
}

/** The error for a Berkeley DB file where Postern expects LMDB. */
function berkeleyError(type: string, name: string, path: string): string {
  return (
    `open database ${path}: this is a Berkeley DB file (a ${type}: table built by Postfix's postmap); ` +
    `Postern keeps ${type}: tables in LMDB format: run "postmap ${type}:${name}" to rebuild it`
  );
}

function looksBerkeley(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(16);
      readSync(fd, head, 0, 16, 0);
      return isBerkeleyDb(head);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * How Postfix names a table in its record-level messages: "lmdb:NAME"
 * (dict_lmdb.c), but "NAME.db" for hash/btree, whose dict name is the
 * database path (dict_db.c).
 */
function dictName(type: string, name: string): string {
  return type === 'lmdb' ? name : lmdbDataPath(type, name);
}

function dupLabel(type: string, name: string): string {
  return type === 'lmdb' ? `${type}:${name}` : lmdbDataPath(type, name);
}

/** Keep C-string semantics for stored bytes: everything up to the first NUL. */
function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString('latin1', 0, nul >= 0 ? nul : buf.length);
}

interface FileId {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

function fileId(path: string): FileId | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** A temporary file beside path, created now so permission errors show at open time. */
function createTemp(path: string): { fd: number; tmp: string } {
  const tmp = `${dirname(path)}/.${basename(path)}.${process.pid}.tmp`;
  try {
    unlinkSync(tmp);
  } catch {
    // none left over
  }
  const fd = openSync(tmp, 'wx', 0o644);
  return { fd, tmp };
}

/** Finish a temporary file and rename it over path, keeping path's mode and owner. */
function commitTemp(fd: number, tmp: string, path: string): void {
  try {
    fsyncSync(fd);
    try {
      const old = statSync(path);
      fchmodSync(fd, old.mode & 0o7777);
      if (process.geteuid?.() === 0) fchownSync(fd, old.uid, old.gid);
    } catch {
      // new file: mode from the umask
    }
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directory fsync is best effort
  }
}

function discardTemp(fd: number, tmp: string): void {
  try {
    closeSync(fd);
  } catch {
    // closed
  }
  try {
    unlinkSync(tmp);
  } catch {
    // gone
  }
}

/** Write sorted [key, value] byte-string records into fd. */
function writeRecords(fd: number, records: Iterable<[string, string]>, mapSize: number): void {
  const writer = new LmdbBulkWriter(fd);
  for (const [k, v] of records) {
    const kb = Buffer.from(k, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    writer.add(kb, 0, kb.length, vb, 0, vb.length);
  }
  writer.finish(mapSize);
}

class LmdbTable implements LookupTable {
  flags: number;
  private reader: LmdbReader | undefined;
  private id: FileId | undefined;
  private lastCheck = 0;
  /** Raw key -> raw value, or null for a deleted record. */
  private pending = new Map<string, string | null>();
  private temp: { fd: number; tmp: string } | undefined;
  private dirty = false;
  private readonly table: string;

  constructor(
    readonly type: string,
    readonly name: string,
    readonly path: string,
    flags: number,
    private readonly mapSize: number,
    private readonly utf8Enable: boolean,
  ) {
    this.flags = flags;
    this.table = dupLabel(type, name);
  }

  /** Open (or, for writers, prepare) the data file. */
  init(opts: OpenOptions): void {
    const { path } = this;
    if (opts.mode !== 'read') {
      try {
        this.temp = createTemp(path);
      } catch (err) {
        throw new DictError('retry', `${this.type}:${this.name}`, `open database ${path}: ${errorText(err)}`);
      }
      this.dirty = opts.mode === 'create';
    }
    if (opts.mode === 'create') return;
    try {
      this.reader = LmdbReader.open(path);
      this.id = fileId(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (opts.mode === 'update' && code === 'ENOENT') {
        this.dirty = true; // O_CREAT: an empty table appears
      } else {
        if (this.temp) discardTemp(this.temp.fd, this.temp.tmp);
        this.temp = undefined;
        if (this.type !== 'lmdb' && err instanceof LmdbError && looksBerkeley(path)) {
          throw new DictError('config', `${this.type}:${this.name}`, berkeleyError(this.type, this.name, path));
        }
        throw new DictError('retry', `${this.type}:${this.name}`, `open database ${path}: ${errorText(err)}`);
      }
    }
    if (opts.dictFlags & DictFlag.LOCK) this.checkSourceAge();
  }

  /** dict_lmdb_open: warn when the source file is newer than the table. */
  private checkSourceAge(): void {
    try {
      const src = statSync(this.name);
      const db = statSync(this.path);
      const srcSec = Math.floor(src.mtimeMs / 1000);
      if (srcSec > Math.floor(db.mtimeMs / 1000) && srcSec < Math.floor(Date.now() / 1000) - 100) {
        warn(`database ${this.path} is older than source file ${this.name}`);
      }
    } catch {
      // no source file
    }
  }

  /** Reopen or refresh when the file was replaced or rewritten. */
  private check(): void {
    const now = Date.now();
    if (now - this.lastCheck < CHECK_INTERVAL_MS) return;
    this.lastCheck = now;
    if (this.temp) return; // a writer works on its own snapshot
    const id = fileId(this.path);
    const old = this.id;
    if (id === undefined || old === undefined) return;
    if (id.ino !== old.ino || id.dev !== old.dev) {
      try {
        const fresh = LmdbReader.open(this.path);
        this.reader?.close();
        this.reader = fresh;
        this.id = id;
      } catch {
        // keep the old snapshot until the new file is complete
      }
    } else if (id.size !== old.size || id.mtimeMs !== old.mtimeMs) {
      try {
        this.reader?.refresh();
        this.id = id;
      } catch {
        // a writer is busy; try again next time
      }
    }
  }

  private readonly keyBuf = Buffer.allocUnsafe(MAX_KEY_SIZE);

  /** The stored value bytes for a raw key, from the pending changes or the file. */
  private fetch(raw: string): Buffer | string | undefined {
    if (this.pending.size > 0) {
      const p = this.pending.get(raw);
      if (p !== undefined) return p ?? undefined;
    }
    if (this.reader === undefined) return undefined;
    if (raw.length === 0 || raw.length > MAX_KEY_SIZE) {
      fatal(`error reading ${this.table}: ${BAD_VALSIZE}`);
    }
    try {
      const len = this.keyBuf.write(raw, 0, 'latin1');
      return this.reader.get(this.keyBuf, len);
    } catch (err) {
      return fatal(`error reading ${this.table}: ${errorText(err)}`);
    }
  }

  private getRaw(raw: string): string | undefined {
    const v = this.fetch(raw);
    return typeof v === 'string' || v === undefined ? v : v.toString('latin1');
  }

  /** A value as dict_lmdb_lookup returns it: a C string. */
  private getValue(raw: string): string | undefined {
    if (this.pending.size === 0 && this.reader !== undefined && raw.length > 0 && raw.length <= MAX_KEY_SIZE) {
      try {
        const len = this.keyBuf.write(raw, 0, 'latin1');
        return this.reader.getString(this.keyBuf, len);
      } catch (err) {
        return fatal(`error reading ${this.table}: ${errorText(err)}`);
      }
    }
    const v = this.fetch(raw);
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      const nul = v.indexOf('\0');
      return nul >= 0 ? v.slice(0, nul) : v;
    }
    return cString(v);
  }

  private fold(key: string): string {
    return this.flags & DictFlag.FOLD_FIX ? lowercaseAscii(key) : key;
  }

  async lookup(key: string): Promise<string | undefined> {
    return this.lookupSync(key);
  }

  /** dict_lmdb_lookup. */
  lookupSync(key: string): string | undefined {
    this.check();
    const name = this.fold(key);
    if (this.flags & DictFlag.TRY1NULL) {
      const v = this.getValue(`${name}\0`);
      if (v !== undefined) {
        this.flags &= ~DictFlag.TRY0NULL;
        return v;
      }
    }
    if (this.flags & DictFlag.TRY0NULL) {
      const v = this.getValue(name);
      if (v !== undefined) {
        this.flags &= ~DictFlag.TRY1NULL;
        return v;
      }
    }
    return undefined;
  }

  /** dict_lmdb_update. */
  async update(key: string, value: string): Promise<number> {
    const name = this.fold(key);
    if (this.flags & DictFlag.TRY1NULL && this.flags & DictFlag.TRY0NULL) this.flags &= ~DictFlag.TRY0NULL;
    const nul = this.flags & DictFlag.TRY1NULL ? '\0' : '';
    const rawKey = name + nul;
    if (rawKey.length === 0 || rawKey.length > MAX_KEY_SIZE) fatal(`error updating ${this.table}: ${BAD_VALSIZE}`);
    if (!(this.flags & DictFlag.DUP_REPLACE) && this.getRaw(rawKey) !== undefined) {
      if (this.flags & DictFlag.DUP_IGNORE) {
        // silently keep the old record
      } else if (this.flags & DictFlag.DUP_WARN) {
        warn(`${this.table}: duplicate entry: "${printable(name, this.utf8Enable)}"`);
      } else {
        fatal(`${this.table}: duplicate entry: "${printable(name, this.utf8Enable)}"`);
      }
      return DictStat.FAIL;
    }
    this.pending.set(rawKey, value + nul);
    this.dirty = true;
    return DictStat.SUCCESS;
  }

  /** dict_lmdb_delete: 0 when a record went away, 1 when there was none. */
  async delete(key: string): Promise<number> {
    const name = this.fold(key);
    let status: number = DictStat.FAIL;
    if (this.flags & DictFlag.TRY1NULL) {
      if (this.getRaw(`${name}\0`) !== undefined) {
        this.pending.set(`${name}\0`, null);
        this.flags &= ~DictFlag.TRY0NULL;
        status = DictStat.SUCCESS;
      }
    }
    if (status !== DictStat.SUCCESS && this.flags & DictFlag.TRY0NULL) {
      if (this.getRaw(name) !== undefined) {
        this.pending.set(name, null);
        this.flags &= ~DictFlag.TRY1NULL;
        status = DictStat.SUCCESS;
      }
    }
    if (status === DictStat.SUCCESS) this.dirty = true;
    return status;
  }

  /** All raw records, stored ones merged with pending changes, in key order. */
  private *rawRecords(): Generator<[string, string]> {
    const changes = [...this.pending.keys()].sort();
    let c = 0;
    if (this.reader !== undefined) {
      for (const [kb, vb] of this.reader.records()) {
        const k = kb.toString('latin1', 0, kb.length);
        while (c < changes.length && changes[c]! < k) {
          const v = this.pending.get(changes[c]!);
          if (v !== null && v !== undefined) yield [changes[c]!, v];
          c++;
        }
        if (c < changes.length && changes[c] === k) {
          const v = this.pending.get(k);
          if (v !== null && v !== undefined) yield [k, v];
          c++;
          continue;
        }
        yield [k, vb.toString('latin1', 0, vb.length)];
      }
    }
    for (; c < changes.length; c++) {
      const v = this.pending.get(changes[c]!);
      if (v !== null && v !== undefined) yield [changes[c]!, v];
    }
  }

  /** dict_lmdb_sequence: keys and values as C strings. */
  async *sequence(): AsyncGenerator<[string, string]> {
    this.check();
    try {
      for (const [k, v] of this.rawRecords()) {
        yield [cString(Buffer.from(k, 'latin1')), v.length > 0 ? cString(Buffer.from(v, 'latin1')) : ''];
      }
    } catch (err) {
      if (err instanceof LmdbError) fatal(`error seeking ${this.table}: ${err.message}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    const temp = this.temp;
    this.temp = undefined;
    if (temp !== undefined) {
      try {
        if (this.dirty) {
          writeRecords(temp.fd, this.rawRecords(), this.mapSize);
          commitTemp(temp.fd, temp.tmp, this.path);
        } else discardTemp(temp.fd, temp.tmp);
      } catch (err) {
        discardTemp(temp.fd, temp.tmp);
        fatal(`table ${this.type}:${dictName(this.type, this.name)}: write error: ${errorText(err)}`);
      }
    }
    this.reader?.close();
    this.reader = undefined;
    this.pending.clear();
  }
}

/** MapDriver.open for lmdb:, hash: and btree:. */
export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  let flags = opts.dictFlags | DictFlag.FIXED | DictFlag.MULTI_WRITER;
  if ((flags & (DictFlag.TRY0NULL | DictFlag.TRY1NULL)) === 0) flags |= DictFlag.TRY0NULL | DictFlag.TRY1NULL;
  const table = new LmdbTable(type, name, lmdbDataPath(type, name), flags, mapSizeOf(opts), utf8EnableOf(opts.param));
  table.init(opts);
  return table;
}

/** What postmap's bulk build needs to know. */
export interface BulkBuildOptions {
  type: string;
  name: string;
  /** The source text (postmap input). */
  source: Buffer;
  /** Source path as given, for warnings. */
  sourcePath: string;
  /** DictFlag bits as postmap computes them (FOLD_FIX, TRY*NULL, DUP_*). */
  dictFlags: number;
  /** UTF-8 layer active (smtputf8_enable and DICT_FLAG_UTF8_REQUEST). */
  utf8: boolean;
  /** util_utf8_enable, for printable(). */
  utf8Enable: boolean;
  mapSize?: number;
  /** Value transformation for postmap -F; undefined = skip the line (warning already given). */
  mapValue?: (value: string, lineno: number, warn: (text: string) => void) => string | undefined;
}

class GrowBuffer {
  buf = Buffer.allocUnsafe(1 << 16);
  used = 0;
  reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}

/** Upper bound of the records in a source: its physical lines. */
function countLines(buf: Buffer): number {
  let n = 1;
  for (let at = buf.indexOf(10); at >= 0; at = buf.indexOf(10, at + 1)) n++;
  return n;
}

/**
 * postmap's create mode for lmdb/hash/btree, as one bulk load: parse the
 * source (warnings as postmap words them), fold keys, sort, drop or keep
 * duplicates per DUP_*, and write a complete new file that replaces the
 * old one. Warnings come out in source-line order, as the real postmap
 * prints them while it reads; a fatal error (an over-long key) stops at
 * its line, after the warnings for the lines before it.
 */
export function bulkBuild(o: BulkBuildOptions): void {
  const table = dupLabel(o.type, o.name);
  const path = lmdbDataPath(o.type, o.name);
  let temp: { fd: number; tmp: string };
  try {
    temp = createTemp(path);
  } catch (err) {
    fatal(`open database ${path}: ${errorText(err)}`);
  }
  const src = o.source;
  const fold = (o.dictFlags & DictFlag.FOLD_FIX) !== 0;
  const nul = (o.dictFlags & DictFlag.TRY0NULL) === 0 || (o.dictFlags & DictFlag.TRY1NULL) !== 0;
  const warnings: Array<[number, string]> = [];
  const addWarn = (lineno: number, text: string) => warnings.push([lineno, text]);
  // Entries: folded key bytes in `keys`; values by buffer index and range.
  const keys = new GrowBuffer();
  const max = countLines(src);
  const kOff = new Int32Array(max);
  const kLen = new Int32Array(max);
  const vBufId = new Int32Array(max);
  const vOff = new Int32Array(max);
  const vLen = new Int32Array(max);
  const lines = new Int32Array(max);
  const valueBufs: Buffer[] = [src];
  let n = 0;
  let fatalText: string | undefined;
  let stop = false;
  scanLogicalLines(
    src,
    o.sourcePath,
    (line, s, e, lineno) => {
      if (stop) return;
      if (o.utf8 && lineIsBadUtf8(line, s, e)) {
        addWarn(
          lineno,
          `${o.sourcePath}, line ${lineno}: non-UTF-8 input "${printable(lineText(line, s, e), o.utf8Enable)}" -- ignoring this line`,
        );
        return;
      }
      const r = splitKeyValue(line, s, e);
      if (r === Split.UNBALANCED) {
        addWarn(
          lineno,
          `${o.sourcePath}, line ${lineno}: unbalanced '"' in '${printable(lineText(line, s, e), o.utf8Enable)}' -- ignoring this line`,
        );
        return;
      }
      if (r === Split.FORMAT) {
        addWarn(lineno, `${o.sourcePath}, line ${lineno}: expected format: key whitespace value`);
        return;
      }
      const ke = split.keyEnd;
      if (line[ke - 1] === 58) {
        addWarn(lineno, `${o.sourcePath}, line ${lineno}: record is in "key: value" format; is this an alias file?`);
      }
      let valueBuf = line;
      let vs = split.valueStart;
      let ve = split.valueEnd;
      if (o.mapValue) {
        const mapped = o.mapValue(line.toString('latin1', vs, ve), lineno, (t) => addWarn(lineno, t));
        if (mapped === undefined) return;
        valueBuf = Buffer.from(mapped, 'latin1');
        vs = 0;
        ve = valueBuf.length;
      }
      // Key bytes, folded.
      let klen = ke - s;
      let ascii = true;
      for (let i = s; i < ke; i++) {
        if (line[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      const at = keys.used;
      if (ascii || !fold) {
        keys.reserve(klen);
        const kb = keys.buf;
        if (fold) {
          for (let i = 0; i < klen; i++) {
            const c = line[s + i]!;
            kb[at + i] = c >= 65 && c <= 90 ? c + 32 : c;
          }
        } else line.copy(kb, at, s, ke);
      } else {
        const folded = Buffer.from(casefold(line.toString('latin1', s, ke), o.utf8), 'latin1');
        klen = folded.length;
        keys.reserve(klen);
        folded.copy(keys.buf, at);
      }
      if (klen + (nul ? 1 : 0) > MAX_KEY_SIZE) {
        fatalText = `error updating ${table}: ${BAD_VALSIZE}`;
        stop = true;
        return;
      }
      keys.used += klen;
      kOff[n] = at;
      kLen[n] = klen;
      if (valueBuf !== src) {
        if (valueBufs[valueBufs.length - 1] !== valueBuf) valueBufs.push(valueBuf);
        vBufId[n] = valueBufs.length - 1;
      } else vBufId[n] = 0;
      vOff[n] = vs;
      vLen[n] = ve - vs;
      lines[n] = lineno;
      n++;
    },
    (text) => addWarn(0, text),
  );
  const arena = keys.buf;
  const order = sortByteKeys(arena, kOff, kLen, n);
  // Duplicates: equal keys are adjacent, in source order.
  const keep = new Uint8Array(n);
  const replace = (o.dictFlags & DictFlag.DUP_REPLACE) !== 0;
  const quiet = (o.dictFlags & DictFlag.DUP_IGNORE) !== 0 || replace;
  const sameKey = (a: number, b: number) => {
    const la = kLen[a]!;
    if (la !== kLen[b]) return false;
    const oa = kOff[a]!;
    const ob = kOff[b]!;
    for (let i = 0; i < la; i++) if (arena[oa + i] !== arena[ob + i]) return false;
    return true;
  };
  let groupStart = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && i > groupStart && sameKey(order[groupStart]!, order[i]!)) continue;
    if (i > groupStart) {
      const winner = replace ? order[i - 1]! : order[groupStart]!;
      keep[winner] = 1;
      if (!quiet) {
        for (let j = groupStart + 1; j < i; j++) {
          const dup = order[j]!;
          const k = arena.toString('latin1', kOff[dup]!, kOff[dup]! + kLen[dup]!);
          addWarn(lines[dup]!, `${table}: duplicate entry: "${printable(k, o.utf8Enable)}"`);
        }
      }
    }
    groupStart = i;
  }
  // Report in source order (sort is stable: same-line warnings keep their order).
  warnings.sort((a, b) => a[0] - b[0]);
  for (const [, text] of warnings) warn(text);
  if (fatalText !== undefined) {
    discardTemp(temp.fd, temp.tmp);
    fatal(fatalText);
  }
  try {
    const writer = new LmdbBulkWriter(temp.fd);
    for (let i = 0; i < n; i++) {
      const k = order[i]!;
      if (!keep[k]) continue;
      writer.add(arena, kOff[k]!, kLen[k]!, valueBufs[vBufId[k]!]!, vOff[k]!, vLen[k]!, nul);
    }
    writer.finish(o.mapSize ?? DEFAULT_LMDB_MAP_SIZE);
    commitTemp(temp.fd, temp.tmp, path);
  } catch (err) {
    discardTemp(temp.fd, temp.tmp);
    fatal(`table ${o.type}:${dictName(o.type, o.name)}: write error: ${errorText(err)}`);
  }
}

/** Does this driver build tables from source (mkmap_open)? */
export const BULK_TYPES = new Set(['lmdb', 'hash', 'btree']);

/** Exposed for tests: the first bytes of a file look like Berkeley DB. */
export function isBerkeleyFile(path: string): boolean {
  return looksBerkeley(path);
}

