/**
 * Queue file writer and reader (src/queue/writer.ts, reader.ts): naming by
 * inode, the 0600 -> 0700 completion mark, in-place SIZE rewrite, hold
 * moves, the size limit, and the kill -9 rule: a writer killed at any point
 * leaves nothing a reader (or pickup) takes for a message.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/postfix-diff.js';
import { ensureQueueDirs, queueLayout } from '../../src/queue/layout.js';
import { inodeOfQueueId } from '../../src/queue/queue-id.js';
import { encodeRecord, formatSize, Rec } from '../../src/queue/record.js';
import { parseQueueFile, QueueFileError, readQueueFile } from '../../src/queue/reader.js';
import { QueueFileWriter } from '../../src/queue/writer.js';

const t = tempDir('postern-qwriter-');
after(() => t.cleanup());
ensureQueueDirs(t.dir);
const layout = queueLayout(t.dir);

function message(w: QueueFileWriter): void {
  w.put(Rec.SIZE, formatSize([0, 0, 0, 0, 0, 0]));
  w.put(Rec.TIME, '1795366448 0');
  w.put(Rec.FROM, 'a@b.test');
  w.put(Rec.RCPT, 'c@d.test');
  w.put(Rec.MESG, '');
  w.put(Rec.NORM, 'Subject: x');
  w.put(Rec.XTRA, '');
  w.put(Rec.END, '');
}

describe('queue file writer', () => {
  it('names the file after time and inode; 0600 while written, 0700 when finished', async () => {
    for (const longIds of [false, true]) {
      const w = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds });
      const st = statSync(w.path);
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(inodeOfQueueId(w.id), st.ino);
      assert.equal(w.path, join(t.dir, 'incoming', w.id));
      message(w);
      await assert.rejects(readQueueFile(w.path), QueueFileError);
      await w.rewrite(0, encodeRecord(Rec.SIZE, formatSize([12, 34, 1, 0, 12, 0])));
      await w.finish();
      assert.equal(statSync(w.path).mode & 0o777, 0o700);
      const env = await readQueueFile(w.path, { requireSize: true });
      assert.equal(env.sender, 'a@b.test');
      assert.deepEqual(
        env.recipients.map((r) => r.address),
        ['c@d.test'],
      );
      assert.equal(env.size?.dataOffset, 34);
    }
  });

  it('maildrop files are 0644 while written and 0744 when done; no temp names left', async () => {
    const w = await QueueFileWriter.create({ layout, queueName: 'maildrop', longIds: false, mode: 0o444 });
    assert.equal(statSync(w.path).mode & 0o777, 0o644);
    message(w);
    await w.finish();
    assert.equal(statSync(w.path).mode & 0o777, 0o744);
    assert.ok(readdirSync(join(t.dir, 'maildrop')).every((n) => !n.includes('.')));
  });

  it('moves to hold/ before finishing; remove() deletes', async () => {
    const w = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds: false });
    message(w);
    await w.moveTo('hold');
    await w.finish();
    assert.equal(statSync(join(t.dir, 'hold', w.id)).mode & 0o777, 0o700);
    const w2 = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds: false });
    await w2.remove();
    assert.throws(() => statSync(w2.path));
  });

  it('refuses records past the size limit', async () => {
    const w = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds: false, sizeLimit: 100 });
    assert.ok(w.put(Rec.NORM, 'x'.repeat(90)));
    assert.ok(!w.put(Rec.NORM, 'x'.repeat(20)));
    assert.equal(w.error, 'size');
    await assert.rejects(w.finish());
    await w.remove();
  });

  it('large files are written in the background and come out intact', async () => {
    const w = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds: false });
    w.put(Rec.SIZE, formatSize([0, 0, 0, 0, 0, 0]));
    w.put(Rec.TIME, '1 0');
    w.put(Rec.FROM, '');
    w.put(Rec.RCPT, 'r@x');
    w.put(Rec.MESG, '');
    for (let i = 0; i < 20000; i++) w.put(Rec.NORM, `line ${i} ${'y'.repeat(i % 100)}`);
    w.put(Rec.XTRA, '');
    w.put(Rec.END, '');
    const size = w.offset;
    await w.finish();
    assert.equal(statSync(w.path).size, size);
    const env = parseQueueFile(readFileSync(w.path), { withContent: true });
    assert.equal(env.content.length, 20000);
    assert.equal(env.content[19999]!.data, `line 19999 ${'y'.repeat(99)}`);
  });
});

describe('queue file reader', () => {
  it('rejects incomplete and damaged files', async () => {
    const good = Buffer.concat([
      encodeRecord(Rec.TIME, '1 0'),
      encodeRecord(Rec.FROM, 'a'),
      encodeRecord(Rec.RCPT, 'b'),
      encodeRecord(Rec.MESG, ''),
      encodeRecord(Rec.NORM, 'x'),
      encodeRecord(Rec.XTRA, ''),
      encodeRecord(Rec.END, ''),
    ]);
    assert.equal(parseQueueFile(good).sender, 'a');
    for (let cut = 1; cut < good.length; cut++) {
      assert.throws(() => parseQueueFile(good.subarray(0, cut)), QueueFileError, `cut at ${cut}`);
    }
    assert.throws(() => parseQueueFile(good, { requireSize: true }), /missing size record/);
    assert.throws(() => parseQueueFile(Buffer.concat([encodeRecord(Rec.NORM, 'x'), encodeRecord(Rec.END, '')])), /unexpected record type/);
    const p = join(t.dir, 'incoming', 'ABCDEF');
    writeFileSync(p, good, { mode: 0o600 });
    await assert.rejects(readQueueFile(p), (e: QueueFileError) => e.kind === 'incomplete');
  });

  it('follows pointer records and skips padding', () => {
    // SIZE, then a PTR jumping over garbage to the rest of the envelope.
    const head = Buffer.concat([encodeRecord(Rec.TIME, '1 0'), encodeRecord(Rec.FROM, 'a')]);
    const ptrLen = encodeRecord(Rec.PTR, '              0').length;
    const junk = encodeRecord(Rec.NORM, 'junk');
    const target = head.length + ptrLen + junk.length;
    const buf = Buffer.concat([
      head,
      encodeRecord(Rec.PTR, String(target).padStart(15)),
      junk,
      encodeRecord(Rec.DTXT, 'pad'),
      encodeRecord(Rec.RCPT, 'b'),
      encodeRecord(Rec.MESG, ''),
      encodeRecord(Rec.XTRA, ''),
      encodeRecord(Rec.END, ''),
    ]);
    const env = parseQueueFile(buf);
    assert.deepEqual(
      env.recipients.map((r) => r.address),
      ['b'],
    );
  });
});

describe('kill -9 while writing', () => {
  it('a writer killed at random points leaves no file a reader accepts', async () => {
    const script = `
      const { QueueFileWriter } = await import(${JSON.stringify(new URL('../../src/queue/writer.js', import.meta.url).href)});
      const { queueLayout } = await import(${JSON.stringify(new URL('../../src/queue/layout.js', import.meta.url).href)});
      const { Rec, formatSize } = await import(${JSON.stringify(new URL('../../src/queue/record.js', import.meta.url).href)});
      const layout = queueLayout(process.argv[1]);
      for (;;) {
        const w = await QueueFileWriter.create({ layout, queueName: 'incoming', longIds: false });
        w.put(Rec.SIZE, formatSize([0, 0, 0, 0, 0, 0]));
        w.put(Rec.TIME, '1 0'); w.put(Rec.FROM, 'a'); w.put(Rec.RCPT, 'b'); w.put(Rec.MESG, '');
        for (let i = 0; i < 3000; i++) w.put(Rec.NORM, 'line ' + i + ' ' + 'z'.repeat(60));
        await w.flush();
        w.put(Rec.XTRA, ''); w.put(Rec.END, '');
        await w.finish();
        process.stdout.write(w.id + '\\n');
      }`;
    const dir = join(t.dir, 'kill');
    ensureQueueDirs(dir);
    const done = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let started: () => void = () => {};
      const running = new Promise<void>((r) => {
        started = r;
      });
      child.stdout.on('data', (b: Buffer) => {
        for (const id of b.toString().split('\n')) if (id) done.add(id);
        started();
      });
      // Kill at a random moment once the writer is busy.
      await Promise.race([running, new Promise((r) => setTimeout(r, 10000))]);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
    }
    let complete = 0;
    let refused = 0;
    for (const name of readdirSync(join(dir, 'incoming'))) {
      const path = join(dir, 'incoming', name);
      try {
        const env = await readQueueFile(path, { requireSize: true });
        assert.equal(env.recipients.length, 1);
        complete++;
      } catch (err) {
        // Anything the reader refuses must be one the writer never reported as done.
        assert.ok(err instanceof QueueFileError, String(err));
        refused++;
        assert.ok(!done.has(name), `${name} was reported finished but is refused: ${(err as Error).message}`);
      }
    }
    // Every file the writer reported finished is complete.
    for (const id of done) assert.ok(statSync(join(dir, 'incoming', id)).mode & 0o100);
    assert.ok(complete >= done.size);
    // The kills did hit files being written (otherwise this test proves nothing).
    assert.ok(refused >= 1, `refused ${refused}, complete ${complete}`);
  });
});
