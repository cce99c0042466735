/**
 * maps/dict-utf8.ts: Postfix's UTF-8 layer for lookup tables
 * (util/dict_utf8.c), which dict_open() and mkmap_open() put in front of a
 * table when smtputf8_enable = yes and the caller asks for it
 * (DICT_FLAG_UTF8_REQUEST): keys must be valid UTF-8 (else a warning and
 * "not found"), keys of fixed-string tables are case-folded with full
 * Unicode folding when FOLD_FIX is requested (pattern tables: FOLD_MUL),
 * and results must be valid UTF-8 (else a configuration error).
 *
 * Also printable(): msg_output()'s last step, which replaces bytes that
 * are neither printable ASCII nor (with UTF-8 enabled) part of a UTF-8
 * sequence by '?'.
 */
import { warn } from '../log/msg.js';
import { casefold, validUtf8String } from './casefold.js';
import { DictError, DictFlag, type LookupTable } from './types.js';

const UTF8_ERR = 'malformed UTF-8 or invalid codepoint';

/**
 * printable(str, '?') on a byte string, except control characters, which
 * msg.ts replaces itself. utf8 = util_utf8_enable.
 */
export function printable(s: string, utf8: boolean): string {
  if (!/[\x80-\uffff]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 0x80) {
      out += s[i];
      continue;
    }
    if (utf8 && ch >= 194 && ch <= 254) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 128 && next < 192) {
        out += s[i];
        while (i + 1 < s.length && s.charCodeAt(i + 1) >= 128 && s.charCodeAt(i + 1) < 192) out += s[++i];
        continue;
      }
    }
    out += '?';
  }
  return out;
}

/** util_utf8_enable from main.cf: smtputf8_enable (already expanded by param). */
export function utf8EnableOf(param: ((name: string) => string | undefined) | undefined): boolean {
  return (param?.('smtputf8_enable') ?? '').toLowerCase() === 'yes';
}

/** A table that can also answer synchronously (optional; lmdb, texthash, regexp, cidr). */
export interface SyncLookup {
  lookupSync?(key: string): string | undefined;
}

/** DICT_NEED_UTF8_ACTIVATION(util_utf8_enable, flags). */
export function needUtf8Activation(utf8Enable: boolean, flags: number): boolean {
  return utf8Enable && (flags & DictFlag.UTF8_REQUEST) !== 0;
}

/**
 * The key as the UTF-8 layer hands it to the table: undefined when it is
 * not valid UTF-8, else folded when the table's flags ask for it
 * (dict_utf8_check_fold).
 */
export function utf8CheckFold(flags: number, key: string): string | undefined {
  if (!validUtf8String(key)) return undefined;
  const fold = flags & (DictFlag.FOLD_FIX | DictFlag.FOLD_MUL);
  const wanted = flags & DictFlag.FIXED ? DictFlag.FOLD_FIX : DictFlag.FOLD_MUL;
  if (fold & wanted) return casefold(key, true);
  return key;
}

/**
 * dict_utf8_activate(): wrap a table. Lookup, update and delete go
 * through the checks; sequence and close are passed through. The wrapped
 * table's own folding (ASCII lowercase) is a no-op on a folded key.
 */
export function activateUtf8(inner: LookupTable): LookupTable {
  const name = () => `${inner.type}:${inner.name}`;
  const checkKey = (key: string): string | undefined => {
    const folded = utf8CheckFold(inner.flags, key);
    if (folded === undefined) warn(`${name()}: non-UTF-8 key "${printable(key, true)}": ${UTF8_ERR}`);
    return folded;
  };
  const checkValue = (key: string, value: string | undefined): string | undefined => {
    if (value !== undefined && !validUtf8String(value)) {
      warn(`${name()}: key "${printable(key, true)}": non-UTF-8 value "${printable(value, true)}": ${UTF8_ERR}`);
      throw new DictError('config', name(), `${name()}: non-UTF-8 value`);
    }
    return value;
  };
  const wrapper: LookupTable = {
    type: inner.type,
    name: inner.name,
    get flags() {
      return inner.flags | DictFlag.UTF8_ACTIVE;
    },
    set flags(v: number) {
      inner.flags = v & ~DictFlag.UTF8_ACTIVE;
    },
    async lookup(key: string): Promise<string | undefined> {
      const folded = checkKey(key);
      if (folded === undefined) return undefined;
      return checkValue(key, await inner.lookup(folded));
    },
    async close(): Promise<void> {
      await inner.close();
    },
  };
  const update = inner.update;
  if (update) {
    wrapper.update = async (key: string, value: string): Promise<number> => {
      const folded = utf8CheckFold(inner.flags, key);
      if (folded === undefined) {
        warn(`${name()}: non-UTF-8 key "${printable(key, true)}": ${UTF8_ERR}`);
        return 0;
      }
      if (!validUtf8String(value)) {
        warn(`${name()}: key "${printable(key, true)}": non-UTF-8 value "${printable(value, true)}": ${UTF8_ERR}`);
        return 0;
      }
      return update.call(inner, folded, value);
    };
  }
  const del = inner.delete;
  if (del) {
    wrapper.delete = async (key: string): Promise<number> => {
      const folded = utf8CheckFold(inner.flags, key);
      if (folded === undefined) {
        warn(`${name()}: non-UTF-8 key "${printable(key, true)}": ${UTF8_ERR}`);
        return 0;
      }
      return del.call(inner, folded);
    };
  }
  // Tables that can answer without a promise (lmdb, texthash, regexp, cidr) keep that ability.
  const sync = (inner as SyncLookup).lookupSync;
  if (sync) {
    (wrapper as SyncLookup).lookupSync = (key: string) => {
      const folded = checkKey(key);
      return folded === undefined ? undefined : checkValue(key, sync.call(inner, folded));
    };
  }
  const seq = inner.sequence;
  if (seq) wrapper.sequence = () => seq.call(inner);
  return wrapper;
}
