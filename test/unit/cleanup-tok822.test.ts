/** RFC 822 address parsing (cleanup/tok822.ts) and standard-form rewriting (cleanup/rewrite.ts), with Postfix's outputs. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  externalize,
  extractAddresses,
  parse,
  quote822Local,
  STR_DEFL,
  STR_HEAD,
  unquote822Local,
} from '../../src/cleanup/tok822.js';
import { type RewriteSettings, rewriteExternal, rewriteInternal } from '../../src/cleanup/rewrite.js';

describe('tok822', () => {
  it('extracts the addresses of a header value', () => {
    assert.deepEqual(extractAddresses('bob, "J. Doe" <jd@x.test>, alice@other.test (comment)'), [
      'bob',
      'jd@x.test',
      'alice@other.test',
    ]);
    assert.deepEqual(extractAddresses('group: a@b, c@d; e@f'), ['a@b', 'c@d', 'e@f']);
    assert.deepEqual(extractAddresses('Some One <s1@b.test>, s2@b.test'), ['s1@b.test', 's2@b.test']);
    assert.deepEqual(extractAddresses('"a b"@x.test'), ['a b@x.test']);
    assert.deepEqual(extractAddresses('<>'), []);
    assert.deepEqual(extractAddresses('a@b c@d'), ['a@b', 'c@d']); // missing comma inserted
  });

  it('externalizes with Postfix spacing, one address per line for headers', () => {
    assert.equal(externalize(parse('bob ,  "J. Doe"   <jd@x.test>'), STR_DEFL), 'bob, "J. Doe" <jd@x.test>');
    assert.equal(externalize(parse('a@b,c@d'), STR_HEAD), 'a@b,\nc@d');
    // Comments move to the right of the address, as in Postfix.
    assert.equal(externalize(parse('(x) a@b'), STR_DEFL), 'a@b (x)');
  });

  it('quotes and unquotes local parts as quote_822_local()', () => {
    assert.equal(quote822Local('a b@x.test'), '"a b"@x.test');
    assert.equal(quote822Local('a.b@x.test'), 'a.b@x.test');
    assert.equal(quote822Local('a..b@x'), '"a..b"@x');
    assert.equal(quote822Local(''), '""');
    assert.equal(quote822Local('@r:a b@x'), '@r:"a b"@x');
    assert.equal(unquote822Local('"a b"@x.test'), 'a b@x.test');
    assert.equal(unquote822Local('"a\\"b"@x'), 'a"b@x');
  });
});

describe('rewrite to standard form', () => {
  const s: RewriteSettings = {
    myorigin: 'mx.example.test',
    mydomain: 'example.test',
    remoteDomain: '',
    swapBangpath: true,
    percentHack: true,
    appendAtMyorigin: true,
    appendDotMydomain: false,
  };
  it('local context', () => {
    assert.equal(rewriteInternal(s, 'local', 'bob'), 'bob@mx.example.test');
    assert.equal(rewriteInternal(s, 'local', ''), '');
    assert.equal(rewriteInternal(s, 'local', 'u%d.test'), 'u@d.test');
    assert.equal(rewriteInternal(s, 'local', 'h!u2'), 'u2@h');
    assert.equal(rewriteInternal(s, 'local', '@r1,@r2:u3@d.test'), 'u3@d.test');
    assert.equal(rewriteInternal(s, 'local', 'a@b.test.'), 'a@b.test');
    assert.equal(rewriteInternal(s, 'local', 'a b'), 'a b@mx.example.test');
    assert.equal(rewriteInternal({ ...s, appendDotMydomain: true }, 'local', 'a@host'), 'a@host.example.test');
    assert.equal(rewriteInternal({ ...s, appendDotMydomain: true }, 'local', 'a@[1.2.3.4]'), 'a@[1.2.3.4]');
    assert.equal(rewriteExternal(s, 'local', '@'), '""');
  });
  it('remote context appends remote_header_rewrite_domain only', () => {
    assert.equal(rewriteInternal({ ...s, remoteDomain: 'remote.test' }, 'remote', 'bob'), 'bob@remote.test');
    assert.equal(rewriteInternal(s, 'remote', 'bob'), 'bob');
  });
});
