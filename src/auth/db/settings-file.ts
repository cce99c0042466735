/**
 * auth/db/settings-file.ts: the key = value files passdb/userdb args point
 * at (dovecot-sql.conf.ext, dovecot-ldap.conf.ext), read as
 * lib-settings/settings.c settings_read_nosection() does: `#` comments
 * (an ambiguous '#' warns), `\` continues a line, "quoted" values are
 * unescaped, $ENV:NAME in unquoted values, !include / !include_try.
 * Errors read "Error in configuration file F line N: MSG" (or "Can't open
 * configuration file F: …").
 */
import { readFileSync } from 'node:fs';
import { strerror } from '../../util/strerror.js';

export class SettingsFileError extends Error {}

const WHITE = /[ \t]/;

function strUnescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function expandEnv(value: string): string {
  if (!value.includes('$')) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const p = value.indexOf('$', i);
    if (p < 0) {
      out += value.slice(i);
      break;
    }
    out += value.slice(i, p);
    if ((p === 0 || WHITE.test(value[p - 1]!)) && value.startsWith('$ENV:', p)) {
      const end = value.indexOf(' ', p);
      const name = end < 0 ? value.slice(p + 5) : value.slice(p + 5, end);
      out += process.env[name] ?? '';
      i = end < 0 ? value.length : end;
    } else {
      out += '$';
      i = p + 1;
    }
  }
  return out;
}

/**
 * Read `path` and call `set(key, value)` for each setting; `set` returns an
 * error text (e.g. "Unknown setting: x") to stop. `warn` receives warnings.
 */
export function readSettingsFile(path: string, set: (key: string, value: string) => string | undefined, warn: (msg: string) => void = () => {}): void {
  const read = (file: string, includeTry: boolean, depth: number): void => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (includeTry && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new SettingsFileError(`Can't open configuration file ${file}: ${strerror(e)}`);
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let full = '';
    for (let n = 0; n < lines.length; n++) {
      const lineNo = n + 1;
      const fail = (msg: string): never => {
        throw new SettingsFileError(`Error in configuration file ${file} line ${lineNo}: ${msg}`);
      };
      let line = lines[n]!.replace(/^[ \t]+/, '');
      if ((line === '' || line[0] === '#') && full === '') continue;
      for (let p = 0; p < line.length; p++) {
        const c = line[p]!;
        if (c === "'" || c === '"') {
          for (p++; p < line.length && line[p] !== c; p++) if (line[p] === '\\' && p + 1 < line.length) p++;
          if (p >= line.length) break;
        } else if (c === '#') {
          if (p > 0 && !WHITE.test(line[p - 1]!)) {
            warn(`Configuration file ${file} line ${lineNo}: Ambiguous '#' character in line, treating it as comment. Add a space before it to remove this warning.`);
          }
          line = line.slice(0, p);
          break;
        }
      }
      line = line.replace(/[ \t\r]+$/, '');
      if (line.endsWith('\\')) {
        full += `${line.slice(0, -1).replace(/[ \t]+$/, '')} `;
        continue;
      }
      if (full !== '') {
        line = full + line;
        full = '';
      }
      if (line === '') continue;
      const m = /^[^ \t=]*/.exec(line)!;
      const key = m[0];
      let rest = line.slice(key.length).replace(/^[ \t]+/, '');
      if (key === '!include' || key === '!include_try') {
        if (depth > 20) fail('Recursive include');
        const inc = rest.startsWith('/') ? rest : file.slice(0, file.lastIndexOf('/') + 1) + rest;
        read(inc, key === '!include_try', depth + 1);
        continue;
      }
      if (!rest.startsWith('=')) {
        if (key === '}' && rest === '') fail("Unexpected '}'");
        fail("Expecting '='");
      }
      rest = rest.slice(1).replace(/^[ \t]+/, '');
      let value = rest;
      if (value.length > 0 && ((value[0] === '"' && value.endsWith('"')) || (value[0] === "'" && value.endsWith("'"))) && value.length >= 2) {
        value = strUnescape(value.slice(1, -1));
      } else value = expandEnv(value);
      const err = set(key, value);
      if (err !== undefined) fail(err);
    }
  };
  read(path, false, 0);
}
