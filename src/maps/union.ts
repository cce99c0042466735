/**
 * maps/union.ts: `unionmap:{type:name, ...}` (Postfix's util/dict_union.c):
 * asks every component and joins all results with commas, in order. An
 * empty result adds nothing but still counts for the comma ("1" + "" →
 * "1,"); no text at all is "not found". Any component error fails the lookup.
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
      let out = '';
      for (const part of parts) {
        let result: string | undefined;
        try {
          result = await dictGet(part, key);
        } catch (err) {
          throw asOuterError(err, label);
        }
        if (result === undefined) continue;
        if (out.length > 0) out += ',';
        out += result;
      }
      return out.length > 0 ? out : undefined;
    },
    close: () => closeAll(parts),
  };
}
