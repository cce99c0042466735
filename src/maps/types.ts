// The one lookup-table interface every map driver implements, after
// Postfix's DICT (src/util/dict.h). Keys and values are "byte strings":
// JS strings whose char codes are the file's bytes (read as latin1), so
// UTF-8 and 8-bit map contents pass through unchanged.

/** dict_open(3) flags, same bit values as Postfix's dict.h. */
export const DictFlag = {
  NONE: 0,
  DUP_WARN: 1 << 0, // warn about duplicates
  DUP_IGNORE: 1 << 1, // ignore duplicates
  TRY0NULL: 1 << 2, // key/value stored without a trailing NUL
  TRY1NULL: 1 << 3, // key/value stored with a trailing NUL
  FIXED: 1 << 4, // fixed-key map (hash, lmdb, texthash, inline, ...)
  PATTERN: 1 << 5, // keys are patterns (regexp, pcre, cidr)
  LOCK: 1 << 6,
  DUP_REPLACE: 1 << 7, // replace duplicates
  SYNC_UPDATE: 1 << 8,
  DEBUG: 1 << 9,
  NO_REGSUB: 1 << 11, // no $n substitution in results
  NO_PROXY: 1 << 12,
  NO_UNAUTH: 1 << 13,
  FOLD_FIX: 1 << 14, // lowercase the key for a fixed-case map
  FOLD_MUL: 1 << 15, // lowercase the key for a multi-case map
  OPEN_LOCK: 1 << 16,
  BULK_UPDATE: 1 << 17,
  MULTI_WRITER: 1 << 18,
  UTF8_REQUEST: 1 << 19,
  UTF8_ACTIVE: 1 << 20,
  SRC_RHS_IS_FILE: 1 << 21,
} as const;

export const DICT_FLAG_FOLD_ANY = DictFlag.FOLD_FIX | DictFlag.FOLD_MUL;

/** Result of update/delete, as DICT_STAT_* in dict.h. */
export const DictStat = { SUCCESS: 0, FAIL: 1, ERROR: -1 } as const;

/**
 * A lookup that could not be answered: the table is unreachable ("retry",
 * DICT_ERR_RETRY: callers turn it into a 4xx / deferral) or misconfigured
 * ("config", DICT_ERR_CONFIG). Never the same thing as "not found".
 */
export class DictError extends Error {
  constructor(
    readonly kind: "retry" | "config",
    /** "type:name" of the table, for logs. */
    readonly table: string,
    message: string,
  ) {
    super(message);
    this.name = "DictError";
  }
}

export interface LookupTable {
  /** Map type as written in main.cf, e.g. "lmdb", "pcre". */
  readonly type: string;
  /** Map name: file path, inline text, or .cf path. */
  readonly name: string;
  /** DictFlag bits: requested flags plus FIXED/PATTERN set by the driver. */
  flags: number;
  /**
   * The value for key, or undefined when not found. The caller folds the
   * key when it asks for FOLD_* (see query.ts); drivers fold only where
   * Postfix's driver does. Throws DictError when the table cannot answer.
   */
  lookup(key: string): Promise<string | undefined>;
  /** Writable tables only (postmap, postalias, postmap -s/-d). */
  update?(key: string, value: string): Promise<number>;
  delete?(key: string): Promise<number>;
  /** Every (key, value) pair, in the driver's order (postmap -s). */
  sequence?(): AsyncIterable<[string, string]>;
  close(): Promise<void>;
}

/** How a table is opened: dict_open(type:name, open_flags, dict_flags). */
export interface OpenOptions {
  /** "read" = O_RDONLY; "create" = O_RDWR|O_CREAT|O_TRUNC (postmap); "update" = O_RDWR|O_CREAT. */
  mode: "read" | "create" | "update";
  dictFlags: number;
  /**
   * main.cf parameter values by name, already expanded (drivers read e.g.
   * lmdb_map_size, pcre/regexp limits, proxy settings). Optional: absent
   * means built-in defaults.
   */
  param?: (name: string) => string | undefined;
  /** Program name for warnings ("postmap", "smtpd", ...). */
  progName?: string;
}

/** What a driver module (src/maps/<driver>.ts) exports. */
export interface MapDriver {
  open(type: string, name: string, opts: OpenOptions): Promise<LookupTable>;
}
