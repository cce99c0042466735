/**
 * maps/nested.ts: the shared open step of `unionmap:{type:name, ...}` and
 * `pipemap:{type:name, ...}` (Postfix's util/dict_union.c, dict_pipe.c):
 * read-only only, one brace group listing at least one "type:name", each
 * component opened with the same mode and flags in order. The combined
 * table takes DICT_FLAG_FIXED/PATTERN from the first component.
 */
import { badSyntax, braceBody, requireReadOnly, splitCommaBlanks, withUtf8Layer } from './driver-util.js';
import { openMapSpec } from './registry.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

export async function openComponents(type: string, name: string, opts: OpenOptions): Promise<LookupTable[]> {
  requireReadOnly(type, name, opts);
  const body = braceBody(name);
  const specs = body === undefined ? [] : splitCommaBlanks(body);
  if (specs.length === 0) throw badSyntax(type, name, 'type:name');
  const tables: LookupTable[] = [];
  try {
    for (const spec of specs) {
      if (!spec.includes(':')) throw badSyntax(type, name, 'type:name');
      tables.push(withUtf8Layer(await openMapSpec(spec, opts), opts));
    }
  } catch (err) {
    await Promise.allSettled(tables.map((t) => t.close()));
    throw err;
  }
  return tables;
}

/** The combined table's flags: the caller's, plus the first component's FIXED/PATTERN. */
export function combinedFlags(opts: OpenOptions, first: LookupTable): number {
  return opts.dictFlags | (first.flags & (DictFlag.FIXED | DictFlag.PATTERN));
}

/** A component's lookup error, reported as the combined table's (postmap names the outer table). */
export function asOuterError(err: unknown, label: string): unknown {
  return err instanceof DictError ? new DictError(err.kind, label, err.message) : err;
}

export async function closeAll(tables: LookupTable[]): Promise<void> {
  await Promise.all(tables.map((t) => t.close()));
}
