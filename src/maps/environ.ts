/**
 * maps/environ.ts: `environ:NAME`, the process environment as a table
 * (Postfix's util/dict_env.c). With DICT_FLAG_FOLD_FIX the key is folded
 * first, so `postmap -q HOME environ:x` looks up "home" and misses; `-f`
 * finds it. Updates set the variable. No delete, no sequence.
 */
import { casefold } from './casefold.js';
import { utf8Active } from './driver-util.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictFlag, DictStat } from './types.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const utf8 = utf8Active(opts);
  const envName = (key: string, flags: number) => (flags & DictFlag.FOLD_FIX ? casefold(key, utf8) : key);
  const table: LookupTable = {
    type,
    name,
    flags: opts.dictFlags | DictFlag.FIXED,
    // safe_getenv(): keys and values are byte strings; the environment is UTF-8 or bytes.
    lookup: async (key) => {
      const v = process.env[Buffer.from(envName(key, table.flags), 'latin1').toString('utf8')];
      return v === undefined ? undefined : Buffer.from(v, 'utf8').toString('latin1');
    },
    update: async (key, value) => {
      process.env[Buffer.from(envName(key, table.flags), 'latin1').toString('utf8')] = Buffer.from(value, 'latin1').toString('utf8');
      return DictStat.SUCCESS;
    },
    close: async () => undefined,
  };
  return table;
}
