/**
 * params/types.ts: the shape of one entry of the Postfix parameter catalogue.
 *
 * The catalogue is the single source of truth for every main.cf parameter
 * Postern knows: `postconf -d` prints it, daemons read typed values through
 * it, and the man page check walks it. Defaults are the raw text that the real
 * Postfix 3.7.11 `postconf -d` prints (expanded only when read).
 */

/**
 * Which Postfix configuration table the parameter comes from (mail_conf.h):
 * time, bool, int, long, str, raw (never $-expanded by daemons), nint/nbool
 * (int/bool whose default is an expression), str_fn (default computed at run
 * time: myhostname, mydomain, mynetworks, …), legacy (old names kept for
 * `$virtual_maps`-style defaults; not printed by `postconf -d`), readonly
 * (process_name, process_id, service_name).
 */
export type ParamKind =
  | 'time'
  | 'bool'
  | 'int'
  | 'long'
  | 'str'
  | 'raw'
  | 'nint'
  | 'nbool'
  | 'str_fn'
  | 'legacy'
  | 'readonly';

export interface ParamDef {
  readonly name: string;
  readonly kind: ParamKind;
  /** Raw default exactly as `postconf -d` prints it ('' for str_fn/readonly: computed). */
  readonly default: string;
  /** Time parameters: the default unit letter (s, m, h, d, w). */
  readonly unit?: string;
  /** Lower and upper bounds daemons enforce (int, long, time in seconds, str length). */
  readonly min?: number;
  readonly max?: number;
}
