/**
 * cli/postalias.ts: postalias(1), Postfix alias database maintenance.
 *
 *   postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file ...
 *
 * Builds alias tables from aliases(5) files (maps/aliases.ts) through the
 * table registry, adding the entries postalias always adds: "@" -> "@"
 * (Sendmail's "database complete" mark) and, without a trailing NUL and
 * unfolded, YP_LAST_MODIFIED and YP_MASTER_NAME (NIS). Queries, deletes
 * and listings work as in postmap, with "key:<TAB>value" output.
 */
import { fstatSync, openSync, readFileSync, closeSync } from 'node:fs';
import { fatal, setVerbose, warn } from '../log/msg.js';
import { readAliasRecords } from '../maps/aliases.js';
import { printable } from '../maps/dict-utf8.js';
import { BULK_TYPES } from '../maps/lmdb.js';
import { isKnownMapType } from '../maps/registry.js';
import { DictError, DictFlag, type LookupTable } from '../maps/types.js';
import { getopt } from '../util/getopt.js';
import { setOutputEncoding } from '../util/out.js';
import { strerror } from '../util/strerror.js';
import {
  type MapTool,
  POSTFIX_KNOWN_TYPES,
  argBytes,
  deleteKey,
  deleteStdin,
  getoptFailure,
  initMapTool,
  mkmapUnsupported,
  openForTool,
  queryOne,
  queryStdin,
  readStdin,
  sequenceTable,
  splitSpec,
  stdinLines,
} from './map-tool.js';

const USAGE = 'usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...';

const AS_OWNER = 1 << 0;
const SAVE_PERM = 1 << 1;

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

/** The postalias() routine: build (or with -i update) one alias table. */
async function build(
  tool: MapTool,
  type: string,
  name: string,
  flags: number,
  incremental: boolean,
  dictFlags: number,
): Promise<void> {
  let data: Buffer;
  let path: string;
  let st: { mode: number; uid: number; gid: number; regular: boolean };
  if (incremental) {
    path = 'stdin';
    const s = fstatSync(0);
    st = { mode: s.mode, uid: s.uid, gid: s.gid, regular: s.isFile() };
    data = Buffer.alloc(0);
  } else {
    if (type === 'proxy') fatal("can't create maps via the proxy service");
    dictFlags |= DictFlag.BULK_UPDATE;
    path = name;
    let fd: number;
    try {
      fd = openSync(name, 'r');
    } catch (err) {
      return fatal(`open ${name}: ${strerror(err)}`);
    }
    try {
      const s = fstatSync(fd);
      st = { mode: s.mode, uid: s.uid, gid: s.gid, regular: s.isFile() };
      try {
        data = readFileSync(fd);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EISDIR') return fatal(`read ${name}: ${strerror(err)}`);
        data = Buffer.alloc(0);
      }
    } finally {
      closeSync(fd);
    }
  }
  const savedMask = process.umask();
  if (flags & SAVE_PERM && st.regular) process.umask(0o022 | (~st.mode & 0o077));
  if (flags & AS_OWNER && process.getuid?.() === 0 && (st.uid !== process.geteuid?.() || st.gid !== process.getegid?.())) {
    try {
      process.setegid?.(st.gid);
      process.seteuid?.(st.uid);
    } catch (err) {
      fatal(`set_eugid: ${strerror(err)}`);
    }
  }
  if (!BULK_TYPES.has(type) && type !== 'fail') {
    mkmapUnsupported(type, (t) => isKnownMapType(t) || POSTFIX_KNOWN_TYPES.has(t));
  }
  const table = await openForTool(tool, type, name, incremental ? 'update' : 'create', dictFlags | DictFlag.DUP_WARN);
  process.umask(savedMask);
  if (incremental) data = readStdin();
  const events: Array<string | { key: string; value: string }> = [];
  readAliasRecords(
    data,
    {
      path,
      utf8Check: (table.flags & DictFlag.UTF8_ACTIVE) !== 0,
      warn: (text) => events.push(printable(text, tool.utf8Enable)),
    },
    (r) => events.push({ key: r.key, value: r.value }),
  );
  for (const e of events) {
    if (typeof e === 'string') warn(e);
    else await append(tool, table, e.key, e.value);
  }
  // Sendmail and NIS signatures: replaced on update.
  if (incremental) table.flags |= DictFlag.DUP_REPLACE;
  await append(tool, table, '@', '@');
  table.flags = (table.flags & ~DictFlag.TRY1NULL) | DictFlag.TRY0NULL;
  table.flags &= ~DictFlag.FOLD_FIX;
  await append(tool, table, 'YP_LAST_MODIFIED', String(Math.floor(Date.now() / 1000)).padStart(10, '0'));
  await append(tool, table, 'YP_MASTER_NAME', tool.config.get('myhostname'));
  await table.close();
}

export async function main(argv: string[]): Promise<number> {
  setOutputEncoding('latin1');
  process.umask(0o022);
  if (process.env.MAIL_VERBOSE) setVerbose(1);
  let flags = AS_OWNER | SAVE_PERM;
  let incremental = false;
  let dictFlags = DictFlag.DUP_WARN | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST;
  let query: string | undefined;
  let delkey: string | undefined;
  let sequence = false;
  let configDir: string | undefined;
  let verbose = 0;

  const parsed = getopt(argv, 'Nc:d:finopq:rsuvw');
  for (const [ch, arg] of parsed.opts) {
    switch (ch) {
      case 'N':
        dictFlags = (dictFlags | DictFlag.TRY1NULL) & ~DictFlag.TRY0NULL;
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
      case 'i':
        incremental = true;
        break;
      case 'n':
        dictFlags = (dictFlags | DictFlag.TRY0NULL) & ~DictFlag.TRY1NULL;
        break;
      case 'o':
        flags &= ~AS_OWNER;
        break;
      case 'p':
        flags &= ~SAVE_PERM;
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
  const tool = initMapTool('postalias', configDir);

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
    const lock = dictFlags | DictFlag.LOCK;
    if (query === '-') {
      return (await queryStdin(tool, operands, lock, { alwaysReason: true }, ':\t', stdinLines())) ? 0 : 1;
    }
    for (const spec of operands) {
      const { type, name } = splitSpec(tool, spec);
      if (await queryOne(tool, type, name, query, lock, { alwaysReason: true })) return 0;
    }
    return 1;
  }
  if (sequence) {
    if (operands.length < 1) return 1;
    await sequenceTable(tool, operands[0]!, dictFlags | DictFlag.LOCK, ':\t');
    return 0;
  }
  if (operands.length < 1) fatal(USAGE);
  for (const spec of operands) {
    const { type, name } = splitSpec(tool, spec);
    await build(tool, type, name, flags, incremental, dictFlags);
  }
  return 0;
}
