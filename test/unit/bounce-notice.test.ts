/**
 * bounce(8) pieces: line_wrap() as Postfix wraps DSN text, the
 * bounce/defer/trace log format (write and read back, old-style lines,
 * place holders), and the structure of a success notice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogEntry, parseLog } from '../../src/bounce/log.js';
import { lineWrap } from '../../src/bounce/notice.js';

const wrap = (s: string) => lineWrap(s, 79, 4).map((l) => ' '.repeat(l.indent) + l.text);

describe('line_wrap', () => {
  it('wraps at 79 columns with a 4-blank indent, as in real DSNs', () => {
    assert.deepEqual(wrap('Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:10099: Connection refused'), [
      'Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:10099: Connection',
      '    refused',
    ]);
    assert.deepEqual(wrap('<remote@relay.test> (expanded from <sales@alias.test>): connect to 127.0.0.1[127.0.0.1]:10099: Connection refused'), [
      '<remote@relay.test> (expanded from <sales@alias.test>): connect to',
      '    127.0.0.1[127.0.0.1]:10099: Connection refused',
    ]);
    assert.deepEqual(wrap('<held2@defer.test>: connect to 127.0.0.1[127.0.0.1]:10099: Connection refused'), [
      '<held2@defer.test>: connect to 127.0.0.1[127.0.0.1]:10099: Connection refused',
    ]);
    assert.deepEqual(wrap(`x ${'y'.repeat(100)} z`), ['x', `    ${'y'.repeat(100)}`, '    z']);
  });
});

describe('bounce logs', () => {
  const rcpt = { address: 'a b@x.test', origAddr: 'Alias@x.test', dsnOrcpt: 'rfc822;alias@x.test', dsnNotify: 6, offset: 345 };
  it('writes the old-style line and the name=value lines', () => {
    const text = formatLogEntry(rcpt, { status: '5.1.1', action: 'failed', reason: 'host x said: 550 no', dtype: 'smtp', dtext: '550 no', mtype: 'dns', mname: 'mx.x.test' });
    assert.equal(
      text,
      '\n<"a b"@x.test>: host x said: 550 no\nrecipient="a b"@x.test\noriginal_recipient=Alias@x.test\noffset=345\ndsn_orig_rcpt=rfc822;alias@x.test\nnotify_flags=6\nstatus=5.1.1\naction=failed\ndiag_type=smtp\ndiag_text=550 no\nmta_type=dns\nmta_mname=mx.x.test\nreason=host x said: 550 no\n\n',
    );
  });
  it('reads back what it wrote, with place holders for missing fields', () => {
    const text = formatLogEntry(rcpt, { status: '4.4.1', action: 'delayed', reason: 'later' }) + '\n<old@x>: old style reason\n\nrecipient=\n\n';
    const entries = parseLog(text, 'defer');
    assert.equal(entries.length, 3);
    assert.deepEqual(entries[0]!.rcpt, { ...rcpt, address: '"a b"@x.test' });
    assert.equal(entries[0]!.dsn.reason, 'later');
    assert.deepEqual(entries[1]!.dsn, { status: '4.0.0', action: 'delayed', reason: 'old style reason', dtype: '', dtext: '', mtype: '', mname: '' });
    assert.equal(entries[2]!.rcpt.address, '(MAILER-DAEMON)');
    assert.equal(entries[2]!.dsn.reason, '(description unavailable)');
    assert.equal(parseLog('\nstatus=5.0.0\n\n', 'bounce')[0]!.rcpt.address, '(recipient address unavailable)');
  });
});
