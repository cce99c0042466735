/**
 * maps/dict-get.ts: one lookup in one table, as Postfix's dict_get().
 *
 * Key folding belongs to the table: with smtputf8_enable the UTF-8 layer
 * that dict_open() puts in front of it (dict-utf8.ts, applied by whoever
 * opens the table: map-tool.ts, MapList.open, unionmap/pipemap) folds with
 * full Unicode rules and checks UTF-8; without it, Postfix's drivers fold
 * ASCII themselves (DICT_FLAG_FOLD_FIX on fixed-string tables, FOLD_MUL on
 * pattern tables). dictGet applies that ASCII folding too, so a driver that
 * leaves it out still answers as Postfix would (folding twice changes
 * nothing).
 */
import { lowercaseAscii } from './casefold.js';
import type { LookupTable } from './types.js';
import { DictFlag } from './types.js';

/** Does this table fold its keys (dict_utf8_check_fold's test)? */
export function wantsFold(flags: number): boolean {
  return (flags & (flags & DictFlag.FIXED ? DictFlag.FOLD_FIX : DictFlag.FOLD_MUL)) !== 0;
}

/** dict_get(): the value, undefined when not found; throws DictError when the table cannot answer. */
export function dictGet(table: LookupTable, key: string): Promise<string | undefined> {
  const flags = table.flags;
  if (flags & DictFlag.UTF8_ACTIVE || !wantsFold(flags)) return table.lookup(key);
  return table.lookup(lowercaseAscii(key));
}
