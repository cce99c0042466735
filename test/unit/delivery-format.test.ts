/**
 * Delivery helpers: format_tv() delays, log_adhoc() lines, dsn_split(),
 * mail_copy() headers, SMTP destination parsing, SASL mechanism choice,
 * pipe(8) attributes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dsnSplit, dsnValid, mboxDsn } from '../../src/delivery/dsn-util.js';
import { formatAdhoc, formatTv } from '../../src/delivery/log-adhoc.js';
import { MAIL_COPY_MBOX, mailCopyBuffer } from '../../src/delivery/mail-copy.js';
import { parsePipeArgs } from '../../src/delivery/pipe/pipe.js';
import { parseDestination, resolveDestination, splitDestinations } from '../../src/delivery/smtp/dest.js';
import { StaticResolver } from '../../src/delivery/smtp/dns.js';
import { chooseMechanisms } from '../../src/delivery/smtp/sasl.js';
import { splitAliasList } from '../../src/delivery/local/local.js';

describe('format_tv', () => {
  // Values as Postfix logs them (delay_logging_resolution_limit = 2).
  const cases: Array<[number, number, string]> = [
    [0, 0, '0'],
    [0, 4_000, '0'],
    [0, 5_000, '0.01'],
    [0, 14_000, '0.01'],
    [0, 123_456, '0.12'],
    [0, 995_000, '1'],
    [1, 234_567, '1.2'],
    [9, 960_000, '10'],
    [42, 0, '42'],
    [42, 700_000, '43'],
    [159, 10_000, '159'],
  ];
  for (const [s, us, want] of cases) it(`${s}s ${us}us -> ${want}`, () => assert.equal(formatTv(s, us), want));
});

describe('log_adhoc', () => {
  it('formats the status line with orig_to, conn_use and the four delays', () => {
    const line = formatAdhoc(
      'ABC',
      {
        incomingArrival: { sec: 100, usec: 0 },
        activeArrival: { sec: 100, usec: 20_000 },
        agentHandoff: { sec: 100, usec: 30_000 },
        connSetupDone: { sec: 100, usec: 30_000 },
        reuseCount: 1,
      },
      { address: 'a@x', origAddr: 'B@x', dsnOrcpt: '', dsnNotify: 0, offset: 1 },
      'virtual',
      { status: '2.0.0', reason: 'delivered to maildir' },
      'sent',
      { sec: 100, usec: 30_000 },
    );
    assert.equal(line, 'ABC: to=<a@x>, orig_to=<B@x>, relay=virtual, conn_use=2, delay=0.03, delays=0.02/0.01/0/0, dsn=2.0.0, status=sent (delivered to maildir)');
  });
  it('leaves orig_to out when it equals the recipient case-insensitively', () => {
    const line = formatAdhoc(
      'ID',
      { incomingArrival: { sec: 10, usec: 0 }, activeArrival: { sec: 0, usec: 0 }, reuseCount: 0 },
      { address: 'a@x', origAddr: 'A@X', dsnOrcpt: '', dsnNotify: 0, offset: 1 },
      'none',
      { status: '4.4.1', reason: 'r' },
      'deferred',
      { sec: 52, usec: 0 },
    );
    assert.equal(line, 'ID: to=<a@x>, relay=none, delay=42, delays=42/0/0/0, dsn=4.4.1, status=deferred (r)');
  });
});

describe('dsn_split', () => {
  it('takes a leading status code, else the default', () => {
    assert.deepEqual(dsnSplit('5.0.0', '5.7.1 this domain is permanently unreachable'), { status: '5.7.1', text: 'this domain is permanently unreachable' });
    assert.deepEqual(dsnSplit('4.0.0', 'Address is undeliverable'), { status: '4.0.0', text: 'Address is undeliverable' });
    assert.deepEqual(dsnSplit('2.0.0', '  silently dropped'), { status: '2.0.0', text: 'silently dropped' });
    assert.equal(dsnValid('4.4.1x'), 0);
    assert.equal(dsnValid('3.1.1 x'), 0);
    assert.equal(dsnValid('5.1234.1'), 0);
    assert.equal(mboxDsn('EDQUOT', '4.2.0'), '5.2.2');
    assert.equal(mboxDsn('EACCES', '4.2.0'), '4.2.0');
  });
});

describe('mail_copy', () => {
  it('writes From_, Return-Path, X-Original-To, Delivered-To, quotes From lines, ends with a blank line', () => {
    const content = {
      *records(): Generator<[number, string]> {
        yield [0x4e, 'Subject: x'];
        yield [0x4e, ''];
        yield [0x4e, 'From me'];
        yield [0x4c, 'long '];
        yield [0x4e, 'line'];
        yield [0x4c, 'unterminated'];
      },
    };
    const buf = mailCopyBuffer(content, MAIL_COPY_MBOX, { sender: '', origRcpt: 'o@x', delivered: 'd@x', nowSec: 0 });
    const text = buf.toString('latin1').replace(/^From MAILER-DAEMON {2}.{24}\n/, 'FROM_\n');
    assert.equal(text, 'FROM_\nReturn-Path: <>\nX-Original-To: o@x\nDelivered-To: d@x\nSubject: x\n\n>From me\nlong line\nunterminated\n\n');
  });
});

describe('smtp destinations', () => {
  it('parses host, [host], host:port, [ip]:port, service names, LMTP forms', () => {
    assert.deepEqual(parseDestination('example.com', 25, false), { text: 'example.com', host: 'example.com', port: 25, noMx: false });
    assert.deepEqual(parseDestination('[mail.isp.example]:587', 25, false), { text: '[mail.isp.example]:587', host: 'mail.isp.example', port: 587, noMx: true });
    assert.deepEqual(parseDestination('relay.example:submission', 25, false), { text: 'relay.example:submission', host: 'relay.example', port: 587, noMx: false });
    assert.deepEqual(parseDestination('[IPv6:2001:db8::1]:2525', 25, false).host, '2001:db8::1');
    assert.deepEqual(parseDestination('unix:private/dovecot-lmtp', 24, true), { text: 'unix:private/dovecot-lmtp', host: '', port: 0, noMx: true, path: 'private/dovecot-lmtp' });
    assert.deepEqual(parseDestination('inet:127.0.0.1:24', 24, true), { text: 'inet:127.0.0.1:24', host: '127.0.0.1', port: 24, noMx: true });
    assert.deepEqual(splitDestinations('a.example, b.example'), ['a.example', 'b.example']);
  });
  it('follows MX records by preference, falls back to A, words DNS errors as Postfix', async () => {
    const dns = new StaticResolver({
      mx: { 'mx.test': [[20, 'b.mx.test'], [10, 'a.mx.test']] },
      a: { 'a.mx.test': ['192.0.2.1'], 'b.mx.test': ['192.0.2.2'], 'plain.test': ['192.0.2.3'] },
      fail: { 'tmp.test': 'retry' },
    });
    assert.deepEqual(await resolveDestination(parseDestination('mx.test', 25, false), dns, [4]), {
      targets: [
        { host: 'a.mx.test', addr: '192.0.2.1', port: 25 },
        { host: 'b.mx.test', addr: '192.0.2.2', port: 25 },
      ],
    });
    assert.deepEqual(await resolveDestination(parseDestination('plain.test', 25, false), dns, [4]), { targets: [{ host: 'plain.test', addr: '192.0.2.3', port: 25 }] });
    assert.deepEqual(await resolveDestination(parseDestination('nx.test', 25, false), dns, [4]), {
      error: { status: '5.4.4', reason: 'Host or domain name not found. Name service error for name=nx.test type=MX: Host not found' },
    });
    assert.deepEqual(await resolveDestination(parseDestination('tmp.test', 25, false), dns, [4]), {
      error: { status: '4.4.3', reason: 'Host or domain name not found. Name service error for name=tmp.test type=MX: Host not found, try again' },
    });
  });
});

describe('SASL mechanisms', () => {
  it('noplaintext keeps PLAIN and LOGIN out; the filter narrows; CRAM-MD5 is preferred', () => {
    assert.deepEqual(chooseMechanisms(['PLAIN', 'LOGIN'], 'noplaintext, noanonymous', ''), []);
    assert.deepEqual(chooseMechanisms(['LOGIN', 'PLAIN', 'CRAM-MD5'], 'noanonymous', ''), ['CRAM-MD5', 'PLAIN', 'LOGIN']);
    assert.deepEqual(chooseMechanisms(['LOGIN', 'PLAIN'], 'noanonymous', 'login'), ['LOGIN']);
  });
});

describe('pipe and local attributes', () => {
  it('parses pipe(8) attributes; argv keeps the rest of the line', () => {
    const a = parsePipeArgs(['flags=DRhu', 'user=vmail:mail', 'size=1000', 'argv=/usr/lib/dovecot/dovecot-lda', '-f', '${sender}', '-d', '${recipient}']);
    assert.equal(a.flags, 'DRhu');
    assert.equal(a.user, 'vmail:mail');
    assert.equal(a.size, 1000);
    assert.deepEqual(a.argv, ['/usr/lib/dovecot/dovecot-lda', '-f', '${sender}', '-d', '${recipient}']);
  });
  it('splits alias values on commas outside quotes', () => {
    assert.deepEqual(splitAliasList('a@x, "|cmd, with comma" , /file,  :include:/etc/list'), ['a@x', '"|cmd, with comma"', '/file', ':include:/etc/list']);
  });
});
