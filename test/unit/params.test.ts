// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Postfix ${...} syntax in test data.
/**
 * test/unit/params.test.ts: the Postfix parameter catalogue (compat/postfix/params).
 *
 * (a) differential: names and raw defaults equal the real `postconf -d` for an
 *     empty main.cf and master.cf (host- and process-dependent values listed);
 * (b) service templates: the real `postconf -d` with a master.cf full of
 *     delivery, pipe and spawn services equals catalogue + serviceParams();
 * (c) the typed parsers: Postfix's rules and error words, checked against the
 *     real postmap, which validates the global parameters (mail_params.c)
 *     when it starts.
 * Needs the real Postfix 3.7 binaries; those parts are skipped without them.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  builtinParams,
  findParam,
  legacyParams,
  ParamValueError,
  parseBool,
  parseInt as parseIntParam,
  parseLong,
  parseStr,
  parseTime,
  serviceParams,
} from '../../compat/postfix/params/index.js';

const hasPostconf = spawnSync('postconf', ['-h', '-d', 'mail_version'], { encoding: 'utf8' }).status === 0;
const skip = hasPostconf ? false : 'real postconf not installed';

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A temp config dir with the given main.cf and master.cf text. */
function configDir(mainCf: string, masterCf: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-params-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'main.cf'), mainCf);
  writeFileSync(join(dir, 'master.cf'), masterCf);
  // Postfix re-reads a main.cf changed within the last second until it settles
  // (about 2 s of polling); an old mtime keeps the real programs fast.
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'main.cf'), past, past);
  utimesSync(join(dir, 'master.cf'), past, past);
  return dir;
}

function realPostconfD(dir: string): Map<string, string> {
  const r = spawnSync('postconf', ['-c', dir, '-d'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const map = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const m = /^(\S+) =(?: (.*))?$/.exec(line);
    assert.ok(m, `unexpected line ${line}`);
    assert.ok(!map.has(m[1] as string), `duplicate ${line}`);
    map.set(m[1] as string, m[2] ?? '');
  }
  return map;
}

/** Values that depend on the host or on the postconf process, not on the catalogue. */
const COMPUTED: Readonly<Record<string, string>> = {
  myhostname: 'str_fn',
  mydomain: 'str_fn',
  mynetworks: 'str_fn',
  process_id: 'readonly',
  process_name: 'readonly',
  service_name: 'readonly',
};

function catalogueDefaults(): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, def] of builtinParams()) m.set(name, def.default);
  return m;
}

function assertSameDefaults(real: Map<string, string>, ours: Map<string, string>): void {
  assert.deepEqual([...ours.keys()].sort(), [...real.keys()].sort());
  const diffs: string[] = [];
  for (const [name, value] of real) {
    if (Object.hasOwn(COMPUTED, name)) continue;
    if (ours.get(name) !== value) diffs.push(`${name}: real ${JSON.stringify(value)} ours ${JSON.stringify(ours.get(name))}`);
  }
  assert.deepEqual(diffs, []);
}

describe('catalogue vs real postconf -d (empty config)', { skip }, () => {
  it('has every name and raw default', () => {
    const real = realPostconfD(configDir('', ''));
    assert.ok(real.size > 800);
    assertSameDefaults(real, catalogueDefaults());
  });

  it('lists the computed values with their kinds and empty defaults', () => {
    const str = [...builtinParams().values()].filter((d) => d.kind === 'str_fn' || d.kind === 'readonly');
    assert.deepEqual(Object.fromEntries(str.map((d) => [d.name, d.kind])), COMPUTED);
    for (const d of str) assert.equal(d.default, '');
  });

  it('does not depend on compatibility_level or other main.cf settings', () => {
    const a = realPostconfD(configDir('', ''));
    for (const main of ['compatibility_level = 0\n', 'compatibility_level = 3.6\nmyhostname = h.example\n']) {
      const b = realPostconfD(configDir(main, ''));
      a.delete('process_id');
      b.delete('process_id');
      assert.deepEqual(b, a);
    }
  });

  it('keeps legacy names out of postconf -d but findable', () => {
    const real = realPostconfD(configDir('', ''));
    const legacy = legacyParams();
    assert.equal(legacy.length, 13);
    for (const d of legacy) {
      assert.equal(real.has(d.name), false);
      assert.equal(builtinParams().has(d.name), false);
      assert.deepEqual(findParam(d.name), { name: d.name, kind: 'legacy', default: '' });
    }
    assert.equal(findParam('virtual_maps')?.kind, 'legacy');
  });
});

describe('catalogue shape', () => {
  it('has kinds, units and bounds from the Postfix tables', () => {
    assert.deepEqual(findParam('smtpd_timeout'), {
      name: 'smtpd_timeout',
      kind: 'time',
      default: '${stress?{10}:{300}}s',
      unit: 's',
      min: 1,
    });
    assert.deepEqual(findParam('line_length_limit'), { name: 'line_length_limit', kind: 'int', default: '2048', min: 512 });
    assert.deepEqual(findParam('delay_logging_resolution_limit')?.max, 6);
    assert.equal(findParam('in_flow_delay')?.max, 10);
    assert.equal(findParam('message_size_limit')?.kind, 'long');
    assert.equal(findParam('smtputf8_enable')?.kind, 'nbool');
    assert.equal(findParam('smtpd_hard_error_limit')?.kind, 'nint');
    assert.equal(findParam('alias_maps')?.kind, 'str');
    assert.equal(findParam('smtpd_expansion_filter')?.kind, 'raw');
    assert.equal(findParam('address_verify_cache_cleanup_interval')?.unit, 'h');
    assert.equal(findParam('no_such_parameter'), undefined);
    for (const d of builtinParams().values()) {
      if (d.kind === 'time') assert.match(d.unit ?? '', /^[smhdw]$/, d.name);
      else assert.equal(d.unit, undefined, d.name);
    }
  });

  it('iterates in sorted order', () => {
    const names = [...builtinParams().keys()];
    assert.deepEqual(names, [...names].sort());
  });
});

/** Debian's default master.cf services plus extra delivery, pipe and spawn services. */
const MASTER_CF = `# service type private unpriv chroot wakeup maxproc command + args
smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
  -o syslog_name=postfix/$service_name
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d \${recipient}
foo       unix  -       n       n       -       -       pipe
  flags=F user=nobody argv=/bin/cat
relay2    unix  -       -       n       -       -       smtp
mylmtp    unix  -       -       n       -       -       lmtp
spawny    unix  -       n       n       -       -       spawn
  user=nobody argv=/bin/true
local2    unix  -       n       n       -       -       local
virt2     unix  -       n       n       -       -       virtual
err2      unix  -       -       n       -       -       error
pathsmtp  unix  -       -       n       -       -       /usr/lib/postfix/sbin/smtp
dis2      unix  -       -       n       -       -       discard
`;

describe('service templates vs real postconf -d', () => {
  it('gives the delivery, pipe and spawn templates', () => {
    const relay = serviceParams('relay', 'smtp');
    assert.equal(relay.length, 16);
    assert.deepEqual(relay.find((p) => p.name === 'relay_destination_concurrency_limit'), {
      name: 'relay_destination_concurrency_limit',
      default: '$default_destination_concurrency_limit',
    });
    assert.equal(relay.some((p) => p.name === 'relay_time_limit'), false);
    const foo = serviceParams('foo', 'pipe flags=F argv=/bin/cat');
    assert.equal(foo.length, 17);
    assert.deepEqual(foo[0], { name: 'foo_time_limit', default: '$command_time_limit' });
    assert.deepEqual(serviceParams('spawny', 'spawn'), [{ name: 'spawny_time_limit', default: '$command_time_limit' }]);
    assert.deepEqual(serviceParams('x', 'smtpd'), []);
    assert.deepEqual(serviceParams('x', '/usr/lib/postfix/sbin/smtp'), []);
    assert.deepEqual(serviceParams('x', 'toString'), []);
    // Existing names keep their own default (pcf_register_service_parameter).
    assert.deepEqual(serviceParams('local', 'local').find((p) => p.name === 'local_destination_recipient_limit'), {
      name: 'local_destination_recipient_limit',
      default: '1',
    });
  });

  it('matches the real postconf for a master.cf with extra services', { skip }, () => {
    const real = realPostconfD(configDir('', MASTER_CF));
    const ours = catalogueDefaults();
    for (const line of MASTER_CF.split('\n')) {
      if (!line || line.startsWith('#') || /^\s/.test(line)) continue;
      const f = line.split(/\s+/);
      for (const p of serviceParams(f[0] as string, f[7] as string)) if (!ours.has(p.name)) ours.set(p.name, p.default);
    }
    assert.ok(real.has('foo_time_limit') && real.has('spawny_time_limit') && real.has('mylmtp_recipient_limit'));
    assert.ok(!real.has('pathsmtp_recipient_limit') && !real.has('dis2_recipient_limit'));
    assertSameDefaults(real, ours);
  });
});

/**
 * Run the real postmap with one main.cf setting; '' when the value is
 * accepted, else the fatal text. Asynchronous: a fatal Postfix program sleeps
 * a second before it exits, so the cases run side by side.
 */
function realVerdict(name: string, value: string): Promise<string> {
  const dir = configDir(`${name} = ${value}\n`, '');
  return new Promise((resolve, reject) => {
    const child = spawn('postmap', ['-c', dir, '-q', 'x', 'inline:{a=b}'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => {
      if (stderr === '') {
        if (status !== 1) reject(new Error(`postmap exit ${status} without a message`));
        else resolve(''); // accepted: key not found
        return;
      }
      const m = /^postmap: fatal: (.*)\n$/.exec(stderr);
      if (!m) reject(new Error(`unexpected postmap stderr: ${stderr}`));
      else resolve(m[1] as string);
    });
  });
}

/** Our verdict for the same setting, through the parser for its catalogue kind. */
function ourVerdict(name: string, value: string): string {
  const def = findParam(name);
  assert.ok(def, name);
  try {
    if (def.kind === 'int' || def.kind === 'nint') parseIntParam(name, value);
    else if (def.kind === 'long') parseLong(name, value);
    else if (def.kind === 'time') parseTime(name, value);
    else if (def.kind === 'bool' || def.kind === 'nbool') parseBool(name, value);
    else parseStr(name, value);
    return '';
  } catch (e) {
    assert.ok(e instanceof ParamValueError);
    assert.equal(e.param, name);
    return e.message;
  }
}

// Global parameters that every Postfix program (here postmap) reads and checks at start.
const CASES: readonly (readonly [string, string])[] = [
  ['line_length_limit', '600'],
  ['line_length_limit', '+600'],
  ['line_length_limit', '10'],
  ['line_length_limit', 'abc'],
  ['line_length_limit', '600x'],
  ['line_length_limit', '2147483647'],
  ['line_length_limit', '2147483648'],
  ['line_length_limit', '99999999999999999999'],
  ['line_length_limit', '-5'],
  ['hash_queue_depth', '0'],
  ['delay_logging_resolution_limit', '6'],
  ['delay_logging_resolution_limit', '7'],
  ['delay_logging_resolution_limit', '0'],
  ['message_size_limit', '99999999999'],
  ['message_size_limit', '-1'],
  ['message_size_limit', '1x'],
  ['message_size_limit', '99999999999999999999'],
  ['lmdb_map_size', '0'],
  ['ipc_timeout', '10'],
  ['ipc_timeout', '10x'],
  ['ipc_timeout', '5sx'],
  ['ipc_timeout', '10S'],
  ['ipc_timeout', '2h'],
  ['ipc_timeout', '3549w'],
  ['ipc_timeout', '3550w'],
  ['ipc_timeout', '2147483647'],
  ['ipc_timeout', '2147483648'],
  ['ipc_timeout', '35791394m'],
  ['ipc_timeout', '35791395m'],
  ['daemon_timeout', '-1'],
  ['ipc_idle', '0'],
  ['fork_delay', 's'],
  ['in_flow_delay', '10'],
  ['in_flow_delay', '11'],
  ['in_flow_delay', '1m'],
  ['address_verify_cache_cleanup_interval', '0'],
  ['smtputf8_enable', 'YES'],
  ['smtputf8_enable', 'true'],
  ['soft_bounce', 'No'],
  ['soft_bounce', '1'],
  ['default_verp_delimiters', '+='],
  ['default_verp_delimiters', '+'],
  ['default_verp_delimiters', '+=-'],
  ['mail_name', 'Postfix'],
];

describe('parsers vs real postmap (global parameter checks)', { skip, concurrency: true }, () => {
  for (const [name, value] of CASES) {
    it(`${name} = ${value}`, async () => {
      assert.equal(ourVerdict(name, value), await realVerdict(name, value));
    });
  }
});

describe('parsers (unit)', () => {
  it('parses ints like strtol with Postfix words', () => {
    assert.equal(parseIntParam('x', '42'), 42);
    assert.equal(parseIntParam('x', ' 42'), 42);
    assert.equal(parseIntParam('x', '-0'), 0);
    assert.equal(parseIntParam('x', '007'), 7);
    assert.throws(() => parseIntParam('x', ''), { message: 'bad numerical configuration: x = ' });
    assert.throws(() => parseIntParam('x', '4 2'), { message: 'bad numerical configuration: x = 4 2' });
    assert.throws(() => parseIntParam('x', '42 '), { message: 'bad numerical configuration: x = 42 ' });
    assert.throws(() => parseIntParam('x', '0x10'), { message: 'bad numerical configuration: x = 0x10' });
    assert.equal(parseIntParam('x', '-2147483648'), -2147483648);
    assert.throws(() => parseIntParam('x', '-2147483649'), ParamValueError);
    assert.throws(() => parseIntParam('line_length_limit', '511'), {
      message: 'invalid line_length_limit parameter value 511 < 512',
    });
    assert.equal(parseIntParam('line_length_limit', '511', {}), 511);
    assert.throws(() => parseIntParam('y', '5', { min: 1, max: 4 }), { message: 'invalid y parameter value 5 > 4' });
    assert.equal(parseIntParam('y', '0', { min: 0, max: 0 }), 0);
  });

  it('parses longs past the int range', () => {
    assert.equal(parseLong('message_size_limit', '10240000'), 10240000);
    assert.equal(parseLong('z', '9223372036854775807'), 2 ** 63);
    assert.throws(() => parseLong('z', '9223372036854775808'), { message: 'bad numerical configuration: z = 9223372036854775808' });
    assert.throws(() => parseLong('lmdb_map_size', '-3'), { message: 'invalid lmdb_map_size parameter value -3 < 1' });
  });

  it('parses booleans as yes/no only', () => {
    assert.equal(parseBool('b', 'yes'), true);
    assert.equal(parseBool('b', 'Yes'), true);
    assert.equal(parseBool('b', 'NO'), false);
    for (const bad of ['true', 'false', 'on', '1', '', 'yes ']) {
      assert.throws(() => parseBool('b', bad), { message: `bad boolean configuration: b = ${bad}` });
    }
  });

  it('parses times with units and defaults', () => {
    assert.equal(parseTime('t', '10', 's'), 10);
    assert.equal(parseTime('t', '10', 'm'), 600);
    assert.equal(parseTime('t', '2h', 's'), 7200);
    assert.equal(parseTime('t', '3d'), 259200);
    assert.equal(parseTime('t', '1w'), 604800);
    assert.equal(parseTime('t', '5s'), 5);
    assert.equal(parseTime('t', '5'), 5);
    assert.equal(parseTime('t', 'm'), 0);
    assert.equal(parseTime('t', ' 7'), 7);
    // Catalogue unit: address_verify_cache_cleanup_interval defaults to hours.
    assert.equal(parseTime('address_verify_cache_cleanup_interval', '2'), 7200);
    assert.equal(parseTime('address_verify_cache_cleanup_interval', '0'), 0);
    for (const bad of ['', ' ', '-1', 'x', '10 s', '1y', '5M', '3550w', '2147483648']) {
      assert.throws(() => parseTime('t', bad), { message: `parameter t: bad time value or unit: ${bad}` });
    }
    assert.throws(() => parseTime('smtpd_timeout', '0'), { message: 'invalid smtpd_timeout: 0 (min 1)' });
    assert.throws(() => parseTime('in_flow_delay', '1m'), { message: 'invalid in_flow_delay: 60 (max 10)' });
    assert.equal(parseTime('t', '2m', 's', { max: 120 }), 120);
  });

  it('checks string lengths in bytes', () => {
    assert.equal(parseStr('default_verp_delimiters', '+='), '+=');
    assert.throws(() => parseStr('default_verp_delimiters', '+'), { message: 'bad string length 1 < 2: default_verp_delimiters = +' });
    assert.throws(() => parseStr('default_verp_delimiters', 'é'.repeat(2)), {
      message: 'bad string length 4 > 2: default_verp_delimiters = éé',
    });
    assert.throws(() => parseStr('myorigin', ''), { message: 'bad string length 0 < 1: myorigin = ' });
    assert.equal(parseStr('relayhost', ''), '');
  });
});
