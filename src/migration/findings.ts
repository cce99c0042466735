/**
 * migration/findings.ts: what `postern check-migration` reports, and how it
 * knows what Postern reads: a setting whose name no module of Postern's
 * compiled source (dist/src) mentions cannot be read, so it has no effect
 * after the swap.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Verdict = 'ok' | 'no';

export interface Finding {
  verdict: Verdict;
  where: string;
  what: string;
  note: string;
}

let mentionCache: Set<string> | undefined;

/** Every quoted lower-case identifier in Postern's compiled source. */
export function mentionedNames(): Set<string> {
  if (mentionCache) return mentionCache;
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`]([a-z][a-z0-9_]*)['"`]/g)) names.add(m[1]!);
      }
    }
  };
  walk(join(import.meta.dirname, '..'));
  mentionCache = names;
  return names;
}

export function formatFindings(side: string, findings: Finding[]): string {
  return findings.map((f) => `${side} ${f.where}: ${f.what}: ${f.verdict === 'ok' ? 'honoured' : 'NOT HONOURED'}: ${f.note}\n`).join('');
}
