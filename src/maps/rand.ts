/**
 * maps/rand.ts: `randmap:{value, value, ...}` (Postfix's util/dict_random.c):
 * every lookup returns one of the values, picked at random. Values are
 * split on commas and blanks; a `{...}` group is one value and keeps its
 * braces (real postmap: `randmap:{{c d}}` returns "{c d}").
 */
import { randomInt } from 'node:crypto';
import { badSyntax, braceBody, requireReadOnly, splitCommaBlanks } from './driver-util.js';
import { filesToBase64 } from './rhs-file.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  requireReadOnly(type, name, opts);
  const body = braceBody(name);
  const values = body === undefined ? [] : splitCommaBlanks(body);
  if (opts.dictFlags & DictFlag.SRC_RHS_IS_FILE) {
    for (const [i, v] of values.entries()) {
      const r = filesToBase64(v);
      if ('err' in r) throw new DictError('config', `${type}:${name}`, r.err);
      values[i] = r.value;
    }
  }
  if (values.length === 0) throw badSyntax(type, name, 'value');
  return {
    type,
    name,
    flags: opts.dictFlags | DictFlag.PATTERN,
    lookup: async () => values[values.length === 1 ? 0 : randomInt(values.length)],
    close: async () => undefined,
  };
}
