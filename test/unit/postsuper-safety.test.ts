/**
 * test/unit/postsuper-safety.test.ts: postsuper never touches a queue file
 * that is still being written (owner mode not exactly rwx), per-ID
 * operations find files in hashed queues, and -p only purges incomplete
 * files older than 7 days.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Action, Postsuper } from '../../src/postsuper/postsuper.js';
import { ensureQueueDirs, queueLayout } from '../../src/queue/layout.js';
import { setMsgStderr } from '../../src/log/msg.js';

describe('postsuper safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ps-unit-'));
  const cwd = process.cwd();
  before(() => {
    ensureQueueDirs(dir);
    process.chdir(dir);
    setMsgStderr(false);
  });
  after(() => {
    setMsgStderr(true);
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  const layout = queueLayout(dir);
  const put = (rel: string, mode: number, ageDays = 0) => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, 'C');
    chmodSync(p, mode);
    if (ageDays) {
      const t = new Date(Date.now() - ageDays * 86400_000);
      utimesSync(p, t, t);
    }
    return p;
  };

  it('-d ID skips a file being written, deletes it once complete', () => {
    const p = put('deferred/A/A1234567890', 0o600);
    const ps = new Postsuper(layout, false);
    ps.deleteOne(['deferred'], 'A1234567890');
    assert.equal(ps.n.deleted, 0);
    assert.ok(existsSync(p));
    chmodSync(p, 0o700);
    ps.deleteOne(['deferred'], 'A1234567890');
    assert.equal(ps.n.deleted, 1);
    assert.ok(!existsSync(p));
  });

  it('-h/-H move complete files between hashed deferred and flat hold', () => {
    put('deferred/B/B1234567890', 0o700);
    const ps = new Postsuper(layout, false);
    ps.holdOne(['hold', 'incoming', 'active', 'deferred'], 'B1234567890');
    assert.ok(existsSync(join(dir, 'hold/B1234567890')));
    ps.releaseOne(['hold'], 'B1234567890');
    assert.ok(existsSync(join(dir, 'deferred/B/B1234567890')));
    assert.deepEqual([ps.n.held, ps.n.released], [1, 1]);
  });

  it('-e sets the forced-expire bit only on complete files', () => {
    put('active/C1234567890', 0o600);
    const ps = new Postsuper(layout, false);
    ps.expireOne(['active'], 'C1234567890');
    assert.equal(ps.n.expired, 0);
  });

  it('-p purges only stale incomplete files', () => {
    const fresh = put('incoming/D1234567890', 0o600);
    const stale = put('incoming/E1234567890', 0o600, 8);
    const done = put('incoming/F1234567890', 0o700, 30);
    new Postsuper(layout, false).walk(['incoming'], Action.PURGE);
    assert.deepEqual([existsSync(fresh), existsSync(stale), existsSync(done)], [true, false, true]);
  });
});
