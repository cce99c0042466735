/**
 * master/paths.ts: relative directory settings are resolved against the
 * working directory the mail system was started from, so the bundled
 * example configuration (`queue_directory = var/spool`) runs from the
 * repository root without root. Real Postfix only ever sees absolute paths
 * here; for those nothing changes.
 */
import { isAbsolute, resolve } from 'node:path';
import type { WorkerConfig } from './types.js';

const PATH_PARAMS = new Set([
  'queue_directory',
  'data_directory',
  'daemon_directory',
  'command_directory',
  'meta_directory',
  'maillog_file',
]);

export function resolveParamPath(name: string, value: string, cwd = process.cwd()): string {
  if (!PATH_PARAMS.has(name) || value === '' || isAbsolute(value)) return value;
  return resolve(cwd, value);
}

/** A view of `cfg` whose directory parameters are absolute. */
export function withAbsolutePaths<T extends WorkerConfig>(cfg: T, cwd = process.cwd()): T {
  return new Proxy(cfg, {
    get(target, prop, receiver) {
      if (prop === 'get') return (name: string) => resolveParamPath(name, target.get(name), cwd);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
