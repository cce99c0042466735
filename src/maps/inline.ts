/**
 * maps/inline.ts: `inline:{ key=value, { key = text with spaces } }`, as
 * Postfix's util/dict_inline.c. Entries are separated by commas or blanks;
 * an entry with blanks goes inside its own braces. Keys may be quoted
 * (split_qnameval.c: the quotes stay part of the key). A later duplicate
 * replaces an earlier one. Keys are folded at open time like a hash table's
 * (DICT_FLAG_FOLD_FIX). Any syntax error makes the whole table unusable.
 */
import { extractBraces, isSpace, trimBlanks } from '../../compat/postfix/strops.js';
import { casefold, validUtf8String } from './casefold.js';
import { braceBody, requireReadOnly, splitCommaBlanks, utf8Active } from './driver-util.js';
import { filesToBase64 } from './rhs-file.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

/** split_qnameval(): "key = value" where the key may contain "quoted text"; the error text otherwise. */
export function splitQuotedNameValue(text: string): [string, string] | string {
  let p = 0;
  const n = text.length;
  while (p < n && isSpace(text[p])) p++;
  if (p === n) return 'no key found; expected format: key = value';
  const keyStart = p;
  let inQuotes = false;
  for (; p < n; p++) {
    const ch = text[p];
    if (ch === '\\') {
      if (++p >= n) break;
    } else if (isSpace(ch) || ch === '=') {
      if (!inQuotes) break;
    } else if (ch === '"') {
      inQuotes = !inQuotes;
    }
  }
  if (inQuotes) return `unbalanced '"'`;
  const keyEnd = Math.min(p, n);
  while (p < n && isSpace(text[p])) p++;
  if (text[p] !== '=') return "missing '=' after attribute name";
  return [text.slice(keyStart, keyEnd), trimBlanks(text.slice(p + 1))];
}

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const label = `${type}:${name}`;
  requireReadOnly(type, name, opts);
  const flags = opts.dictFlags;
  const utf8 = utf8Active(opts);
  const rhsIsFile = (flags & DictFlag.SRC_RHS_IS_FILE) !== 0;
  const need = `need "${type}:{name=${rhsIsFile ? 'filename' : 'value'}...}"`;
  if (utf8 && !validUtf8String(name)) {
    throw new DictError('config', label, `bad UTF-8 syntax: "${label}"; need "${type}:{name=value...}"`);
  }
  const body = braceBody(name);
  if (body === undefined) throw new DictError('config', label, `bad syntax: "${label}"; need "${type}:{name=value...}"`);

  const fold = (key: string) => (flags & DictFlag.FOLD_FIX ? casefold(key, utf8) : key);
  const entries = new Map<string, string>();
  let err: string | undefined;
  for (let item of splitCommaBlanks(body)) {
    if (item.startsWith('{')) {
      const r = extractBraces(item, true);
      if (r.err !== undefined) {
        err = r.err;
        break;
      }
      item = r.text;
    }
    const nv = splitQuotedNameValue(item);
    if (typeof nv === 'string') {
      err = nv;
      break;
    }
    let value = nv[1];
    if (rhsIsFile) {
      const r = filesToBase64(value);
      if ('err' in r) {
        err = r.err;
        break;
      }
      value = r.value;
    }
    // No duplicate checks: the last one wins (dict_thash.c comments).
    entries.delete(fold(nv[0]));
    entries.set(fold(nv[0]), value);
  }
  if (err !== undefined || entries.size === 0) {
    throw new DictError('config', label, `${err ?? 'empty table'}: "${label}"; ${need}`);
  }
  const table: LookupTable = {
    type,
    name,
    flags: flags | DictFlag.FIXED,
    lookup: async (key) => entries.get(table.flags & DictFlag.FOLD_FIX ? casefold(key, utf8) : key),
    sequence: async function* () {
      yield* entries;
    },
    close: async () => undefined,
  };
  return table;
}
