/**
 * Unit tests for imap/mime: the MIME tree, the part limits, address lists,
 * IMAP quoting, section lookup and decoding. Expected values were checked
 * against Dovecot 2.3.19 (the differential suite covers the fixtures).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_NESTED_PARTS,
  bodyStructure,
  decodeHeaderValue,
  decodeQp,
  envelope,
  fetchSection,
  findPart,
  forHumans,
  nstring,
  parseAddressList,
  parseMessage,
  snippet,
} from '../../src/imap/mime/index.js';

const MULTI = Buffer.from(
  'Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n--b--\nepi\n',
);

test('multipart tree: offsets, children and the CRLF before a boundary', () => {
  const root = parseMessage(MULTI);
  assert.equal(root.multipart, true);
  assert.equal(root.children.length, 2);
  const [a, b] = root.children;
  assert.equal(MULTI.toString('latin1', a!.bodyStart, a!.end), 'one');
  assert.equal(MULTI.toString('latin1', b!.start, b!.bodyStart), '\n');
  assert.equal(MULTI.toString('latin1', b!.bodyStart, b!.end), 'two');
  assert.equal(root.end, MULTI.length);
});

test('boundary prefix match: a longer boundary line still ends the part', () => {
  const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--bxyz\n\ny\n--b--\n');
  const root = parseMessage(raw);
  assert.equal(root.children.length, 2);
});

test('nesting is cut at the Dovecot limit and shown as application/octet-stream', () => {
  let raw = '';
  for (let i = 0; i < MAX_NESTED_PARTS + 5; i++) raw += `Content-Type: multipart/mixed; boundary=n${i}\n\n--n${i}\n`;
  raw += '\nleaf\n';
  const root = parseMessage(Buffer.from(raw));
  let depth = 0;
  let p = root;
  while (p.children.length > 0) {
    p = p.children[0]!;
    depth++;
  }
  assert.equal(depth, MAX_NESTED_PARTS - 1);
  assert.equal(p.overflow, true);
  assert.match(bodyStructure(root, Buffer.from(raw), false).toString(), /"application" "octet-stream"/);
});

test('no MIME-Version and no Content-Type: Content-* fields are ignored', () => {
  const raw = Buffer.from('Content-Transfer-Encoding: base64\nContent-ID: <x>\n\naGk=\n');
  assert.equal(bodyStructure(parseMessage(raw), raw, false).toString(), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1)');
});

test('address lists: groups, routes, comments and missing parts', () => {
  const list = parseAddressList('G: a@b.c;, (comment before) x@y.z, <@r1,@r2:u@d>, lonely');
  assert.deepEqual(
    list.map((a) => [a.name, a.route, a.mailbox, a.domain]),
    [
      [null, null, 'G', null],
      [null, null, 'a', 'b.c'],
      [null, null, null, null],
      [null, null, 'x', 'y.z'],
      [null, '@r1,@r2', 'u', 'd'],
      [null, null, 'lonely', 'MISSING_DOMAIN'],
    ],
  );
});

test('IMAP strings: quoting, literals for 8-bit and many escapes, for-humans whitespace', () => {
  assert.equal(nstring('a"b'), '"a\\"b"');
  assert.equal(nstring('\xe9'), '{1}\r\n\xe9');
  assert.equal(nstring('"""""'), '{5}\r\n"""""');
  assert.equal(nstring(null), 'NIL');
  assert.equal(forHumans('  a   b  '), '{3}\r\na b');
  assert.equal(forHumans('   '), '""');
  assert.equal(forHumans('plain'), '"plain"');
});

test('ENVELOPE falls back to From for Sender and Reply-To', () => {
  const raw = Buffer.from('From: a@b.c\nSubject: s\n\n');
  assert.equal(
    envelope(parseMessage(raw), raw).toString(),
    '(NIL "s" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL)',
  );
});

test('sections: part 1 of a single part, MIME header, rfc822 HEADER, missing parts', () => {
  const raw = Buffer.from('Content-Type: message/rfc822\n\nSubject: in\n\nbody\n');
  const root = parseMessage(raw);
  assert.equal(fetchSection(raw, root, { part: [1] }).toString(), 'Subject: in\r\n\r\nbody\r\n');
  assert.equal(fetchSection(raw, root, { part: [1], text: 'HEADER' }).toString(), 'Subject: in\r\n\r\n');
  assert.equal(fetchSection(raw, root, { part: [1], text: 'MIME' }).toString(), 'Content-Type: message/rfc822\r\n\r\n');
  assert.equal(fetchSection(raw, root, { part: [2] }).length, 0);
  assert.equal(findPart(root, [1, 1])?.parent?.rfc822, true);
  assert.equal(fetchSection(raw, root, { part: [], partial: { offset: 2, length: 3 } }).toString(), 'nte');
});

test('decoding: quoted-printable soft breaks, encoded words joined', () => {
  assert.equal(decodeQp(Buffer.from('a=3Db =\nc  \n')).data.toString(), 'a=b c\r\n');
  assert.equal(decodeHeaderValue('=?utf-8?q?h=C3=A9?= =?iso-8859-1?q?llo?= x'), 'héllo x');
});

test('snippet: quoted lines only when nothing else, whitespace collapsed', () => {
  const q = Buffer.from('\n> quoted\n>more\n');
  assert.equal(snippet(q, parseMessage(q)), '>quoted more');
  const t = Buffer.from('\n> quoted\nreal\n\n text\n');
  assert.equal(snippet(t, parseMessage(t)), 'real text');
  const long = Buffer.from(`\n${'x'.repeat(300)}\n`);
  assert.equal(snippet(long, parseMessage(long)).length, 200);
});
