#!/usr/bin/env node
/**
 * params/generate.mjs: build compat/postfix/params/builtin.ts, the Postfix
 * 3.7.11 parameter catalogue, from the Postfix source and the real postconf.
 *
 * Rerun (from the repository root, on a machine with Postfix 3.7.11 installed
 * and the Postfix source mirror present):
 *
 *   node compat/postfix/params/generate.mjs
 *
 * Environment (all optional):
 *   POSTFIX_REPO  bare git mirror of Postfix (default /work/.mirror/vdukhovni+postfix/repo)
 *   POSTFIX_TAG   tag to read (default v3.7.11)
 *   POSTCONF      the real postconf binary (default: postconf on $PATH)
 *   OUT           output file (default: builtin.ts next to this script)
 *
 * What it does, in the way Postfix's own postconf build does it
 * (src/postconf/extract.awk run over src/[*]/[*].c, plus postconf_builtin.c):
 *   1. Extract src/ of POSTFIX_TAG into a temp dir (git archive).
 *   2. Collect every `#define NAME value` from src/[*]/[*].{h,c} so VAR_, MAX_,
 *      MIN_ and DEF_ macros can be resolved to strings and numbers.
 *   3. Scan every CONFIG_{TIME,BOOL,INT,STR,STR_FN,RAW,NINT,NBOOL,LONG}_TABLE
 *      initializer (one entry per line, as extract.awk assumes): the table
 *      type gives the kind, field 1 the name, fields 4 and 5 the bounds
 *      (0 = no bound, as in mail_conf_int.c).
 *   4. Add what postconf_builtin.c adds by hand: install_table.h (str),
 *      process_name/service_name/process_id (readonly) and the legacy table.
 *   5. Run the real `postconf -c TMP -d` (empty main.cf and master.cf) for the
 *      exact raw defaults, and `postconf -c TMP -dx` for the expanded value
 *      from which a time parameter's default unit is taken (first letter of
 *      the expanded default, as get_def_time_unit() in mail_conf_time.c).
 *      The name sets of steps 3-4 and of postconf -d must be equal, else the
 *      script fails.
 *   6. Read the service templates (pipe_params/spawn_params/service_defs) from
 *      src/postconf/postconf_service.c.
 * The output is plain data: nothing at run time needs the source or postconf.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = process.env.POSTFIX_REPO ?? '/work/.mirror/vdukhovni+postfix/repo';
const TAG = process.env.POSTFIX_TAG ?? 'v3.7.11';
const POSTCONF = process.env.POSTCONF ?? 'postconf';
const OUT = process.env.OUT ?? join(here, 'builtin.ts');

function die(msg) {
  process.stderr.write(`generate.mjs: ${msg}\n`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'postern-params-gen-'));
try {
  main();
} finally {
  rmSync(work, { recursive: true, force: true });
}

function main() {
  // 1. Source tree.
  const srcTar = execFileSync('git', ['-C', REPO, 'archive', TAG, 'postfix/src'], {
    maxBuffer: 1 << 30,
  });
  execFileSync('tar', ['-x', '-C', work], { input: srcTar });
  const src = join(work, 'postfix', 'src');
  const dirs = readdirSync(src, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const files = [];
  for (const d of dirs) {
    for (const f of readdirSync(join(src, d)).sort()) {
      if (f.endsWith('.c') || f.endsWith('.h')) files.push(join(d, f));
    }
  }
  const text = new Map(files.map((f) => [f, readFileSync(join(src, f), 'latin1')]));

  // 2. Macros (headers first so they win over local redefinitions in .c).
  const macros = new Map();
  const ordered = [...files.filter((f) => f.endsWith('.h')), ...files.filter((f) => f.endsWith('.c'))];
  ordered.unshift('global/mail_params.h');
  for (const f of ordered) {
    const body = text.get(f).replace(/\\\n/g, ' ');
    for (const m of body.matchAll(/^\s*#\s*define\s+([A-Za-z_]\w*)(?!\()[ \t]*(.*)$/gm)) {
      const value = m[2].replace(/\/\*.*?\*\//g, '').trim();
      if (!macros.has(m[1])) macros.set(m[1], value);
    }
  }
  const evalMacro = (expr, depth = 0) => resolve(expr, macros, depth);

  // 3. Configuration tables, as extract.awk finds them.
  const tableKinds = {
    TIME: 'time',
    BOOL: 'bool',
    INT: 'int',
    STR: 'str',
    STR_FN: 'str_fn',
    RAW: 'raw',
    NINT: 'nint',
    NBOOL: 'nbool',
    LONG: 'long',
  };
  const start = /^(static| )*(const +)?CONFIG_(TIME|BOOL|INT|STR|STR_FN|RAW|NINT|NBOOL|LONG)_TABLE .*\{/;
  const entries = new Map(); // name -> {kind, min, max, where}
  const conflicts = [];
  const addEntry = (name, kind, min, max, where) => {
    const prev = entries.get(name);
    if (prev) {
      if (prev.kind !== kind || prev.min !== min || prev.max !== max) {
        conflicts.push(`${name}: ${prev.kind}[${prev.min},${prev.max}] at ${prev.where} vs ${kind}[${min},${max}] at ${where}`);
      }
      return;
    }
    entries.set(name, { kind, min, max, where });
  };
  for (const f of files) {
    if (!f.endsWith('.c') || f.startsWith('postconf/')) continue;
    const lines = text.get(f).split('\n');
    let kind = null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (kind === null) {
        const m = start.exec(line);
        if (!m) continue;
        kind = tableKinds[m[3]];
      }
      const fields = line.trim().split(/\s+/);
      const isVar = kind === 'int' || kind === 'nint' || kind === 'long' ? /VAR/ : /^VAR/;
      if (isVar.test(fields[0])) {
        const parts = splitTop(line);
        const name = evalMacro(parts[0]);
        if (typeof name !== 'string') die(`${f}:${i + 1}: cannot resolve name ${parts[0]}`);
        let min = 0;
        let max = 0;
        if (kind !== 'bool' && kind !== 'nbool') {
          min = evalMacro(parts[3]);
          max = evalMacro(parts[4]);
          if (typeof min !== 'number' || typeof max !== 'number') {
            die(`${f}:${i + 1}: cannot resolve bounds ${parts[3]}, ${parts[4]}`);
          }
        }
        addEntry(name, kind, min, max, `${f}:${i + 1}`);
      }
      if (/\};/.test(line)) kind = null;
    }
  }
  if (conflicts.length) die(`conflicting table entries:\n  ${conflicts.join('\n  ')}`);

  // 4. What postconf_builtin.c adds by hand.
  const install = text.get('postconf/install_table.h');
  for (const line of install.split('\n')) {
    if (!/^\s*VAR_/.test(line)) continue;
    const parts = splitTop(line);
    addEntry(evalMacro(parts[0]), 'str', evalMacro(parts[3]), evalMacro(parts[4]), 'postconf/install_table.h');
  }
  const builtinC = text.get('postconf/postconf_builtin.c');
  for (const m of builtinC.matchAll(/pcf_adhoc_\w+ = \{(VAR_\w+)\}/g)) {
    addEntry(evalMacro(m[1]), 'readonly', 0, 0, 'postconf/postconf_builtin.c');
  }
  const legacyBlock = /pcf_legacy_str_table\[\] = \{([\s\S]*?)\};/.exec(builtinC);
  if (!legacyBlock) die('legacy table not found in postconf_builtin.c');
  const legacy = [...legacyBlock[1].matchAll(/\{"([^"]+)", ""\}/g)].map((m) => m[1]);

  // 5. The real postconf for raw defaults and time units.
  const cfg = join(work, 'config');
  execFileSync('mkdir', ['-p', cfg]);
  writeFileSync(join(cfg, 'main.cf'), '');
  writeFileSync(join(cfg, 'master.cf'), '');
  const raw = parsePostconf(execFileSync(POSTCONF, ['-c', cfg, '-d'], { encoding: 'utf8' }));
  const expanded = parsePostconf(execFileSync(POSTCONF, ['-c', cfg, '-dx'], { encoding: 'utf8' }));
  const missing = [...entries.keys()].filter((n) => !raw.has(n));
  const extra = [...raw.keys()].filter((n) => !entries.has(n));
  if (missing.length || extra.length) {
    die(`name sets differ; in source only: ${missing.join(' ') || '-'}; in postconf only: ${extra.join(' ') || '-'}`);
  }
  for (const n of legacy) if (raw.has(n)) die(`legacy name ${n} printed by postconf -d`);

  const rows = [];
  for (const name of [...entries.keys()].sort()) {
    const e = entries.get(name);
    let def = raw.get(name);
    if (e.kind === 'str_fn' || e.kind === 'readonly') def = '';
    let unit = '';
    if (e.kind === 'time') {
      const m = /[A-Za-z]/.exec(expanded.get(name));
      if (!m) die(`time parameter ${name} has no unit in ${expanded.get(name)}`);
      unit = m[0];
    }
    const row = [name, e.kind, def];
    if (unit || e.min || e.max) row.push(unit);
    if (e.min || e.max) row.push(e.min);
    if (e.max) row.push(e.max);
    rows.push(row);
  }

  // 6. Service templates (postconf_service.c).
  const svc = text.get('postconf/postconf_service.c');
  const nvList = (arrayName) => {
    const m = new RegExp(`${arrayName}\\[\\] = \\{([\\s\\S]*?)\\n\\s*0,`).exec(svc);
    if (!m) die(`${arrayName} not found in postconf_service.c`);
    return [...m[1].matchAll(/^\s*(_\w+),\s*(VAR_\w+),/gm)].map((x) => [evalMacro(x[1]), evalMacro(x[2])]);
  };
  const pipe = nvList('pipe_params');
  const spawn = nvList('spawn_params');
  if (!/#define service_params \(pipe_params \+ 1\)/.test(svc)) die('service_params definition changed');
  const delivery = pipe.slice(1);
  const lists = { service_params: 'DELIVERY', pipe_params: 'PIPE', spawn_params: 'SPAWN' };
  const defs = /service_defs\[\] = \{([\s\S]*?)\n\s*0,/.exec(svc);
  if (!defs) die('service_defs not found');
  const programs = [...defs[1].matchAll(/^\s*(MAIL_PROGRAM_\w+),\s*(\w+),/gm)].map((x) => [
    evalMacro(x[1]),
    lists[x[2]],
  ]);
  if (programs.some(([p, l]) => typeof p !== 'string' || !l)) die('cannot resolve service_defs');

  writeFileSync(OUT, render(rows, legacy, delivery, pipe, spawn, programs));
  process.stderr.write(`generate.mjs: wrote ${rows.length} parameters, ${legacy.length} legacy, to ${OUT}\n`);
}

/** Split a C initializer line at top-level commas (outside strings and parentheses). */
function splitTop(line) {
  const out = [];
  let cur = '';
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inStr) {
      cur += c;
      if (c === '\\') cur += line[++i] ?? '';
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Resolve a C macro expression to a string (concatenated literals) or a number. */
function resolve(expr, macros, depth) {
  if (depth > 20) return undefined;
  const tokens = expr.match(/"(?:[^"\\]|\\.)*"|[A-Za-z_]\w*|\d+[uUlL]*|<<|>>|[-+*/()]/g) ?? [];
  if (tokens.length === 0) return undefined;
  if (tokens.every((t) => t.startsWith('"') || /^[A-Za-z_]/.test(t))) {
    let s = '';
    for (const t of tokens) {
      let v;
      if (t.startsWith('"')) v = JSON.parse(t);
      else if (macros.has(t)) v = resolve(macros.get(t), macros, depth + 1);
      if (typeof v === 'number' && tokens.length === 1) return v;
      if (typeof v !== 'string') return undefined;
      s += v;
    }
    return s;
  }
  let js = '';
  for (const t of tokens) {
    if (/^[A-Za-z_]/.test(t)) {
      const v = macros.has(t) ? resolve(macros.get(t), macros, depth + 1) : undefined;
      if (typeof v !== 'number') return undefined;
      js += `(${v})`;
    } else if (t.startsWith('"')) {
      return undefined;
    } else {
      js += t.replace(/[uUlL]+$/, '');
    }
  }
  if (!/^[\d\s()+\-*/<>]+$/.test(js)) return undefined;
  return Function(`"use strict"; return (${js});`)();
}

/** Parse `name = value` lines (postconf prints `name =` for an empty value). */
function parsePostconf(out) {
  const map = new Map();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const m = /^(\S+) =(?: (.*))?$/.exec(line);
    if (!m) die(`unexpected postconf line: ${line}`);
    map.set(m[1], m[2] ?? '');
  }
  return map;
}

function render(rows, legacy, delivery, pipe, spawn, programs) {
  const q = (s) => JSON.stringify(s);
  const rowText = (r) => `  [${r.map((x) => (typeof x === 'string' ? q(x) : String(x))).join(', ')}],`;
  const nv = (list) => list.map(([s, p]) => `  [${q(s)}, ${q(p)}],`).join('\n');
  return `// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Postfix defaults hold \${...} text, not JS templates.
/**
 * params/builtin.ts: GENERATED by generate.mjs (do not edit; rerun it).
 *
 * Every parameter that Postfix ${TAG.replace(/^v/, '')} \`postconf -d\` prints for an empty
 * main.cf and master.cf, with its kind (the CONFIG_*_TABLE it is declared in),
 * the raw default exactly as \`postconf -d\` prints it ('' for str_fn and
 * readonly, which are computed), the default time unit and the bounds the
 * daemons enforce (0 or absent: no bound). Plus the legacy names
 * (postconf_builtin.c) and the per-service templates (postconf_service.c).
 */
import type { ParamKind } from './types.js';

/** [name, kind, raw default, time unit or '', min, max]; trailing fields may be absent. */
export type BuiltinRow = readonly [string, ParamKind, string, string?, number?, number?];

export const BUILTIN_ROWS: readonly BuiltinRow[] = [
${rows.map(rowText).join('\n')}
];

/** Old names kept so that defaults such as \`$virtual_maps\` resolve (kind 'legacy', default ''). */
export const LEGACY_NAMES: readonly string[] = [
${legacy.map((n) => `  ${q(n)},`).join('\n')}
];

/** [suffix, parameter whose value is the default]: service name + suffix = $parameter. */
export type ServiceTemplate = readonly (readonly [string, string])[];

const DELIVERY: ServiceTemplate = [
${nv(delivery)}
];

const PIPE: ServiceTemplate = [
${nv(pipe)}
];

const SPAWN: ServiceTemplate = [
${nv(spawn)}
];

/** master.cf command name (field 8, compared as is) -> templates it registers. */
export const SERVICE_TEMPLATES: Readonly<Record<string, ServiceTemplate>> = {
${programs.map(([p, l]) => `  ${q(p)}: ${l},`).join('\n')}
};
`;
}
