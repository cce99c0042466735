/**
 * compat/dovecot/settings-view.ts: the settings one Dovecot service process
 * sees for one connection: "protocol imap, from remote R to local L, for
 * local name N" (master_service_settings_read with a filter). Matching filter
 * blocks are merged over the top level, most specific first, then the
 * catalogue defaults fill in; values come back as the typed forms services
 * use (seconds, bytes, booleans).
 */
import type { ParsedConfig, Section } from './conf-parser.js';
import { type FilterSpec, findAll, mergeFilters } from './filters.js';
import { catalogue } from './settings/catalogue.js';
import { sizeToBytes, timeToMsecs } from './values.js';

export interface DovecotSettings {
  /** The filter this view answers for. */
  readonly filter: FilterSpec;
  /** "Conflict in setting ..." when two filter blocks collide (Dovecot refuses the connection's settings). */
  readonly conflict?: string;
  /** The value as doveconf shows it (normalised); undefined for an unknown name. */
  get(name: string): string | undefined;
  /** Like get, but fails loudly for a name the catalogue does not know. */
  str(name: string): string;
  bool(name: string): boolean;
  uint(name: string): number;
  /** time / msecs settings, in seconds (fractions for msecs). */
  seconds(name: string): number;
  size(name: string): bigint;
  /** Top-level sections of a type (service, passdb, userdb, namespace, plugin, ...), in file order. */
  sections(type: string): Section[];
}

/** The settings for `want` (protocol/local/remote/localName), with optional -o style overrides. */
export function settingsView(cfg: ParsedConfig, want: FilterSpec = {}, overrides?: ReadonlyMap<string, string>): DovecotSettings {
  const cat = catalogue();
  const merged = mergeFilters(findAll(cfg.filters, want), (f) => f.scope.keys.values());
  const get = (name: string): string | undefined =>
    overrides?.get(name) ?? merged.values.get(name) ?? cfg.root.keys.get(name)?.value ?? cat.globals.get(name)?.[2];
  const str = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new Error(`settingsView: unknown setting ${name}`);
    return v;
  };
  return {
    filter: want,
    ...(merged.conflict ? { conflict: merged.conflict } : {}),
    get,
    str,
    bool: (name) => str(name) === 'yes',
    uint: (name) => Number(str(name)),
    seconds: (name) => timeToMsecs(str(name)) / 1000,
    size: (name) => sizeToBytes(str(name)),
    sections: (type) => cfg.root.sections.filter((s) => s.type === type),
  };
}
