/**
 * maps/static.ts: `static:VALUE` and `static:{ VALUE with spaces }`, as
 * Postfix's util/dict_static.c: every lookup returns VALUE. Braces are
 * stripped together with the blanks inside them. With
 * DICT_FLAG_SRC_RHS_IS_FILE, VALUE names files whose base64 is returned.
 */
import { extractBraces } from '../../compat/postfix/strops.js';
import { filesToBase64 } from './rhs-file.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  let value = name;
  if (name.startsWith('{')) {
    const r = extractBraces(name, true);
    if (r.err !== undefined) throw new DictError('config', `${type}:${name}`, `bad ${type}:name syntax: ${r.err}`);
    value = r.text;
  }
  if (opts.dictFlags & DictFlag.SRC_RHS_IS_FILE) {
    const r = filesToBase64(value);
    if ('err' in r) throw new DictError('config', `${type}:${name}`, r.err);
    value = r.value;
  }
  return {
    type,
    name,
    flags: opts.dictFlags | DictFlag.FIXED,
    lookup: async () => value,
    close: async () => undefined,
  };
}
