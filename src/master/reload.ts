/**
 * master/reload.ts: what the master does on `postfix reload` (SIGHUP) and,
 * with `postern_auto_reload = yes`, when a configuration file changes.
 *
 * The new main.cf and master.cf are read and checked before anything is
 * changed. Postfix's master exits on a broken master.cf at reload time;
 * Postern keeps the running configuration instead and logs the error in
 * Postfix's words (the text Postfix prints after "fatal:"), then
 *   warning: reload failed -- keeping the running configuration
 * main.cf values the daemons would refuse (a bad number, time or boolean)
 * count as errors too, so that no worker generation is started that could
 * not run.
 *
 * Auto reload watches main.cf, master.cf, and every file named in a
 * parameter value or -o override: lookup tables (type:/path, and the .db or
 * .lmdb file that postmap writes for hash:, btree:, lmdb:, cdb:) and
 * /path lists (mynetworks = /etc/postfix/network_table). Before reloading
 * it logs which file changed and, for main.cf and master.cf, what in it.
 */
import { isAbsolute } from 'node:path';
import { loadPostfixConfig, type PostfixConfig } from '../../compat/postfix/config.js';
import { type NameValueDict, readNameValueFile } from '../../compat/postfix/main-cf.js';
import { type MasterEntry, readMasterCf } from '../../compat/postfix/master-cf.js';
import { builtinParams } from '../../compat/postfix/params/index.js';
import { fatal, trapFatal } from '../log/msg.js';
import { withAbsolutePaths } from './paths.js';
import { checkPosternParams } from './postern-params.js';

export interface LoadedConfig {
  cfg: PostfixConfig;
  entries: MasterEntry[];
  /** main.cf name = raw value, for reporting what changed. */
  mainRaw: Map<string, string>;
}

/** Read main.cf, its raw values, and master.cf; fatal() on a broken file (wrap in trapFatal). */
export function loadConfig(configDir: string): LoadedConfig {
  const cfg = withAbsolutePaths(loadPostfixConfig({ configDir }));
  const dict: NameValueDict = new Map();
  readNameValueFile(`${configDir}/main.cf`, dict, () => undefined, fatal);
  const mainRaw = new Map([...dict].map(([k, v]) => [k, v.value]));
  const entries = readMasterCf(configDir, 'fail');
  return { cfg, entries, mainRaw };
}

/** The typed main.cf values daemons parse at startup: a bad one is a fatal error there. */
export function checkTypedValues(cfg: PostfixConfig): void {
  for (const [name, def] of builtinParams()) {
    if (!cfg.has(name)) continue;
    if (def.kind === 'int' || def.kind === 'nint') cfg.int(name);
    else if (def.kind === 'long') cfg.long(name);
    else if (def.kind === 'time') cfg.time(name);
    else if (def.kind === 'bool' || def.kind === 'nbool') cfg.bool(name);
  }
}

/** loadConfig() + checkTypedValues(), with a fatal error returned as its text. */
export function loadChecked(configDir: string): { ok: true; value: LoadedConfig } | { ok: false; text: string } {
  return trapFatal(() => {
    const loaded = loadConfig(configDir);
    checkTypedValues(loaded.cfg);
    checkPosternParams(loaded.cfg);
    return loaded;
  });
}

/** Table types whose data lives in NAME.db / NAME.lmdb / NAME.cdb next to the source file. */
const INDEXED: Record<string, string[]> = {
  hash: ['.db'],
  btree: ['.db'],
  lmdb: ['.lmdb'],
  cdb: ['.cdb'],
  dbm: ['.dir', '.pag'],
  sdbm: ['.dir', '.pag'],
};

/** Absolute file names mentioned in one parameter value: type:/path tables and bare /path lists. */
export function filesInValue(value: string): string[] {
  const out: string[] = [];
  for (const word of value.split(/[\s,{}]+/)) {
    const m = /^(?:proxy:|unionmap:|pipemap:)?([a-z0-9_]+):(\/[^\s,{}]+)$/.exec(word);
    if (m) {
      const [, type, path] = m as unknown as [string, string, string];
      const exts = INDEXED[type];
      if (exts) for (const e of exts) out.push(path + e);
      // The source too: texthash, regexp, pcre, cidr read it directly, and
      // watching it for hash: costs nothing (the .db file changes after postmap).
      out.push(path);
    } else if (isAbsolute(word) && !word.includes(':') && word.length > 1) out.push(word);
  }
  return out;
}

/** Every file whose change calls for a reload. */
export function watchedFiles(configDir: string, loaded: LoadedConfig): string[] {
  const files = new Set([`${configDir}/main.cf`, `${configDir}/master.cf`]);
  const skip = new Set(['queue_directory', 'data_directory', 'daemon_directory', 'command_directory', 'meta_directory',
    'config_directory', 'shlib_directory', 'maillog_file', 'sendmail_path', 'newaliases_path', 'mailq_path',
    'manpage_directory', 'html_directory', 'readme_directory', 'sample_directory', 'mail_spool_directory']);
  for (const [name] of loaded.mainRaw) {
    if (skip.has(name)) continue;
    for (const f of filesInValue(loaded.cfg.get(name))) files.add(f);
  }
  for (const e of loaded.entries) for (const [, v] of e.params) for (const f of filesInValue(v)) files.add(f);
  return [...files].sort();
}

const entryKey = (e: MasterEntry) => `${e.service}/${e.type}`;
const entryText = (e: MasterEntry) =>
  JSON.stringify([e.private, e.unprivileged, e.chroot, e.wakeup, e.processLimit, e.args, e.params]);

/** What changed between two loaded configurations, one line each, for the log. */
export function describeChanges(prev: LoadedConfig, next: LoadedConfig): string[] {
  const out: string[] = [];
  const names = new Set([...prev.mainRaw.keys(), ...next.mainRaw.keys()]);
  for (const n of [...names].sort()) {
    const a = prev.mainRaw.get(n);
    const b = next.mainRaw.get(n);
    if (a === b) continue;
    if (a === undefined) out.push(`main.cf: ${n} added`);
    else if (b === undefined) out.push(`main.cf: ${n} removed`);
    else out.push(`main.cf: ${n} changed`);
  }
  const before = new Map(prev.entries.map((e) => [entryKey(e), e]));
  const after = new Map(next.entries.map((e) => [entryKey(e), e]));
  for (const [k, e] of after) {
    const old = before.get(k);
    if (!old) out.push(`master.cf: service ${k} added`);
    else if (entryText(old) !== entryText(e)) out.push(`master.cf: service ${k} changed`);
  }
  for (const k of before.keys()) if (!after.has(k)) out.push(`master.cf: service ${k} removed`);
  return out;
}
