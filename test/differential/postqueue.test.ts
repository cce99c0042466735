/**
 * test/differential/postqueue.test.ts: postqueue -p/-j, mailq and
 * sendmail -bp, ours against the real Postfix 3.7.11 on the same queue
 * directory (real-made queue files, real-format defer logs).
 *
 * The real postqueue needs a showq service; with no master running it
 * (as root) runs showq stand-alone after the warning "Mail system is down
 * -- accessing queue directly (...)". Postern always reads the queue
 * directly and prints no such warning: stdout and exit codes are compared
 * byte for byte, and the real stderr must be exactly that warning.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { realPostfixAvailable, runBoth, SHARED, tempDir } from '../helpers/postfix-diff.js';
import { LONG, MIXED, makeQueueTree, type QueueTree } from '../helpers/queue-tools-fixture.js';
import { join } from 'node:path';

const ENV = { TZ: 'UTC' };
const DOWN =
  'warning: Mail system is down -- accessing queue directly (Connect to the Postfix showq service: No such file or directory)\n';

describe('postqueue/mailq differential', { skip: !realPostfixAvailable() }, () => {
  const t = tempDir('postern-pq-');
  let mixed: QueueTree;
  let long: QueueTree;
  let empty: QueueTree;
  before(() => {
    mixed = makeQueueTree(join(t.dir, 'mixed'), MIXED);
    long = makeQueueTree(join(t.dir, 'long'), LONG, 'enable_long_queue_ids = yes\n');
    empty = makeQueueTree(join(t.dir, 'empty'), []);
  });
  after(() => t.cleanup());

  const cases: Array<[string, () => QueueTree, string[]]> = [
    ['-p mixed queue', () => mixed, ['-p']],
    ['-j mixed queue', () => mixed, ['-j']],
    ['-p long IDs', () => long, ['-p']],
    ['-j long IDs', () => long, ['-j']],
    ['-p empty queue', () => empty, ['-p']],
    ['-j empty queue', () => empty, ['-j']],
  ];
  for (const [name, tree, args] of cases) {
    it(name, async () => {
      const [real, ours] = await runBoth('postqueue', ['-c', tree().etc, ...args], ENV);
      assert.equal(real.stderr, `postqueue: ${DOWN}`);
      assert.equal(ours.stdout, real.stdout);
      assert.equal(ours.stderr, '');
      assert.equal(ours.status, real.status);
      if (args[0] === '-p' && tree() !== empty) assert.match(ours.stdout, /Kbytes in \d+ Requests\./);
    });
  }

  it('mailq and sendmail -bp print what real sendmail -bp prints', async () => {
    const [real] = await runBoth('sendmail', ['-C', mixed.etc, '-bp'], ENV);
    assert.equal(real.stderr, `postqueue: ${DOWN}`);
    // Our sendmail -bp is wired by sendmail.ts's owner (showQueue()); checked through mailq.
    const [, mailq] = await runBoth('mailq', ['-C', mixed.etc], ENV);
    assert.equal(mailq.stdout, real.stdout);
    assert.equal(mailq.status, 0);
  });

  it('bad option: usage and exit 69', async () => {
    const [real, ours] = await runBoth('postqueue', ['-c', mixed.etc, '-x'], ENV);
    assert.deepEqual([ours.stdout, ours.stderr, ours.status], [real.stdout, real.stderr, real.status]);
    assert.equal(ours.status, 69);
  });

  it('-c relative path', async () => {
    const [real, ours] = await runBoth('postqueue', ['-c', 'rel', '-p'], ENV);
    assert.deepEqual([ours.stdout, ours.stderr, ours.status], [real.stdout, real.stderr, real.status]);
  });

  it('-f, -i and -s with no mail system running: the real words (a running system: delivery-flush.test.ts)', async () => {
    const cap = readFileSync(join(SHARED, 'reference/postfix-captures/postqueue-misc.txt'), 'latin1');
    for (const args of [['-f'], ['-i', 'NOSUCH'], ['-s', 'defer.test']]) {
      const [real, ours] = await runBoth('postqueue', ['-c', mixed.etc, ...args], ENV);
      assert.deepEqual([ours.stdout, ours.stderr, ours.status], [real.stdout, real.stderr, real.status], args.join(' '));
      if (args[0] === '-s') assert.ok(cap.includes(`$ postqueue -s defer.test\n${ours.stderr}[rc=${ours.status}]`));
      else assert.match(ours.stderr, /fatal: Cannot flush mail queue - mail system is down\n$/);
    }
  });
});
