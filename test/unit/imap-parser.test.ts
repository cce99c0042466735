/**
 * imap/parser: tokenizer (atoms, quoted strings, lists, literals, NIL, the
 * lib-imap error words), readCommand (continuation "+ OK" before a
 * synchronising literal, none for LITERAL+, limits), sequence sets and
 * mUTF-7 mailbox names.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ArgCursor, ParseError, readCommand, validTag } from '../../src/imap/parser/command.js';
import { ImapInput } from '../../src/imap/parser/input.js';
import { decodeMailboxName, encodeMailboxName } from '../../src/imap/parser/mailbox-name.js';
import { formatSeqSet, parseSeqSet, resolveSeqs, resolveUids } from '../../src/imap/parser/seqset.js';

const args = (line: string) => {
  const c = new ArgCursor([Buffer.from(line, 'latin1')]);
  c.word();
  c.word();
  return c.args({ literal8: false });
};

describe('imap parser: tokenizer', () => {
  it('atoms, quoted strings with escapes, nested lists, NIL', () => {
    assert.deepEqual(args('a FETCH 1:* (FLAGS BODY[HEADER.FIELDS (FROM)]) "x\\"y" nil'), [
      { type: 'atom', value: '1:*' },
      {
        type: 'list',
        items: [
          { type: 'atom', value: 'FLAGS' },
          { type: 'atom', value: 'BODY[HEADER.FIELDS' },
          { type: 'list', items: [{ type: 'atom', value: 'FROM' }] },
          { type: 'atom', value: ']' },
        ],
      },
      { type: 'string', value: Buffer.from('x"y') },
      { type: 'nil' },
    ]);
  });
  it("Dovecot's error words", () => {
    assert.throws(() => args('a LOGIN "unterminated'), new ParseError('Missing \'"\''));
    assert.throws(() => args('a FETCH 1 (FLAGS'), new ParseError("Missing ')'"));
    assert.throws(() => args('a FETCH 1 FLAGS)'), new ParseError("Unexpected ')'"));
    assert.throws(() => args('a X ~{3}'), new ParseError('literal8 not allowed here'));
    assert.throws(() => args('a X \xe4'), new ParseError('8bit data in atom'));
  });
  it('tags: no "+", no specials', () => {
    assert.equal(validTag('a1'), true);
    assert.equal(validTag('a+'), false);
    assert.equal(validTag('a*'), false);
    assert.equal(validTag(''), false);
  });
});

async function feed(chunks: string[], opts: { max?: number; onLiteral?: Parameters<typeof readCommand>[1]['onLiteral'] } = {}) {
  const s = new PassThrough();
  const input = new ImapInput(s);
  const sent: string[] = [];
  const p = readCommand(input, { maxLine: opts.max ?? 65536, sendContinue: () => sent.push('+ OK'), ...(opts.onLiteral ? { onLiteral: opts.onLiteral } : {}) });
  for (const c of chunks) s.write(c);
  return { r: await p, sent };
}

describe('imap parser: readCommand', () => {
  it('a synchronising literal gets "+ OK" and its bytes become one string argument', async () => {
    const { r, sent } = await feed(['a LOGIN bob {4}\r\n', 'pa\r\n', ' x\r\n']);
    assert.deepEqual(sent, ['+ OK']);
    assert.equal(r.kind, 'command');
    if (r.kind !== 'command') return;
    const c = new ArgCursor(r.pieces);
    assert.equal(c.word(), 'a');
    assert.equal(c.word(), 'LOGIN');
    assert.deepEqual(c.args(), [
      { type: 'atom', value: 'bob' },
      { type: 'string', value: Buffer.from('pa\r\n'), literal: true },
      { type: 'atom', value: 'x' },
    ]);
  });
  it('LITERAL+ sends no continuation', async () => {
    const { r, sent } = await feed(['a LOGIN bob {2+}\r\nab\r\n']);
    assert.deepEqual(sent, []);
    assert.equal(r.kind, 'command');
  });
  it('a literal over imap_max_line_length is refused before its data', async () => {
    const { r, sent } = await feed(['a LOGIN bob {100}\r\n'], { max: 64 });
    assert.deepEqual(sent, []);
    assert.equal(r.kind, 'literal-too-big');
  });
  it('a long line is reported, not buffered', async () => {
    const { r } = await feed([`a NOOP ${'x'.repeat(200)}`], { max: 64 });
    assert.equal(r.kind, 'too-long');
  });
  it('onLiteral may refuse (APPEND to a missing mailbox) without "+ OK"', async () => {
    const { r, sent } = await feed(['a APPEND Nope {3}\r\n'], { onLiteral: () => ({ action: 'reject', reply: 'NO [TRYCREATE] x' }) });
    assert.deepEqual(sent, []);
    assert.deepEqual(r.kind === 'rejected' && r.reply, 'NO [TRYCREATE] x');
  });
});

describe('imap parser: sequence sets and names', () => {
  it('parses and resolves sequence sets', () => {
    const s = parseSeqSet('1,3:2,5:*');
    assert.ok(s && !s.saved);
    if (!s || s.saved) return;
    assert.deepEqual(resolveSeqs(s.ranges, 6), [1, 2, 3, 5, 6]);
    assert.equal(resolveSeqs(s.ranges, 4), undefined);
    assert.deepEqual(parseSeqSet('$'), { saved: true });
    assert.equal(parseSeqSet('0'), undefined);
    assert.equal(parseSeqSet('1,,2'), undefined);
  });
  it('UID sets: "99:*" names the last message', () => {
    const s = parseSeqSet('99:*');
    if (!s || s.saved) throw new Error('parse');
    assert.deepEqual(resolveUids(s.ranges, [3, 7, 9]), [3]);
    assert.equal(formatSeqSet([5, 1, 2, 3, 9]), '1:3,5,9');
  });
  it('mUTF-7 names, INBOX in any case', () => {
    assert.equal(decodeMailboxName('Caf&AOk-', false), 'Café');
    assert.equal(decodeMailboxName('inbox', false), 'INBOX');
    assert.equal(decodeMailboxName('Caf&AOk', false), undefined);
    assert.equal(encodeMailboxName('Café', false), 'Caf&AOk-');
    assert.equal(encodeMailboxName('Café', true), 'Café');
  });
});
