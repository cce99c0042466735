/**
 * compat/dovecot/checks.ts: the checks Dovecot 2.3 runs after the whole
 * config is read (the settings' check callbacks). Their failures print
 * "doveconf: Error: TEXT" and then the fatal "Error in configuration file F:
 * TEXT" with no line number, after doveconf has printed its output.
 */
import { ConfigError, type ParsedConfig, type Scope } from './conf-parser.js';
import { catalogue } from './settings/catalogue.js';

const SPECIAL_USE = ['\\all', '\\archive', '\\drafts', '\\flagged', '\\important', '\\junk', '\\sent', '\\trash'];

function late(cfg: ParsedConfig, text: string): ConfigError {
  return new ConfigError(cfg.path, undefined, text, true, text);
}

function scopes(cfg: ParsedConfig): Scope[] {
  return [cfg.root, ...cfg.filters.map((f) => f.scope)];
}

export function runChecks(cfg: ParsedConfig): ConfigError | undefined {
  const cat = catalogue();
  // protocols: every name needs a service with that protocol.
  const known = new Set<string>(['none']);
  for (const s of cat.services) for (const [k, v] of s.keys) if (k === 'protocol' && v) known.add(v);
  for (const sc of scopes(cfg)) for (const sec of sc.sections) if (sec.type === 'service') {
    const p = sec.scope.keys.get('protocol')?.value;
    if (p) known.add(p);
  }
  for (const sc of scopes(cfg)) {
    const protocols = sc.keys.get('protocols')?.value;
    if (protocols === undefined) continue;
    for (const p of protocols.split(/[\s,]+/).filter(Boolean)) {
      if (!known.has(p)) return late(cfg, `protocols: Unknown protocol: ${p}`);
    }
  }
  for (const sc of scopes(cfg)) {
    for (const ns of sc.sections) {
      if (ns.type !== 'namespace') continue;
      for (const mb of ns.scope.sections) {
        const su = mb.scope.keys.get('special_use')?.value;
        if (!su) continue;
        for (const word of su.split(' ').filter(Boolean)) {
          if (!SPECIAL_USE.includes(word.toLowerCase())) return late(cfg, `mailbox ${mb.name}: unknown special_use: ${word}`);
        }
      }
    }
    for (const db of sc.sections) {
      if ((db.type === 'passdb' || db.type === 'userdb') && !db.scope.keys.get('driver')?.value) {
        return late(cfg, `${db.type} is missing driver`);
      }
    }
  }
  const avp = cfg.root.keys.get('auth_verbose_passwords')?.value;
  if (avp !== undefined && !/^(no|plain|sha1|yes)(:\d+)?$/.test(avp)) return late(cfg, 'auth_verbose_passwords: Invalid value');
  return undefined;
}
