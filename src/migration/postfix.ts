/**
 * migration/postfix.ts: `postern check-migration`, the Postfix half. Reads
 * an existing main.cf and master.cf and says, for each setting, table and
 * service, whether Postern honours it:
 *   main.cf parameters   "read" when Postern's code reads the parameter,
 *                        "not read" when no part of Postern looks at it
 *                        (so it has no effect after the swap);
 *   lookup tables        every type:name in a parameter value whose map
 *                        type Postern has no driver for;
 *   master.cf services   implemented, built in (done inside another
 *                        process), not needed (with the reason), or not
 *                        implemented.
 * Which parameters the code reads is found by looking for their names in
 * Postern's compiled source (dist/src): a name no module mentions cannot be
 * read. Per-service (-o) overrides are checked the same way.
 */
import { join } from 'node:path';
import { type NameValueDict, readNameValueFile } from '../../compat/postfix/main-cf.js';
import { readMasterCf } from '../../compat/postfix/master-cf.js';
import { findParam } from '../../compat/postfix/params/index.js';
import { BUILTIN_COMMANDS, serviceRegistry } from '../master/services.js';
import { isKnownMapType } from '../maps/registry.js';
import { type Finding, mentionedNames } from './findings.js';

/** master.cf commands Postern does not need as processes of their own. */
const NOT_NEEDED: Record<string, string> = {
  tlsmgr: 'TLS session caching is done in each process',
  proxymap: 'proxy: tables are opened in each process',
  proxywrite: 'proxy: tables are opened in each process',
  scache: 'the SMTP connection cache lives in qmgr',
  showq: 'postqueue and mailq read the queue themselves',
  retry: 'runs inside qmgr',
  relay: 'runs inside qmgr',
};

/** type:name references in a parameter value (map specs, also inside { } and after check_*_access). */
function mapTypes(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/(?:^|[\s,{])([a-z][a-z0-9_]*):(?=[/${\w.])/g)) out.push(m[1]!);
  return out;
}

function checkParam(where: string, name: string, value: string, findings: Finding[]): void {
  if (!findParam(name)) return; // not a Postfix parameter: a user-defined $variable
  if (mentionedNames().has(name)) findings.push({ verdict: 'ok', where, what: name, note: 'read' });
  else findings.push({ verdict: 'no', where, what: name, note: 'not read by Postern: this setting has no effect' });
  for (const type of mapTypes(value)) {
    if (!isKnownMapType(type)) findings.push({ verdict: 'no', where, what: `${name} (${type}:)`, note: `no ${type}: table driver` });
  }
}

export function checkPostfix(configDir: string): Finding[] {
  const findings: Finding[] = [];
  const dict: NameValueDict = new Map();
  const mainCf = join(configDir, 'main.cf');
  const err = readNameValueFile(
    mainCf,
    dict,
    () => {},
    (t) => {
      throw new Error(t);
    },
  );
  if (err) throw new Error(`open ${mainCf}: ${err.message}`);
  for (const [name, { value, line }] of dict) checkParam(`main.cf line ${line}`, name, value, findings);
  for (const e of readMasterCf(configDir, 'fail')) {
    const where = `master.cf line ${e.line}`;
    const command = e.args[0] ?? '';
    const what = `${e.service}/${e.type} (${command})`;
    if (Object.hasOwn(serviceRegistry, command)) findings.push({ verdict: 'ok', where, what, note: 'implemented' });
    else if (BUILTIN_COMMANDS.has(command)) findings.push({ verdict: 'ok', where, what, note: 'built in' });
    else if (NOT_NEEDED[command]) findings.push({ verdict: 'ok', where, what, note: `not needed: ${NOT_NEEDED[command]}` });
    else findings.push({ verdict: 'no', where, what, note: 'not implemented: this service will not run' });
    for (const [name, value] of e.params) checkParam(`${where} (-o)`, name, value, findings);
  }
  return findings;
}
