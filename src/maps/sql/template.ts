/**
 * maps/sql/template.ts: query and result templates of the database maps,
 * after Postfix's db_common.c (pgsql_table(5), sqlite_table(5) "query",
 * "result_format").
 *
 * A template's '%' specifiers:
 *   %%  a literal '%'
 *   %s  the whole value (the lookup key in a query, the result in result_format)
 *   %u  the local part of a user@domain value, else the whole value
 *   %d  the domain part of a user@domain value (else: skip)
 *   %S %U %D  the same for the lookup key (in result_format too)
 *   %1..%9  the n-th label of the key's domain counted from the right
 * Both templates of one map share a context: it records which parts are
 * needed, so keys and results that lack them are skipped (no query, no
 * result) instead of expanded. Values are quoted by a driver callback
 * (the SQL string escape) when a query is built.
 */
import { fatal, warn } from '../../log/msg.js';

const KEY_DOMAIN = 1 << 0;
const KEY_USER = 1 << 1;
const VALUE_DOMAIN = 1 << 2;
const VALUE_USER = 1 << 3;
const KEY_PARTIAL = 1 << 4;

export type Quote = (text: string) => string;

export class TemplateContext {
  private flags = 0;
  /** Highest %1..%9 used. */
  private nparts = 0;

  constructor(
    /** DICT type and name, for messages. */
    readonly dictType: string,
    readonly dictName: string,
  ) {}

  /**
   * db_common_parse(): validate a template and note what it needs. Returns
   * true when it has any data-dependent expansion. Fatal on a bad specifier.
   */
  parse(format: string, query: boolean): boolean {
    let dynamic = false;
    for (let i = 0; i < format.length; i++) {
      if (format[i] !== '%') continue;
      const c = format[++i];
      switch (c) {
        case '%':
          break;
        case 'u':
          this.flags |= query ? KEY_USER | KEY_PARTIAL : VALUE_USER;
          dynamic = true;
          break;
        case 'd':
          this.flags |= query ? KEY_DOMAIN | KEY_PARTIAL : VALUE_DOMAIN;
          dynamic = true;
          break;
        case 's':
        case 'S':
          dynamic = true;
          break;
        case 'U':
          this.flags |= KEY_PARTIAL | KEY_USER;
          dynamic = true;
          break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
          this.nparts = Math.max(this.nparts, c.charCodeAt(0) - 48);
          this.flags |= KEY_PARTIAL | KEY_DOMAIN;
          dynamic = true;
          break;
        case 'D':
          this.flags |= KEY_PARTIAL | KEY_DOMAIN;
          dynamic = true;
          break;
        default:
          fatal(`db_common_parse: ${this.dictName}: Invalid ${query ? 'query' : 'result'} template: ${format}`);
      }
    }
    return dynamic;
  }

  /**
   * db_common_expand(): expand `format` for `value` (the key when `key` is
   * undefined, else a result of the lookup of `key`). Returns undefined
   * when the value must be skipped: NULL, empty (with Postfix's warning),
   * or lacking a part the templates need.
   */
  expand(format: string, value: string | null, key: string | undefined, quote?: Quote): string | undefined {
    if (value === null) return undefined;
    if (value === '') {
      if (key !== undefined)
        warn(`table "${this.dictType}:${this.dictName}": empty lookup result for: "${key}" -- ignored`);
      else warn(`table "${this.dictType}:${this.dictName}": empty query string -- ignored`);
      return undefined;
    }
    const q: Quote = quote ?? ((s) => s);
    let vdomain: string | undefined;
    let vuser: string | undefined;
    let kdomain: string | undefined;
    let kuser: string | undefined;
    if (key !== undefined) {
      // Result template: the value is a result, %S/%U/%D/%n use the key.
      if (this.flags & (VALUE_DOMAIN | VALUE_USER)) [vuser, vdomain] = splitAddr(value);
      if (((vdomain === undefined || vdomain === '') && this.flags & VALUE_DOMAIN) || (vuser === '' && this.flags & VALUE_USER))
        return undefined;
      if (this.flags & (KEY_DOMAIN | KEY_USER)) [kuser, kdomain] = splitAddr(key);
      if (((kdomain === undefined || kdomain === '') && this.flags & KEY_DOMAIN) || (kuser === '' && this.flags & KEY_USER)) {
        warn(`db_common_expand: ${this.dictName}: lookup key '${value}' skipped after query`);
        return undefined;
      }
    } else {
      if (this.flags & (KEY_DOMAIN | KEY_USER)) [vuser, vdomain] = splitAddr(value);
      if (((vdomain === undefined || vdomain === '') && this.flags & KEY_DOMAIN) || (vuser === '' && this.flags & KEY_USER))
        return undefined;
    }
    let parts: string[] | undefined;
    if (this.nparts > 0) {
      const d = key !== undefined ? kdomain : vdomain;
      // argv_split(domain, "."): empty fields between dots are dropped.
      // (so "a..b." has the labels a and b, as in Postfix).
      parts = (d ?? '').split('.').filter((p) => p !== '');
      if (parts.length < this.nparts) return undefined;
    }
    // Whole-value fallbacks for %u/%U when there is no '@'.
    const userOf = (v: string, u: string | undefined) => (u !== undefined ? u : v);
    let out = '';
    for (let i = 0; i < format.length; i++) {
      const ch = format[i]!;
      if (ch !== '%') {
        out += ch;
        continue;
      }
      const c = format[++i];
      switch (c) {
        case '%':
          out += '%';
          break;
        case 's':
          out += q(value);
          break;
        case 'u':
          out += q(userOf(value, vuser));
          break;
        case 'd':
          out += q(vdomain ?? '');
          break;
        case 'S':
          out += q(key ?? value);
          break;
        case 'U':
          out += key !== undefined ? q(userOf(key, kuser)) : q(userOf(value, vuser));
          break;
        case 'D':
          out += q((key !== undefined ? kdomain : vdomain) ?? '');
          break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
          out += q(parts![parts!.length - (c.charCodeAt(0) - 48)]!);
          break;
        default:
          fatal(`db_common_expand: ${this.dictName}: invalid ${key !== undefined ? 'result' : 'query'} template '${format}'`);
      }
    }
    return out;
  }
}

/** [localpart, domain] at the last '@'; [undefined, undefined] without one. */
function splitAddr(s: string): [string | undefined, string | undefined] {
  const at = s.lastIndexOf('@');
  if (at < 0) return [undefined, undefined];
  return [s.slice(0, at), s.slice(at + 1)];
}

/**
 * db_common_sql_build_query(): the pre-2.2 "SELECT select_field FROM table
 * WHERE where_field='%s' additional_conditions" query.
 */
export function legacySqlQuery(get: (name: string, defval: string | undefined, min: number) => string | undefined): string {
  const table = get('table', undefined, 1)!;
  const selectField = get('select_field', undefined, 1)!;
  const whereField = get('where_field', undefined, 1)!;
  const additional = get('additional_conditions', '', 0) ?? '';
  return `SELECT ${selectField} FROM ${table} WHERE ${whereField}='%s' ${additional}`;
}
