/**
 * test/unit/master-maintenance.test.ts: the master's scheduled jobs, called
 * directly with a fixed clock (master/maintenance.ts), and the scheduler
 * that runs them (util/scheduler.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import {
  certCheckJob,
  certificateFiles,
  formatAge,
  holdExpireJob,
  maintenanceJobs,
  queueRunJob,
  tempCleanupJob,
} from '../../src/master/maintenance.js';
import { scheduleError, startScheduler } from '../../src/util/scheduler.js';
import { tempDir } from '../helpers/postfix-diff.js';

const DAY = 86400_000;
const lines: string[] = [];
const capture: MsgOutput = (level, text) => lines.push(level === 'info' ? text : `${level}: ${text}`);
before(() => {
  setMsgStderr(false);
  addMsgOutput(capture);
});
after(() => removeMsgOutput(capture));

function config(values: Record<string, string>) {
  const m = new Map(Object.entries(values));
  return { has: (n: string) => m.has(n), get: (n: string) => m.get(n) ?? '' };
}

function file(path: string, mode: number, ageMs = 0): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'x');
  chmodSync(path, mode);
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}

test('formatAge', () => {
  assert.equal(formatAge(7 * 86400), '1w');
  assert.equal(formatAge(9 * 86400), '9d');
  assert.equal(formatAge(9 * 86400 + 5), '9d');
  assert.equal(formatAge(7200), '2h');
  assert.equal(formatAge(59), '59s');
});

test('temp cleanup removes only incomplete message files past the age limit', () => {
  const t = tempDir();
  try {
    const q = t.dir;
    file(join(q, 'incoming/4F2A81C03D'), 0o600, 8 * DAY); // stale temp file
    file(join(q, 'incoming/5A2A81C03E'), 0o600, 1 * DAY); // young temp file
    file(join(q, 'incoming/6B2A81C03F'), 0o700, 30 * DAY); // complete message
    file(join(q, 'deferred/7/7C2A81C040'), 0o644, 8 * DAY); // stale, hashed
    file(join(q, 'defer/7/7C2A81C040'), 0o600, 30 * DAY); // a log, not a message queue
    lines.length = 0;
    const n = tempCleanupJob(config({ queue_directory: q }));
    assert.equal(n, 2);
    assert.equal(existsSync(join(q, 'incoming/4F2A81C03D')), false);
    assert.equal(existsSync(join(q, 'deferred/7/7C2A81C040')), false);
    for (const kept of ['incoming/5A2A81C03E', 'incoming/6B2A81C03F', 'defer/7/7C2A81C040'])
      assert.equal(existsSync(join(q, kept)), true, kept);
    assert.deepEqual(lines.sort(), [
      'removed stale temporary file deferred/7/7C2A81C040 (age 8d)',
      'removed stale temporary file incoming/4F2A81C03D (age 8d)',
    ]);
    // A shorter limit from main.cf catches the young one too.
    assert.equal(tempCleanupJob(config({ queue_directory: q, postern_temp_file_max_age: '12h' })), 1);
  } finally {
    t.cleanup();
  }
});

test('hold expiry is off by default and removes long-held mail with its logs when set', () => {
  const t = tempDir();
  try {
    const q = t.dir;
    file(join(q, 'hold/4F2A81C03D'), 0o700);
    file(join(q, 'defer/4/4F2A81C03D'), 0o600);
    file(join(q, 'hold/5A2A81C03E'), 0o600); // still being written: never touched
    assert.deepEqual(holdExpireJob(config({ queue_directory: q }), () => Date.now() + 365 * DAY), []);
    const cfg = config({ queue_directory: q, hash_queue_names: 'deferred, defer', postern_hold_expire_time: '7d' });
    assert.deepEqual(holdExpireJob(cfg, () => Date.now() + 3 * DAY), []);
    lines.length = 0;
    assert.deepEqual(holdExpireJob(cfg, () => Date.now() + 8 * DAY + 1000), ['4F2A81C03D']);
    assert.deepEqual(lines, ['4F2A81C03D: removed (on hold for 8d)']);
    assert.equal(existsSync(join(q, 'hold/4F2A81C03D')), false);
    assert.equal(existsSync(join(q, 'defer/4/4F2A81C03D')), false);
    assert.equal(existsSync(join(q, 'hold/5A2A81C03E')), true);
  } finally {
    t.cleanup();
  }
});

test('certificate expiry warnings', (ctx) => {
  const t = tempDir();
  try {
    const cert = join(t.dir, 'cert.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '40',
      '-subj', '/CN=mx.example.test', '-keyout', join(t.dir, 'key.pem'), '-out', cert], { encoding: 'utf8' });
    if (r.status !== 0) return ctx.skip(`openssl not available: ${r.stderr ?? r.error}`);
    const validTo = /notAfter=(.*)/.exec(spawnSync('openssl', ['x509', '-noout', '-enddate', '-in', cert], { encoding: 'utf8' }).stdout)![1]!;
    const end = Date.parse(validTo);
    const cfg = config({ smtpd_tls_cert_file: cert, smtp_tls_chain_files: `${cert}, ${t.dir}/missing.pem` });
    assert.deepEqual(certificateFiles(cfg), [
      [cert, 'smtpd_tls_cert_file'],
      [`${t.dir}/missing.pem`, 'smtp_tls_chain_files'],
    ]);
    lines.length = 0;
    certCheckJob(cfg, [], () => end - 40 * DAY);
    assert.deepEqual(lines, [`warning: certificate check: open ${t.dir}/missing.pem (smtp_tls_chain_files): No such file or directory`]);
    lines.length = 0;
    const st = certCheckJob(config({ smtpd_tls_cert_file: cert }), [], () => end - 12.5 * DAY);
    assert.equal(st[0]?.validTo, validTo.replace(/ +/g, ' ').replace(/^(\w+) (\d) /, '$1  $2 '));
    assert.deepEqual(lines, [`warning: certificate ${cert} (smtpd_tls_cert_file) expires in 12 days, on ${st[0]?.validTo}`]);
    lines.length = 0;
    certCheckJob(config({ smtpd_tls_cert_file: cert }), [], () => end + DAY);
    assert.deepEqual(lines, [`warning: certificate ${cert} (smtpd_tls_cert_file) expired on ${st[0]?.validTo}`]);
    lines.length = 0;
    certCheckJob(config({ smtpd_tls_cert_file: cert, postern_cert_expiry_warning: '7d' }), [], () => end - 12.5 * DAY);
    assert.deepEqual(lines, []);
    // A master.cf -o override names a certificate too.
    const entry = { params: [['smtpd_tls_cert_file', `${t.dir}/sub.pem`]] } as never;
    assert.deepEqual(certificateFiles(config({}), [entry]), [[`${t.dir}/sub.pem`, 'smtpd_tls_cert_file']]);
  } finally {
    t.cleanup();
  }
});

test('queue run asks qmgr for a deferred scan', async () => {
  const t = tempDir();
  try {
    mkdirSync(join(t.dir, 'public'));
    const got: string[] = [];
    const server = createServer((s) => s.on('data', (d) => got.push(d.toString())));
    await new Promise<void>((r) => server.listen(join(t.dir, 'public/qmgr'), r));
    lines.length = 0;
    await queueRunJob(config({ queue_directory: t.dir }));
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    server.close();
    assert.deepEqual(got, ['D']);
    assert.deepEqual(lines, ['scheduled queue run: deferred queue scan requested']);
    lines.length = 0;
    await queueRunJob(config({ queue_directory: join(t.dir, 'nowhere') }));
    assert.deepEqual(lines, ['warning: scheduled queue run: unable to look up public/qmgr: No such file or directory']);
  } finally {
    t.cleanup();
  }
});

test('job schedules come from main.cf, hold expiry only when enabled', () => {
  const plain = maintenanceJobs(config({}), () => []);
  assert.deepEqual(
    plain.map((j) => [j.name, j.schedule]),
    [
      ['queue run', ''],
      ['temp cleanup', '17 * * * *'],
      ['hold expiry', ''],
      ['cert check', '0 6 * * *'],
    ],
  );
  const set = maintenanceJobs(config({ postern_hold_expire_time: '30d', postern_queue_run_schedule: '*/5 * * * *' }), () => []);
  assert.equal(set[0]?.schedule, '*/5 * * * *');
  assert.equal(set[2]?.schedule, '23 3 * * *');
});

test('scheduler: bad expressions are named, a due job runs, errors are reported', async () => {
  assert.equal(await scheduleError('17 * * * *'), undefined);
  assert.equal(await scheduleError('every hour'), 'bad cron expression: "every hour"');
  assert.equal(await scheduleError('', 'Mars/Olympus'), 'bad time zone: "Mars/Olympus"');
  let runs = 0;
  const errors: string[] = [];
  const s = await startScheduler(
    [
      { name: 'tick', schedule: '* * * * * *', run: () => void runs++ },
      { name: 'boom', schedule: '* * * * * *', run: () => { throw new Error('no'); } },
      { name: 'off', schedule: '', run: () => assert.fail('disabled job ran') },
    ],
    { onError: (job, err) => errors.push(`${job.name}: ${(err as Error).message}`) },
  );
  assert.deepEqual(s.jobs.map((j) => j.name), ['tick', 'boom']);
  for (let i = 0; i < 60 && (runs === 0 || errors.length === 0); i++) await new Promise((r) => setTimeout(r, 50));
  s.stop();
  assert.ok(runs >= 1);
  assert.equal(errors[0], 'boom: no');
});
