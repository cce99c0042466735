/**
 * maps/lmdb-format.ts: the LMDB data file as Postfix writes and reads it
 * (data format version 1, LMDB 0.9.x, 64-bit little-endian), in plain
 * TypeScript: a reader that needs no lock file and a bulk writer for
 * sorted records.
 *
 * Why not the lmdb npm package here: Postfix opens its maps with
 * MDB_NOSUBDIR|MDB_NOLOCK (dict_lmdb.c), so readers pick the newer of the
 * two meta pages by transaction id. lmdb-js always uses LMDB's lock file,
 * whose reader table carries the last transaction id a *locking* writer
 * committed; a file replaced by rename, or written in place by a real
 * postmap (which never touches the lock file), would be read through the
 * wrong meta page, i.e. as an older or empty tree. The layout below follows
 * mdb.c (MDB_page, MDB_node, MDB_meta, MDB_db).
 *
 * File layout: page 0 and 1 are meta pages; the main (unnamed) database is
 * a B+tree of branch and leaf pages, values larger than a node's maximum
 * go on runs of overflow pages. Keys compare as bytes (memcmp, shorter
 * first), the default LMDB order.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

export const PAGE_SIZE = 4096;
/** MDB_MAXKEYSIZE in LMDB 0.9. */
export const MAX_KEY_SIZE = 511;
const PAGEHDRSZ = 16;
const NODESIZE = 8;
const META_SIZE = 152;
const MDB_MAGIC = 0xbeefc0de;
const DATA_VERSION = 1;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_META = 0x08;
const F_BIGDATA = 0x01;
/** mm_flags Postfix's environment leaves behind: MDB_NOSUBDIR | MDB_INTEGERKEY. */
const POSTFIX_ENV_FLAGS = 0x4000 | 0x08;

/** An error with LMDB's wording (mdb_strerror). */
export class LmdbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LmdbError';
  }
}

const MDB_INVALID = () => new LmdbError('MDB_INVALID', 'MDB_INVALID: File is not an LMDB file');
const MDB_VERSION_MISMATCH = () =>
  new LmdbError('MDB_VERSION_MISMATCH', 'MDB_VERSION_MISMATCH: Database environment version mismatch');
const MDB_CORRUPTED = () => new LmdbError('MDB_CORRUPTED', 'MDB_CORRUPTED: Located page was wrong type');

interface Meta {
  psize: number;
  mapsize: number;
  txnid: number;
  lastPg: number;
  root: number; // -1 = empty tree
  depth: number;
  entries: number;
}

function readU64(buf: Buffer, off: number): number {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi === 0xffffffff && lo === 0xffffffff) return -1;
  return hi * 0x100000000 + lo;
}

function writeU64(buf: Buffer, off: number, value: number): void {
  if (value < 0) {
    buf.writeUInt32LE(0xffffffff, off);
    buf.writeUInt32LE(0xffffffff, off + 4);
    return;
  }
  buf.writeUInt32LE(value % 0x100000000, off);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), off + 4);
}

function u16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

function preadFull(fd: number, buf: Buffer, pos: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Parse one meta page (mdb_env_read_header). */
function parseMeta(page: Buffer): Meta {
  if ((page.readUInt16LE(10) & P_META) === 0) throw MDB_INVALID();
  if (page.readUInt32LE(16) !== MDB_MAGIC) throw MDB_INVALID();
  if (page.readUInt32LE(20) !== DATA_VERSION) throw MDB_VERSION_MISMATCH();
  const main = 16 + 24 + 48;
  return {
    psize: page.readUInt32LE(40),
    mapsize: readU64(page, 32),
    root: readU64(page, main + 40),
    depth: page.readUInt16LE(main + 6),
    entries: readU64(page, main + 32),
    lastPg: readU64(page, 136),
    txnid: readU64(page, 144),
  };
}

/** Does this file start like a Berkeley DB hash or btree file (Postfix hash:/btree:)? */
export function isBerkeleyDb(head: Buffer): boolean {
  if (head.length < 16) return false;
  const le = head.readUInt32LE(12);
  const be = head.readUInt32BE(12);
  const magics = [0x061561, 0x053162, 0x042253];
  return magics.includes(le) || magics.includes(be);
}

/** Pages kept in one reader's page cache (one slab, FIFO replacement). */
const CACHE_PAGES = 16384;
/** Files up to this size are read whole at once. */
const SMALL_FILE = 1 << 20;
/**
 * Files up to this size are read whole once lookups have missed the page
 * cache for an eighth of the file (a busy reader, e.g. postmap -q -).
 */
const WHOLE_FILE_LIMIT = 256 << 20;

/**
 * A read-only view of one LMDB data file. It reads both meta pages on
 * open and on refresh() and always follows the newer one, as an
 * MDB_NOLOCK reader does. Pages are cached per snapshot.
 */
export class LmdbReader {
  private meta!: Meta;
  private size = 0;
  private whole: Buffer | undefined;
  private slab: Buffer | undefined;
  private slotOf = new Map<number, number>();
  private slotPage: Int32Array | undefined;
  private hand = 0;
  private misses = 0;

  private constructor(
    private fd: number,
    readonly path: string,
  ) {}

  /** Open a data file; throws NodeJS errors (ENOENT...) or LmdbError. */
  static open(path: string): LmdbReader {
    const fd = openSync(path, 'r');
    const reader = new LmdbReader(fd, path);
    try {
      reader.readMeta();
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return reader;
  }

  /** Re-read the meta pages; returns true when a newer transaction is visible. */
  refresh(): boolean {
    const old = this.meta.txnid;
    const oldRoot = this.meta.root;
    this.readMeta();
    return old !== this.meta.txnid || oldRoot !== this.meta.root;
  }

  get entries(): number {
    return this.meta.entries;
  }

  get mapSize(): number {
    return this.meta.mapsize;
  }

  private readMeta(): void {
    const head = Buffer.alloc(PAGEHDRSZ + META_SIZE);
    const n = preadFull(this.fd, head, 0);
    if (n === 0) {
      // An empty file: LMDB would try to initialise it (read-only: EBADF).
      const err = new Error('Bad file descriptor') as NodeJS.ErrnoException;
      err.code = 'EBADF';
      throw err;
    }
    if (n < head.length) throw MDB_INVALID();
    const m0 = parseMeta(head);
    const head1 = Buffer.alloc(PAGEHDRSZ + META_SIZE);
    if (preadFull(this.fd, head1, m0.psize) < head1.length) throw MDB_INVALID();
    const m1 = parseMeta(head1);
    const meta = m1.txnid > m0.txnid ? m1 : m0;
    if (meta.psize < 512 || meta.psize > 0x10000 || (meta.psize & (meta.psize - 1)) !== 0) throw MDB_INVALID();
    this.meta = meta;
    this.slotOf.clear();
    this.slotPage?.fill(-1);
    this.misses = 0;
    this.whole = undefined;
    this.size = fstatSync(this.fd).size;
    if (this.size <= SMALL_FILE) this.loadWhole();
  }

  private loadWhole(): void {
    const all = Buffer.allocUnsafe(this.size);
    preadFull(this.fd, all, 0);
    this.whole = all;
    this.slab = undefined;
    this.slotPage = undefined;
    this.slotOf.clear();
  }

  /**
   * A page (or run of overflow pages). Single pages may come from the
   * cache slab: such a view is valid until the next page() call unless
   * stable is set.
   */
  private page(pgno: number, count = 1, stable = false): Buffer {
    const psize = this.meta.psize;
    if (pgno < 2 || pgno > this.meta.lastPg) throw MDB_CORRUPTED();
    const whole = this.whole;
    if (whole !== undefined) {
      const start = pgno * psize;
      const end = start + count * psize;
      if (end > whole.length) throw MDB_CORRUPTED();
      return whole.subarray(start, end);
    }
    if (count > 1 || stable) {
      const buf = Buffer.allocUnsafe(count * psize);
      if (preadFull(this.fd, buf, pgno * psize) < buf.length) throw MDB_CORRUPTED();
      return buf;
    }
    if (this.slab === undefined) {
      const pages = Math.min(CACHE_PAGES, Math.ceil(this.size / psize));
      this.slab = Buffer.allocUnsafe(pages * psize);
      this.slotPage = new Int32Array(pages).fill(-1);
      this.hand = 0;
    }
    const slab = this.slab;
    const hit = this.slotOf.get(pgno);
    if (hit !== undefined) return slab.subarray(hit * psize, (hit + 1) * psize);
    if (++this.misses * psize > this.size / 8 && this.size <= WHOLE_FILE_LIMIT) {
      this.loadWhole();
      return this.page(pgno);
    }
    const slots = this.slotPage!;
    const slot = this.hand;
    this.hand = (slot + 1) % slots.length;
    if (slots[slot]! >= 0) this.slotOf.delete(slots[slot]!);
    const view = slab.subarray(slot * psize, (slot + 1) * psize);
    if (preadFull(this.fd, view, pgno * psize) < psize) throw MDB_CORRUPTED();
    slots[slot] = pgno;
    this.slotOf.set(pgno, slot);
    return view;
  }

  /** Buffer holding the page that pageAt()/locate() ended on. */
  private curBuf: Buffer = Buffer.alloc(0);

  /**
   * Page pgno as (this.curBuf, return value = its byte offset), without
   * allocating a view: the whole file, or a slot of the cache slab.
   */
  private pageAt(pgno: number): number {
    const psize = this.meta.psize;
    if (this.whole !== undefined) {
      if (pgno < 2 || pgno > this.meta.lastPg || (pgno + 1) * psize > this.whole.length) throw MDB_CORRUPTED();
      this.curBuf = this.whole;
      return pgno * psize;
    }
    const view = this.page(pgno);
    if (this.whole !== undefined) return this.pageAt(pgno);
    this.curBuf = view.buffer === this.slab?.buffer ? this.slab! : view;
    return this.curBuf === view ? 0 : view.byteOffset - this.slab!.byteOffset;
  }

  /**
   * Find key: returns the node's offset in this.curBuf (page at
   * this.curBase), or -1 when the key is not stored.
   */
  private locate(key: Uint8Array, klen: number): number {
    if (this.meta.root < 0) return -1;
    let base = this.pageAt(this.meta.root);
    for (let level = 0; ; level++) {
      const page = this.curBuf;
      const flags = u16(page, base + 10);
      const nkeys = (u16(page, base + 12) - PAGEHDRSZ) >> 1;
      const isBranch = (flags & P_BRANCH) !== 0;
      if (!isBranch && (flags & P_LEAF) === 0) throw MDB_CORRUPTED();
      if (isBranch && (nkeys < 1 || level > 64)) throw MDB_CORRUPTED();
      // Branch: the last node whose key is <= key (node 0 has an implicit
      // low key). Leaf: the node whose key equals key.
      let lo = isBranch ? 1 : 0;
      let hi = nkeys - 1;
      let found = isBranch ? 0 : -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const node = base + u16(page, base + PAGEHDRSZ + 2 * mid);
        const ks = u16(page, node + 6);
        // memcmp order, shorter first.
        const k0 = node + NODESIZE;
        const m = Math.min(ks, klen);
        let c = 0;
        for (let i = 0; i < m; i++) {
          c = key[i]! - page[k0 + i]!;
          if (c !== 0) break;
        }
        if (c === 0) c = klen - ks;
        if (c === 0) {
          found = mid;
          break;
        }
        if (c > 0) {
          if (isBranch) found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (!isBranch) {
        return found < 0 ? -1 : base + u16(page, base + PAGEHDRSZ + 2 * found);
      }
      const node = base + u16(page, base + PAGEHDRSZ + 2 * found);
      const child = u16(page, node) + u16(page, node + 2) * 0x10000 + u16(page, node + 4) * 0x100000000;
      base = this.pageAt(child);
    }
  }

  /** The value stored under key (exact bytes), or undefined. */
  get(key: Buffer, klen = key.length): Buffer | undefined {
    const node = this.locate(key, klen);
    if (node < 0) return undefined;
    return this.nodeValue(this.curBuf, node);
  }

  /**
   * The value stored under key as a C string (up to its first NUL), as
   * dict_lmdb_lookup returns it, or undefined.
   */
  getString(key: Buffer, klen = key.length): string | undefined {
    const node = this.locate(key, klen);
    if (node < 0) return undefined;
    const page = this.curBuf;
    const nflags = u16(page, node + 4);
    if (nflags & F_BIGDATA) {
      const v = this.nodeValue(page, node);
      const nul = v.indexOf(0);
      return v.toString('latin1', 0, nul >= 0 ? nul : v.length);
    }
    const dsize = u16(page, node) + u16(page, node + 2) * 0x10000;
    const data = node + NODESIZE + u16(page, node + 6);
    let end = data;
    const stop = data + dsize;
    while (end < stop && page[end] !== 0) end++;
    return page.toString('latin1', data, end);
  }

  private nodeValue(page: Buffer, off: number): Buffer {
    const dsize = u16(page, off) + u16(page, off + 2) * 0x10000;
    const nflags = u16(page, off + 4);
    const ks = u16(page, off + 6);
    const data = off + NODESIZE + ks;
    if (nflags & F_BIGDATA) {
      const pgno = readU64(page, data);
      const first = this.page(pgno);
      if ((first.readUInt16LE(10) & P_OVERFLOW) === 0) throw MDB_CORRUPTED();
      const count = first.readUInt32LE(12);
      if (PAGEHDRSZ + dsize > count * this.meta.psize) throw MDB_CORRUPTED();
      const run = count === 1 ? first : this.page(pgno, count);
      return Buffer.from(run.subarray(PAGEHDRSZ, PAGEHDRSZ + dsize));
    }
    return Buffer.from(page.subarray(data, data + dsize));
  }

  /** Every record in key order (mdb_cursor_get MDB_FIRST/MDB_NEXT). */
  *records(): Generator<[Buffer, Buffer]> {
    if (this.meta.root < 0) return;
    if (this.whole === undefined && this.size <= WHOLE_FILE_LIMIT) this.loadWhole();
    const stack: Array<{ page: Buffer; i: number }> = [{ page: this.page(this.meta.root, 1, true), i: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const page = top.page;
      const flags = page.readUInt16LE(10);
      const nkeys = (page.readUInt16LE(12) - PAGEHDRSZ) >> 1;
      if (top.i >= nkeys) {
        stack.pop();
        continue;
      }
      const off = page.readUInt16LE(PAGEHDRSZ + 2 * top.i);
      top.i++;
      if (flags & P_BRANCH) {
        if (stack.length > 64) throw MDB_CORRUPTED();
        const child =
          page.readUInt16LE(off) + page.readUInt16LE(off + 2) * 0x10000 + page.readUInt16LE(off + 4) * 0x100000000;
        stack.push({ page: this.page(child, 1, true), i: 0 });
      } else if (flags & P_LEAF) {
        const ks = page.readUInt16LE(off + 6);
        yield [Buffer.from(page.subarray(off + NODESIZE, off + NODESIZE + ks)), this.nodeValue(page, off)];
      } else throw MDB_CORRUPTED();
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.slotOf.clear();
    this.slab = undefined;
    this.whole = undefined;
  }
}

/** Pages buffered before a write (small: fresh memory is costly to touch). */
const CHUNK_PAGES = 64;

/**
 * Writes a new LMDB data file from records given in strictly ascending
 * key order, packing pages full as LMDB's MDB_APPEND does. Pages are
 * written in page-number order; the meta pages last.
 */
export class LmdbBulkWriter {
  private readonly psize = PAGE_SIZE;
  private readonly nodemax = (((PAGE_SIZE - PAGEHDRSZ) / 2) & -2) - 2;
  private chunk = Buffer.allocUnsafe(CHUNK_PAGES * PAGE_SIZE);
  private chunkPages = 0;
  private chunkFirst = 2;
  private nextPgno = 2;
  private leaf = Buffer.alloc(PAGE_SIZE);
  private leafLower = PAGEHDRSZ;
  private leafUpper = PAGE_SIZE;
  private leafFirstKey: Buffer | undefined;
  private level0: Array<{ key: Buffer; pgno: number }> = [];
  private leafPages = 0;
  private branchPages = 0;
  private overflowPages = 0;
  private count = 0;

  constructor(private readonly fd: number) {}

  get entries(): number {
    return this.count;
  }

  /**
   * Append one record: key bytes [kOff, kOff+kLen) of kBuf, value bytes
   * likewise; nul appends one NUL byte to both (Postfix's default).
   */
  add(kBuf: Uint8Array, kOff: number, kLen: number, vBuf: Uint8Array, vOff: number, vLen: number, nul = false): void {
    const x = nul ? 1 : 0;
    const keySize = kLen + x;
    const valSize = vLen + x;
    const big = NODESIZE + keySize + valSize > this.nodemax;
    const raw = NODESIZE + keySize + (big ? 8 : valSize);
    const size = (raw + 1) & ~1;
    if (this.leafUpper - this.leafLower - 2 < size) this.flushLeaf();
    const ovPgno = big ? this.writeOverflow(vBuf, vOff, vLen, valSize) : 0;
    const page = this.leaf;
    const off = this.leafUpper - size;
    const lower = this.leafLower;
    page[lower] = off & 0xff;
    page[lower + 1] = off >>> 8;
    this.leafLower = lower + 2;
    this.leafUpper = off;
    page[off] = valSize & 0xff;
    page[off + 1] = (valSize >>> 8) & 0xff;
    page[off + 2] = (valSize >>> 16) & 0xff;
    page[off + 3] = valSize >>> 24;
    page[off + 4] = big ? F_BIGDATA : 0;
    page[off + 5] = 0;
    page[off + 6] = keySize & 0xff;
    page[off + 7] = keySize >>> 8;
    const kAt = off + NODESIZE;
    if (kLen <= 64) for (let i = 0; i < kLen; i++) page[kAt + i] = kBuf[kOff + i]!;
    else page.set(kBuf.subarray(kOff, kOff + kLen), kAt);
    if (nul) page[kAt + kLen] = 0;
    const dAt = kAt + keySize;
    if (big) writeU64(page, dAt, ovPgno);
    else {
      if (vLen <= 64) for (let i = 0; i < vLen; i++) page[dAt + i] = vBuf[vOff + i]!;
      else page.set(vBuf.subarray(vOff, vOff + vLen), dAt);
      if (nul) page[dAt + vLen] = 0;
    }
    if (raw !== size) page[off + raw] = 0;
    if (this.leafFirstKey === undefined) this.leafFirstKey = Buffer.from(page.subarray(kAt, kAt + keySize));
    this.count++;
  }

  private emitPages(data: Buffer): number {
    const pgno = this.nextPgno;
    const pages = data.length / this.psize;
    let done = 0;
    while (done < pages) {
      const room = CHUNK_PAGES - this.chunkPages;
      const take = Math.min(room, pages - done);
      data.copy(this.chunk, this.chunkPages * this.psize, done * this.psize, (done + take) * this.psize);
      this.chunkPages += take;
      done += take;
      if (this.chunkPages === CHUNK_PAGES) this.flushChunk();
    }
    this.nextPgno += pages;
    return pgno;
  }

  private flushChunk(): void {
    if (this.chunkPages === 0) return;
    const bytes = this.chunkPages * this.psize;
    let off = 0;
    while (off < bytes) off += writeSync(this.fd, this.chunk, off, bytes - off, this.chunkFirst * this.psize + off);
    this.chunkFirst += this.chunkPages;
    this.chunkPages = 0;
  }

  private writeOverflow(vBuf: Uint8Array, vOff: number, vLen: number, size: number): number {
    const count = Math.floor((PAGEHDRSZ - 1 + size) / this.psize) + 1;
    const run = Buffer.alloc(count * this.psize);
    writeU64(run, 0, this.nextPgno);
    run.writeUInt16LE(P_OVERFLOW, 10);
    run.writeUInt32LE(count, 12);
    run.set(vBuf.subarray(vOff, vOff + vLen), PAGEHDRSZ);
    this.overflowPages += count;
    return this.emitPages(run);
  }

  private flushLeaf(): void {
    if (this.leafFirstKey === undefined) return;
    const page = this.leaf;
    writeU64(page, 0, this.nextPgno);
    page.writeUInt16LE(0, 8);
    page.writeUInt16LE(P_LEAF, 10);
    page.writeUInt16LE(this.leafLower, 12);
    page.writeUInt16LE(this.leafUpper, 14);
    page.fill(0, this.leafLower, this.leafUpper);
    const pgno = this.emitPages(page);
    this.level0.push({ key: this.leafFirstKey, pgno });
    this.leafPages++;
    this.leafFirstKey = undefined;
    this.leafLower = PAGEHDRSZ;
    this.leafUpper = this.psize;
  }

  /** Build one level of branch pages over children; returns the parents. */
  private branchLevel(children: Array<{ key: Buffer; pgno: number }>): Array<{ key: Buffer; pgno: number }> {
    // Group children greedily, keeping at least two per page.
    const groups: number[][] = [];
    let cur: number[] = [];
    let used = PAGEHDRSZ;
    for (let i = 0; i < children.length; i++) {
      const ks = cur.length === 0 ? 0 : children[i]!.key.length;
      const need = ((NODESIZE + ks + 1) & ~1) + 2;
      if (cur.length > 0 && used + need > this.psize) {
        groups.push(cur);
        cur = [];
        used = PAGEHDRSZ;
      }
      const ks2 = cur.length === 0 ? 0 : children[i]!.key.length;
      used += ((NODESIZE + ks2 + 1) & ~1) + 2;
      cur.push(i);
    }
    if (cur.length > 0) groups.push(cur);
    if (groups.length > 1 && groups[groups.length - 1]!.length < 2) {
      const last = groups[groups.length - 1]!;
      const prev = groups[groups.length - 2]!;
      last.unshift(prev.pop()!);
    }
    const parents: Array<{ key: Buffer; pgno: number }> = [];
    for (const group of groups) {
      const page = Buffer.alloc(this.psize);
      let lower = PAGEHDRSZ;
      let upper = this.psize;
      for (let j = 0; j < group.length; j++) {
        const child = children[group[j]!]!;
        const key = j === 0 ? undefined : child.key;
        const ks = key === undefined ? 0 : key.length;
        const size = (NODESIZE + ks + 1) & ~1;
        upper -= size;
        page.writeUInt16LE(upper, lower);
        lower += 2;
        page.writeUInt16LE(child.pgno % 0x10000, upper);
        page.writeUInt16LE(Math.floor(child.pgno / 0x10000) % 0x10000, upper + 2);
        page.writeUInt16LE(Math.floor(child.pgno / 0x100000000) % 0x10000, upper + 4);
        page.writeUInt16LE(ks, upper + 6);
        if (key !== undefined) key.copy(page, upper + NODESIZE);
      }
      writeU64(page, 0, this.nextPgno);
      page.writeUInt16LE(P_BRANCH, 10);
      page.writeUInt16LE(lower, 12);
      page.writeUInt16LE(upper, 14);
      const pgno = this.emitPages(page);
      this.branchPages++;
      parents.push({ key: children[group[0]!]!.key, pgno });
    }
    return parents;
  }

  /**
   * Write the branch levels and both meta pages. mapSize is the configured
   * lmdb_map_size; it is doubled until the data fits, as Postfix does on
   * MDB_MAP_FULL.
   */
  finish(mapSize: number): void {
    this.flushLeaf();
    let level = this.level0;
    let depth = level.length > 0 ? 1 : 0;
    while (level.length > 1) {
      level = this.branchLevel(level);
      depth++;
    }
    this.flushChunk();
    const root = level.length === 1 ? level[0]!.pgno : -1;
    const lastPg = this.nextPgno - 1;
    let mapsize = mapSize > 0 ? mapSize : 16777216;
    while (mapsize < (lastPg + 1) * this.psize) mapsize *= 2;
    const metas = Buffer.alloc(2 * this.psize);
    for (let i = 0; i < 2; i++) {
      const m = metas.subarray(i * this.psize, (i + 1) * this.psize);
      writeU64(m, 0, i);
      m.writeUInt16LE(P_META, 10);
      m.writeUInt32LE(MDB_MAGIC, 16);
      m.writeUInt32LE(DATA_VERSION, 20);
      writeU64(m, 32, mapsize);
      // Free-page DB: empty; md_pad carries the page size, md_flags the env flags.
      m.writeUInt32LE(this.psize, 40);
      m.writeUInt16LE(POSTFIX_ENV_FLAGS, 44);
      writeU64(m, 40 + 40, -1);
      // Main DB.
      const main = 88;
      m.writeUInt16LE(depth, main + 6);
      writeU64(m, main + 8, this.branchPages);
      writeU64(m, main + 16, this.leafPages);
      writeU64(m, main + 24, this.overflowPages);
      writeU64(m, main + 32, this.count);
      writeU64(m, main + 40, root);
      writeU64(m, 136, lastPg);
      writeU64(m, 144, i);
    }
    let off = 0;
    while (off < metas.length) off += writeSync(this.fd, metas, off, metas.length - off, off);
  }
}
