/**
 * maps/pipe.ts: `pipemap:{type:name, ...}` (Postfix's util/dict_pipe.c):
 * the key goes to the first component, its result is the key for the next,
 * and so on; the last result is the answer. A miss anywhere is a miss.
 */
import { dictGet } from './dict-get.js';
import { asOuterError, closeAll, combinedFlags, openComponents } from './nested.js';
import type { LookupTable, OpenOptions } from './types.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const label = `${type}:${name}`;
  const parts = await openComponents(type, name, opts);
  return {
    type,
    name,
    flags: combinedFlags(opts, parts[0]!),
    lookup: async (key) => {
      let query = key;
      for (const part of parts) {
        let result: string | undefined;
        try {
          result = await dictGet(part, query);
        } catch (err) {
          throw asOuterError(err, label);
        }
        if (result === undefined) return undefined;
        query = result;
      }
      return query;
    },
    close: () => closeAll(parts),
  };
}
