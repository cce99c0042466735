/**
 * maps/proxy.ts: `proxy:type:name`. Postfix sends such lookups to its
 * proxymap(8) (or proxywrite) daemon (global/dict_proxy.c); Postern has no
 * such daemon and opens the inner table directly, with the same mode and
 * flags, so a configuration written for Postfix works unchanged.
 *
 * The refusals that Postfix's proxymap server makes are kept, because a
 * table that real Postfix refuses should not silently work here:
 * - an inner name without "type:" ("invalid request");
 * - a table not listed as "proxy:type:name" in proxy_read_maps (or
 *   proxy_write_maps when opened for writing), checked when the caller
 *   supplies main.cf parameters (OpenOptions.param); the search into
 *   unionmap:{...} and pipemap:{...} values follows proxymap.c.
 * DICT_FLAG_NO_PROXY opens the inner table directly, silently, as Postfix.
 */
import { extractBraces, splitQuoted } from '../../compat/postfix/strops.js';
import { COMMA_BLANKS } from '../../compat/postfix/strops.js';
import { openMapSpec } from './registry.js';
import { DictFatalError } from './surrogate.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictFlag } from './types.js';

const PROXY_COLON = 'proxy:';

/** authorize_proxied_maps(): the "type:name" tables a proxy_{read,write}_maps value approves. */
export function approvedProxyTables(value: string, into = new Set<string>()): Set<string> {
  for (let item of splitQuoted(value, COMMA_BLANKS)) {
    // Maybe { maptype:mapname attr=value... }: look at the first word only.
    if (item.startsWith('{')) {
      const r = extractBraces(item, false);
      if (r.err !== undefined) continue;
      const first = splitQuoted(r.text, COMMA_BLANKS)[0];
      if (first === undefined) continue;
      item = first;
    }
    // Recurse into nested maps.
    const nested = /^(unionmap|pipemap):/.exec(item);
    if (nested) {
      const inner = item.slice(nested[0].length);
      if (!inner.startsWith('{')) continue;
      const r = extractBraces(inner, false);
      if (r.err === undefined) approvedProxyTables(r.text, into);
      continue;
    }
    if (!item.startsWith(PROXY_COLON)) continue;
    while (item.startsWith(PROXY_COLON)) item = item.slice(PROXY_COLON.length);
    if (item.includes(':')) into.add(item);
  }
  return into;
}

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  if (opts.dictFlags & DictFlag.NO_PROXY) return openMapSpec(name, opts);

  const writer = opts.mode !== 'read';
  const service = writer ? 'proxywrite' : 'proxymap';
  let inner = name;
  while (inner.startsWith(PROXY_COLON)) inner = inner.slice(PROXY_COLON.length);
  if (!inner.includes(':')) {
    throw new DictFatalError(`${type}:${name}`, `${service} open failed for table "${name}": invalid request`);
  }
  const list = opts.param?.(writer ? 'proxy_write_maps' : 'proxy_read_maps');
  if (list !== undefined && !approvedProxyTables(list).has(inner)) {
    throw new DictFatalError(`${type}:${name}`, `${service} service is not configured for table "${name}"`);
  }

  const table = await openMapSpec(inner, opts);
  const proxy: LookupTable = {
    type,
    name,
    flags: table.flags,
    lookup: (key) => table.lookup(key),
    close: () => table.close(),
  };
  if (table.sequence) proxy.sequence = () => table.sequence!();
  if (table.update) proxy.update = (k, v) => table.update!(k, v);
  if (table.delete) proxy.delete = (k) => table.delete!(k);
  return proxy;
}
