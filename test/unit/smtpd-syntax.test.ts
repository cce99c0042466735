/**
 * Unit tests: smtpd's pure parsers and helpers — the command tokenizer
 * (smtpd_token.c), extract_addr's syntax half, RFC 822 tokenizing and
 * quoting (tok822, quote_822_local), host name/address validation, xtext,
 * printable/escape/is_header/UTF-8 checks, EHLO masks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ehloMask, strEhloMask } from '../../src/smtpd/settings.js';
import { extractAddrSyntax, smtpTokenize, TOK_ERROR, TOK_OTHER } from '../../src/smtpd/syntax.js';
import { cEscape, isHeader, printable, uxtextUnquote, validUtf8, xtextUnquote } from '../../src/smtpd/text.js';
import { quote822Local, tokExternalize, tokInternalize, tokParse, unquote822Local } from '../../src/smtpd/tok822.js';
import { validHostaddr, validHostname, validIpv4, validIpv6, validMailhostLiteral } from '../../src/smtpd/valid.js';

const words = (line: string) => smtpTokenize(line).map((t) => t.str);

test('tokenizer: FROM:/TO: end a word, <...> and "..." stay whole', () => {
  assert.deepEqual(words('MAIL FROM:<a@b>'), ['MAIL', 'FROM:', '<a@b>']);
  assert.deepEqual(words('MAIL FROM: <a@b> SIZE=10'), ['MAIL', 'FROM:', '<a@b>', 'SIZE=10']);
  assert.deepEqual(words('rcpt to:<"a b"@c> NOTIFY=NEVER'), ['rcpt', 'to:', '<"a b"@c>', 'NOTIFY=NEVER']);
  assert.deepEqual(words('MAIL FROM:<a <nested> b>'), ['MAIL', 'FROM:', '<a <nested> b>']);
  assert.deepEqual(words('X:Y FROM'), ['X:Y', 'FROM']);
  assert.deepEqual(words('  NOOP\t\tx  '), ['NOOP', 'x']);
  assert.deepEqual(words('a\\ b c'), ['a\\ b', 'c']);
  assert.deepEqual(words(''), []);
  assert.deepEqual(words('NOOP\0ignored'), ['NOOP']);
});

test('tokenizer: an unterminated <...> or "..." is a syntax error token', () => {
  const t = smtpTokenize('MAIL FROM:<a@b');
  assert.equal(t[2].tok, TOK_ERROR);
  assert.equal(smtpTokenize('VRFY "abc')[1].tok, TOK_ERROR);
  assert.equal(smtpTokenize('MAIL FROM:<a@b>')[2].tok, TOK_OTHER);
});

test('extract_addr: brackets, source routes, junk, strict RFC 821', () => {
  assert.deepEqual(extractAddrSyntax('<a@b>', false), { addr: 'a@b', syntaxError: false });
  assert.deepEqual(extractAddrSyntax('<>', false), { addr: '', syntaxError: false });
  assert.deepEqual(extractAddrSyntax('<@r1,@r2:a@b>', false), { addr: 'a@b', syntaxError: false });
  assert.deepEqual(extractAddrSyntax('<"first last"@b>', false), { addr: 'first last@b', syntaxError: false });
  assert.deepEqual(extractAddrSyntax('a@b', false), { addr: 'a@b', syntaxError: false });
  assert.equal(extractAddrSyntax('a@b', true).syntaxError, true);
  assert.equal(extractAddrSyntax('<a@b (c)>', true).syntaxError, true);
  assert.equal(extractAddrSyntax('<a@b (c)>', false).syntaxError, false);
  assert.equal(extractAddrSyntax('<a@b c@d>', false).syntaxError, true);
  assert.equal(extractAddrSyntax('<Name <a@b>>', false).addr, 'a@b');
});

test('tok822: parse, internalize, externalize', () => {
  assert.equal(tokInternalize(tokParse('"a b"@c')), 'a b@c');
  assert.equal(tokExternalize(tokParse('"a b"@c')), '"a b"@c');
  assert.equal(tokInternalize(tokParse('a@[1.2.3.4]')), 'a@[1.2.3.4]');
});

test('quote_822_local / unquote_822_local', () => {
  assert.equal(quote822Local('a b@c'), '"a b"@c');
  assert.equal(quote822Local('a.b@c'), 'a.b@c');
  assert.equal(quote822Local('a..b@c'), '"a..b"@c');
  assert.equal(quote822Local('a"b@c'), '"a\\"b"@c');
  assert.equal(quote822Local('@r:a b@c'), '@r:"a b"@c');
  assert.equal(quote822Local('x@y@z'), '"x@y"@z');
  assert.equal(quote822Local(''), '""');
  assert.equal(unquote822Local('"a b"@c'), 'a b@c');
  assert.equal(unquote822Local('"x@y"@z'), 'x@y@z');
});

test('valid_hostname and friends', () => {
  assert.ok(validHostname('mx.example.test'));
  assert.ok(validHostname('under_score.example'));
  assert.ok(!validHostname('bad_helo!'));
  assert.ok(!validHostname('1.2.3.4'));
  assert.ok(!validHostname('-a.example'));
  assert.ok(!validHostname('a-.example'));
  assert.ok(!validHostname('a..b'));
  assert.ok(!validHostname('a.'));
  assert.ok(!validHostname(`${'a'.repeat(64)}.example`));
  assert.ok(validIpv4('192.0.2.1'));
  assert.ok(!validIpv4('1.2.3'));
  assert.ok(!validIpv4('256.1.1.1'));
  assert.ok(!validIpv4('0.1.2.3'));
  assert.ok(validIpv4('0.0.0.0'));
  assert.ok(validIpv6('::1'));
  assert.ok(validIpv6('2001:db8::1'));
  assert.ok(validIpv6('::ffff:1.2.3.4'));
  assert.ok(!validIpv6('1::2::3'));
  assert.ok(validHostaddr('::1'));
  assert.ok(validMailhostLiteral('[127.0.0.1]'));
  assert.ok(validMailhostLiteral('[IPv6:::1]'));
  assert.ok(!validMailhostLiteral('[::1]'));
  assert.ok(!validMailhostLiteral('[1.2.3]'));
});

test('xtext and uxtext', () => {
  assert.equal(xtextUnquote('a+2Bb'), 'a+b');
  assert.equal(xtextUnquote('a+2bb'), 'a+b');
  assert.equal(xtextUnquote('a+zz'), undefined);
  assert.equal(xtextUnquote('a+4'), undefined);
  assert.equal(uxtextUnquote('u\\x{40}x'), 'u@x');
  assert.equal(uxtextUnquote('\\x{E9}'), '\xc3\xa9');
  assert.equal(uxtextUnquote('u\\x{zz}'), undefined);
  assert.equal(uxtextUnquote('a\\b'), 'a\\b');
});

test('printable, escape, is_header, UTF-8', () => {
  assert.equal(printable('a\x01b\xc3\xa9'), 'a?b\xc3\xa9');
  assert.equal(printable('a\xffb'), 'a?b');
  assert.equal(printable('a\xc3\xa9', '?', false), 'a??');
  assert.equal(cEscape('a\r\n\\\x01'), 'a\\r\\n\\\\\\001');
  assert.equal(isHeader('Subject: x'), 7);
  assert.equal(isHeader('Subject : x'), 7);
  assert.equal(isHeader('Sub ject: x'), 0);
  assert.equal(isHeader('NOOP'), 0);
  assert.ok(validUtf8('plain'));
  assert.ok(validUtf8('\xc3\xa9'));
  assert.ok(!validUtf8('\xc3\x28'));
  assert.ok(!validUtf8('\xed\xa0\x80'));
  assert.ok(!validUtf8('\xc0\xaf'));
});

test('EHLO keyword masks', () => {
  assert.equal(strEhloMask(ehloMask('dsn, chunking size')), 'SIZE DSN CHUNKING');
  assert.equal(ehloMask('nonsense'), 0);
  assert.equal(strEhloMask(ehloMask('smtputf8')), 'EHLO_MASK_SMTPUTF8');
});
