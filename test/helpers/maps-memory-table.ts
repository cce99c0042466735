/**
 * test/helpers/maps-memory-table.ts: an in-memory LookupTable for tests of
 * code that queries tables (maps/query.ts and its callers). It folds keys
 * as a Postfix fixed-string table does (ASCII, when FOLD_FIX is set), and
 * records every key it is asked for, after folding, in `probes`.
 */
import { DictError, DictFlag, type LookupTable } from '../../src/maps/types.js';

export interface MemoryTable extends LookupTable {
  /** Keys looked up, in order, as the table saw them. */
  probes: string[];
}

export interface MemoryTableOptions {
  type?: string;
  name?: string;
  /** Default FIXED | FOLD_FIX (a folded fixed-string table like hash:/texthash:). */
  flags?: number;
  /** Keys whose lookup fails with a retry error. */
  failOn?: string[];
}

export function memoryTable(entries: Record<string, string> = {}, opts: MemoryTableOptions = {}): MemoryTable {
  const type = opts.type ?? 'memory';
  const name = opts.name ?? 'test';
  const table: MemoryTable = {
    type,
    name,
    flags: opts.flags ?? DictFlag.FIXED | DictFlag.FOLD_FIX,
    probes: [],
    async lookup(key: string) {
      const k = table.flags & DictFlag.FIXED && table.flags & DictFlag.FOLD_FIX ? key.toLowerCase() : key;
      table.probes.push(k);
      if (opts.failOn?.includes(k)) throw new DictError('retry', `${type}:${name}`, 'Application error');
      return Object.hasOwn(entries, k) ? entries[k] : undefined;
    },
    async close() {},
  };
  return table;
}

/** A pattern table (like tcp: or regexp:) that answers every key from a function. */
export function patternTable(answer: (key: string) => string | undefined = () => undefined, name = 'pattern'): MemoryTable {
  const table: MemoryTable = {
    type: 'tcp',
    name,
    flags: DictFlag.PATTERN | DictFlag.FOLD_FIX,
    probes: [],
    async lookup(key: string) {
      table.probes.push(key);
      return answer(key);
    },
    async close() {},
  };
  return table;
}
