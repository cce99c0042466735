/**
 * test/unit/master-reload.test.ts: the pieces of reload that need no
 * running master: request merging (util/reload-queue.ts), the files a
 * parameter value names (what auto reload watches), and the change report.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeChanges, filesInValue, loadChecked, loadConfig, watchedFiles } from '../../src/master/reload.js';
import { createReloadQueue } from '../../src/util/reload-queue.js';
import { tempDir } from '../helpers/postfix-diff.js';

test('reload queue: one run at a time, requests during a run merge into one more', async () => {
  const runs: string[][] = [];
  let release!: () => void;
  const q = createReloadQueue(async (reasons) => {
    runs.push(reasons);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = q.request('SIGHUP');
  assert.equal(q.busy, true);
  const a = q.request('auto');
  const b = q.request('SIGHUP');
  const c = q.request('auto');
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all([first, a, b, c]);
  assert.deepEqual(runs, [['SIGHUP'], ['auto', 'SIGHUP']]);
  assert.equal(q.busy, false);
});

test('reload queue: a failing run does not stop later ones', async () => {
  let n = 0;
  const q = createReloadQueue(() => {
    n++;
    if (n === 1) throw new Error('boom');
  });
  await q.request();
  await q.request();
  assert.equal(n, 2);
});

test('files named in parameter values', () => {
  assert.deepEqual(filesInValue('hash:/etc/postfix/virtual, regexp:/etc/postfix/re'), [
    '/etc/postfix/virtual.db',
    '/etc/postfix/virtual',
    '/etc/postfix/re',
  ]);
  assert.deepEqual(filesInValue('proxy:lmdb:/x/y'), ['/x/y.lmdb', '/x/y']);
  assert.deepEqual(filesInValue('127.0.0.0/8 /etc/postfix/network_table'), ['/etc/postfix/network_table']);
  assert.deepEqual(filesInValue('permit_mynetworks reject inline:{a=b} mysql:/etc/m.cf'), ['/etc/m.cf']);
  assert.deepEqual(filesInValue('$myhostname ESMTP'), []);
});

test('watched files and the change report', () => {
  const t = tempDir();
  try {
    const etc = join(t.dir, 'etc');
    mkdirSync(etc);
    writeFileSync(join(etc, 'main.cf'), `virtual_alias_maps = hash:${etc}/virtual\nmyhostname = a.test\n`);
    writeFileSync(join(etc, 'master.cf'), 'smtp inet n - n - - smtpd\n  -o smtpd_sender_restrictions=check_sender_access,pcre:/etc/s.pcre\n');
    const before = loadConfig(etc);
    assert.deepEqual(watchedFiles(etc, before), [
      '/etc/s.pcre',
      `${etc}/main.cf`,
      `${etc}/master.cf`,
      `${etc}/virtual`,
      `${etc}/virtual.db`,
    ]);
    writeFileSync(join(etc, 'main.cf'), 'myhostname = b.test\nsmtpd_helo_required = yes\n');
    writeFileSync(join(etc, 'master.cf'), 'smtp inet n - n - - smtpd\n2525 inet n - n - - smtpd\n');
    const after = loadConfig(etc);
    assert.deepEqual(describeChanges(before, after), [
      'main.cf: myhostname changed',
      'main.cf: smtpd_helo_required added',
      'main.cf: virtual_alias_maps removed',
      'master.cf: service smtp/inet changed',
      'master.cf: service 2525/inet added',
    ]);
  } finally {
    t.cleanup();
  }
});

test('loadChecked: errors come back as Postfix text, nothing printed', () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'main.cf'), 'smtpd_helo_required = maybe\n');
    writeFileSync(join(t.dir, 'master.cf'), '');
    assert.deepEqual(loadChecked(t.dir), { ok: false, text: 'bad boolean configuration: smtpd_helo_required = maybe' });
    writeFileSync(join(t.dir, 'main.cf'), 'postern_auto_reload = sometimes\n');
    assert.deepEqual(loadChecked(t.dir), { ok: false, text: 'bad boolean configuration: postern_auto_reload = sometimes' });
    writeFileSync(join(t.dir, 'main.cf'), 'no equals sign\n');
    const r = loadChecked(t.dir);
    assert.equal(r.ok, false);
    assert.match((r as { text: string }).text, /main\.cf, line 1: missing '=' after attribute name: "no equals sign"$/);
    writeFileSync(join(t.dir, 'main.cf'), 'smtpd_timeout = 30s\n');
    assert.equal(loadChecked(t.dir).ok, true);
  } finally {
    t.cleanup();
  }
});
