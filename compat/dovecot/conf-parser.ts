/**
 * compat/dovecot/conf-parser.ts: the dovecot.conf (2.3) reader, as
 * src/config/config-parser.c behaves: `key = value`, sections, filters
 * (protocol, local, remote, local_name), !include / !include_try with globs,
 * `$setting` and `$ENV:NAME` references, `<file` values, quoting, line
 * continuation, and the exact fatal texts doveconf prints (exit 89).
 *
 * The result is a tree of scopes holding the explicitly set keys; defaults
 * come from the catalogue (settings/catalogue.ts) when the tree is read.
 */
import { type FilterSpec, type Net, netContains, parseNet } from './filters.js';
import { strerror } from '../../src/util/strerror.js';
import { readFileSync } from 'node:fs';
import { expandGlob } from './glob.js';
import { catalogue, type SectionKind } from './settings/catalogue.js';
import { normalizeValue, ValueError } from './values.js';
import { handleOldKeyValue, type OldSettingsHost, renameOldSection } from './old-settings.js';

/** A fatal configuration error: "Error in configuration file FILE[ line N]: MESSAGE". */
export class ConfigError extends Error {
  /** Warnings printed before the error (they are printed as they happen). */
  warnings: string[] = [];
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly text: string,
    /** "late" errors (Missing '}', post-parse checks) are printed after doveconf's output. */
    readonly late = false,
    /** An "Error: ..." line printed before the fatal one (post-parse checks). */
    readonly errorLine?: string,
  ) {
    super(line === undefined ? `Error in configuration file ${file}: ${text}` : `Error in configuration file ${file} line ${line}: ${text}`);
  }
}

export interface Entry {
  key: string;
  /** The normalised value (as doveconf prints it; `<file` kept unless expanded). */
  value: string;
  file: string;
  line: number;
}

export interface Section {
  type: string;
  /** The name as written (may be ''); unnamed list sections get their index in `listIndex`. */
  name: string;
  listIndex: number;
  scope: Scope;
  file: string;
  line: number;
}

export class Scope {
  readonly keys = new Map<string, Entry>();
  readonly sections: Section[] = [];
  constructor(
    /** Section type ('' for the top level or a filter). */
    readonly type: string,
    readonly kind: SectionKind | 'root',
  ) {}
  findSection(type: string, name: string): Section | undefined {
    return this.sections.find((s) => s.type === type && s.name === name);
  }
}

export type { FilterSpec } from './filters.js';

export interface Filter {
  spec: FilterSpec;
  scope: Scope;
  /** Creation order (first time this filter combination was seen). */
  order: number;
  file: string;
  line: number;
}

/** Marks an entry of ParsedConfig.warnings that Dovecot logs as an error ("doveconf: Error: ..."). */
export const ERROR_MARK = '\u0001error:';

export interface ParsedConfig {
  path: string;
  root: Scope;
  filters: Filter[];
  warnings: string[];
  /** Set when parsing failed after part of the config was read ("Missing '}'" and post-parse checks). */
  lateError?: ConfigError;
}

export interface ParseOptions {
  /** Expand `$setting`, `$ENV:` and `<file` values (doveconf -x, and every real process). */
  expand?: boolean;
  /** Environment for $ENV:NAME. */
  env?: NodeJS.ProcessEnv;
  /** Read no file: the built-in defaults only (doveconf -d). */
  emptyConfig?: boolean;
  /**
   * With expand: read `<file` only for settings this accepts (given the
   * top-level setting or section type name); others keep "<path". doveconf
   * -m reads the files of the chosen modules' settings only, which is why
   * `doveadm pw` works while ssl_cert names a missing file.
   */
  readFileOf?: (topName: string) => boolean;
}

interface Frame {
  /** What this frame is: a section, a filter or the root. */
  kind: 'root' | 'section' | 'filter';
  scope: Scope;
  /** Section type path for "Unknown setting: a { b { key" messages. */
  path: string[];
  filter?: Filter;
  file: string;
  line: number;
}

const FILTER_TYPES = new Set(['protocol', 'local', 'remote', 'local_name']);
const AUTH_PREFIXES = ['auth_', 'passdb', 'userdb'];

function dirPrefix(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

function fixRelative(path: string, including: string): string {
  return path.startsWith('/') ? path : dirPrefix(including) + path;
}

/** Strip quotes and C-style escapes, as str_unescape() does inside "...". */
function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}

/** parseNet, with its message turned into the parser's fatal error. */
function parseNetOrError(name: string, err: (msg: string) => never): Net {
  try {
    return parseNet(name);
  } catch (e) {
    return err((e as Error).message);
  }
}

function specKey(s: FilterSpec): string {
  return JSON.stringify([s.protocol ?? null, s.local ?? null, s.remote ?? null, s.localName ?? null]);
}

export function parseConfigFile(path: string, opts: ParseOptions = {}): ParsedConfig {
  const cat = catalogue();
  const root = new Scope('', 'root');
  const cfg: ParsedConfig = { path, root, filters: [], warnings: [] };
  const filterMap = new Map<string, Filter>();
  const stack: Frame[] = [{ kind: 'root', scope: root, path: [], file: path, line: 0 }];
  const includeStack: string[] = [];
  /** Where a filter first set a key: for the "Global setting ... won't change" warning. */
  const filterSets = new Map<string, { file: string; line: number }>();

  const top = () => stack[stack.length - 1]!;
  const currentFilter = (): Filter | undefined => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.filter) return stack[i]!.filter;
    return undefined;
  };

  /** The value of `key` as seen from the current position (filter, then its parents, then global, then default). */
  function currentValue(key: string): string | undefined {
    const f = currentFilter();
    if (f) {
      const chain = filterChain(f.spec);
      for (const spec of chain) {
        const e = filterMap.get(specKey(spec))?.scope.keys.get(key);
        if (e) return e.value;
      }
    }
    const e = root.keys.get(key);
    if (e) return e.value;
    return cat.globals.get(key)?.[2];
  }

  function filterChain(spec: FilterSpec): FilterSpec[] {
    // The filter itself first, then ever-smaller parents (dropping protocol, then remote, then local...).
    const out: FilterSpec[] = [spec];
    if (spec.protocol) out.push({ ...spec, protocol: undefined });
    return out;
  }

  function expandVars(key: string, value: string, file: string, line: number): string {
    const tokens = value.split(/\s+/);
    const out: string[] = [];
    for (const tok of tokens) {
      if (!tok.startsWith('$')) {
        out.push(tok);
        continue;
      }
      const name = tok.slice(1);
      if (name === key) {
        out.push(currentValue(key) ?? '');
      } else if (!opts.expand) {
        out.push(tok);
      } else if (name.startsWith('ENV:')) {
        out.push((opts.env ?? process.env)[name.slice(4)] ?? '');
      } else {
        const v = currentValue(name);
        if (v === undefined) throw new ConfigError(file, line, `Unknown variable: ${tok}`);
        out.push(v);
      }
    }
    return out.join(' ');
  }

  function setKey(frame: Frame, key: string, rawValue: string, isVarValue: boolean, fileValue: string | undefined, file: string, line: number): void {
    const scope = frame.scope;
    const err = (msg: string): never => {
      throw new ConfigError(file, line, msg);
    };
    let def = undefined as ReturnType<typeof cat.lookup>;
    const kind = scope.kind;
    if (kind === 'strlist') {
      def = undefined;
    } else {
      def = cat.lookup(scope.type, key);
      if (!def || def === 'section') {
        const prefix = frame.path.length ? `${frame.path.join(' { ')} { ` : '';
        err(`Unknown setting: ${prefix}${key}`);
      }
    }
    const f = currentFilter();
    if (f && frame.kind === 'filter' && (f.spec.local || f.spec.remote) && AUTH_PREFIXES.some((p) => key.startsWith(p))) {
      err(`Auth settings not supported inside local/remote blocks: ${key}`);
    }
    let value = rawValue;
    if (fileValue !== undefined) {
      const target = fixRelative(fileValue, file);
      const topName = frame.path[0] ?? key;
      if (opts.expand && (opts.readFileOf?.(topName) ?? true)) {
        try {
          value = readFileSync(target, 'utf8');
        } catch (e) {
          err(`${key}: Can't open file ${target}: ${strerror(e)}`);
        }
      } else value = `<${fileValue}`;
    } else if (isVarValue) {
      value = expandVars(key, rawValue, file, line);
    }
    if (def && def !== 'section' && fileValue === undefined) {
      try {
        value = normalizeValue(def, value);
      } catch (e) {
        if (e instanceof ValueError) err(e.message);
        throw e;
      }
    }
    if (frame.kind === 'root' && scope === root) {
      const at = filterSets.get(key);
      if (at) {
        cfg.warnings.push(
          `${file} line ${line}: Global setting ${key} won't change the setting inside an earlier filter at ${at.file} line ${at.line} (if this is intentional, avoid this warning by moving the global setting before ${at.file} line ${at.line})`,
        );
      }
    } else if (frame.kind === 'filter' && !filterSets.has(key)) {
      filterSets.set(key, { file, line });
    }
    scope.keys.set(key, { key, value, file, line });
  }

  function openSection(type: string, name: string, file: string, line: number): void {
    const frame = top();
    const err = (msg: string): never => {
      throw new ConfigError(file, line, msg);
    };
    if (FILTER_TYPES.has(type) && (frame.kind === 'root' || frame.kind === 'filter')) {
      const parent = currentFilter();
      const spec: FilterSpec = { ...(parent?.spec ?? {}) };
      if (type === 'protocol') {
        if (parent?.spec.protocol) err('Nested protocol { protocol { .. } } block not allowed');
        spec.protocol = name;
      } else {
        if (parent?.spec.protocol) err(`protocol { ${type} { .. } } not allowed (use ${type} { protocol { .. } } instead)`);
        if (type === 'local_name') {
          if (parent?.spec.localName) err('Nested local_name { local_name { .. } } block not allowed');
          spec.localName = name;
        } else {
          if (parent?.spec.localName) err(`local_name { ${type} { .. } } not allowed (use ${type} { local_name { .. } } instead)`);
          if (type === 'local' && parent?.spec.remote) err('remote { local { .. } } not allowed (use local { remote { .. } } instead)');
          const net = parseNetOrError(name, err);
          const field = type === 'local' ? 'local' : 'remote';
          const prev = parent?.spec[field];
          if (prev !== undefined && !netContains(parseNet(prev), net)) {
            err(`${type} net1 { ${type} net2 { .. } } requires net2 to be inside net1`);
          }
          spec[field] = net.print;
        }
      }
      const k = specKey(spec);
      let filter = filterMap.get(k);
      if (!filter) {
        filter = { spec, scope: new Scope('', 'root'), order: filterMap.size, file, line };
        filterMap.set(k, filter);
        cfg.filters.push(filter);
      }
      stack.push({ kind: 'filter', scope: filter.scope, path: [], filter, file, line });
      return;
    }
    const scope = frame.scope;
    const sub = scope.kind === 'strlist' ? undefined : cat.lookup(scope.type, type);
    if (sub !== undefined && sub !== 'section') {
      // A known setting used as a section: accepted here, but every key inside is unknown.
      stack.push({ kind: 'section', scope: new Scope(`!${type}`, 'unique'), path: [...frame.path, type], file, line });
      return;
    }
    if (sub !== 'section') {
      if (scope.kind === 'strlist') err('Section not allowed here');
      err(`Unknown setting: ${[...frame.path, type].join(' { ')} { ${type}`);
    }
    const kind = cat.sectionKind(type);
    let section: Section | undefined;
    if (kind === 'unique' || kind === 'strlist') section = scope.findSection(type, name);
    if (!section) {
      const listIndex = scope.sections.filter((s) => s.type === type).length;
      section = { type, name, listIndex, scope: new Scope(type, kind), file, line };
      scope.sections.push(section);
      if (kind === 'list') section.scope.keys.set('name', { key: 'name', value: name, file, line });
    }
    stack.push({ kind: 'section', scope: section.scope, path: [...frame.path, type], file, line });
  }

  function parseFile(file: string): void {
    if (includeStack.includes(file)) throw new ConfigError(includeStack[includeStack.length - 1]!, curLine, `Recursive include file: ${file}`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (includeStack.length === 0) throw new ConfigError(file, undefined, `open(${file}) failed: ${strerror(e)}`);
      throw new ConfigError(includeStack[includeStack.length - 1]!, curLine, `Couldn't open include file ${file}: ${strerror(e)}`);
    }
    includeStack.push(file);
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    let pending = '';
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      let line = lines[i]!;
      // Leading whitespace and full-line comments.
      line = line.replace(/^[ \t\r]+/, '');
      if (pending === '' && (line === '' || line[0] === '#')) continue;
      // Strip a comment outside quotes.
      let quote = '';
      for (let j = 0; j < line.length; j++) {
        const c = line[j]!;
        if (quote) {
          if (c === '\\' && j + 1 < line.length) j++;
          else if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '#') {
          if (j > 0 && line[j - 1] !== ' ' && line[j - 1] !== '\t') {
            cfg.warnings.push(
              `Configuration file ${file} line ${lineNo}: Ambiguous '#' character in line, treating it as comment. Add a space before it to remove this warning.`,
            );
          }
          line = line.slice(0, j);
          break;
        }
      }
      line = line.replace(/[ \t\r]+$/, '');
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1).replace(/[ \t]+$/, '')} `;
        continue;
      }
      line = pending + line;
      pending = '';
      if (line === '') continue;
      curLine = lineNo;
      handleLine(file, lineNo, line);
    }
    includeStack.pop();
  }

  let curLine = 0;

  function handleLine(file: string, lineNo: number, line: string): void {
    const err = (msg: string): never => {
      throw new ConfigError(file, lineNo, msg);
    };
    if (line === '}') {
      if (stack.length <= 1) err("Unexpected '}'");
      stack.pop();
      return;
    }
    const m = /^[^ \t=]*/.exec(line)!;
    const key = m[0];
    let rest = line.slice(key.length).replace(/^[ \t]+/, '');
    if (key === '!include' || key === '!include_try') {
      doInclude(file, lineNo, rest, key === '!include_try');
      return;
    }
    if (rest.startsWith('=')) {
      if (key === '') err("Missing key name ('=' at the beginning of line)");
      rest = rest.slice(1).replace(/^[ \t]+/, '');
      if (rest.startsWith('<')) {
        setKey(top(), key, '', false, rest.slice(1).replace(/^[ \t]+/, ''), file, lineNo);
      } else if (rest[0] !== '"' && rest[0] !== "'" && rest.includes('$')) {
        setKey(top(), key, rest, true, undefined, file, lineNo);
      } else {
        const value = unquote(rest);
        if (top().kind !== 'section' && handleOldKeyValue(oldHost(file, lineNo), key, value)) return;
        setKey(top(), key, value, false, undefined, file, lineNo);
      }
      return;
    }
    // Section start: type [name] {
    let name = '';
    if (!rest.startsWith('{')) {
      if (rest.startsWith('"')) {
        const q = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
        if (!q) err("Expecting '{'");
        name = q![1]!.replace(/\\(.)/g, '$1');
        rest = rest.slice(q![0].length);
      } else {
        const n = /^[^\s{]*/.exec(rest)![0];
        name = n;
        rest = rest.slice(n.length);
      }
      rest = rest.replace(/^[ \t]+/, '');
      if (!rest.startsWith('{')) err("Expecting '{'");
    }
    if (rest.length > 1) err("Garbage after '{'");
    if (key === '') err("Expecting '{'");
    const renamed = top().kind !== 'section' ? renameOldSection(key, name, (t) => obsolete(file, lineNo, t)) : undefined;
    if (renamed) openSection(renamed[0], renamed[1], file, lineNo);
    else openSection(key, name, file, lineNo);
  }

  let seenObsolete = false;
  function obsolete(file: string, lineNo: number, text: string): void {
    if (!seenObsolete) cfg.warnings.push('NOTE: You can get a new clean config file with: doveconf -Pn > dovecot-new.conf');
    seenObsolete = true;
    cfg.warnings.push(`Obsolete setting in ${file}:${lineNo}: ${text}`);
  }

  /** Run `apply` with the top level as the current scope (old settings that move into service/plugin sections). */
  function atRoot(sections: Array<[string, string]>, apply: () => void, file: string, lineNo: number): void {
    const depth = stack.length;
    stack.push(stack[0]!);
    try {
      for (const [type, name] of sections) openSection(type, name, file, lineNo);
      apply();
    } finally {
      stack.length = depth;
    }
  }

  function oldHost(file: string, lineNo: number): OldSettingsHost {
    return {
      obsolete: (text) => obsolete(file, lineNo, text),
      error: (text) => cfg.warnings.push(`${ERROR_MARK}${text}`),
      set: (k, v) => setKey(top(), k, v, false, undefined, file, lineNo),
      setFile: (k, path) => setKey(top(), k, '', false, path, file, lineNo),
      setService: (service, k, v, listener) =>
        atRoot(
          listener ? [['service', service], listener] : [['service', service]],
          () => setKey(top(), k, v, false, undefined, file, lineNo),
          file,
          lineNo,
        ),
      setPlugin: (k, v) => atRoot([['plugin', '']], () => setKey(top(), k, v, false, undefined, file, lineNo), file, lineNo),
      protocol: currentFilter()?.spec.protocol,
    };
  }

  function doInclude(file: string, lineNo: number, pattern: string, isTry: boolean): void {
    const full = fixRelative(pattern, file);
    const matches = expandGlob(full);
    if (matches.length === 0) {
      if (isTry) return;
      throw new ConfigError(file, lineNo, 'No matches');
    }
    for (const m of matches) {
      if (isTry) {
        try {
          readFileSync(m);
        } catch {
          continue;
        }
      }
      parseFile(m);
    }
  }

  if (!opts.emptyConfig) {
    try {
      parseFile(path);
    } catch (e) {
      if (e instanceof ConfigError) e.warnings = cfg.warnings;
      throw e;
    }
  }
  if (stack.length > 1) {
    const f = stack[stack.length - 1]!;
    cfg.lateError = new ConfigError(path, undefined, `Missing '}' (section started at ${f.file}:${f.line})`, true);
  }
  return cfg;
}

