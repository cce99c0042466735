/**
 * cli/map-tool.ts: what postmap(1) and postalias(1) share: reading
 * main.cf, opening tables through the registry with Postfix's error
 * words, the UTF-8 layer, stdin as bytes, and the query, delete and
 * sequence loops (postmap.c / postalias.c postmap_query, _queries,
 * _delete, _deletes, _seq). The two tools differ only in output format
 * ("key<TAB>value" vs "key:<TAB>value") and a few messages, passed in.
 */
import { readSync } from 'node:fs';
import { type PostfixConfig, loadPostfixConfig } from '../../compat/postfix/config.js';
import { fatal, info, warn } from '../log/msg.js';
import { type SyncLookup, activateUtf8, needUtf8Activation, printable } from '../maps/dict-utf8.js';
import { openTable } from '../maps/registry.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from '../maps/types.js';
import { flushStdout, out } from '../util/out.js';

export interface MapTool {
  prog: string;
  config: PostfixConfig;
  /** util_utf8_enable (smtputf8_enable). */
  utf8Enable: boolean;
  /** default_database_type. */
  dbType: string;
  param: (name: string) => string | undefined;
}

/** mail_conf_read() and the settings every map tool needs. */
export function initMapTool(prog: string, configDir: string | undefined): MapTool {
  const config = loadPostfixConfig({ configDir });
  const utf8Enable = config.bool('smtputf8_enable');
  return {
    prog,
    config,
    utf8Enable,
    dbType: config.get('default_database_type') || 'hash',
    param: (name) => config.get(name),
  };
}

/** A command-line argument as the byte string the C program sees. */
export function argBytes(arg: string): string {
  return Buffer.from(arg, 'utf8').toString('latin1');
}

/** split_at(spec, ':'), else the default database type. */
export function splitSpec(tool: MapTool, spec: string): { type: string; name: string } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { type: tool.dbType, name: spec };
  return { type: spec.slice(0, colon), name: spec.slice(colon + 1) };
}

/** Everything on stdin, as bytes. */
export function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        continue;
      }
      if (code === 'EOF' || code === 'EBADF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** vstring_get_nonl() over all of stdin: lines without '\n', as C strings, one at a time. */
export function* stdinLines(): Generator<string> {
  const data = readStdin();
  if (data.length === 0) return;
  const text = data.toString('latin1');
  for (let pos = 0; pos < text.length; ) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    pos = nl + 1;
    const nul = line.indexOf('\0');
    yield nul >= 0 ? line.slice(0, nul) : line;
  }
}

/** Open a table as dict_open3() would for the command-line tools: fatal on failure. */
export async function openForTool(
  tool: MapTool,
  type: string,
  name: string,
  mode: OpenOptions['mode'],
  dictFlags: number,
): Promise<LookupTable> {
  let table: LookupTable;
  try {
    table = await openTable(type, name, { mode, dictFlags, param: tool.param, progName: tool.prog });
  } catch (err) {
    if (err instanceof DictError) fatal(printable(err.message, tool.utf8Enable));
    throw err;
  }
  if (!(table.flags & DictFlag.UTF8_ACTIVE) && needUtf8Activation(tool.utf8Enable, dictFlags)) {
    table = activateUtf8(table);
  }
  return table;
}

function tableName(t: LookupTable): string {
  return `${t.type}:${t.name}`;
}

/** The "query error" fatal, as postmap words it (postalias always adds %m). */
function queryError(tool: MapTool, t: LookupTable, err: DictError, alwaysReason: boolean): never {
  const reason = err.kind === 'config' && !alwaysReason ? '' : `: ${err.message}`;
  return fatal(printable(`table ${tableName(t)}: query error${reason}`, tool.utf8Enable));
}

export interface LookupStyle {
  /** postalias: always "query error: %m". */
  alwaysReason: boolean;
  /** postmap -F: values are base64-encoded file contents. */
  rhsIsFile?: boolean;
}

/** dict_file_from_b64 for postmap -F lookups; undefined = malformed (warned). */
function decodeFileValue(tool: MapTool, t: LookupTable, key: string, value: string): string | undefined {
  const ok = value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
  if (!ok) {
    warn(printable(`table ${tableName(t)}: key ${key}: malformed BASE64 value: ${value.slice(0, 30)}`, tool.utf8Enable));
    return undefined;
  }
  return Buffer.from(value, 'base64').toString('latin1');
}

/** One lookup with Postfix's error handling: fatal on a table error. */
export async function lookupOrFatal(
  tool: MapTool,
  t: LookupTable,
  key: string,
  style: LookupStyle,
): Promise<string | undefined> {
  const v = lookupMaybeSync(tool, t, key, style);
  return v instanceof Promise ? await v : v;
}

/**
 * lookupOrFatal without a promise when the table can answer synchronously
 * (a million-key postmap -q - pays for every promise).
 */
export function lookupMaybeSync(
  tool: MapTool,
  t: LookupTable,
  key: string,
  style: LookupStyle,
): string | undefined | Promise<string | undefined> {
  const sync = (t as SyncLookup).lookupSync;
  if (sync === undefined) {
    return t.lookup(key).then(
      (v) => finishLookup(tool, t, key, v, style),
      (err) => failLookup(tool, t, err, style),
    );
  }
  let value: string | undefined;
  try {
    value = sync.call(t, key);
  } catch (err) {
    return failLookup(tool, t, err, style);
  }
  return finishLookup(tool, t, key, value, style);
}

function failLookup(tool: MapTool, t: LookupTable, err: unknown, style: LookupStyle): never {
  if (err instanceof DictError) queryError(tool, t, err, style.alwaysReason);
  throw err;
}

function finishLookup(
  tool: MapTool,
  t: LookupTable,
  key: string,
  value: string | undefined,
  style: LookupStyle,
): string | undefined {
  if (value !== undefined && style.rhsIsFile) {
    const decoded = decodeFileValue(tool, t, key, value);
    if (decoded === undefined) fatal(printable(`table ${tableName(t)}: query error`, tool.utf8Enable));
    return decoded;
  }
  return value;
}

function emptyResultWarnings(tool: MapTool, table: string, key: string): void {
  warn(printable(`table ${table}: key ${key}: empty string result is not allowed`, tool.utf8Enable));
  warn(printable(`table ${table} should return NO RESULT in case of NOT FOUND`, tool.utf8Enable));
}

/** postmap_query / postalias_query: one key, one table; true when found. */
export async function queryOne(
  tool: MapTool,
  type: string,
  name: string,
  key: string,
  dictFlags: number,
  style: LookupStyle,
): Promise<boolean> {
  const t = await openForTool(tool, type, name, 'read', dictFlags);
  const value = await lookupOrFatal(tool, t, key, style);
  if (value !== undefined) {
    if (value === '') emptyResultWarnings(tool, `${type}:${name}`, key);
    out(`${value}\n`);
  }
  flushStdout();
  await t.close();
  return value !== undefined;
}

/** A lazily opened list of tables, as the stdin loops use them. */
export class TableList {
  private tables: Array<LookupTable | undefined>;
  constructor(
    private readonly tool: MapTool,
    private readonly specs: string[],
    private readonly dictFlags: number,
  ) {
    this.tables = specs.map(() => undefined);
  }
  get length(): number {
    return this.specs.length;
  }
  /** The table if it is already open. */
  opened(i: number): LookupTable | undefined {
    return this.tables[i];
  }
  async get(i: number, mode: OpenOptions['mode'] = 'read'): Promise<LookupTable> {
    let t = this.tables[i];
    if (t === undefined) {
      const { type, name } = splitSpec(this.tool, this.specs[i]!);
      const m = mode !== 'read' && type === 'proxy' ? 'update' : mode;
      t = await openForTool(this.tool, type, name, m, this.dictFlags);
      this.tables[i] = t;
    }
    return t;
  }
  async closeAll(): Promise<void> {
    for (const t of this.tables) if (t) await t.close();
  }
}

/** postmap_queries / postalias_queries for plain keys; true when any was found. */
export async function queryStdin(
  tool: MapTool,
  specs: string[],
  dictFlags: number,
  style: LookupStyle,
  sep: string,
  keys: Iterable<string>,
): Promise<boolean> {
  const list = new TableList(tool, specs, dictFlags);
  let found = false;
  for (const key of keys) {
    for (let n = 0; n < list.length; n++) {
      const t = list.opened(n) ?? (await list.get(n));
      let value = lookupMaybeSync(tool, t, key, style);
      if (value instanceof Promise) value = await value;
      if (value !== undefined) {
        if (value === '') emptyResultWarnings(tool, tableName(t), key);
        out(`${key}${sep}${value}\n`);
        found = true;
        break;
      }
    }
  }
  if (found) flushStdout();
  await list.closeAll();
  return found;
}

function deleteError(tool: MapTool, t: LookupTable, err: unknown): never {
  const reason = err instanceof DictError ? err.message : String(err);
  return fatal(printable(`table ${tableName(t)}: delete error: ${reason}`, tool.utf8Enable));
}

async function deleteOne(tool: MapTool, t: LookupTable, key: string): Promise<boolean> {
  if (!t.delete) return fatal(`table ${tableName(t)}: delete operation is not supported`);
  try {
    return (await t.delete(key)) === 0;
  } catch (err) {
    return deleteError(tool, t, err);
  }
}

/** postmap_delete: open, delete, close (which writes the new file). */
export async function deleteKey(tool: MapTool, spec: string, key: string, dictFlags: number): Promise<boolean> {
  const { type, name } = splitSpec(tool, spec);
  const t = await openForTool(tool, type, name, 'update', dictFlags);
  const found = await deleteOne(tool, t, key);
  await t.close();
  return found;
}

/** postmap_deletes: tables opened first, keys from stdin. */
export async function deleteStdin(tool: MapTool, specs: string[], dictFlags: number): Promise<boolean> {
  const list = new TableList(tool, specs, dictFlags);
  for (let n = 0; n < list.length; n++) await list.get(n, 'update');
  let found = false;
  for (const key of stdinLines()) {
    for (let n = 0; n < list.length; n++) {
      if (await deleteOne(tool, await list.get(n, 'update'), key)) found = true;
    }
  }
  await list.closeAll();
  return found;
}

/** postmap_seq / postalias_seq: dump one table. */
export async function sequenceTable(
  tool: MapTool,
  spec: string,
  dictFlags: number,
  sep: string,
  rhsIsFile = false,
): Promise<void> {
  const { type, name } = splitSpec(tool, spec);
  if (type === 'proxy') fatal("can't sequence maps via the proxy service");
  const t = await openForTool(tool, type, name, 'read', dictFlags);
  if (!t.sequence) fatal(`table ${type}:${name}: sequence operation is not supported`);
  try {
    for await (const [key, value] of t.sequence()) {
      if (key === '') {
        warn(`table ${type}:${name}: empty lookup key value is not allowed`);
      } else if (value === '') {
        emptyResultWarnings(tool, `${type}:${name}`, key);
      }
      let shown = value;
      if (rhsIsFile) {
        const decoded = decodeFileValue(tool, t, key, value);
        if (decoded === undefined) continue;
        shown = decoded;
      }
      out(`${key}${sep}${shown}\n`);
    }
  } catch (err) {
    if (err instanceof DictError) {
      fatal(printable(`table ${tableName(t)}: sequence error: ${err.message}`, tool.utf8Enable));
    }
    throw err;
  }
  flushStdout();
  await t.close();
}

/** "unsupported dictionary type" for types mkmap_open cannot build. */
export function mkmapUnsupported(type: string, known: (t: string) => boolean): never {
  if (known(type)) fatal(`unsupported dictionary type: ${type} does not support bulk-mode creation.`);
  return fatal(`unsupported dictionary type: ${type}. Is the postfix-${type} package installed?`);
}

/** Map types real Postfix knows even where Postern has no driver (postconf -m). */
export const POSTFIX_KNOWN_TYPES = new Set(['internal', 'memcache', 'nis', 'unix', 'proxy']);

/** glibc getopt's complaint, then usage, as the C tools print them. */
export function getoptFailure(error: string, usage: string): never {
  info(error);
  return fatal(usage);
}
