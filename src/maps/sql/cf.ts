/**
 * maps/sql/cf.ts: the database client configuration reader shared by the
 * pgsql:, sqlite: (and later mysql:, ldap:) drivers, after Postfix's
 * cfg_parser.c.
 *
 * A map name that starts with '/' or '.' is a file in main.cf syntax
 * (logical lines, "name = value", no $parameter expansion; a repeated name
 * overrides with a warning). Any other name is the historical form whose
 * settings are main.cf parameters "<name>_<setting>" (pgsql_table(5),
 * "OBSOLETE MAIN.CF PARAMETERS").
 *
 * Bad values are fatal, with the texts of get_dict_str()/get_dict_int() and
 * their main.cf twins.
 */
import { readNameValueFile } from '../../../compat/postfix/main-cf.js';
import type { NameValueDict } from '../../../compat/postfix/main-cf.js';
import { fatal, warn } from '../../log/msg.js';
import { strerror } from '../../util/strerror.js';

export class CfParser {
  private constructor(
    /** The map name: the .cf path, or the main.cf parameter prefix. */
    readonly name: string,
    private readonly dict: NameValueDict | undefined,
    private readonly param: ((name: string) => string | undefined) | undefined,
  ) {}

  /**
   * cfg_parser_alloc(): read the file (names starting with '/' or '.'), or
   * bind to main.cf parameters. Returns the errno text ("open PATH: ...")
   * when the file cannot be read, as the driver's dict_surrogate reason.
   */
  static open(name: string, param?: (name: string) => string | undefined): CfParser | { error: string } {
    if (name.startsWith('/') || name.startsWith('.')) {
      const dict: NameValueDict = new Map();
      const err = readNameValueFile(name, dict, warn, fatal);
      if (err !== undefined) return { error: `open ${name}: ${strerror(err)}` };
      return new CfParser(name, dict, undefined);
    }
    return new CfParser(name, undefined, param);
  }

  private raw(name: string): string | undefined {
    if (this.dict !== undefined) return this.dict.get(name)?.value;
    return this.param?.(`${this.name}_${name}`);
  }

  /** The name an error message shows: "PATH: " for files, nothing for main.cf. */
  private where(name: string): { prefix: string; shown: string } {
    return this.dict !== undefined ? { prefix: `${this.name}: `, shown: name } : { prefix: '', shown: `${this.name}_${name}` };
  }

  /**
   * cfg_get_str(): the value, `defval` when unset; min/max are length
   * limits (0 = none). With defval undefined an empty result is undefined.
   */
  getStr(name: string, defval: string | undefined, min: number, max: number): string | undefined {
    const v = this.raw(name) ?? defval ?? '';
    const { prefix, shown } = this.where(name);
    const len = Buffer.byteLength(v, 'latin1');
    if (min && len < min) fatal(`${prefix}bad string length ${len} < ${min}: ${shown} = ${v}`);
    if (max && len > max) fatal(`${prefix}bad string length ${len} > ${max}: ${shown} = ${v}`);
    if (defval === undefined && v === '') return undefined;
    return v;
  }

  /** cfg_get_int(): strtol() of the whole value, or fatal. */
  getInt(name: string, defval: number, min: number, max: number): number {
    const v = this.raw(name);
    const { prefix, shown } = this.where(name);
    let n = defval;
    if (v !== undefined) {
      const parsed = parseCLong(v);
      if (parsed === undefined) fatal(`${prefix}bad numerical configuration: ${shown} = ${v}`);
      n = parsed;
    }
    if (this.dict !== undefined) {
      if (min && n < min) fatal(`${prefix}invalid ${name} parameter value ${n} < ${min}`);
      if (max && n > max) fatal(`${prefix}invalid ${name} parameter value ${n} > ${max}`);
    } else {
      if (min && n < min) fatal(`invalid ${shown} parameter value ${n} < ${min}`);
      if (max && n > max) fatal(`invalid ${shown} parameter value ${n} > ${max}`);
    }
    return n;
  }

  /** cfg_get_bool(): "yes"/"no" (any case), or fatal. */
  getBool(name: string, defval: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return defval;
    if (v.toLowerCase() === 'yes') return true;
    if (v.toLowerCase() === 'no') return false;
    const { prefix, shown } = this.where(name);
    return fatal(`${prefix}bad boolean configuration: ${shown} = ${v}`);
  }
}

/** strtol(s, &end, 10) that must consume everything and fit in an int. */
function parseCLong(s: string): number | undefined {
  const m = /^[ \t\n\r\v\f]*([+-]?)(\d+)$/.exec(s);
  if (m === null) return undefined;
  const n = Number(m[1] === '-' ? `-${m[2]}` : m[2]);
  if (!Number.isSafeInteger(n) || n > 2147483647 || n < -2147483648) return undefined;
  return n;
}
