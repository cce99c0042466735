/**
 * Unit tests: smtpd/stream.ts line reading with smtp_get() semantics —
 * CRLF and bare LF, the bound, a CR at the bound, skipping over long
 * command lines, EOF and timeouts, BDAT byte reads, output buffering.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { GET_SKIP, SmtpIoError, SmtpStream } from '../../src/smtpd/stream.js';

function pair(): { duplex: Duplex; feed: (s: string) => void; end: () => void; written: () => string } {
  const out: Buffer[] = [];
  const duplex = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      out.push(Buffer.from(chunk));
      cb();
    },
  });
  return {
    duplex,
    feed: (s) => duplex.push(Buffer.from(s, 'latin1')),
    end: () => duplex.push(null),
    written: () => Buffer.concat(out).toString('latin1'),
  };
}

test('CRLF, bare LF and CR runs', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  p.feed('one\r\ntwo\nthree\r\r\n');
  assert.deepEqual(await s.getLine(100), { line: 'one', last: 10 });
  assert.deepEqual(await s.getLine(100), { line: 'two', last: 10 });
  assert.deepEqual(await s.getLine(100), { line: 'three', last: 10 });
  s.detectBareLf = 1;
  p.feed('a\nb\r\r\n');
  assert.equal((await s.getLine(100)).line, 'a');
  assert.equal(s.gotBareLf, 1);
  assert.equal((await s.getLine(100)).line, 'b\r');
  assert.equal(s.gotBareLf, 0);
});

test('bound: pieces, CR at the bound, skipping', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  p.feed('abcdefgh\r\n');
  assert.deepEqual(await s.getLine(4), { line: 'abcd', last: 'd'.charCodeAt(0) });
  assert.deepEqual(await s.getLine(4), { line: 'efgh', last: 'h'.charCodeAt(0) });
  assert.deepEqual(await s.getLine(4), { line: '', last: 10 });
  p.feed('abc\r\nnext\r\n');
  assert.deepEqual(await s.getLine(4), { line: 'abc', last: 10 });
  p.feed('toolongline\r\nok\r\n');
  assert.equal((await s.getLine(6)).line, 'next');
  assert.deepEqual(await s.getLine(4, GET_SKIP), { line: 'tool', last: 'l'.charCodeAt(0) });
  assert.deepEqual(await s.getLine(4, GET_SKIP), { line: 'ok', last: 10 });
});

test('data split across reads', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  const r = s.getLine(100);
  p.feed('par');
  setTimeout(() => p.feed('tial\r'), 5);
  setTimeout(() => p.feed('\nrest'), 10);
  assert.deepEqual(await r, { line: 'partial', last: 10 });
  assert.equal(s.pending(), 4);
  assert.equal(s.peek(100), 'rest');
});

test('EOF in a line and timeouts raise errors', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  p.feed('half');
  p.end();
  await assert.rejects(s.getLine(100), (e) => e instanceof SmtpIoError && e.kind === 'eof');
  const q = pair();
  const t = new SmtpStream(q.duplex, 0.05);
  await assert.rejects(t.getLine(100), (e) => e instanceof SmtpIoError && e.kind === 'time');
});

test('readBytes for BDAT, then lines again', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  p.feed('0123456789QUIT\r\n');
  const parts: string[] = [];
  for await (const b of s.readBytes(10, 4)) parts.push(b.toString('latin1'));
  assert.deepEqual(parts, ['0123', '4567', '89']);
  assert.equal((await s.getLine(100)).line, 'QUIT');
});

test('replies are buffered until the next read waits', async () => {
  const p = pair();
  const s = new SmtpStream(p.duplex, 5);
  s.writeLine('250 a');
  s.writeLine('250 b');
  assert.equal(p.written(), '');
  const r = s.getLine(100);
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(p.written(), '250 a\r\n250 b\r\n');
  p.feed('x\r\n');
  await r;
});
