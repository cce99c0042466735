/**
 * cli/postmap.ts: postmap(1), Postfix lookup table management.
 *
 *   postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [type:]file ...
 *
 * Builds lmdb:/hash:/btree: tables from source files (one bulk load per
 * table, lmdb.ts), updates them from stdin (-i) or deletes keys (-d),
 * queries any table type the registry knows (-q key, -q - with keys or,
 * with -b/-h/-m, a message on stdin), and lists them (-s). Options,
 * messages and exit codes are those of Postfix 3.7's postmap.c; the input
 * syntax is source-file.ts.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { fatal, setVerbose, warn } from '../log/msg.js';
import { printable } from '../maps/dict-utf8.js';
import { BULK_TYPES, bulkBuild } from '../maps/lmdb.js';
import { isKnownMapType } from '../maps/registry.js';
import { readRecords } from '../maps/source-file.js';
import { DictError, DictFlag, type LookupTable } from '../maps/types.js';
import { getopt } from '../util/getopt.js';
import { flushStdout, out, setOutputEncoding } from '../util/out.js';
import { strerror } from '../util/strerror.js';
import {
  type MapTool,
  POSTFIX_KNOWN_TYPES,
  TableList,
  argBytes,
  deleteKey,
  deleteStdin,
  getoptFailure,
  initMapTool,
  lookupOrFatal,
  mkmapUnsupported,
  openForTool,
  queryOne,
  queryStdin,
  readStdin,
  sequenceTable,
  splitSpec,
  stdinLines,
} from './map-tool.js';
import { mimeKeys } from './postmap-mime.js';

const USAGE = 'usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...';

const AS_OWNER = 1 << 0;
const SAVE_PERM = 1 << 1;
const HEADER_KEY = 1 << 2;
const BODY_KEY = 1 << 3;
const MIME_KEY = 1 << 4;
const HB_KEY = HEADER_KEY | BODY_KEY;
const FULL_KEY = BODY_KEY | MIME_KEY;
const ANY_KEY = HB_KEY | MIME_KEY;

/** Source file as postmap opens it: contents plus the fstat() result. */
interface Source {
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
  regular: boolean;
}

function readSource(path: string): Source {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return fatal(`open ${path}: ${strerror(err)}`);
  }
  try {
    const st = fstatSync(fd);
    let data: Buffer;
    try {
      data = readFileSync(fd);
    } catch (err) {
      // A directory reads as end-of-file in C: an empty table.
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR') return fatal(`read ${path}: ${strerror(err)}`);
      data = Buffer.alloc(0);
    }
    return { data, mode: st.mode, uid: st.uid, gid: st.gid, regular: st.isFile() };
  } finally {
    closeSync(fd);
  }
}

/** dict_file_to_b64 for -F: the named files' contents, base64; undefined + warning on error. */
function fileValue(value: string): { b64?: string; error?: string } {
  const names = value.split(/[, \t\r\n]+/).filter((s) => s.length > 0);
  if (names.length === 0) return { error: `empty pathname list: >>${value}<<'` };
  const parts: Buffer[] = [];
  for (let i = 0; i < names.length; i++) {
    const file = Buffer.from(names[i]!, 'latin1').toString('utf8');
    try {
      parts.push(readFileSync(file));
    } catch (err) {
      return { error: `open ${names[i]}: ${strerror(err)}` };
    }
    if (i + 1 < names.length) parts.push(Buffer.from('\n'));
  }
  return { b64: Buffer.concat(parts).toString('base64') };
}

/** set_eugid() to the source owner when running as root (postmap without -o). */
function becomeOwner(src: Source, flags: number): void {
  if (!(flags & AS_OWNER) || process.getuid?.() !== 0) return;
  if (src.uid === process.geteuid?.() && src.gid === process.getegid?.()) return;
  try {
    process.setegid?.(src.gid);
    process.seteuid?.(src.uid);
  } catch (err) {
    fatal(`set_eugid: ${strerror(err)}`);
  }
}

/** The postmap() routine: create (bulk) or update (-i) one table. */
async function build(
  tool: MapTool,
  type: string,
  name: string,
  postmapFlags: number,
  incremental: boolean,
  dictFlags: number,
): Promise<void> {
  let src: Source;
  let path: string;
  if (incremental) {
    path = 'stdin';
    const st = fstatSync(0);
    src = { data: Buffer.alloc(0), mode: st.mode, uid: st.uid, gid: st.gid, regular: st.isFile() };
  } else {
    if (type === 'proxy') fatal("can't create maps via the proxy service");
    dictFlags |= DictFlag.BULK_UPDATE;
    path = name;
    src = readSource(name);
  }
  const savedMask = process.umask();
  if (postmapFlags & SAVE_PERM && src.regular) process.umask(0o022 | (~src.mode & 0o077));
  becomeOwner(src, postmapFlags);
  const bulk = BULK_TYPES.has(type);
  if (!bulk && type !== 'fail') {
    mkmapUnsupported(type, (t) => isKnownMapType(t) || POSTFIX_KNOWN_TYPES.has(t));
  }
  // mkmap_open() always adds DUP_WARN; the table's own DUP_* bits decide first.
  const flags = dictFlags | DictFlag.DUP_WARN;
  const utf8 = tool.utf8Enable && (flags & DictFlag.UTF8_REQUEST) !== 0;
  const rhsIsFile = (flags & DictFlag.SRC_RHS_IS_FILE) !== 0;
  const mapValue = rhsIsFile
    ? (value: string, lineno: number, warnLine: (t: string) => void) => {
        const r = fileValue(value);
        if (r.error !== undefined) {
          warnLine(printable(`${path}, line ${lineno}: ${r.error}: skipping this entry`, tool.utf8Enable));
          return undefined;
        }
        return r.b64;
      }
    : undefined;
  if (bulk && !incremental) {
    const mapSize = Number(tool.param('lmdb_map_size'));
    bulkBuild({
      type,
      name,
      source: src.data,
      sourcePath: path,
      dictFlags: flags,
      utf8,
      utf8Enable: tool.utf8Enable,
      mapSize: Number.isFinite(mapSize) && mapSize > 0 ? mapSize : undefined,
      mapValue,
    });
    process.umask(savedMask);
    return;
  }
  const table = await openForTool(tool, type, name, incremental ? 'update' : 'create', flags);
  process.umask(savedMask);
  const data = incremental ? readStdin() : src.data;
  // Warnings and records in input order, as the real postmap interleaves them.
  const events: Array<string | { key: string; value: string }> = [];
  readRecords(
    data,
    {
      path,
      utf8Check: (table.flags & DictFlag.UTF8_ACTIVE) !== 0,
      warn: (_line, text) => events.push(printable(text, tool.utf8Enable)),
    },
    (r) => {
      let value: string | undefined = r.value;
      if (mapValue) value = mapValue(value, r.lineno, (t) => events.push(t));
      if (value !== undefined) events.push({ key: r.key, value });
    },
  );
  for (const e of events) {
    if (typeof e === 'string') warn(e);
    else await append(tool, table, e.key, e.value);
  }
  await table.close();
}

/** mkmap_append(): store one record; a table error is fatal. */
async function append(tool: MapTool, table: LookupTable, key: string, value: string): Promise<void> {
  if (!table.update) fatal(`table ${table.type}:${table.name}: write error: Operation not supported`);
  try {
    await table.update(key, value);
  } catch (err) {
    if (err instanceof DictError) {
      fatal(printable(`table ${table.type}:${table.name}: write error: ${err.message}`, tool.utf8Enable));
    }
    throw err;
  }
}

/** postmap_queries with -b/-h/-m: lookup keys from a message on stdin. */
async function queryMessage(tool: MapTool, specs: string[], postmapFlags: number, dictFlags: number): Promise<boolean> {
  const list = new TableList(tool, specs, dictFlags);
  const message = readStdin().toString('latin1');
  const keys: string[] = [];
  mimeKeys(message, {
    mime: (postmapFlags & MIME_KEY) !== 0,
    header: postmapFlags & HEADER_KEY ? (k) => keys.push(k) : undefined,
    body: postmapFlags & BODY_KEY ? (k) => keys.push(k) : undefined,
    stopAfterPrimary: (postmapFlags & FULL_KEY) === 0,
  });
  let found = false;
  for (const key of keys) {
    for (let n = 0; n < list.length; n++) {
      const t = await list.get(n);
      const value = await lookupOrFatal(tool, t, key, { alwaysReason: true });
      if (value !== undefined) {
        if (value === '') {
          warn(printable(`table ${t.type}:${t.name}: key ${key}: empty string result is not allowed`, tool.utf8Enable));
          warn(`table ${t.type}:${t.name} should return NO RESULT in case of NOT FOUND`);
        }
        out(`${key}\t${value}\n`);
        found = true;
        break;
      }
    }
  }
  if (found) flushStdout();
  await list.closeAll();
  return found;
}

export async function main(argv: string[]): Promise<number> {
  setOutputEncoding('latin1');
  process.umask(0o022);
  if (process.env.MAIL_VERBOSE) setVerbose(1);
  let postmapFlags = AS_OWNER | SAVE_PERM;
  let incremental = false;
  let dictFlags = DictFlag.DUP_WARN | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST;
  let query: string | undefined;
  let delkey: string | undefined;
  let sequence = false;
  let forceUtf8 = false;
  let configDir: string | undefined;
  let verbose = 0;

  const parsed = getopt(argv, 'bc:d:fFhimnNopq:rsuUvw');
  for (const [ch, arg] of parsed.opts) {
    switch (ch) {
      case 'N':
        dictFlags = (dictFlags | DictFlag.TRY1NULL) & ~DictFlag.TRY0NULL;
        break;
      case 'b':
        postmapFlags |= BODY_KEY;
        break;
      case 'c':
        configDir = arg;
        break;
      case 'd':
        if (sequence || query !== undefined || delkey !== undefined) fatal('specify only one of -s -q or -d');
        delkey = argBytes(arg!);
        break;
      case 'f':
        dictFlags &= ~DictFlag.FOLD_FIX;
        break;
      case 'F':
        dictFlags |= DictFlag.SRC_RHS_IS_FILE;
        break;
      case 'h':
        postmapFlags |= HEADER_KEY;
        break;
      case 'i':
        incremental = true;
        break;
      case 'm':
        postmapFlags |= MIME_KEY;
        break;
      case 'n':
        dictFlags = (dictFlags | DictFlag.TRY0NULL) & ~DictFlag.TRY1NULL;
        break;
      case 'o':
        postmapFlags &= ~AS_OWNER;
        break;
      case 'p':
        postmapFlags &= ~SAVE_PERM;
        break;
      case 'q':
        if (sequence || query !== undefined || delkey !== undefined) fatal('specify only one of -s -q or -d');
        query = argBytes(arg!);
        break;
      case 'r':
        dictFlags = (dictFlags & ~(DictFlag.DUP_WARN | DictFlag.DUP_IGNORE)) | DictFlag.DUP_REPLACE;
        break;
      case 's':
        if (query !== undefined || delkey !== undefined) fatal('specify only one of -s or -q or -d');
        sequence = true;
        break;
      case 'u':
        dictFlags &= ~DictFlag.UTF8_REQUEST;
        break;
      case 'U':
        forceUtf8 = true;
        break;
      case 'v':
        verbose++;
        break;
      case 'w':
        dictFlags = (dictFlags & ~(DictFlag.DUP_WARN | DictFlag.DUP_REPLACE)) | DictFlag.DUP_IGNORE;
        break;
    }
  }
  if (!parsed.ok) getoptFailure(parsed.error, USAGE);
  if (verbose) setVerbose(verbose);
  const operands = parsed.operands;
  const tool = initMapTool('postmap', configDir);

  if ((query === undefined || query !== '-') && postmapFlags & ANY_KEY) fatal('specify -b -h or -m only with "-q -"');
  if (postmapFlags & ANY_KEY && (postmapFlags & ANY_KEY) === (postmapFlags & MIME_KEY)) {
    warn('ignoring -m option without -b or -h');
  }
  if (postmapFlags & (ANY_KEY & ~MIME_KEY) && !forceUtf8) {
    dictFlags &= ~(DictFlag.UTF8_REQUEST | DictFlag.UTF8_ACTIVE);
  }
  const rhsIsFile = (dictFlags & DictFlag.SRC_RHS_IS_FILE) !== 0;

  if (delkey !== undefined) {
    if (operands.length < 1) fatal(USAGE);
    if (delkey === '-') return (await deleteStdin(tool, operands, dictFlags | DictFlag.LOCK)) ? 0 : 1;
    let found = false;
    for (const spec of operands) {
      if (await deleteKey(tool, spec, delkey, dictFlags | DictFlag.LOCK)) found = true;
    }
    return found ? 0 : 1;
  }
  if (query !== undefined) {
    if (operands.length < 1) fatal(USAGE);
    const flags = dictFlags | DictFlag.LOCK;
    if (query === '-') {
      if ((postmapFlags & HB_KEY) === 0) {
        const found = await queryStdin(tool, operands, flags, { alwaysReason: false, rhsIsFile }, '\t', stdinLines());
        return found ? 0 : 1;
      }
      return (await queryMessage(tool, operands, postmapFlags, flags)) ? 0 : 1;
    }
    for (const spec of operands) {
      const { type, name } = splitSpec(tool, spec);
      if (await queryOne(tool, type, name, query, flags, { alwaysReason: false, rhsIsFile })) return 0;
    }
    return 1;
  }
  if (sequence) {
    if (operands.length < 1) return 1;
    await sequenceTable(tool, operands[0]!, dictFlags | DictFlag.LOCK, '\t', rhsIsFile);
    return 0;
  }
  if (operands.length < 1) fatal(USAGE);
  for (const spec of operands) {
    const { type, name } = splitSpec(tool, spec);
    await build(tool, type, name, postmapFlags, incremental, dictFlags);
  }
  return 0;
}
