/**
 * storage/quota.ts: quota rules as the quota plugin parses them, the
 * Maildir++ maildirsize file (read, recalculated, appended to) and the
 * over-quota decision with quota_grace for LDA/LMTP saves.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { MailError } from '../../src/storage/errors.js';
import { DEFAULT_PERMS } from '../../src/storage/fs-util.js';
import { Quota, QuotaRoot, quotaSettings } from '../../src/storage/quota.js';

const FIX = resolve(import.meta.dirname, '../../../fixtures/storage');
const tmp = mkdtempSync(join(tmpdir(), 'psq-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const env = (o: Record<string, string>) => new Map(Object.entries(o));

function maildir(name: string, files: Record<string, string[]>): string {
  const root = join(tmp, name);
  for (const [box, names] of Object.entries(files)) {
    for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(root, box, d), { recursive: true });
    for (const n of names) writeFileSync(join(root, box, n.includes(':') ? 'cur' : 'new', n), 'x'.repeat(/,S=(\d+)/.exec(n) ? 1 : 7));
  }
  return root;
}

const rootFor = (dir: string, e: Record<string, string>, boxes = ['.']) => {
  const [set] = quotaSettings(env(e));
  assert.ok(set);
  return new QuotaRoot(set, { controlRoot: dir, mailboxDirs: async () => boxes.map((b) => join(dir, b)), perms: DEFAULT_PERMS, fsync: false });
};

describe('quota settings', () => {
  it('parses roots, rules, units and grace', () => {
    const [s] = quotaSettings(env({ quota: 'maildir:User quota', quota_rule: '*:storage=100M', quota_rule2: 'Trash:storage=+10M', quota_rule3: 'Spam:ignore', quota_grace: '10%' }));
    assert.equal(s?.name, 'User quota');
    assert.equal(s?.backend, 'maildir');
    assert.equal(s?.defaultRule.bytes, 100 * 1024 * 1024);
    assert.equal(s?.forceDefault, true);
    assert.deepEqual(
      s?.rules.map((r) => [r.mask, r.bytes, r.ignore ?? false]),
      [
        ['Trash', 10 * 1024 * 1024, false],
        ['Spam', 0, true],
      ],
    );
    assert.deepEqual(s?.grace, { bytes: 0, percent: 10 });
    const [k] = quotaSettings(env({ quota: 'count:Q:noenforcing', quota_rule: '*:storage=1024:messages=10' }));
    assert.equal(k?.defaultRule.bytes, 1024 * 1024, 'storage= without a unit is KiB');
    assert.equal(k?.defaultRule.count, 10);
    assert.equal(k?.noEnforcing, true);
    assert.deepEqual(quotaSettings(env({})), []);
  });

  it('applies per-mailbox rules on top of the default', () => {
    const r = rootFor(tmp, { quota: 'maildir:Q', quota_rule: '*:storage=1M', quota_rule2: 'Trash:storage=+1M', quota_rule3: 'Junk:ignore' });
    assert.deepEqual(r.limitsFor('INBOX'), { bytes: 1 << 20, count: 0, ignored: false });
    assert.deepEqual(r.limitsFor('Trash'), { bytes: 2 << 20, count: 0, ignored: false });
    assert.deepEqual(r.limitsFor('Junk'), { bytes: 0, count: 0, ignored: true });
  });
});

describe('maildirsize', () => {
  it('reads the captured files', async () => {
    for (const [f, bytes, count] of [
      ['example.test_alice_Maildir_maildirsize', 2950, 9],
      ['other.test_dave_Maildir_maildirsize', 268, 1],
      ['example.test_alice_Maildir_maildirsize.later', 4544 - 445 - 417 + 438 - 438 + 431, 11 - 1 - 1 + 1 - 1 + 1],
    ] as const) {
      const dir = mkdtempSync(join(tmp, 'ms-'));
      writeFileSync(join(dir, 'maildirsize'), readFileSync(join(FIX, f)));
      const r = rootFor(dir, { quota: 'maildir:Q', quota_rule: f.startsWith('other') ? '*:storage=100M' : '*:storage=10M' });
      assert.deepEqual(await r.usage(), { bytes, count }, f);
    }
  });

  it('recalculates a missing file from ,S= sizes (and stat for others), in every folder', async () => {
    const dir = maildir('recalc', { '.': ['1.M1P1.h,S=100,W=110', '2.M1P1.h,S=20,W=22:2,S'], '.Sub': ['3.M1P1.h,S=5,W=6:2,', '4.M1P1.h'] });
    const r = rootFor(dir, { quota: 'maildir:Q', quota_rule: '*:storage=10M' }, ['.', '.Sub']);
    assert.deepEqual(await r.usage(), { bytes: 132, count: 4 });
    assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '10485760S\n132 4\n');
    await r.update(50, 1);
    await r.update(-20, -1);
    assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '10485760S\n132 4\n50 1\n-20 -1\n');
    assert.deepEqual(await r.usage(), { bytes: 162, count: 4 });
  });

  it('recalculates when over quota with several deltas, or stale, or limits changed', async () => {
    const dir = maildir('stale', { '.': ['1.M1P1.h,S=10,W=11'] });
    writeFileSync(join(dir, 'maildirsize'), '1024S\n0 0\n900 1\n900 1\n');
    const r = rootFor(dir, { quota: 'maildir:Q', quota_rule: '*:storage=1K' });
    assert.deepEqual(await r.usage(), { bytes: 10, count: 1 });
    writeFileSync(join(dir, 'maildirsize'), '1024S\n2000 3\n');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(dir, 'maildirsize'), old, old);
    assert.deepEqual(await r.usage(), { bytes: 10, count: 1 });
    writeFileSync(join(dir, 'maildirsize'), '5000S\n7 1\n');
    assert.deepEqual(await r.usage(), { bytes: 10, count: 1 }, 'forced limits differ: rewritten');
    assert.equal(readFileSync(join(dir, 'maildirsize'), 'utf8'), '1024S\n10 1\n');
  });

  it('takes limits from the file with a "?" rule', async () => {
    const dir = maildir('file-limits', { '.': [] });
    writeFileSync(join(dir, 'maildirsize'), '2048S,5C\n100 2\n');
    const r = rootFor(dir, { quota: 'maildir:Q', quota_rule: '?:storage=1K' });
    assert.deepEqual(await r.resources(), { storage: [100, 2048], messages: [2, 5] });
  });
});

describe('over quota', () => {
  it('refuses at the limit, allows the grace for LDA/LMTP saves only', async () => {
    const dir = maildir('grace', { '.': ['1.M1P1.h,S=900,W=950'] });
    const r = rootFor(dir, { quota: 'maildir:Q', quota_rule: '*:storage=1K' });
    const q = new Quota([r]);
    await q.check('INBOX', 124, false);
    await assert.rejects(q.check('INBOX', 125, false), (e: unknown) => e instanceof MailError && e.kind === 'noquota' && e.message === 'Quota exceeded (mailbox for user is full)');
    await q.check('INBOX', 124 + 102, true);
    await assert.rejects(q.check('INBOX', 124 + 103, true));
    // a delta pushing the file over the limit is distrusted and recounted (Dovecot does the same)
    await r.update(200, 1);
    await q.check('INBOX', 1, false);
    writeFileSync(join(dir, 'new', '5.M1P1.h,S=200,W=210'), 'x');
    await r.recalculate();
    await assert.rejects(q.check('INBOX', 1, true), /Quota exceeded/);
  });

  it('counts messages and honours quota_exceeded_message and noenforcing', async () => {
    const dir = maildir('count', { '.': ['1.M1P1.h,S=1,W=2', '2.M1P1.h,S=1,W=2'] });
    const q = new Quota([rootFor(dir, { quota: 'maildir:Q', quota_rule: '*:messages=2', quota_exceeded_message: 'Mailbox full' })]);
    await assert.rejects(q.check('INBOX', 1, true), (e: unknown) => e instanceof MailError && e.message === 'Mailbox full');
    const n = new Quota([rootFor(dir, { quota: 'maildir:Q:noenforcing', quota_rule: '*:messages=2' })]);
    await n.check('INBOX', 1, true);
  });
});
