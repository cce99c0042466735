/**
 * Queue files written by the real Postfix 3.7.11 (fixtures/queue, made by
 * generate.sh) are read by Postern: the reader (including milter pointer
 * records and padding), and pickup turning a real maildrop file into a
 * queue file.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from '../helpers/postfix-diff.js';
import { makeInstance } from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { pickupOptions } from '../../src/pickup/service.js';
import { pickupScan } from '../../src/pickup/pickup.js';
import { parseQueueFile } from '../../src/queue/reader.js';

// The fixtures' dates were made with TZ=UTC.
process.env.TZ = 'UTC';
const FIX = join(REPO, 'fixtures/queue');
const read = (name: string, requireSize = true) =>
  parseQueueFile(readFileSync(join(FIX, name)), { requireSize, withContent: true });

describe('real Postfix queue files', () => {
  it('incoming: envelope, DSN records, content', () => {
    const env = read('real-incoming');
    assert.equal(env.sender, 'sender@vmail.test');
    assert.equal(env.fullname, 'Fixture User');
    assert.deepEqual(
      env.recipients.map((r) => [r.address, r.dsnNotify]),
      [
        ['extra@example.org', 6],
        ['rcpt@example.org', 6],
        ['o@example.org', 6],
        ['cc@example.org', 6],
        ['hidden@example.org', 6],
      ],
    );
    assert.equal(env.size?.rcptCount, 5);
    assert.equal(env.content[0]!.data, 'Received: by mx.example.test (Postfix, from userid 0)');
    assert.ok(env.contentOffset === env.size?.dataOffset);
    assert.equal(env.extractedOffset - env.contentOffset, env.size?.contentSize);
  });

  it('hold file with milter pointer records and a W record', () => {
    const env = read('real-milter-hold');
    assert.deepEqual(
      env.recipients.map((r) => r.address),
      ['a@example.org', 'b@example.org'],
    );
    assert.ok(env.warnTime && env.arrival && env.warnTime - env.arrival.sec === 4 * 3600);
    assert.deepEqual(
      env.content.map((c) => c.data).slice(-2),
      ['', 'body'],
    );
  });

  it('long queue ID file and a maildrop file', () => {
    assert.equal(read('real-longid').sender, '');
    const md = read('real-maildrop', false);
    assert.equal(md.size, undefined);
    assert.equal(md.sender, 'sender@vmail.test');
  });

  it('pickup turns a real maildrop file into a queue file', async () => {
    const t = tempDir('postern-realmd-');
    after(() => t.cleanup());
    const inst = makeInstance(t.dir);
    const md = join(inst.spool, 'maildrop', '0D8F720C8F5');
    copyFileSync(join(FIX, 'real-maildrop'), md);
    // The Received: date is the maildrop file's time; give it postdrop's.
    const when = read('real-maildrop', false).arrival!.sec;
    utimesSync(md, when, when);
    const lines: string[] = [];
    const opts = await pickupOptions(loadPostfixConfig({ configDir: inst.etc }), {
      info: (l) => lines.push(l),
      warn: (l) => lines.push(`warning: ${l}`),
    });
    opts.cleanup = new (opts.cleanup.constructor as typeof import('../../src/cleanup/service.js').PosternCleanupService)(
      opts.cleanup.settings,
      { notifyQmgr: false, log: { info() {}, warn() {} } },
    );
    assert.equal(await pickupScan(opts), 1);
    assert.deepEqual(readdirSync(join(inst.spool, 'maildrop')), []);
    const [id] = readdirSync(join(inst.spool, 'incoming'));
    assert.deepEqual(lines, [`${id}: uid=0 from=<sender@vmail.test>`]);
    const ours = parseQueueFile(readFileSync(join(inst.spool, 'incoming', id!)), { requireSize: true, withContent: true });
    const real = read('real-incoming');
    assert.deepEqual(
      ours.recipients.map((r) => [r.address, r.orig, r.dsnOrcpt, r.dsnNotify]),
      real.recipients.map((r) => [r.address, r.orig, r.dsnOrcpt, r.dsnNotify]),
    );
    // Same content apart from the queue ID and the Message-Id time stamp.
    const norm = (c: typeof ours.content, qid: string) =>
      c.map((x) => `${x.type} ${x.data.replaceAll(qid, 'QID').replace(/<\d{14}\./, '<T.')}`);
    const realId = /id (\w+);/.exec(real.content[1]!.data)![1]!;
    assert.deepEqual(norm(ours.content, id!), norm(real.content, realId));
  });
});
