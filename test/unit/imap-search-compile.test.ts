/**
 * Unit tests for imap/search: criteria compilation and errors, evaluation
 * with lazy message loading, base subjects, ESEARCH formatting and sort
 * criteria. Dovecot's own results are compared in test/differential/imap-search.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImapArg } from '../../src/imap/args.js';
import {
  SearchError,
  type SearchMessage,
  baseSubject,
  compileSearch,
  compressSet,
  evaluate,
  formatEsearch,
  parseReturnOptions,
  parseSortCriteria,
} from '../../src/imap/search/index.js';

const atom = (value: string): ImapArg => ({ type: 'atom', value });
const str = (value: string): ImapArg => ({ type: 'string', value: Buffer.from(value) });

function msg(over: Partial<SearchMessage> & { body?: string } = {}): SearchMessage & { loads: number } {
  const m = {
    seq: 1,
    uid: 10,
    flags: new Set<string>(),
    internalDate: new Date('2026-11-23T12:00:00Z'),
    loads: 0,
    ...over,
    raw() {
      m.loads++;
      return Buffer.from(over.body ?? 'Subject: Hello World\nFrom: A <a@b.c>\n\nbody text\n');
    },
  };
  return m;
}

const ctx = { messageCount: 5, maxUid: 20 };

test('flag keys do not load the message; header keys load it once', async () => {
  const m = msg({ flags: new Set(['\\Seen']) });
  assert.equal(await evaluate(compileSearch([atom('SEEN'), atom('UNFLAGGED')]), m, ctx), true);
  assert.equal(m.loads, 0);
  assert.equal(await evaluate(compileSearch([atom('SUBJECT'), str('hello'), atom('FROM'), str('a@b'), atom('BODY'), str('TEXT')]), m, ctx), true);
  assert.equal(m.loads, 1);
});

test('sequence sets, * and UID ranges', async () => {
  const m = msg({ seq: 5, uid: 20 });
  assert.equal(await evaluate(compileSearch([atom('*')]), m, ctx), true);
  assert.equal(await evaluate(compileSearch([atom('UID'), atom('1:19')]), m, ctx), false);
  assert.equal(await evaluate(compileSearch([atom('UID'), atom('15:*')]), m, ctx), true);
  assert.equal(await evaluate(compileSearch([atom('$')]), m, { ...ctx, savedUids: new Set([20]) }), true);
});

test('OR, NOT and lists', async () => {
  const m = msg({ flags: new Set(['\\Flagged']) });
  const p = compileSearch([atom('OR'), atom('SEEN'), { type: 'list', items: [atom('FLAGGED'), atom('NOT'), atom('DELETED')] }]);
  assert.equal(await evaluate(p, m, ctx), true);
});

test('errors carry Dovecot texts', () => {
  const err = (args: ImapArg[], opts = {}) => {
    try {
      compileSearch(args, opts);
    } catch (e) {
      assert.ok(e instanceof SearchError);
      return e.response;
    }
    return 'no error';
  };
  assert.equal(err([]), 'BAD Missing search parameters');
  assert.equal(err([atom('BEFORE'), atom('32-Jan-2026')]), 'BAD Invalid search date parameter');
  assert.equal(err([atom('SUBJECT')]), 'BAD Missing parameter for search key (for search key: SUBJECT)');
  assert.equal(err([atom('ALL')], { charset: 'x-bogus' }), 'NO [BADCHARSET] Unknown charset');
  assert.equal(err([atom('MODSEQ'), str('/flags/\\Seen'), atom('bogus'), atom('1')]), 'BAD Invalid MODSEQ type');
});

test('YOUNGER/OLDER against a fixed now', async () => {
  const m = msg();
  const now = m.internalDate.getTime() + 100_000;
  assert.equal(await evaluate(compileSearch([atom('YOUNGER'), atom('200')]), m, { ...ctx, now }), true);
  assert.equal(await evaluate(compileSearch([atom('OLDER'), atom('200')]), m, { ...ctx, now }), false);
});

test('base subject (RFC 5256 §2.1)', () => {
  assert.deepEqual(baseSubject('Re: [list] Fwd: Hello (fwd)'), { subject: 'HELLO', replyOrForward: true });
  assert.deepEqual(baseSubject('[FWD: Re: x]'), { subject: 'X', replyOrForward: true });
  assert.deepEqual(baseSubject('[only blob]'), { subject: '[ONLY BLOB]', replyOrForward: false });
  assert.equal(baseSubject('=?utf-8?q?R=C3=A9sum=C3=A9?=').subject, 'RE\u0301SUME\u0301');
});

test('ESEARCH formatting and set compression', () => {
  assert.equal(compressSet([5, 1, 2, 3, 9, 10]), '1:3,5,9:10');
  const all = parseReturnOptions([]);
  assert.equal(formatEsearch('A1', true, [1, 2, 4], all), '* ESEARCH (TAG "A1") UID ALL 1:2,4\r\n');
  assert.equal(formatEsearch('A2', false, [], parseReturnOptions([atom('MIN'), atom('COUNT')])), '* ESEARCH (TAG "A2") COUNT 0\r\n');
  assert.equal(formatEsearch('A3', false, [3], parseReturnOptions([atom('SAVE')])), null);
  assert.throws(() => parseReturnOptions([atom('BOGUS')]), /Unknown SEARCH return option/);
});

test('sort criteria: REVERSE, duplicates and errors', () => {
  assert.deepEqual(parseSortCriteria([atom('REVERSE'), atom('date'), atom('DATE'), atom('subject')]), [
    { key: 'DATE', reverse: true },
    { key: 'SUBJECT', reverse: false },
  ]);
  assert.throws(() => parseSortCriteria([]), /Empty sort program\./);
  assert.throws(() => parseSortCriteria([atom('DATE'), atom('REVERSE')]), /Sort list ends with REVERSE\./);
  assert.throws(() => parseSortCriteria([atom('COLOR')]), /Unknown sort argument: COLOR/);
});
