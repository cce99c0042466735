/**
 * Differential tests: the in-memory table drivers (static, inline, environ,
 * fail, unionmap, pipemap, randmap) against the real `postmap -q KEY SPEC`
 * and `postmap -q - SPEC`, over fixtures/maps/simple/cases.txt.
 *
 * Postern's side opens the table in-process as postmap does (dict_open with
 * DUP_WARN|FOLD_FIX|UTF8_REQUEST, minus FOLD_FIX for -f and UTF8_REQUEST for
 * -u, plus the UTF-8 layer when smtputf8_enable is on) and prints what
 * postmap prints for each outcome: the value, "key<TAB>value" for -q -, the
 * empty-value warnings, "postmap: fatal: " + the open error, "table T:
 * query error[: reason]". This checks the drivers (values, folding, error
 * words), not the postmap command, which has its own tests.
 *
 * randmap picks at random: both sides must answer with a listed value.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import { dictGet } from '../../src/maps/dict-get.js';
import { printable } from '../../src/maps/dict-utf8.js';
import { withUtf8Layer } from '../../src/maps/driver-util.js';
import { openMapSpec } from '../../src/maps/registry.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from '../../src/maps/types.js';
import { REPO, type RunResult, realPostfixAvailable, runRealAsync, tempDir } from '../helpers/postfix-diff.js';

const FIXTURES = join(REPO, 'fixtures/maps/simple');

/** Environment for the environ: cases, given to both sides. */
const ENV: Record<string, string> = {
  POSTERN_MAPS_TEST: 'Mixed Case Value',
  POSTERN_MAPS_SPACES: '  padded  value ',
};

interface Case {
  config: string;
  options: string[];
  spec: string;
  keys: string[];
  line: number;
}

function loadCases(): Case[] {
  const text = readFileSync(join(FIXTURES, 'cases.txt'), 'utf8');
  const out: Case[] = [];
  text.split('\n').forEach((l, i) => {
    if (l === '' || l.startsWith('#')) return;
    const [config, opts, spec, ...keys] = l.split('\t');
    out.push({ config: config!, options: opts === '-' ? [] : opts!.split(' '), spec: spec!, keys, line: i + 1 });
  });
  return out;
}

/** JS (UTF-16) text → byte string, as table keys and names are. */
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** What postmap prints for one -q run, computed with Postern's drivers. */
async function oursPostmap(c: Case, keys: string[], stdinMode: boolean): Promise<RunResult> {
  const utf8Enable = !c.config.includes('noutf8');
  let dictFlags = DictFlag.DUP_WARN | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST;
  if (c.options.includes('-f')) dictFlags &= ~DictFlag.FOLD_FIX;
  if (c.options.includes('-u')) dictFlags &= ~DictFlag.UTF8_REQUEST;
  const opts: OpenOptions = {
    mode: 'read',
    dictFlags,
    param: (n) => (n === 'smtputf8_enable' ? (utf8Enable ? 'yes' : 'no') : undefined),
    progName: 'postmap',
  };
  const err: string[] = [];
  let out = '';
  const capture: MsgOutput = (level, text) => err.push(`postmap: ${level}: ${text}`);
  const fatal = (text: string): RunResult => {
    err.push(`postmap: fatal: ${text}`);
    return { stdout: out, stderr: finish(), status: 1 };
  };
  const finish = () => err.map((l) => `${printable(l, utf8Enable)}\n`).join('');
  addMsgOutput(capture);
  setMsgStderr(false);
  let table: LookupTable | undefined;
  try {
    const spec = bytes(c.spec);
    try {
      table = withUtf8Layer(await openMapSpec(spec, opts), opts);
    } catch (e) {
      if (e instanceof DictError) return fatal(e.message);
      throw e;
    }
    let found = false;
    for (const key of keys.map(bytes)) {
      let value: string | undefined;
      try {
        value = await dictGet(table, key);
      } catch (e) {
        if (!(e instanceof DictError)) throw e;
        return fatal(`table ${spec}: query error${e.kind === 'config' ? '' : `: ${e.message}`}`);
      }
      if (value === undefined) continue;
      if (value === '') {
        err.push(`postmap: warning: table ${spec}: key ${key}: empty string result is not allowed`);
        err.push(`postmap: warning: table ${spec} should return NO RESULT in case of NOT FOUND`);
      }
      out += stdinMode ? `${key}\t${value}\n` : `${value}\n`;
      found = true;
    }
    return { stdout: out, stderr: finish(), status: found ? 0 : 1 };
  } finally {
    await table?.close();
    removeMsgOutput(capture);
    setMsgStderr(true);
  }
}

/** Real postmap runs of one case: one -q per key, and -q - with every key. */
function realRuns(dir: string, c: Case): Array<{ label: string; keys: string[]; stdin: boolean; run: Promise<RunResult> }> {
  const args = ['-c', c.config === 'main.cf' ? dir : join(dir, 'noutf8'), ...c.options];
  const runs = c.keys.map((k) => ({
    label: `-q '${k}'`,
    keys: [k],
    stdin: false,
    run: runRealAsync('postmap', [...args, '-q', k, c.spec], ENV),
  }));
  if (c.keys.length > 1) {
    runs.push({
      label: '-q -',
      keys: c.keys,
      stdin: true,
      run: runRealAsync('postmap', [...args, '-q', '-', c.spec], ENV, c.keys.map((k) => `${k}\n`).join('')),
    });
  }
  return runs;
}

describe('maps: simple drivers vs real postmap -q', { skip: !realPostfixAvailable() && 'real Postfix not installed' }, () => {
  const cases = loadCases();
  const { dir, cleanup } = tempDir('postern-maps-simple-');
  const saved: Record<string, string | undefined> = {};
  before(() => {
    copyFileSync(join(FIXTURES, 'main.cf'), join(dir, 'main.cf'));
    // A second config directory for smtputf8_enable = no.
    const noutf8 = join(dir, 'noutf8');
    mkdirSync(noutf8);
    copyFileSync(join(FIXTURES, 'main-noutf8.cf'), join(noutf8, 'main.cf'));
    for (const [k, v] of Object.entries(ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    cleanup();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it(`answers ${cases.length} table specs like the real postmap`, async () => {
    // Start every real run at once: a fatal postmap sleeps one second before exiting.
    const all = cases.map((c) => ({ c, runs: realRuns(dir, c) }));
    const failures: string[] = [];
    let compared = 0;
    for (const { c, runs } of all) {
      for (const r of runs) {
        const real = await r.run;
        const ours = await oursPostmap(c, r.keys, r.stdin);
        const what = `cases.txt:${c.line}: postmap ${c.options.join(' ')} ${r.label} '${c.spec}'`;
        compared++;
        if (ours.status !== real.status || ours.stdout !== real.stdout || ours.stderr !== real.stderr) {
          failures.push(
            `${what}\n  real: rc=${real.status} out=${JSON.stringify(real.stdout)} err=${JSON.stringify(real.stderr)}\n  ours: rc=${ours.status} out=${JSON.stringify(ours.stdout)} err=${JSON.stringify(ours.stderr)}`,
          );
        }
      }
    }
    assert.ok(compared > cases.length, 'every case ran');
    assert.deepEqual(failures, []);
  });

  it('randmap answers with one of its values, like the real one', async () => {
    const specs: Array<[string, string[]]> = [
      ['randmap:{a, b, {c d}}', ['a', 'b', '{c d}']],
      ['randmap:{{c d}}', ['{c d}']],
      ['randmap:{ one  two,three }', ['one', 'two', 'three']],
    ];
    for (const [spec, values] of specs) {
      const real = await runRealAsync('postmap', ['-c', dir, '-q', 'key', spec]);
      assert.equal(real.status, 0, `${spec}: ${real.stderr}`);
      assert.ok(values.includes(real.stdout.replace(/\n$/, '')), `real ${spec}: ${real.stdout}`);
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const ours = await oursPostmap({ config: 'main.cf', options: [], spec, keys: ['key'], line: 0 }, ['key'], false);
        assert.equal(ours.status, 0);
        seen.add(ours.stdout.replace(/\n$/, ''));
      }
      assert.deepEqual([...seen].sort(), [...values].sort(), `${spec}: every value comes up`);
    }
  });
});
