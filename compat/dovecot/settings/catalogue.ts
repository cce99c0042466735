/**
 * compat/dovecot/settings/catalogue.ts: lookup over the generated Dovecot 2.3
 * catalogue: which keys and sub-sections each scope accepts, their types and
 * defaults, and how each section type repeats (unique by name, a list, or a
 * free-form key/value block).
 */
import { GLOBALS, HIDDEN, SECTION_TYPES, SERVICES } from './catalogue.gen.js';
import type { SectionTypeDef, ServiceDefault, SettingDef } from './types.js';

/** unique: merged by name (service, namespace, ...); list: a new entry each time (passdb, userdb); strlist: any key (plugin, dict). */
export type SectionKind = 'unique' | 'list' | 'strlist';

/** Section types accepted at the top level (and inside filters). */
export const ROOT_SECTIONS = ['dict', 'event_exporter', 'metric', 'namespace', 'passdb', 'plugin', 'service', 'userdb'];

const KINDS: Record<string, SectionKind> = {
  passdb: 'list',
  userdb: 'list',
  plugin: 'strlist',
  dict: 'strlist',
};

export interface Catalogue {
  globals: Map<string, SettingDef>;
  globalList: SettingDef[];
  /** Settings doveconf -a leaves out unless -s is given. */
  hidden: Set<string>;
  sections: Record<string, SectionTypeDef>;
  services: ServiceDefault[];
  sectionKind(type: string): SectionKind;
  /** Definition of `key` inside a scope of `scopeType` ('' = top level): a setting, 'section', or undefined. */
  lookup(scopeType: string, key: string): SettingDef | 'section' | undefined;
  /** Definition of `key` in section type `type`. */
  keyDef(type: string, key: string): SettingDef | undefined;
}

let cached: Catalogue | undefined;

export function catalogue(): Catalogue {
  if (cached) return cached;
  const globals = new Map<string, SettingDef>();
  for (const d of GLOBALS) globals.set(d[0], d);
  const sectionKeys = new Map<string, Map<string, SettingDef>>();
  for (const [t, def] of Object.entries(SECTION_TYPES)) sectionKeys.set(t, new Map(def.keys.map((k) => [k[0], k])));
  const c: Catalogue = {
    globals,
    globalList: GLOBALS,
    hidden: new Set(HIDDEN),
    sections: SECTION_TYPES,
    services: SERVICES,
    sectionKind: (type) => KINDS[type] ?? 'unique',
    lookup(scopeType, key) {
      if (scopeType === '') {
        if (ROOT_SECTIONS.includes(key)) return 'section';
        return globals.get(key);
      }
      const def = SECTION_TYPES[scopeType];
      if (!def) return undefined;
      if (def.subs.includes(key)) return 'section';
      return sectionKeys.get(scopeType)?.get(key);
    },
    keyDef: (type, key) => (type === '' ? globals.get(key) : sectionKeys.get(type)?.get(key)),
  };
  cached = c;
  return c;
}
