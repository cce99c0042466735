/**
 * compat/dovecot/settings/types.ts: shapes of the Dovecot 2.3 settings
 * catalogue (catalogue.gen.ts, generated from the real doveconf).
 */

/** Value types of Dovecot's settings-parser (SET_BOOL, SET_UINT, SET_UINT_OCT, SET_TIME, SET_TIME_MSECS, SET_SIZE, SET_IN_PORT, SET_ENUM, SET_STR). */
export type SettingType = 'bool' | 'uint' | 'oct' | 'time' | 'msecs' | 'size' | 'port' | 'enum' | 'str';

/** [key, type, default as `doveconf -a` prints it, enum values (first is the default)]. */
export type SettingDef = [string, SettingType, string] | [string, SettingType, string, string[]];

/** A section type (service, inet_listener, namespace, passdb, ...): its keys and the sub-section types it holds. */
export interface SectionTypeDef {
  keys: SettingDef[];
  subs: string[];
}

/** A built-in service block as `doveconf -a` prints it on an empty config. */
export interface ServiceDefault {
  name: string;
  keys: Array<[string, string]>;
  listeners: Array<{ type: string; name: string; keys: Array<[string, string]> }>;
}
