/**
 * maps/fail.ts: `fail:NAME`, as Postfix's util/dict_fail.c: a table whose
 * every lookup, update, delete and sequence fails with a retry error, for
 * testing how callers defer ("table fail:x: query error: Application error").
 */
import { APPLICATION_ERROR } from './surrogate.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const label = `${type}:${name}`;
  const fail = (): never => {
    throw new DictError('retry', label, APPLICATION_ERROR);
  };
  const table: LookupTable = {
    type,
    name,
    flags: opts.dictFlags | DictFlag.PATTERN,
    lookup: async () => fail(),
    sequence: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => fail() }) }),
    close: async () => undefined,
  };
  if (opts.mode !== 'read') {
    table.update = async () => fail();
    table.delete = async () => fail();
  }
  return table;
}
