/**
 * postconf/templates.ts: `postconf -t [file]` (dump bounce templates) and
 * `postconf -b [file]` (show their text with $name expanded), which real
 * Postfix answers by running bounce(8) in a special mode; hence the
 * "postfix/bounce" prefix on its errors. Template file syntax: bounce(5),
 * "name = <<EOF" … "EOF" blocks.
 */
import { readFileSync } from 'node:fs';
import { fatal, setProgname } from '../../../src/log/msg.js';
import { out } from '../../../src/util/out.js';
import { DEFAULT_BOUNCE_TEMPLATES } from '../../../src/bounce/templates-default.js';
import { strerror } from '../main-cf.js';
import { buildEngine } from './main-mode.js';

const TIME_UNITS: Array<[string, number]> = [
  ['seconds', 1],
  ['minutes', 60],
  ['hours', 3600],
  ['days', 86400],
  ['weeks', 604800],
];

function parseTemplateFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    fatal(`open ${path}: ${strerror(err as NodeJS.ErrnoException)}`);
  }
  const result = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(\w+)\s*=\s*<<\s*(\S+)\s*$/.exec(lines[i]!);
    if (!m) continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) body.push(lines[i]!);
    result.set(m[1]!, body.join('\n'));
  }
  return result;
}

function timeSeconds(value: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(value.trim());
  if (!m) return 0;
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]!] ?? 1;
  return Number(m[1]) * mult;
}

export interface TemplateRequest {
  mode: number;
  configDir: string;
  fromEnv: boolean;
  file: string | undefined;
  expand: boolean;
}

export function showBounceTemplates(req: TemplateRequest): number {
  setProgname('postfix/bounce');
  const templates = new Map(DEFAULT_BOUNCE_TEMPLATES.map(([n, t]) => [n, t]));
  if (req.file !== undefined) for (const [n, t] of parseTemplateFile(req.file)) templates.set(n, t);
  if (!req.expand) {
    const parts = [...templates].map(([n, t]) => `${n} = <<EOF\n${t}\nEOF\n`);
    out(parts.join('\n'));
    return 0;
  }
  const engine = buildEngine({ mode: 0, configDir: req.configDir, fromEnv: req.fromEnv, overrides: [] }, 'warn');
  const lookup = (name: string): string => {
    for (const [suffix, secs] of TIME_UNITS) {
      if (name.endsWith(`_${suffix}`)) {
        const base = name.slice(0, -suffix.length - 1);
        const raw = engine.lookupValue(0, base, undefined);
        if (raw !== undefined) return String(Math.floor(timeSeconds(engine.expandParameterValue(raw, 0, undefined)) / secs));
      }
    }
    const raw = engine.lookupValue(0, name, undefined);
    return raw === undefined ? '' : engine.expandParameterValue(raw, 0, undefined);
  };
  const parts: string[] = [];
  for (const [name, text] of templates) {
    const body = text.slice(text.indexOf('\n\n') + 2);
    const expanded = body.replace(/\$(\w+)|\$\{(\w+)\}|\$\((\w+)\)/g, (_m, a, b, c) => lookup(a ?? b ?? c));
    parts.push(`expanded_${name.replace(/_template$/, '')}_text = <<EOF\n${expanded}\nEOF\n`);
  }
  out(parts.join('\n'));
  return 0;
}
