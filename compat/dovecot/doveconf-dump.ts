/**
 * compat/dovecot/doveconf-dump.ts: the text doveconf prints for -a, -n, -N
 * and -d (doveconf.c config_dump_human): settings and sections sorted by
 * their key path, filters last, secrets hidden unless -P, values quoted when
 * they hold '#' or begin/end with whitespace.
 */
import type { Filter, ParsedConfig, Scope, Section } from './conf-parser.js';
import { type FilterSpec, findAll, findSubset, mergeFilters } from './filters.js';
import { BASE_MODULE, MODULES } from './settings/modules.gen.js';
import { catalogue } from './settings/catalogue.js';
import type { ServiceDefault, SettingDef } from './settings/types.js';

/** all: -a (every setting); set: -N (explicitly set); changed: -n (set and not the default). */
export type DumpScope = 'all' | 'set' | 'changed';

export interface DumpOptions {
  scope: DumpScope;
  showSecrets: boolean;
  /** -s: also the hidden settings. */
  showHidden?: boolean;
  /** Only these top-level keys or section types (positional names with -n/-a). */
  only?: string[];
  /** -f filters: values of matching filter blocks override the globals. */
  filter?: FilterSpec;
  /** -m modules: only the settings these settings parsers own. */
  modules?: string[];
}

/** Does the -m selection include top-level setting or section type `name`? */
export function moduleWants(modules: string[] | undefined, name: string): boolean {
  if (!modules) return true;
  if (BASE_MODULE.includes(name)) return true;
  return modules.some((m) => MODULES[m]?.includes(name));
}

interface Item {
  sort: string;
  lines: string[];
}

export const HIDDEN = '# hidden, use -P to show it';
const HIDDEN_INLINE = '#hidden_use-P_to_show#';

function escapeName(name: string): string {
  return name.replace(/[\\=/ ,]/g, (c) => ({ '\\': '\\\\', '=': '\\e', '/': '\\s', ' ': '\\_', ',': '\\+' })[c]!);
}

export function isSecretKey(key: string): boolean {
  return key.endsWith('_password') || key.endsWith('_key') || key.endsWith('_nonce') || key.startsWith('ssl_dh');
}

/** Hide secrets inside a value: `password=x`, `secret=x`, `key=x`, and http(s)://user:pw@ (doveconf.c hide_secrets_from_value). */
export function hideSecretsInValue(value: string): string {
  let out = value.replace(/(https?:\/\/)([^\s/@]*:[^\s/@]*)@/g, `$1${HIDDEN_INLINE}@`);
  out = out.replace(/((?:pass|secret|key)[A-Za-z0-9_]*=)[^\s]*/g, `$1${HIDDEN_INLINE}`);
  return out;
}

export function formatValue(key: string, value: string, showSecrets: boolean): string {
  const quote = value.includes('#') || /^[ \t]|[ \t]$/.test(value); // value_need_quote: IS_WHITE is blank or tab
  if (!showSecrets && value !== '') {
    if (isSecretKey(key)) return HIDDEN;
    value = hideSecretsInValue(value);
  }
  return quote ? `"${value.replace(/["'\\]/g, '\\$&')}"` : value; // str_escape()
}

function keyLine(indent: string, key: string, value: string, o: DumpOptions): string {
  return `${indent}${key} = ${formatValue(key, value, o.showSecrets)}`;
}

function sectionHeader(type: string, name: string, listKind: boolean): string {
  if (listKind || name === '') return `${type} {`;
  return /[\s]/.test(name) || name.includes('"') ? `${type} "${name}" {` : `${type} ${name} {`;
}

function sortItems(items: Item[]): string[] {
  items.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  return items.flatMap((i) => i.lines);
}

/** Render one user section (and its sub-sections) at `indent`. Returns undefined when nothing is printed. */
function renderSection(sec: Section, indent: string, o: DumpOptions, base?: Array<[string, string]>, baseListeners?: ServiceDefault['listeners']): Item | undefined {
  const cat = catalogue();
  const kind = cat.sectionKind(sec.type);
  const inner = `${indent}  `;
  const items: Item[] = [];
  const typeDef = cat.sections[sec.type];
  const setKeys = sec.scope.keys;
  if (kind === 'strlist') {
    for (const e of setKeys.values()) items.push({ sort: e.key, lines: [keyLine(inner, e.key, e.value, o)] });
  } else if (o.scope === 'all' && typeDef) {
    const defaults = new Map<string, string>((base ?? typeDef.keys.map((k) => [k[0], k[2]] as [string, string])));
    for (const [k, v] of defaults) items.push({ sort: k, lines: [keyLine(inner, k, setKeys.get(k)?.value ?? v, o)] });
  } else {
    for (const e of setKeys.values()) {
      if (kind === 'list' && o.scope === 'changed' && e.value === cat.keyDef(sec.type, e.key)?.[2]) continue;
      items.push({ sort: e.key, lines: [keyLine(inner, e.key, e.value, o)] });
    }
    if (sec.type === 'namespace') {
      for (const k of ['location', 'prefix']) if (!setKeys.has(k)) items.push({ sort: k, lines: [`${inner}${k} = `] });
    }
  }
  // Sub-sections: the user's, plus (for -a) the built-in listeners of a default service.
  const subs: Section[] = [...sec.scope.sections];
  if (o.scope === 'all' && baseListeners) {
    for (const l of baseListeners) {
      if (!subs.some((s) => s.type === l.type && s.name === l.name)) {
        subs.push({ type: l.type, name: l.name, listIndex: 0, scope: emptyScope(l.type), file: '', line: 0 });
      }
    }
  }
  for (const sub of subs) {
    const bl = baseListeners?.find((l) => l.type === sub.type && l.name === sub.name);
    const it = renderSection(sub, inner, o, bl?.keys);
    if (it) items.push(it);
  }
  if (items.length === 0 && (o.scope !== 'all' || kind === 'strlist')) return undefined;
  const listKind = kind === 'list';
  const sortName = listKind ? String(sec.listIndex) : escapeName(sec.name);
  return {
    sort: `${sec.type}/${sortName}/`,
    lines: [`${indent}${sectionHeader(sec.type, sec.name, listKind)}`, ...sortItems(items), `${indent}}`],
  };
}

function emptyScope(type: string): Scope {
  return { type, kind: 'unique', keys: new Map(), sections: [], findSection: () => undefined } as unknown as Scope;
}

/** Items of a top-level-like scope (root or filter). */
function scopeItems(scope: Scope, indent: string, o: DumpOptions, isRoot: boolean, overrides?: Map<string, string>): Item[] {
  const cat = catalogue();
  const items: Item[] = [];
  if (isRoot && o.scope === 'all') {
    for (const d of cat.globalList) {
      // Hidden settings show under -a only with -s or when they were set.
      if (!o.showHidden && cat.hidden.has(d[0]) && !scope.keys.has(d[0]) && !overrides?.has(d[0])) continue;
      const v = overrides?.get(d[0]) ?? scope.keys.get(d[0])?.value ?? d[2];
      items.push({ sort: d[0], lines: [keyLine(indent, d[0], v, o)] });
    }
  } else {
    const seen = new Set<string>();
    for (const e of scope.keys.values()) {
      seen.add(e.key);
      const value = overrides?.get(e.key) ?? e.value;
      if (isRoot && o.scope === 'changed' && value === defaultOf(cat.globals.get(e.key))) continue;
      items.push({ sort: e.key, lines: [keyLine(indent, e.key, value, o)] });
    }
    if (overrides) {
      for (const [k, v] of overrides) {
        if (seen.has(k)) continue;
        if (o.scope === 'changed' && v === defaultOf(cat.globals.get(k))) continue;
        items.push({ sort: k, lines: [keyLine(indent, k, v, o)] });
      }
    }
  }
  const userServices = new Set<string>();
  for (const sec of scope.sections) {
    let base: Array<[string, string]> | undefined;
    let listeners: ServiceDefault['listeners'] | undefined;
    if (sec.type === 'service' && isRoot) {
      const svc = cat.services.find((s) => s.name === sec.name);
      if (svc) {
        base = svc.keys;
        listeners = svc.listeners;
      }
      userServices.add(sec.name);
    }
    const it = renderSection(sec, indent, o, base, listeners);
    if (it) items.push(it);
  }
  if (isRoot && o.scope === 'all') {
    for (const svc of cat.services) {
      if (userServices.has(svc.name)) continue;
      const sec: Section = { type: 'service', name: svc.name, listIndex: 0, scope: emptyScope('service'), file: '', line: 0 };
      const it = renderSection(sec, indent, o, svc.keys, svc.listeners);
      if (it) items.push(it);
    }
  }
  const wanted = o.modules ? items.filter((i) => moduleWants(o.modules, i.sort.split('/')[0]!)) : items;
  if (o.only) return wanted.filter((i) => o.only!.some((n) => i.sort === n || i.sort.startsWith(`${n}/`)));
  return wanted;
}

function defaultOf(def: SettingDef | undefined): string | undefined {
  return def?.[2];
}

function renderFilter(f: Filter, o: DumpOptions): string[] {
  const fo: DumpOptions = { ...o, scope: o.scope === 'all' ? 'set' : o.scope === 'changed' ? 'set' : o.scope };
  const heads: string[] = [];
  if (f.spec.local !== undefined) heads.push(`local ${f.spec.local}`);
  if (f.spec.remote !== undefined) heads.push(`remote ${f.spec.remote}`);
  if (f.spec.localName !== undefined) heads.push(`local_name ${f.spec.localName}`);
  if (f.spec.protocol !== undefined) heads.push(`protocol ${f.spec.protocol}`);
  const indent = '  '.repeat(heads.length);
  const body = sortItems(scopeItems(f.scope, indent, { ...fo, only: undefined }, false));
  if (body.length === 0) return [];
  const out: string[] = [];
  for (const [i, h] of heads.entries()) out.push(`${'  '.repeat(i)}${h} {`);
  out.push(...body);
  for (let i = heads.length - 1; i >= 0; i--) out.push(`${'  '.repeat(i)}}`);
  return out;
}

/**
 * Values the -f filters give at the top level (config_export_by_filter):
 * the matching blocks merged, most specific first. `conflict` carries
 * doveconf's "Conflict in setting ..." text when two blocks collide.
 */
export function filterOverrides(cfg: ParsedConfig, want: FilterSpec | undefined): { values?: Map<string, string>; conflict?: string } {
  if (!want) return {};
  const merged = mergeFilters(findAll(cfg.filters, want), (f) => f.scope.keys.values());
  return merged;
}

/** The body of doveconf -a / -n / -N (without the header lines). */
export function dumpConfig(cfg: ParsedConfig, o: DumpOptions): { lines: string[]; conflict?: string } {
  const { values: overrides, conflict } = filterOverrides(cfg, o.filter);
  // On a conflict doveconf prints the error and skips the merged top level.
  const lines = conflict ? [] : sortItems(scopeItems(cfg.root, '', o, true, overrides));
  if (!o.only) {
    const filters = o.filter ? findSubset(cfg.filters, o.filter) : findSubset(cfg.filters, {});
    for (const f of filters) lines.push(...renderFilter(f, o));
  }
  return { lines, conflict };
}
