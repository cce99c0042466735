/**
 * compat/dovecot/glob.ts: glob(3) with GLOB_BRACE as Dovecot's !include uses
 * it: `*`, `?`, `[...]` and `{a,b}`. Each brace alternative is globbed and
 * sorted on its own (glibc appends their results in order); a pattern with no
 * wildcard matches only an existing path. Dot files match only an explicit dot.
 */
import { readdirSync, statSync } from 'node:fs';

function braceExpand(p: string): string[] {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      const inner = p.slice(start + 1, i);
      const alts: string[] = [];
      let d = 0;
      let last = 0;
      for (let j = 0; j < inner.length; j++) {
        if (inner[j] === '{') d++;
        else if (inner[j] === '}') d--;
        else if (inner[j] === ',' && d === 0) {
          alts.push(inner.slice(last, j));
          last = j + 1;
        }
      }
      alts.push(inner.slice(last));
      const head = p.slice(0, start);
      const tail = p.slice(i + 1);
      return alts.flatMap((a) => braceExpand(head + a + tail));
    }
  }
  return [p];
}

const MAGIC = /[*?[]/;

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < seg.length) re += `\\${seg[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function globOne(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return exists(pattern) ? [pattern] : [];
  const abs = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let paths = [abs ? '/' : ''];
  if (abs) segs.shift();
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const next: string[] = [];
    for (const base of paths) {
      const join = (n: string) => (base === '' ? n : base.endsWith('/') ? base + n : `${base}/${n}`);
      if (!MAGIC.test(seg)) {
        next.push(join(seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === '' ? '.' : base);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(join(n));
      }
    }
    paths = next;
  }
  return paths.filter(exists).sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

export function expandGlob(pattern: string): string[] {
  return braceExpand(pattern).flatMap(globOne);
}
