/**
 * maps/texthash.ts: texthash: tables (util/dict_thash.c), a postmap
 * source file read into memory when the table is opened, with no
 * database file. Same input syntax as postmap (source-file.ts), with
 * texthash's own wording: "expected format: key whitespace value --
 * ignoring this line" and duplicates reported with file and line.
 *
 * A file modified within the last second is "hot": it is read again after
 * a pause, as dict_thash_open does, so a table is never built from a
 * half-written file. Keys fold like any fixed-string table (FOLD_FIX:
 * ASCII here, full Unicode in the UTF-8 layer).
 */
import { fstatSync, openSync, readFileSync, closeSync } from 'node:fs';
import { warn } from '../log/msg.js';
import { strerror } from '../util/strerror.js';
import { casefold, lowercaseAscii } from './casefold.js';
import { printable, utf8EnableOf } from './dict-utf8.js';
import { readRecords } from './source-file.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from './types.js';

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

class TexthashTable implements LookupTable {
  readonly type = 'texthash';
  flags: number;
  constructor(
    readonly name: string,
    flags: number,
    private readonly data: Map<string, string>,
  ) {
    this.flags = flags;
  }

  async lookup(key: string): Promise<string | undefined> {
    return this.lookupSync(key);
  }

  lookupSync(key: string): string | undefined {
    return this.data.get(this.flags & DictFlag.FOLD_FIX ? lowercaseAscii(key) : key);
  }

  async *sequence(): AsyncGenerator<[string, string]> {
    for (const entry of this.data) yield entry;
  }

  async close(): Promise<void> {
    this.data.clear();
  }
}

export async function open(_type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const table = `texthash:${name}`;
  if (opts.mode !== 'read') {
    throw new DictError('config', table, `${table} map requires O_RDONLY access mode`);
  }
  const flags = opts.dictFlags | DictFlag.FIXED;
  const utf8Enable = utf8EnableOf(opts.param);
  const utf8 = utf8Enable && (flags & DictFlag.UTF8_REQUEST) !== 0;
  const fold = (key: string): string => {
    if (!(flags & DictFlag.FOLD_FIX)) return key;
    return utf8 ? casefold(key, true) : lowercaseAscii(key);
  };
  for (let before = Math.floor(Date.now() / 1000); ; ) {
    let text: Buffer;
    let mtime: number;
    try {
      const fd = openSync(name, 'r');
      try {
        text = readFileSync(fd);
        mtime = Math.floor(fstatSync(fd).mtimeMs / 1000);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new DictError('retry', table, `open database ${name}: ${strerror(err)}`);
    }
    const data = new Map<string, string>();
    let failure: string | undefined;
    readRecords(
      text,
      {
        path: name,
        utf8Check: utf8,
        texthash: true,
        warn: (_line, t) => warn(printable(t, utf8Enable)),
      },
      (r) => {
        if (failure !== undefined) return;
        const key = fold(r.key);
        if (data.has(key)) {
          if (flags & DictFlag.DUP_IGNORE) return;
          if (flags & DictFlag.DUP_REPLACE) data.set(key, r.value);
          else if (flags & DictFlag.DUP_WARN)
            warn(printable(`${name}, line ${r.lineno}: duplicate entry: "${r.key}"`, utf8Enable));
          else failure = `${name}, line ${r.lineno}: duplicate entry: "${r.key}"`;
          return;
        }
        data.set(key, r.value);
      },
    );
    if (failure !== undefined) throw new DictError('config', table, failure);
    const after = Math.floor(Date.now() / 1000);
    if (mtime < before - 1 || mtime > after) return new TexthashTable(name, flags, data);
    // The file may still be changing: read it again after a pause.
    sleepMs(300);
    before = after;
  }
}
