/**
 * postconf/engine.ts: the parameter name space that `postconf` builds, with
 * the same classes and lookup order as Postfix's postconf (postconf_node.c,
 * postconf_builtin.c, postconf_service.c, postconf_user.c, postconf_lookup.c,
 * postconf_unused.c, postconf_dbms.c).
 *
 * Classes: built-in (the catalogue), service (<transport>_* derived from
 * master.cf), user (names defined in main.cf/master.cf and referenced as
 * $name), legacy (old names, printed only when set), read-only
 * (process_name, process_id, service_name), dbms (legacy ldap:name_* style).
 * Values: master.cf -o (local scope) > main.cf > built-in default.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { warn, fatal } from '../../../src/log/msg.js';
import type { MasterEntry } from '../master-cf.js';
import { MAC_PARSE_ERROR, macExpand } from '../expand.js';
import { computedDefault } from '../host.js';
import { strerror } from '../../../src/util/strerror.js';
import { type NameValueDict, readNameValueFile } from '../main-cf.js';
import { builtinParams, legacyParams, serviceParams } from '../params/index.js';
import { COMMA_BLANKS, extractBraces, splitQuoted } from '../strops.js';
import { DBMS_SUFFIXES } from './dbms-suffixes.js';

export const F = {
  RAW: 1 << 0,
  BUILTIN: 1 << 1,
  SERVICE: 1 << 2,
  USER: 1 << 3,
  LEGACY: 1 << 4,
  READONLY: 1 << 5,
  DBMS: 1 << 6,
} as const;
export const CLASS_MASK = F.BUILTIN | F.SERVICE | F.USER | F.LEGACY;

/** postconf command modes (postconf.h PCF_*). */
export const M = {
  SHOW_NONDEF: 1 << 0,
  SHOW_DEFS: 1 << 1,
  HIDE_NAME: 1 << 2,
  SHOW_MAPS: 1 << 3,
  EDIT_CONF: 1 << 4,
  SHOW_LOCKS: 1 << 5,
  SHOW_EVAL: 1 << 6,
  SHOW_SASL_SERV: 1 << 7,
  SHOW_SASL_CLNT: 1 << 8,
  COMMENT_OUT: 1 << 9,
  MASTER_ENTRY: 1 << 10,
  FOLD_LINE: 1 << 11,
  EDIT_EXCL: 1 << 12,
  MASTER_FLD: 1 << 13,
  MAIN_PARAM: 1 << 14,
  EXP_DSN_TEMPL: 1 << 15,
  PARAM_CLASS: 1 << 16,
  MAIN_OVER: 1 << 17,
  DUMP_DSN_TEMPL: 1 << 18,
  MASTER_PARAM: 1 << 19,
  HIDE_VALUE: 1 << 20,
  SHOW_TLS: 1 << 21,
} as const;

export interface ParamNode {
  flags: number;
  /** Default value (computed lazily for str_fn and read-only parameters). */
  defval: () => string;
}

/** One master.cf entry's parameter name space (PCF_MASTER_ENT). */
export interface MasterScope {
  entry: MasterEntry;
  /** "service/type" */
  namespace: string;
  /** process_name and service_name for this entry. */
  ro: Map<string, string>;
  /** -o name=value settings, when the entry has any. */
  all?: Map<string, string>;
  /** Names validated as user-defined within this scope. */
  valid?: Map<string, ParamNode>;
}

export class PostconfEngine {
  readonly params = new Map<string, ParamNode>();
  /** CONFIG_DICT: main.cf settings plus -o overrides and config_directory. */
  readonly main: NameValueDict = new Map();
  masters: MasterScope[] = [];
  private restClasses = new Set<string>();
  private cache = new Map<string, string>();
  private seenDbmsFiles = new Set<string>();

  constructor(
    public mode: number,
    readonly configDir: string,
    readonly configDirFromEnv: boolean,
  ) {}

  // ---- reading -------------------------------------------------------------

  /** pcf_read_parameters(): load main.cf, fatal when it cannot be opened. */
  readParameters(): void {
    if (this.configDirFromEnv) this.main.set('config_directory', { value: this.configDir, line: 0 });
    const path = `${this.configDir}/main.cf`;
    const err = readNameValueFile(path, this.main, warn, fatal);
    if (err) fatal(`open ${path}: ${strerror(err)}`);
  }

  /** pcf_set_parameters(): -o name=value overrides. */
  setParameters(pairs: Array<[string, string]>): void {
    for (const [name, value] of pairs) {
      this.main.delete(name);
      this.main.set(name, { value, line: 0 });
    }
  }

  mainValue(name: string): string | undefined {
    return this.main.get(name)?.value;
  }

  /** Build the per-entry scopes (pcf_parse_master_entry's ro_params). */
  setMasterEntries(entries: MasterEntry[]): void {
    this.masters = entries.map((entry) => {
      const command = entry.args[0] ?? '';
      const processName = basename(command);
      const ro = new Map<string, string>([
        ['process_name', processName],
        ['service_name', processName !== entry.service ? entry.service : processName],
      ]);
      return { entry, namespace: `${entry.service}/${entry.type}`, ro };
    });
  }

  // ---- registration -----------------------------------------------------------

  private enter(name: string, flags: number, defval: () => string): void {
    this.params.set(name, { flags, defval });
  }

  /** pcf_register_builtin_parameters(). */
  registerBuiltin(procname: string, pid: number): void {
    for (const def of builtinParams().values()) {
      let flags = F.BUILTIN;
      if (def.kind === 'raw') flags |= F.RAW;
      if (def.kind === 'str_fn') this.enter(def.name, flags, this.strFn(def.name));
      else if (def.kind === 'readonly') continue;
      else {
        const value = def.default;
        this.enter(def.name, flags, () => value);
      }
    }
    for (const def of legacyParams()) this.enter(def.name, F.LEGACY, () => '');
    this.enter('process_name', F.BUILTIN | F.READONLY, () => procname);
    this.enter('service_name', F.BUILTIN | F.READONLY, () => '');
    this.enter('process_id', F.BUILTIN | F.READONLY, () => String(pid));
  }

  /** Defaults computed from the machine (postconf_builtin.c pcf_check_my*), once per run. */
  private strFn(name: string): () => string {
    // In -d mode main.cf settings do not count (pcf_mynetworks checks PCF_SHOW_DEFS).
    const explicit = (n: string) => ((this.mode & M.SHOW_DEFS) !== 0 ? undefined : this.mainLookupEval(n));
    const effective = (n: string) => explicit(n) ?? this.expandValue(this.params.get(n)?.defval() ?? '', undefined);
    return () => {
      let v = this.cache.get(name);
      if (v === undefined) this.cache.set(name, (v = computedDefault(name, explicit, effective)));
      return v;
    };
  }

  /** mail_conf_lookup_eval(): a main.cf value, expanded, or undefined. */
  private mainLookupEval(name: string): string | undefined {
    const v = this.mainValue(name);
    return v === undefined ? undefined : this.expandValue(v, undefined);
  }

  /** pcf_register_service_parameters(). */
  registerService(): void {
    for (const scope of this.masters) {
      const command = scope.entry.args[0] ?? '';
      for (const p of serviceParams(scope.entry.service, command)) {
        const existing = this.params.get(p.name);
        if (existing) {
          // Tentatively built-in (local_destination_concurrency_limit = 2): keep the default, fix the class.
          existing.flags = (existing.flags & ~CLASS_MASK) | F.SERVICE;
          continue;
        }
        const value = p.default;
        this.enter(p.name, F.SERVICE, () => value);
      }
    }
  }

  /** pcf_register_user_parameters(). */
  registerUser(): void {
    for (const scope of this.masters) {
      if (scope.entry.params.length > 0) {
        scope.all = new Map();
        for (const [n, v] of scope.entry.params) {
          scope.all.delete(n);
          scope.all.set(n, v);
        }
        scope.valid = new Map();
      }
    }
    for (const scope of this.masters) if (scope.all) this.scanNamespace(scope.all, scope);
    // Defaults may mention obsolete names ($virtual_maps): scan them too.
    for (const [name, node] of [...this.params]) {
      if (node.flags & F.RAW) continue;
      if (this.main.has(name)) continue;
      this.scanValue(node.defval(), F.USER, undefined);
    }
    const mainDict = new Map([...this.main].map(([n, e]) => [n, e.value]));
    this.scanNamespace(mainDict, undefined);
  }

  private scanValue(value: string, paramClass: number, scope: MasterScope | undefined): void {
    macExpand(
      value,
      (name) => {
        this.flagUserParameter(name, paramClass, scope);
        return undefined;
      },
      { scan: true, warn },
    );
  }

  /** pcf_flag_user_parameter(): validate $name that has a name=value. */
  private flagUserParameter(name: string, paramClass: number, scope: MasterScope | undefined): void {
    const source = scope ? 'master.cf' : 'main.cf';
    let userSupplied = false;
    if (scope?.all?.has(name)) {
      userSupplied = true;
      if (!scope.valid!.has(name)) scope.valid!.set(name, { flags: paramClass, defval: () => '' });
    } else if (this.main.has(name)) {
      userSupplied = true;
      if (!this.params.has(name)) this.enter(name, paramClass, () => '');
    }
    if (!scope) {
      for (const s of this.masters) {
        if (s.all?.has(name)) {
          userSupplied = true;
          if (!s.valid!.has(name)) s.valid!.set(name, { flags: paramClass, defval: () => '' });
        }
      }
    }
    if (!userSupplied && (paramClass & F.DBMS) === 0 && !this.params.has(name))
      warn(`${this.configDir}/${source}: undefined parameter: ${name}`);
  }

  /** pcf_scan_user_parameter_namespace(). */
  private scanNamespace(dict: Map<string, string>, scope: MasterScope | undefined): void {
    const classList = scope ? dict.get('smtpd_restriction_classes') : this.mainValue('smtpd_restriction_classes');
    if (classList !== undefined) {
      const expanded = scope ? this.expandValue(classList, scope) : this.expandValue(classList, undefined);
      for (const name of expanded.split(/[\s,]+/).filter(Boolean)) {
        if (!scope) this.restClasses.add(name);
        this.flagUserParameter(name, F.USER, scope);
      }
    }
    for (const [name, value] of [...dict]) {
      if (scope && !scope.valid!.has(name) && this.restClasses.has(name))
        scope.valid!.set(name, { flags: F.USER, defval: () => '' });
      const node = this.params.get(name);
      if (node) {
        if (node.flags & F.READONLY) {
          warn(`${this.configDir}/${scope ? 'master.cf' : 'main.cf'}: read-only parameter assignment: ${name}=${value}`);
          dict.delete(name);
          if (scope) scope.all!.delete(name);
          else this.main.delete(name);
          continue;
        }
        if (node.flags & F.LEGACY) node.flags = (node.flags & ~CLASS_MASK) | F.USER;
        if (node.flags & F.RAW) continue;
      }
      this.scanValue(value, F.USER, scope);
      if (node && node.flags & (F.BUILTIN | F.SERVICE)) this.registerDbms(value, scope);
    }
  }

  // ---- legacy database client parameters (postconf_dbms.c) ----------------------

  private registerDbms(value: string, scope: MasterScope | undefined): void {
    const expanded = this.expandParameterValue(value, M.SHOW_EVAL, scope);
    this.dbmsHelper(expanded, scope);
  }

  private dbmsHelper(text: string, scope: MasterScope | undefined): void {
    // A {…} group is taken apart and scanned in turn (extpar, then recurse).
    const scanBraced = (group: string): void => {
      const inner = extractBraces(group, false);
      if (inner.err) warn(scope ? `master.cf:${scope.namespace}: ${inner.err}` : `main.cf: ${inner.err}`);
      this.dbmsHelper(inner.text, scope);
    };
    for (let token of splitQuoted(text, COMMA_BLANKS)) {
      if (token.startsWith('{')) {
        scanBraced(token);
        continue;
      }
      let prefix: string | undefined;
      for (;;) {
        const colon = token.indexOf(':');
        if (colon < 0) {
          prefix = undefined;
          break;
        }
        prefix = token.slice(colon + 1);
        const type = token.slice(0, colon);
        if (type !== 'proxy') {
          token = type;
          break;
        }
        token = prefix;
      }
      if (prefix === undefined) continue;
      const dbType = token;
      const suffixes = DBMS_SUFFIXES[dbType];
      if (prefix.startsWith('/')) {
        if (suffixes) this.checkDbmsClient(dbType, prefix, suffixes);
        continue;
      }
      if (prefix.startsWith('.')) continue;
      if (prefix.startsWith('{')) {
        scanBraced(prefix);
        continue;
      }
      if (suffixes) for (const s of suffixes) this.flagUserParameter(`${prefix}_${s}`, F.DBMS | F.USER, scope);
    }
  }

  /** pcf_check_dbms_client(): warn about unknown names in a mysql:/pgsql:/… client file. */
  private checkDbmsClient(dbType: string, file: string, suffixes: readonly string[]): void {
    const spec = `${dbType}:${file}`;
    if (this.seenDbmsFiles.has(spec)) return;
    this.seenDbmsFiles.add(spec);
    const dict: NameValueDict = new Map();
    let isRegular = true;
    try {
      isRegular = statSync(file).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES')
        warn(`open "${dbType}" configuration "${file}": ${strerror(err as NodeJS.ErrnoException)}`);
      return;
    }
    if (!isRegular) {
      warn(`open "${dbType}" configuration "${file}": not a regular file`);
      return;
    }
    const err = readNameValueFile(file, dict, warn, fatal);
    if (err) {
      if (err.code !== 'EACCES') warn(`open "${dbType}" configuration "${file}": ${strerror(err)}`);
      return;
    }
    for (const s of suffixes) dict.delete(s);
    for (const [name, e] of dict) warn(`${spec}: unused parameter: ${name}=${e.value}`);
  }

  // ---- lookup and expansion ------------------------------------------------------

  /** pcf_lookup_parameter_value(). */
  lookupValue(mode: number, name: string, scope: MasterScope | undefined, node?: ParamNode): string | undefined {
    let value: string | undefined;
    if ((mode & M.SHOW_DEFS) === 0) {
      if (scope) value = scope.ro.get(name) ?? scope.all?.get(name);
      if (value === undefined) value = this.mainValue(name);
      if (value !== undefined || mode & M.SHOW_NONDEF) return value;
    }
    const n = node ?? this.params.get(name);
    return n ? n.defval() : undefined;
  }

  /** pcf_expand_parameter_value(): recursive expansion; a parse error is fatal. */
  expandParameterValue(value: string, mode: number, scope: MasterScope | undefined): string {
    const evalMode = mode & ~M.SHOW_NONDEF;
    const res = macExpand(value, (name) => this.lookupValue(evalMode, name, scope), { recurse: true, warn });
    if (res.status & MAC_PARSE_ERROR) fatal('macro processing error');
    return res.value;
  }

  private expandValue(value: string, scope: MasterScope | undefined): string {
    return this.expandParameterValue(value, this.mode, scope);
  }

  // ---- unused parameters (postconf_unused.c) ------------------------------------------

  flagUnusedMain(): void {
    for (const [name, e] of this.main) {
      if (!this.params.has(name)) warn(`${this.configDir}/main.cf: unused parameter: ${name}=${e.value}`);
    }
  }

  flagUnusedMaster(): void {
    for (const scope of this.masters) {
      if (!scope.all) continue;
      for (const [name, value] of scope.all) {
        if (!this.params.has(name) && !scope.valid?.has(name))
          warn(`${this.configDir}/master.cf: unused parameter: ${name}=${value}`);
      }
    }
  }
}
