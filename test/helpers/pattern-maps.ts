/**
 * test/helpers/pattern-maps.ts: run regexp:, pcre: and cidr: tables the way
 * `postmap -q - TYPE:FILE < KEYS` does, with Postern's drivers and with the
 * real postmap, and put the result in one comparable text.
 *
 * Fixtures live in fixtures/maps/pattern: NAME.TYPE is the table,
 * NAME.TYPE.in the keys (one per line, the whole line is the key), or
 * NAME.TYPE.msg a message whose logical headers are the keys
 * (`postmap -h -q -`: a folded header is one key, newlines kept), and
 * NAME.TYPE.ref what real postmap printed (stdout, stderr, exit status),
 * regenerated with POSTERN_UPDATE_REFS=1 by the differential test.
 *
 * Real postmap runs with a private config directory whose main.cf sets
 * smtputf8_enable = no: with it on, postmap's generic dict layer adds its own
 * UTF-8 checks of keys and results, which are not the drivers' business.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr, setProgname } from '../../src/log/msg.js';
import { CidrTable } from '../../src/maps/cidr.js';
import { PatternTable } from '../../src/maps/regexp.js';
import { openTable } from '../../src/maps/registry.js';
import { REPO, type RunResult, tempDir } from './postfix-diff.js';

export const PATTERN_FIXTURES = join(REPO, 'fixtures/maps/pattern');

export type PatternType = 'regexp' | 'pcre' | 'cidr';

export interface PatternCase {
  /** Table file name, relative to the fixture directory (as given to postmap). */
  file: string;
  type: PatternType;
  /** The keys file content (.in), or the message (.msg). */
  keys: string;
  /** Header mode: the keys are the logical headers of a message (postmap -h). */
  headers: boolean;
}

/** The logical headers of a message, as `postmap -h` queries them. */
export function messageHeaders(msg: string): string[] {
  const out: string[] = [];
  for (const line of msg.split('\n')) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1] += `\n${line}`;
    else if (/^[!-9;-~]+:/.test(line)) out.push(line);
    else break;
  }
  return out;
}

/** Every NAME.TYPE with a NAME.TYPE.in beside it. */
export function patternCases(): PatternCase[] {
  const names = readdirSync(PATTERN_FIXTURES).sort();
  const out: PatternCase[] = [];
  for (const file of names) {
    const m = /\.(regexp|pcre|cidr)$/.exec(file);
    if (!m) continue;
    for (const ext of ['in', 'msg']) {
      if (!names.includes(`${file}.${ext}`)) continue;
      const keys = readFileSync(join(PATTERN_FIXTURES, `${file}.${ext}`), 'latin1');
      out.push({ file, type: m[1] as PatternType, keys, headers: ext === 'msg' });
    }
  }
  return out;
}

/** Open the table text with Postern's driver and query every key, collecting warnings. */
export function runOurs(type: PatternType, name: string, text: string, keys: string | string[], dictFlags = 0): RunResult {
  let stderr = '';
  const collect: MsgOutput = (level, msg) => {
    stderr += `postmap: ${level}: ${msg}\n`;
  };
  setProgname('postmap');
  setMsgStderr(false);
  addMsgOutput(collect);
  let stdout = '';
  let status = 1;
  try {
    const table =
      type === 'cidr' ? CidrTable.fromText(name, text, name, dictFlags) : PatternTable.fromText(type, name, text, name, dictFlags);
    const lines = typeof keys === 'string' ? keys.split('\n') : keys;
    if (typeof keys === 'string' && lines[lines.length - 1] === '') lines.pop();
    for (const key of lines) {
      const v = table.lookupSync(key);
      if (v !== undefined) {
        stdout += `${key}\t${v}\n`;
        status = 0;
      }
    }
  } catch (err) {
    stderr += `postmap: fatal: ${(err as Error).message}\n`;
    status = 1;
  } finally {
    removeMsgOutput(collect);
    setMsgStderr(true);
  }
  return { stdout, stderr, status };
}

/** Like runOurs, but open TYPE:NAME through the driver registry (files, inline specs, open errors). */
export async function runOursOpened(type: PatternType, name: string, keys: string, dictFlags = 0): Promise<RunResult> {
  let stderr = '';
  const collect: MsgOutput = (level, msg) => {
    stderr += `postmap: ${level}: ${msg}\n`;
  };
  setProgname('postmap');
  setMsgStderr(false);
  addMsgOutput(collect);
  let stdout = '';
  let status = 1;
  try {
    const table = await openTable(type, name, { mode: 'read', dictFlags });
    const lines = keys.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const key of lines) {
      const v = await table.lookup(key);
      if (v !== undefined) {
        stdout += `${key}\t${v}\n`;
        status = 0;
      }
    }
  } catch (err) {
    stderr += `postmap: fatal: ${(err as Error).message}\n`;
    status = 1;
  } finally {
    removeMsgOutput(collect);
    setMsgStderr(true);
  }
  return { stdout, stderr, status };
}

export function runOursOnCase(c: PatternCase): RunResult {
  const text = readFileSync(join(PATTERN_FIXTURES, c.file), 'latin1');
  return runOurs(c.type, c.file, text, c.headers ? messageHeaders(c.keys) : c.keys);
}

/** A private Postfix config directory for real postmap; call cleanup() when done. */
export function postmapConfigDir(): { dir: string; cleanup: () => void } {
  const t = tempDir('postern-pattern-');
  const cf = join(t.dir, 'main.cf');
  writeFileSync(cf, 'compatibility_level = 3.6\nsmtputf8_enable = no\n');
  const past = new Date(Date.now() - 3600_000);
  utimesSync(cf, past, past);
  return t;
}

/** Real `postmap -c CONFIG [-h] -q - TYPE:FILE < keys`, run in cwd. */
export function runRealPostmap(
  configDir: string,
  cwd: string,
  type: PatternType,
  file: string,
  keys: string,
  headers = false,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const args = ['-c', configDir, ...(headers ? ['-h'] : []), '-q', '-', `${type}:${file}`];
    const child = spawn('postmap', args, {
      cwd,
      env: { PATH: '/usr/sbin:/usr/bin:/bin' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), status }),
    );
    child.stdin.on('error', () => {}); // postmap may exit (fatal) before reading its keys
    child.stdin.end(Buffer.from(keys, 'latin1'));
  });
}

/** The .ref text of one run. */
export function formatRef(r: RunResult): string {
  return `${r.stdout}--- stderr\n${r.stderr}--- status ${r.status}\n`;
}

/** Run async jobs with at most `limit` at a time. */
export async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      results[k] = await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
