// Map type registry: "type:name" → driver module, loaded on first use so a
// command pays only for the drivers it opens (dict_open.c's dict_open_info
// table, made lazy). Each driver lives in src/maps/<module>.ts and exports
// `open` (see MapDriver in types.ts).

import type { LookupTable, MapDriver, OpenOptions } from "./types.js";
import { DictError } from "./types.js";

/** Map type → driver module (relative to this file). */
const DRIVER_MODULES: Record<string, string> = {
  lmdb: "./lmdb.js",
  hash: "./lmdb.js",
  btree: "./lmdb.js",
  texthash: "./texthash.js",
  regexp: "./regexp.js",
  pcre: "./regexp.js",
  cidr: "./cidr.js",
  inline: "./inline.js",
  static: "./static.js",
  fail: "./fail.js",
  environ: "./environ.js",
  unionmap: "./union.js",
  pipemap: "./pipe.js",
  randmap: "./rand.js",
  proxy: "./proxy.js",
  tcp: "./tcp.js",
  socketmap: "./socketmap.js",
  pgsql: "./sql/pgsql.js",
  sqlite: "./sql/sqlite.js",
};

export function isKnownMapType(type: string): boolean {
  return Object.hasOwn(DRIVER_MODULES, type);
}

/**
 * Split "type:name" the way dict_open does: at the first ':'. Returns
 * undefined when there is no ':' (Postfix: "need dictionary_type:dictionary_name").
 */
export function splitMapSpec(spec: string): { type: string; name: string } | undefined {
  const colon = spec.indexOf(":");
  if (colon <= 0) return undefined;
  return { type: spec.slice(0, colon), name: spec.slice(colon + 1) };
}

const loaded = new Map<string, Promise<MapDriver>>();

function loadDriver(type: string): Promise<MapDriver> {
  const modulePath = DRIVER_MODULES[type];
  if (modulePath === undefined) {
    throw new DictError("config", type, `unsupported dictionary type: ${type}`);
  }
  let driver = loaded.get(modulePath);
  if (driver === undefined) {
    driver = import(modulePath) as Promise<MapDriver>;
    loaded.set(modulePath, driver);
  }
  return driver;
}

/** dict_open(3): open one table. Throws DictError when it cannot be opened. */
export async function openTable(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  if (type === '' || name === '') {
    throw new DictError("config", `${type}:${name}`, `open dictionary: expecting "type:name" form instead of "${type}:${name}"`);
  }
  const driver = await loadDriver(type);
  return driver.open(type, name, opts);
}

/** openTable for a "type:name" string. */
export async function openMapSpec(spec: string, opts: OpenOptions): Promise<LookupTable> {
  const parts = splitMapSpec(spec);
  if (parts === undefined) {
    throw new DictError("config", spec, `open dictionary: expecting "type:name" form instead of "${spec}"`);
  }
  return openTable(parts.type, parts.name, opts);
}
