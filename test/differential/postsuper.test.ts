/**
 * test/differential/postsuper.test.ts: postsuper, ours against the real
 * Postfix 3.7.11, each on its own copy of the same queue (real-made queue
 * files, real-format defer logs): stdout, stderr and exit code byte-equal,
 * and the resulting queue trees (paths and permission bits) equal. For
 * the structure check (-s, the default action) the renamed file names
 * follow each copy's inode numbers, so only the directories are compared.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { realPostfixAvailable, runOursAsync, runRealAsync, tempDir } from '../helpers/postfix-diff.js';
import { addSymlink, MIXED, makeQueueTree, type QueueEntry, treeListing } from '../helpers/queue-tools-fixture.js';

interface Case {
  name: string;
  args: string[];
  stdin?: string;
  entries?: QueueEntry[];
  symlink?: string;
  /** Compare the trees without file names (inode-derived names). */
  dirsOnly?: boolean;
}

const STALE: QueueEntry[] = [
  ...MIXED,
  { queue: 'incoming', id: '3C2D3E4F52', from: 'real-incoming', mode: 0o600, age: 8 * 86400 },
  { queue: 'active', id: '4C2D3E4F53', from: 'real-incoming', mode: 0o600, age: 86400 },
];

const CASES: Case[] = [
  { name: 'hold one', args: ['-h', '3AB21C0A0E'] },
  { name: 'hold: second ID is a queue name', args: ['-h', '3AB21C0A0E', '5BC1234567'] },
  { name: 'release one', args: ['-H', '5BC1234567'] },
  { name: 'release one not on hold', args: ['-H', 'A1B2C3D4E5'] },
  { name: 'delete bad ID', args: ['-d', 'bad/id'] },
  { name: 'delete unknown ID', args: ['-d', 'NOSUCH'] },
  { name: 'delete one with its defer log', args: ['-d', 'A1B2C3D4E5'] },
  { name: 'delete incomplete file refused', args: ['-d', '2C2D3E4F51'] },
  { name: 'delete maildrop only when named', args: ['-d', '7D3F2A1B0C'] },
  { name: 'delete in named maildrop', args: ['-d', '7D3F2A1B0C', 'maildrop'] },
  { name: 'delete IDs from stdin', args: ['-d', '-'], stdin: '3AB21C0A0E\nNOPE\nbad id\nC1B2C3D4E7\n' },
  { name: 'expire one', args: ['-e', 'A1B2C3D4E5'] },
  { name: 'expire already expired', args: ['-e', 'B1B2C3D4E6'] },
  { name: 'expire and release', args: ['-f', '5BC1234567'] },
  { name: 'requeue one', args: ['-r', 'A1B2C3D4E5'] },
  { name: 'several options in order', args: ['-d', 'A1B2C3D4E5', '-h', 'C1B2C3D4E7', '-r', '1C2D3E4F50', '-H', '5BC1234567'] },
  { name: 'hold ALL deferred', args: ['-h', 'ALL', 'deferred'] },
  { name: 'hold ALL', args: ['-h', 'ALL'] },
  { name: 'release ALL', args: ['-H', 'ALL'] },
  { name: 'requeue ALL', args: ['-r', 'ALL'] },
  { name: 'delete ALL', args: ['-d', 'ALL'] },
  { name: 'delete ALL deferred', args: ['-d', 'ALL', 'deferred'] },
  { name: 'expire ALL', args: ['-e', 'ALL'] },
  { name: 'expire and release ALL', args: ['-f', 'ALL'] },
  { name: 'purge stale temp files and symlinks', args: ['-p'], entries: STALE, symlink: 'active/LINK1234' },
  { name: 'structure check renames to inode names', args: ['-s'], dirsOnly: true },
  { name: 'default action', args: [], entries: STALE, dirsOnly: true },
  { name: 'per-ID op after a rename is refused', args: ['-s', '-d', 'A1B2C3D4E5'], dirsOnly: true },
  { name: 'unknown queue name', args: ['-d', 'ALL', 'nosuch'] },
  { name: 'bad option', args: ['-x'] },
  { name: 'relative -c', args: ['-c', 'rel'] },
];

describe('postsuper differential', { skip: !realPostfixAvailable(), concurrency: 8 }, () => {
  const t = tempDir('postern-ps-');
  after(() => t.cleanup());
  CASES.forEach((c, i) => {
    it(`${c.name}: postsuper ${c.args.join(' ')}`, async () => {
      const real = makeQueueTree(join(t.dir, `${i}-real`), c.entries ?? MIXED);
      const ours = makeQueueTree(join(t.dir, `${i}-ours`), c.entries ?? MIXED);
      if (c.symlink) {
        addSymlink(real, c.symlink);
        addSymlink(ours, c.symlink);
      }
      const argsFor = (etc: string) => (c.args[0] === '-c' || c.args[0] === '-x' ? c.args : ['-c', etc, ...c.args]);
      const [r, o] = await Promise.all([
        runRealAsync('postsuper', argsFor(real.etc), {}, c.stdin),
        runOursAsync('postsuper', argsFor(ours.etc), {}, c.stdin),
      ]);
      assert.equal(o.stderr, r.stderr);
      assert.equal(o.stdout, r.stdout);
      assert.equal(o.status, r.status);
      const norm = (l: string[]) => (c.dirsOnly ? l.map((x) => x.replace(/[^/]+ (\d+)$/, '* $1')).sort() : l);
      assert.deepEqual(norm(treeListing(ours)), norm(treeListing(real)));
    });
  });
});
