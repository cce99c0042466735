/**
 * migration/dovecot.ts: `postern check-migration`, the Dovecot half. Reads
 * dovecot.conf (with its includes) and reports the protocols, passdb and
 * userdb drivers, mail_location format, mail plugins and services Postern
 * serves or not (service blocks that set something), and every setting
 * written in the files that no part of Postern reads.
 */
import { dirname, relative } from 'node:path';
import type { ParsedConfig, Scope } from '../../compat/dovecot/conf-parser.js';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { passdbFactories, userdbFactories } from '../auth/engine.js';
import { type Finding, mentionedNames } from './findings.js';

const PROTOCOLS = new Set(['imap', 'pop3', 'lmtp']);
const MAIL_FORMATS = new Set(['maildir']);
const PLUGINS = new Set(['quota']);
/** Services Postern runs, and Dovecot internals whose job needs no process of its own in Postern. */
const SERVICES = new Set(['imap-login', 'imap', 'pop3-login', 'pop3', 'lmtp', 'auth', 'auth-worker']);
const NOT_NEEDED = new Set(['anvil', 'log', 'config', 'stats']);

/** "conf.d/10-mail.conf line 30": files named relative to dovecot.conf's directory. */
function where(e: { file: string; line: number }, base: string): string {
  const rel = relative(dirname(base), e.file);
  return `${rel.startsWith('..') ? e.file : rel} line ${e.line}`;
}

function checkKeys(scope: Scope, base: string, findings: Finding[]): void {
  const mentioned = mentionedNames();
  for (const [key, e] of scope.keys) {
    if (mentioned.has(key)) findings.push({ verdict: 'ok', where: where(e, base), what: key, note: 'read' });
    else findings.push({ verdict: 'no', where: where(e, base), what: key, note: 'not read by Postern: this setting has no effect' });
  }
}

function setsSomething(scope: Scope): boolean {
  return scope.keys.size > 0 || scope.sections.some((s) => setsSomething(s.scope));
}

export function checkDovecot(path: string): Finding[] {
  const cfg: ParsedConfig = parseConfigFile(path);
  const findings: Finding[] = [];
  const root = cfg.root;
  const protocols = root.keys.get('protocols');
  if (protocols) {
    for (const p of protocols.value.split(/\s+/).filter(Boolean)) {
      const w = where(protocols, path);
      if (PROTOCOLS.has(p)) findings.push({ verdict: 'ok', where: w, what: `protocol ${p}`, note: 'served' });
      else findings.push({ verdict: 'no', where: w, what: `protocol ${p}`, note: 'not served by Postern' });
    }
  }
  const loc = root.keys.get('mail_location');
  if (loc && loc.value !== '') {
    const format = loc.value.split(':')[0]!;
    findings.push(
      MAIL_FORMATS.has(format)
        ? { verdict: 'ok', where: where(loc, path), what: `mail_location ${format}`, note: 'supported' }
        : { verdict: 'no', where: where(loc, path), what: `mail_location ${format}`, note: `no ${format} mailbox format in Postern` },
    );
  }
  const plugins = (scope: Scope) => {
    const e = scope.keys.get('mail_plugins');
    if (!e) return;
    for (const p of e.value.split(/\s+/).filter((x) => x !== '' && !x.startsWith('$'))) {
      findings.push(
        PLUGINS.has(p)
          ? { verdict: 'ok', where: where(e, path), what: `mail plugin ${p}`, note: 'supported' }
          : { verdict: 'no', where: where(e, path), what: `mail plugin ${p}`, note: 'no such plugin in Postern' },
      );
    }
  };
  plugins(root);
  for (const f of cfg.filters) plugins(f.scope);
  for (const s of root.sections) {
    const w = where(s, path);
    if (s.type === 'passdb' || s.type === 'userdb') {
      const driver = s.scope.keys.get('driver')?.value ?? '';
      const known = s.type === 'passdb' ? Object.hasOwn(passdbFactories, driver) : Object.hasOwn(userdbFactories, driver);
      findings.push(
        known
          ? { verdict: 'ok', where: w, what: `${s.type} ${driver}`, note: 'supported' }
          : { verdict: 'no', where: w, what: `${s.type} ${driver}`, note: `no ${s.type} driver ${driver} in Postern` },
      );
    } else if (s.type === 'service' && setsSomething(s.scope)) {
      // A service block with nothing set (Debian's conf.d has several) changes nothing.
      findings.push(
        SERVICES.has(s.name)
          ? { verdict: 'ok', where: w, what: `service ${s.name}`, note: 'run by Postern' }
          : NOT_NEEDED.has(s.name)
            ? { verdict: 'ok', where: w, what: `service ${s.name}`, note: 'not needed: Postern does this inside its own processes' }
            : { verdict: 'no', where: w, what: `service ${s.name}`, note: 'not run by Postern' },
      );
    }
  }
  checkKeys(root, path, findings);
  for (const f of cfg.filters) checkKeys(f.scope, path, findings);
  return findings;
}
