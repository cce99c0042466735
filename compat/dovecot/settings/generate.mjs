#!/usr/bin/env node
/**
 * compat/dovecot/settings/generate.mjs: builds catalogue.gen.ts from the real
 * Dovecot 2.3 binary. Run once on a machine with dovecot-core installed:
 *
 *   node compat/dovecot/settings/generate.mjs > compat/dovecot/settings/catalogue.gen.ts
 *
 * What it asks doveconf (never /etc/dovecot: configs live in a temp dir):
 * - `doveconf -a` on an empty config: every global setting with its default,
 *   and the built-in service { } blocks;
 * - `doveconf -a` on a config with one empty section of each type: the
 *   defaults of service, *_listener, namespace, mailbox, passdb, userdb,
 *   metric and event_exporter;
 * - one `doveconf -n` per setting with a nonsense value: the error message
 *   tells the type (bool, number, octal, time, msecs, size, enum, port, string);
 * - enum value lists: the colon-joined strings in the Dovecot libraries
 *   (settings-parser stores an enum default as "a:b:c"), each checked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'dcgen-'));
const conf = join(dir, 'dovecot.conf');

function doveconf(text, args) {
  writeFileSync(conf, text);
  const r = spawnSync('doveconf', ['-c', conf, ...args], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, rc: r.status };
}

/** Parse doveconf -a output into a tree: {keys:[[k,v]], sections:[{type,name,body}]}. */
function parseDump(text) {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  let i = 0;
  function block() {
    const items = [];
    while (i < lines.length) {
      const line = lines[i++].trim();
      if (line === '}') return items;
      if (line.endsWith('{') && !line.includes(' = ')) {
        const head = line.slice(0, -1).trim();
        const sp = head.indexOf(' ');
        const type = sp < 0 ? head : head.slice(0, sp);
        let name = sp < 0 ? '' : head.slice(sp + 1);
        if (name.startsWith('"')) name = name.slice(1, -1);
        items.push({ type, name, body: block() });
      } else {
        const eq = line.indexOf(' = ');
        let v = eq < 0 ? '' : line.slice(eq + 3);
        if (eq < 0) {
          items.push([line.replace(/ =$/, ''), '']);
          continue;
        }
        if (v.startsWith('"') && v.endsWith('"') && v.length > 1) v = v.slice(1, -1);
        items.push([line.slice(0, eq), v]);
      }
    }
    return items;
  }
  return block();
}

function classify(err, rc) {
  // Only errors of the value parser carry a line number; the rest are checks run after parsing.
  if (rc === 0 || !/ line \d+: /.test(err)) return 'str';
  if (err.includes('Invalid boolean value')) return 'bool';
  if (err.includes('Invalid port number')) return 'port';
  if (err.includes('Invalid number')) return 'uint';
  if (err.includes('Invalid time interval') || err.includes('missing units')) return 'time';
  if (err.includes('Invalid size')) return 'size';
  if (err.includes('Invalid value')) return 'enum';
  return 'str';
}

// Candidate enum lists from the libraries' strings.
const libs = [];
for (const d of ['/usr/lib/dovecot', '/usr/lib/dovecot/modules', '/usr/lib/dovecot/modules/settings']) {
  for (const f of readdirSync(d, { withFileTypes: true })) if (f.isFile()) libs.push(join(d, f.name));
}
libs.push('/usr/bin/doveconf');
const enumStrings = new Set();
for (const f of libs) {
  const s = execFileSync('strings', ['-a', f], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const line of s.split('\n')) if (/^[A-Za-z0-9_.+-]*(:[A-Za-z0-9_.+-]+)+$/.test(line)) enumStrings.add(line);
}

/** Type a setting. wrap(key, value) returns config text placing key = value in context. */
function typeOf(key, def, wrap) {
  const r = doveconf(wrap(key, 'zz_probe'), ['-n']);
  let t = classify(r.err, r.rc);
  if (t === 'uint') {
    const o = doveconf(wrap(key, '0x1'), ['-n']);
    if (o.err.includes('Invalid number: 0x1')) t = 'oct';
  }
  if (t === 'time') {
    const o = doveconf(wrap(key, '1500ms'), ['-n']);
    if (!o.err.includes('Milliseconds not supported')) t = 'msecs';
  }
  if (t === 'enum') {
    const cands = [...enumStrings].filter((s) => s.startsWith(`${def}:`)).sort((a, b) => b.length - a.length);
    for (const c of cands) {
      const vals = c.split(':');
      if (vals.every((v) => !/ line \d+: /.test(doveconf(wrap(key, v), ['-n']).err))) return { type: t, values: vals };
    }
    return { type: t, values: [def] };
  }
  return { type: t };
}

function entry(key, def, ty) {
  const e = [key, ty.type, def];
  if (ty.values) e.push(ty.values);
  return e;
}

// 1. Globals and built-in services.
const empty = parseDump(doveconf('', ['-a', '-s']).out);
const visible = new Set(parseDump(doveconf('', ['-a']).out).filter((x) => Array.isArray(x)).map((x) => x[0]));
const hidden = [];
const globals = [];
const services = [];
for (const it of empty) {
  if (Array.isArray(it)) {
    globals.push(entry(it[0], it[1], typeOf(it[0], it[1], (k, v) => `${k} = ${v}\n`)));
    if (!visible.has(it[0])) hidden.push(it[0]);
  } else services.push(it);
}

// 2. Section types.
const sample = `service s {
inet_listener i {
}
unix_listener u {
}
fifo_listener f {
}
}
namespace n {
mailbox m {
}
}
passdb {
}
userdb {
}
metric m {
filter = event=x
}
event_exporter e {
format = json
transport = log
}
`;
const tree = parseDump(doveconf(sample, ['-a', '-s']).out);
const indented = (t) => t.split('\n').filter((l) => l.startsWith(' ')).join('\n');
if (indented(doveconf(sample, ['-a', '-s']).out) !== indented(doveconf(sample, ['-a']).out)) {
  // Only top-level settings are hidden in 2.3.19; fail loudly if a section key ever is.
  throw new Error('hidden settings inside sections: extend the generator');
}
const sections = {};
function addSection(type, body, wrap) {
  const keys = [];
  const subs = [];
  for (const it of body) {
    if (Array.isArray(it)) keys.push(entry(it[0], it[1], typeOf(it[0], it[1], wrap)));
    else subs.push(it.type);
  }
  sections[type] = { keys, subs };
}
const wrappers = {
  service: (k, v) => `service s {\n${k} = ${v}\n}\n`,
  inet_listener: (k, v) => `service s {\ninet_listener i {\n${k} = ${v}\n}\n}\n`,
  unix_listener: (k, v) => `service s {\nunix_listener u {\n${k} = ${v}\n}\n}\n`,
  fifo_listener: (k, v) => `service s {\nfifo_listener f {\n${k} = ${v}\n}\n}\n`,
  namespace: (k, v) => `namespace n {\n${k} = ${v}\n}\n`,
  mailbox: (k, v) => `namespace n {\nmailbox m {\n${k} = ${v}\n}\n}\n`,
  passdb: (k, v) => `passdb {\ndriver = pam\n${k} = ${v}\n}\n`,
  userdb: (k, v) => `userdb {\ndriver = passwd\n${k} = ${v}\n}\n`,
  metric: (k, v) => `metric m {\nfilter = event=x\n${k} = ${v}\n}\n`,
  event_exporter: (k, v) => `event_exporter e {\nformat = json\ntransport = log\n${k} = ${v}\n}\n`,
};
for (const it of tree) {
  if (Array.isArray(it)) continue;
  if (it.type === 'service' && it.name !== 's') continue;
  addSection(it.type, it.body, wrappers[it.type]);
  for (const sub of it.body) if (!Array.isArray(sub)) addSection(sub.type, sub.body, wrappers[sub.type]);
}

function serviceJson(svc) {
  return {
    name: svc.name,
    keys: svc.body.filter((x) => Array.isArray(x)),
    listeners: svc.body.filter((x) => !Array.isArray(x)).map((l) => ({ type: l.type, name: l.name, keys: l.body })),
  };
}

rmSync(dir, { recursive: true, force: true });
const out = [];
out.push('/**');
out.push(' * compat/dovecot/settings/catalogue.gen.ts: GENERATED by generate.mjs from');
out.push(' * the real Dovecot 2.3.19.1 doveconf; do not edit by hand. Entries are');
out.push(' * [key, type, default as doveconf -a prints it, enum values?].');
out.push(' */');
out.push("import type { SectionTypeDef, ServiceDefault, SettingDef } from './types.js';");
out.push('');
out.push(`export const GLOBALS: SettingDef[] = ${JSON.stringify(globals)};`);
out.push('');
out.push('/** Settings doveconf -a leaves out (shown with -s). */');
out.push(`export const HIDDEN: string[] = ${JSON.stringify(hidden)};`);
out.push('');
out.push(`export const SECTION_TYPES: Record<string, SectionTypeDef> = ${JSON.stringify(sections)};`);
out.push('');
out.push(`export const SERVICES: ServiceDefault[] = ${JSON.stringify(services.map(serviceJson))};`);
process.stdout.write(`${out.join('\n')}\n`);
