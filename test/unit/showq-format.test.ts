/**
 * test/unit/showq-format.test.ts: showq's helpers and output adapters
 * (quote_822_local, printable, asctime, defer-log parsing, the classic
 * and JSON formats) on hand-made input, checked against the layouts in
 * reference/postfix-parity.md §5.3-5.4.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatClassic, formatJson, parseDeferLog, type ShowqMessage } from '../../src/showq/showq.js';
import { asctime24, printable, quote822Local } from '../../src/showq/text.js';

function collect(fn: (w: (s: string) => void) => void): string {
  let s = '';
  fn((t) => {
    s += t;
  });
  return s;
}

describe('showq text helpers', () => {
  it('quote822Local quotes only non-dot-string local parts', () => {
    assert.equal(quote822Local('user@example.org'), 'user@example.org');
    assert.equal(quote822Local('first.last@example.org'), 'first.last@example.org');
    assert.equal(quote822Local('a b@example.org'), '"a b"@example.org');
    assert.equal(quote822Local('a"b\\c@x'), '"a\\"b\\\\c"@x');
    assert.equal(quote822Local('.lead@x'), '".lead"@x');
    assert.equal(quote822Local('a..b@x'), '"a..b"@x');
    assert.equal(quote822Local('trail.@x'), '"trail."@x');
    assert.equal(quote822Local('a@b@c'), '"a@b"@c');
    assert.equal(quote822Local('MAILER-DAEMON'), 'MAILER-DAEMON');
  });
  it('printable keeps UTF-8 and replaces controls and bad bytes', () => {
    assert.equal(printable('ok'), 'ok');
    assert.equal(printable('a\x01b\tc'), 'a?b?c');
    assert.equal(printable('\xc3\xa9t\xc3\xa9'), '\xc3\xa9t\xc3\xa9');
    assert.equal(printable('x\xffy\xc3'), 'x?y?');
  });
  it('asctime24 pads the day with a blank', () => {
    process.env.TZ = 'UTC';
    assert.equal(asctime24(1793577600), 'Mon Nov  2 00:00:00 2026');
    assert.equal(asctime24(1795366509), 'Sun Nov 22 16:55:09 2026');
  });
});

describe('defer log parsing (bounce_log_read)', () => {
  it('reads new-style, old-style and placeholder entries', () => {
    const log =
      'recipient=a@x\nstatus=4.0.0\nreason=r1\n\n<b@x>:   old text\n\nrecipient=\n\nstatus=4.0.0\nreason=r3\n\n';
    assert.deepEqual(parseDeferLog(log), [
      { address: 'a@x', why: 'r1' },
      { address: 'b@x', why: 'old text' },
      { address: '(MAILER-DAEMON)', why: '(description unavailable)' },
      { address: '(recipient address unavailable)', why: 'r3' },
    ]);
  });
  it('drops an unterminated last entry', () => {
    assert.deepEqual(parseDeferLog('recipient=a@x\nreason=r\n'), []);
  });
});

const MSG: ShowqMessage = {
  queue: 'deferred',
  id: '8462E20C4C4',
  arrival: 1795366448,
  size: 421,
  forcedExpire: false,
  sender: 'sender@vmail.test',
  recipients: [
    { address: 'a@x', why: 'connect to 127.0.0.1[127.0.0.1]:10099: Connection refused' },
    { address: 'b@x', why: 'connect to 127.0.0.1[127.0.0.1]:10099: Connection refused' },
    { address: 'c@x', why: '' },
  ],
};

describe('showq output adapters', () => {
  it('classic short-ID layout with reason lines and the trailer', () => {
    process.env.TZ = 'UTC';
    const held = { ...MSG, queue: 'hold', id: '587B520C6DB', forcedExpire: true, recipients: [{ address: 'bob@x', why: '' }] };
    const text = collect((w) => formatClassic([MSG, held], false, w));
    assert.equal(
      text,
      '-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n' +
        '8462E20C4C4     421 Sun Nov 22 16:54:08  sender@vmail.test\n' +
        '                   (connect to 127.0.0.1[127.0.0.1]:10099: Connection refused)\n' +
        '                                         a@x\n' +
        '                                         b@x\n' +
        '                                                          (reason unavailable)\n' +
        '                                         c@x\n' +
        '\n' +
        '587B520C6DB!#     421 Sun Nov 22 16:54:08  sender@vmail.test\n' +
        '                                         bob@x\n' +
        '\n' +
        '-- 0 Kbytes in 2 Requests.\n',
    );
  });
  it('classic long-ID layout', () => {
    process.env.TZ = 'UTC';
    const text = collect((w) => formatClassic([{ ...MSG, id: '4jXb3m3nq8zJ99b', queue: 'active', recipients: [] }], true, w));
    assert.equal(
      text,
      '----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n' +
        '4jXb3m3nq8zJ99b*       421 Sun Nov 22 16:54:08 sender@vmail.test\n' +
        '\n-- 0 Kbytes in 1 Request.\n',
    );
  });
  it('empty queue', () => {
    assert.equal(collect((w) => formatClassic([], false, w)), 'Mail queue is empty\n');
    assert.equal(collect((w) => formatJson([], w)), '');
  });
  it('JSON lines with escapes and optional delay_reason', () => {
    const m = { ...MSG, sender: '"a\\b"@x', recipients: [{ address: 'c@x', why: '' }, { address: 'd@x', why: 'r' }] };
    assert.equal(
      collect((w) => formatJson([m], w)),
      '{"queue_name": "deferred", "queue_id": "8462E20C4C4", "arrival_time": 1795366448, "message_size": 421, ' +
        '"forced_expire": false, "sender": "\\"a\\\\b\\"@x", "recipients": [{"address": "c@x"}, ' +
        '{"address": "d@x", "delay_reason": "r"}]}\n',
    );
  });
});
