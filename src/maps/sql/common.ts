/**
 * maps/sql/common.ts: the lookup path shared by the SQL map drivers
 * (dict_pgsql_lookup, dict_sqlite_lookup in Postfix):
 *
 *   fold the key (FOLD_FIX) -> `domain` filter -> build the query from the
 *   template (skip keys that lack the parts it needs) -> run it ->
 *   expand result_format on every value of every row (NULL and empty
 *   values skipped) -> join with ',' -> at most `expansion_limit` values.
 *
 * No row, or no usable value, is "not found". A database that cannot
 * answer, or too many values, is DictError("retry"): a temporary failure.
 */
import { warn } from '../../log/msg.js';
import type { SqlEscape } from '../../db/types.js';
import { DictError, DictFlag, type LookupTable } from '../types.js';
import type { DomainList } from './domain-list.js';
import type { TemplateContext } from './template.js';

/** How one driver runs a query and reports an oversized result. */
export interface SqlMapBackend {
  /**
   * Run the query that `build` makes with the connection's escape; the
   * rows' values in column order (null = SQL NULL). Throws DictError
   * (after the driver's own warnings) when there is no answer.
   */
  run(build: (esc: SqlEscape) => string): Promise<(string | null)[][]>;
  /** The warning for a result with more than expansion_limit values. */
  limitWarning(key: string): string;
  /** Use only the first column of each row (sqlite) instead of all (pgsql). */
  firstColumnOnly: boolean;
  /** Skip keys that are not valid UTF-8 unless UTF8_ACTIVE (sqlite). */
  skipNonUtf8: boolean;
  /** SQL NULL reads as an empty value (libpq's PQgetvalue) rather than no value. */
  nullIsEmpty: boolean;
  close(): Promise<void>;
}

export interface SqlMapSettings {
  query: string;
  resultFormat: string;
  expansionLimit: number;
  ctx: TemplateContext;
  domain: DomainList | undefined;
}

/** Postfix's lowercase(): ASCII only. */
export function lowercaseAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** valid_utf8_string() over a byte string. */
export function isValidUtf8(s: string): boolean {
  if (!/[\x80-\xff]/.test(s)) return true;
  const b = Buffer.from(s, 'latin1');
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

export class SqlMap implements LookupTable {
  constructor(
    readonly type: string,
    readonly name: string,
    public flags: number,
    private readonly settings: SqlMapSettings,
    private readonly backend: SqlMapBackend,
  ) {}

  async lookup(key: string): Promise<string | undefined> {
    const { ctx, query, resultFormat, expansionLimit, domain } = this.settings;
    if (this.backend.skipNonUtf8 && (this.flags & DictFlag.UTF8_ACTIVE) === 0 && !isValidUtf8(key)) return undefined;
    if (this.flags & DictFlag.FOLD_FIX) key = lowercaseAscii(key);
    if (domain !== undefined && !(await domain.eligible(key))) return undefined;
    // Check the key's prerequisites before talking to the database.
    if (ctx.expand(query, key, undefined) === undefined) return undefined;
    const rows = await this.backend.run((esc) => ctx.expand(query, key, undefined, esc) ?? '');
    let result = '';
    let expansion = 0;
    for (const row of rows) {
      const values = this.backend.firstColumnOnly ? row.slice(0, 1) : row;
      for (let v of values) {
        if (v === null && this.backend.nullIsEmpty) v = '';
        const r = ctx.expand(resultFormat, v ?? null, key);
        if (r === undefined) continue;
        if (result.length > 0) result += ',';
        result += r;
        if (expansionLimit > 0 && ++expansion > expansionLimit) {
          warn(this.backend.limitWarning(key));
          throw new DictError('retry', `${this.type}:${this.name}`, `expansion limit exceeded for key: '${key}'`);
        }
      }
    }
    return result === '' ? undefined : result;
  }

  async close(): Promise<void> {
    await this.backend.close();
    await this.settings.domain?.close();
  }
}
