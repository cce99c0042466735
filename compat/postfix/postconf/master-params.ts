/**
 * compat/postfix/postconf/master-params.ts: the per-service `-o name=value`
 * name spaces of master.cf as postconf builds and checks them (Postfix
 * postconf_user.c pcf_register_user_parameters, postconf_unused.c).
 *
 * Each entry with at least one well-formed `-o name=value` gets a table
 * (last duplicate wins). Assignments to read-only parameters are dropped with
 * a warning; `$name` references inside the values mark local names as used
 * ("valid"), or, when the name is not local, refer to main.cf (or warn that
 * the parameter is undefined). Names that are neither known to Postfix nor
 * valid are reported as "unused parameter" at the end of a postconf run.
 *
 * The global parameter table (built-in, per-service and validated main.cf
 * names) lives elsewhere; callers pass it in as predicates.
 */
import { warn } from '../../../src/log/msg.js';
import { flushStdout } from '../../../src/util/out.js';
import type { MasterEntry } from '../master-cf.js';

export interface MasterParamContext {
  /** config_directory as postconf names it ("." for `-c .`). */
  configDir: string;
  /** The name is in postconf's global parameter table. */
  isKnown(name: string): boolean;
  /** Read-only built-ins (default: process_name, process_id, service_name). */
  isReadonly?(name: string): boolean;
  /** "Raw" parameters whose values are not scanned for $name (default: none). */
  isRaw?(name: string): boolean;
  /** main.cf has an explicit name=value for this name. */
  mainHas?(name: string): boolean;
}

export interface MasterParamScope {
  /** The entry's parameter table, null when it has no well-formed -o name=value. */
  params: Map<string, string> | null;
  /** Local names made valid by $name references or restriction classes. */
  validNames: Set<string>;
}

export interface MasterParamResult {
  scopes: MasterParamScope[];
  /** Names referenced from master.cf values that resolve to main.cf settings (they count as used there). */
  mainRefs: Set<string>;
}

const READONLY = new Set(['process_name', 'process_id', 'service_name']);

/** Names that a value refers to with $name, ${name...} or $(name...), in textual order ($$ is a literal $). */
export function macroNames(value: string): string[] {
  const names: string[] = [];
  const re = /\$(?:\$|\{([A-Za-z0-9_]+)|\(([A-Za-z0-9_]+)|([A-Za-z0-9_]+))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const n = m[1] ?? m[2] ?? m[3];
    if (n) names.push(n);
  }
  return names;
}

/** The table `postconf -P` shows for one entry (before read-only filtering). */
export function entryParamTable(entry: MasterEntry): Map<string, string> | null {
  if (entry.params.length === 0) return null;
  const m = new Map<string, string>();
  for (const [k, v] of entry.params) m.set(k, v);
  return m;
}

/** pcf_register_user_parameters(), master.cf half. Prints the undefined/read-only warnings. */
export function registerMasterParams(entries: readonly MasterEntry[], ctx: MasterParamContext): MasterParamResult {
  const isReadonly = ctx.isReadonly ?? ((n: string) => READONLY.has(n));
  const isRaw = ctx.isRaw ?? (() => false);
  const mainHas = ctx.mainHas ?? (() => false);
  const mainRefs = new Set<string>();
  const path = `${ctx.configDir}/master.cf`;
  const scopes: MasterParamScope[] = entries.map((e) => ({ params: entryParamTable(e), validNames: new Set() }));

  const flag = (name: string, scope: MasterParamScope): void => {
    if (scope.params?.has(name)) {
      scope.validNames.add(name);
    } else if (mainHas(name)) {
      mainRefs.add(name);
    } else if (!ctx.isKnown(name)) {
      warn(`${path}: undefined parameter: ${name}`);
    }
  };

  for (const scope of scopes) {
    const table = scope.params;
    if (!table) continue;
    const classes = table.get('smtpd_restriction_classes');
    if (classes !== undefined) for (const c of classes.split(/[, \t\r\n]+/)) if (c) flag(c, scope);
    for (const [name, value] of [...table]) {
      if (ctx.isKnown(name)) {
        if (isReadonly(name)) {
          warn(`${path}: read-only parameter assignment: ${name}=${value}`);
          table.delete(name);
          continue;
        }
        if (isRaw(name)) continue;
      }
      for (const ref of macroNames(value)) flag(ref, scope);
    }
  }
  return { scopes, mainRefs };
}

/**
 * $name in main.cf (explicit values, and defaults of parameters left at
 * their default) validates name=value in every master.cf entry that has it.
 */
export function validateFromMain(scopes: readonly MasterParamScope[], names: Iterable<string>): void {
  for (const name of names)
    for (const s of scopes) if (s.params?.has(name)) s.validNames.add(name);
}

/** pcf_flag_unused_master_parameters(): warn about -o names nothing uses. */
export function flagUnusedMasterParams(scopes: readonly MasterParamScope[], ctx: MasterParamContext): void {
  const path = `${ctx.configDir}/master.cf`;
  for (const s of scopes) {
    if (!s.params) continue;
    for (const [name, value] of s.params) {
      if (!ctx.isKnown(name) && !s.validNames.has(name)) {
        flushStdout();
        warn(`${path}: unused parameter: ${name}=${value}`);
      }
    }
  }
}
