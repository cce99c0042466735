/**
 * Integration: lmdb: files are interchangeable with real Postfix 3.7.
 *
 * For each postmap flavour (default, -N, -n, -f) the same source is built
 * once by the real postmap and once by Postern's; then the real and
 * Postern's postmap each list (-s) and query (-q -) both files, and all
 * four answers must be identical. The source has mixed-case and UTF-8
 * keys, thousands of records (several B-tree levels) and values of 5 KB
 * and 100 KB (overflow pages, data sizes above 64 KB). Then each side
 * updates the other's file (-i, -d) and the other reads it. A Berkeley DB
 * hash: file left by the real postmap is refused with a clear message,
 * and a live reader keeps answering while postmap replaces its file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHECK_INTERVAL_MS, open as openLmdb } from '../../src/maps/lmdb.js';
import { DictError, DictFlag } from '../../src/maps/types.js';
import { REPO, realPostfixAvailable, tempDir } from '../helpers/postfix-diff.js';

const OURS = join(REPO, 'bin/postmap');

interface Out {
  stdout: string;
  stderr: string;
  status: number | null;
}

function postmap(real: boolean, dir: string, args: string[], input?: string): Promise<Out> {
  const cmd = real ? 'postmap' : process.execPath;
  const argv = real ? ['-c', dir, ...args] : [OURS, '-c', dir, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: dir, env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

function source(): { text: string; keys: string[] } {
  const lines: string[] = [];
  const keys: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const k = `User${i}@Example${i % 97}.COM`;
    lines.push(`${k} value-${i} ${'x'.repeat(i % 50)}`);
    keys.push(k, k.toLowerCase());
  }
  const utf8 = ['Straße', 'ΣΊΣΥΦΟΣ', 'İstanbul', 'ＡＢＣ', 'Ünïcode@Exämple.com', '日本語@例え.jp'];
  utf8.forEach((k, i) => {
    lines.push(`${k} utf8-${i}-värde`);
    keys.push(k, k.toLowerCase(), k.toUpperCase());
  });
  lines.push(`big5k ${'5'.repeat(5000)}`, `big100k ${'h'.repeat(100_000)}`, 'after-big tail', 'dup first', 'dup second');
  keys.push('big5k', 'big100k', 'after-big', 'dup', 'missing', 'MISSING@example.com', 'strasse', 'σίσυφοσ');
  return { text: `${lines.join('\n')}\n`, keys };
}

describe('lmdb: interchange with real Postfix', { concurrency: 4, skip: !realPostfixAvailable() && 'real Postfix not installed' }, () => {
  let dir: string;
  let cleanup: () => void;
  let keys: string[];
  before(() => {
    ({ dir, cleanup } = tempDir('postern-lmdb-x-'));
    writeFileSync(join(dir, 'main.cf'), 'compatibility_level = 3.7\n');
    const s = source();
    keys = s.keys;
    writeFileSync(join(dir, 'src'), s.text);
    writeFileSync(join(dir, 'keys'), `${keys.join('\n')}\n`);
  });
  after(() => cleanup());

  for (const flags of [[], ['-N'], ['-n'], ['-f']]) {
    it(`real and Postern read each other's files (${flags.join(' ') || 'default'})`, async () => {
      const tag = flags.join('').replace('-', '') || 'd';
      copyFileSync(join(dir, 'src'), join(dir, `real-${tag}`));
      copyFileSync(join(dir, 'src'), join(dir, `ours-${tag}`));
      const [br, bo] = await Promise.all([
        postmap(true, dir, [...flags, `lmdb:real-${tag}`]),
        postmap(false, dir, [...flags, `lmdb:ours-${tag}`]),
      ]);
      assert.equal(bo.status, 0, bo.stderr);
      assert.equal(bo.stderr.replaceAll(`ours-${tag}`, 'X'), br.stderr.replaceAll(`real-${tag}`, 'X'));
      const input = readFileSync(join(dir, 'keys'), 'utf8');
      const answers: Record<string, Out> = {};
      for (const reader of [true, false]) {
        for (const file of [`real-${tag}`, `ours-${tag}`]) {
          const who = `${reader ? 'real' : 'ours'} reads ${file}`;
          const [listing, queries] = await Promise.all([
            postmap(reader, dir, [...flags, '-s', `lmdb:${file}`]),
            postmap(reader, dir, [...flags, '-q', '-', `lmdb:${file}`], input),
          ]);
          assert.equal(listing.status, 0, `${who}: ${listing.stderr}`);
          assert.equal(queries.status, 0, `${who}: ${queries.stderr}`);
          answers[who] = { stdout: listing.stdout + queries.stdout, stderr: listing.stderr + queries.stderr, status: 0 };
        }
      }
      const expected = answers[`real reads real-${tag}`]!;
      assert.ok(expected.stdout.split('\n').length > 6000);
      assert.match(expected.stdout, /big100k\th{100000}\n/);
      for (const [who, got] of Object.entries(answers)) {
        assert.equal(got.stdout, expected.stdout, who);
        assert.equal(got.stderr, expected.stderr, who);
      }
    });
  }

  it('each side updates the other side\'s file in place or by replacement', async () => {
    copyFileSync(join(dir, 'src'), join(dir, 'mix'));
    assert.equal((await postmap(false, dir, ['lmdb:mix'])).status, 0);
    // Real postmap writes into Postern's file in place (copy-on-write pages).
    const extra = Array.from({ length: 300 }, (_, i) => `added${i}@x.org v${i}`).join('\n');
    assert.equal((await postmap(true, dir, ['-i', 'lmdb:mix'], `${extra}\n`)).status, 0);
    assert.equal((await postmap(true, dir, ['-d', 'user5@example5.com', 'lmdb:mix'])).status, 0);
    const realView = await postmap(true, dir, ['-s', 'lmdb:mix']);
    assert.equal((await postmap(false, dir, ['-s', 'lmdb:mix'])).stdout, realView.stdout);
    assert.equal((await postmap(false, dir, ['-q', 'ADDED299@x.org', 'lmdb:mix'])).stdout, 'v299\n');
    assert.equal((await postmap(false, dir, ['-q', 'user5@example5.com', 'lmdb:mix'])).status, 1);
    // Postern updates a file the real postmap built; the real one reads it.
    copyFileSync(join(dir, 'src'), join(dir, 'mix2'));
    assert.equal((await postmap(true, dir, ['lmdb:mix2'])).status, 0);
    assert.equal((await postmap(false, dir, ['-i', 'lmdb:mix2'], 'NewKey@Example.org new-value\n')).status, 0);
    assert.equal((await postmap(false, dir, ['-d', 'user7@example7.com', 'lmdb:mix2'])).status, 0);
    assert.equal((await postmap(true, dir, ['-q', 'newkey@example.org', 'lmdb:mix2'])).stdout, 'new-value\n');
    assert.equal((await postmap(true, dir, ['-q', 'user7@example7.com', 'lmdb:mix2'])).status, 1);
    assert.equal((await postmap(true, dir, ['-s', 'lmdb:mix2'])).stdout, (await postmap(false, dir, ['-s', 'lmdb:mix2'])).stdout);
  });

  it('a Berkeley DB hash: file is refused, never read as empty', async () => {
    writeFileSync(join(dir, 'bdb'), 'key value\n');
    assert.equal((await postmap(true, dir, ['hash:bdb'])).status, 0);
    const q = await postmap(false, dir, ['-q', 'key', 'hash:bdb']);
    assert.equal(q.status, 1);
    assert.equal(
      q.stderr,
      'postmap: fatal: open database bdb.db: this is a Berkeley DB file (a hash: table built by Postfix\'s postmap); ' +
        'Postern keeps hash: tables in LMDB format: run "postmap hash:bdb" to rebuild it\n',
    );
    assert.equal((await postmap(false, dir, ['-s', 'bdb'])).status, 1);
    await assert.rejects(
      openLmdb('hash', join(dir, 'bdb'), { mode: 'read', dictFlags: 0 }),
      (err: unknown) => err instanceof DictError && /Berkeley DB/.test(err.message) && err.message.includes('bdb.db'),
    );
    // Rebuilding with Postern's postmap replaces it.
    assert.equal((await postmap(false, dir, ['hash:bdb'])).status, 0);
    assert.equal((await postmap(false, dir, ['-q', 'KEY', 'hash:bdb'])).stdout, 'value\n');
  });

  it('a live reader keeps answering while postmap replaces the file', async () => {
    const path = join(dir, 'live');
    const gen = (v: number) => `${Array.from({ length: 2000 }, (_, i) => `k${i} gen${v}-${i}`).join('\n')}\nmarker gen${v}\n`;
    writeFileSync(path, gen(0));
    assert.equal((await postmap(false, dir, ['lmdb:live'])).status, 0);
    const table = await openLmdb('lmdb', path, { mode: 'read', dictFlags: DictFlag.FOLD_FIX });
    const seen = new Set<string>();
    let lookups = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        for (let i = 0; i < 2000; i += 97) {
          const v = await table.lookup(`k${i}`);
          assert.match(v ?? 'undefined', new RegExp(`^gen\\d+-${i}$`));
          lookups++;
        }
        seen.add((await table.lookup('marker')) ?? 'undefined');
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    // A real postmap reader runs against the same file at the same time.
    for (let v = 1; v <= 4; v++) {
      writeFileSync(path, gen(v));
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [OURS, '-c', dir, 'lmdb:live'], { cwd: dir });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`postmap exit ${code}`))));
      });
      assert.equal((await postmap(true, dir, ['-q', 'marker', 'lmdb:live'])).stdout, `gen${v}\n`);
    }
    await new Promise((r) => setTimeout(r, CHECK_INTERVAL_MS * 3));
    done = true;
    await reader;
    assert.equal(await table.lookup('marker'), 'gen4');
    assert.ok(!seen.has('undefined'), 'the reader never saw an empty table');
    assert.ok(seen.size >= 2, `the reader saw the rebuilds (${[...seen].join(', ')})`);
    assert.ok(lookups > 100);
    await table.close();
  });
});
