/**
 * Differential: imap/search against the real Dovecot 2.3 imap on the
 * fixture corpus fixtures/messages/imap/ (with flags and arrival times
 * set per message). SEARCH, UID SEARCH, SEARCH RETURN (ESEARCH), SORT and
 * THREAD responses must be byte-equal; bad criteria must get Dovecot's
 * tagged text. Only the timing in tagged replies is normalised.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ImapArg } from '../../src/imap/args.js';
import {
  SearchError,
  type SearchMessage,
  compileSearch,
  evaluate,
  formatEsearch,
  formatSearch,
  parseReturnOptions,
  parseSortCriteria,
  sortMessages,
  threadMessages,
} from '../../src/imap/search/index.js';
import { makePreauthHome, realImapAvailable, runPreauthImap, splitResponses } from '../helpers/dovecot-imap-preauth.js';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/messages/imap');
const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.eml'))
  .sort();
const FLAG_LETTERS = ['', 'S', 'FS', 'R', 'D', 'ST', '', 'S'];
const LETTER: Record<string, string> = { S: '\\Seen', F: '\\Flagged', R: '\\Answered', D: '\\Draft', T: '\\Deleted' };
const BASE_TIME = Date.UTC(2026, 10, 20, 12, 0, 0) / 1000;

const seeds = files.map((f, i) => ({
  raw: readFileSync(join(FIXTURES, f)),
  flags: FLAG_LETTERS[i % FLAG_LETTERS.length]!,
  // spread arrival times over several days, some at day boundaries in UTC
  mtime: BASE_TIME + i * 43_200 - (i % 3) * 3_600,
}));

const messages: SearchMessage[] = seeds.map((s, i) => ({
  seq: i + 1,
  uid: i + 1,
  flags: new Set(['\\Recent', ...s.flags.split('').map((l) => LETTER[l]!)]),
  internalDate: new Date(s.mtime * 1000),
  raw: () => s.raw,
}));

/** A small argument tokenizer for the test commands: atoms, "quoted" strings and (lists). */
function parseArgs(s: string): ImapArg[] {
  const stack: ImapArg[][] = [[]];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ') i++;
    else if (c === '(') {
      stack.push([]);
      i++;
    } else if (c === ')') {
      const items = stack.pop()!;
      stack[stack.length - 1]!.push({ type: 'list', items });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (s[j] !== '"') {
        if (s[j] === '\\') j++;
        v += s[j];
        j++;
      }
      stack[stack.length - 1]!.push({ type: 'string', value: Buffer.from(v) });
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && !' ()'.includes(s[j]!)) j++;
      stack[stack.length - 1]!.push({ type: 'atom', value: s.slice(i, j) });
      i = j;
    }
  }
  return stack[0]!;
}

const CRITERIA = [
  'ALL',
  'SEEN',
  'UNSEEN',
  'FLAGGED UNSEEN',
  'OR ANSWERED DRAFT',
  'NOT DELETED',
  'NEW',
  'OLD',
  'RECENT',
  '2:5,9',
  '*',
  '3:*',
  'UID 4:6',
  'NOT (SEEN FLAGGED)',
  'SUBJECT lunch',
  'SUBJECT "project x"',
  'SUBJECT "lots of spaces"',
  'FROM alice',
  'FROM "Alice Example"',
  'TO example.org',
  'CC dave',
  'BCC bcc',
  'HEADER Message-ID px-',
  'HEADER X-Long ""',
  'HEADER "" ""',
  'OR OR SEEN DRAFT ALL',
  'NOT 1:*',
  'KEYWORD $Junk',
  'HEADER References missing',
  'BODY lunch',
  'BODY "gro\u00dfe"',
  'BODY "cr\u00e8me"',
  'TEXT kickoff',
  'TEXT "Inner Sender"',
  'BODY "plain inside"',
  'LARGER 500',
  'SMALLER 300',
  'SINCE 22-Nov-2026',
  'BEFORE 24-Nov-2026',
  'ON 23-Nov-2026',
  'SENTBEFORE 1-Nov-2026',
  'SENTSINCE 3-Nov-2026',
  'SENTON 2-Nov-2026',
  'SUBJECT =?utf-8?q?Sommer',
  'SUBJECT angebote',
  'FROM "j\u00fcrgen"',
  'FROM "andr\u00e9"',
  'OR SUBJECT fwd SUBJECT re',
  'SAVEDATESUPPORTED',
];

const ERRORS = [
  'FOO',
  'SINCE foo',
  'LARGER x',
  'HEADER',
  '1:x',
  'OR ALL',
  'NOT',
  'MODSEQ x',
  'OLDER 0',
  'KEYWORD',
  'UID',
  '()',
  '0',
  'MODSEQ "/flags/\\\\Recent" all 1',
  '"quoted"',
];

const SORTS = [
  '(ARRIVAL)',
  '(DATE)',
  '(REVERSE DATE)',
  '(SIZE)',
  '(SUBJECT)',
  '(FROM)',
  '(TO)',
  '(CC)',
  '(DISPLAYFROM)',
  '(DISPLAYTO)',
  '(REVERSE SUBJECT DATE)',
];

function utf8Cmd(s: string): Buffer {
  return Buffer.from(`${s}\r\n`, 'utf8');
}

describe('imap/search against Dovecot 2.3', { skip: realImapAvailable() ? false : 'real Dovecot imap binary absent or not root' }, () => {
  const responses = new Map<string, { untagged: string[]; tagged: string }>();

  test('dovecot session runs', async () => {
    const home = makePreauthHome(seeds);
    try {
      const cmds: Buffer[] = [utf8Cmd('a EXAMINE INBOX')];
      CRITERIA.forEach((c, i) => {
        cmds.push(utf8Cmd(`s${i} SEARCH CHARSET UTF-8 ${c}`));
        cmds.push(utf8Cmd(`u${i} UID SEARCH CHARSET UTF-8 ${c}`));
        cmds.push(utf8Cmd(`e${i} SEARCH RETURN (MIN MAX COUNT ALL) CHARSET UTF-8 ${c}`));
      });
      ERRORS.forEach((c, i) => {
        cmds.push(utf8Cmd(`x${i} SEARCH ${c}`));
      });
      cmds.push(utf8Cmd('cs SEARCH CHARSET X-NOPE ALL'));
      SORTS.forEach((c, i) => {
        cmds.push(utf8Cmd(`o${i} SORT ${c} UTF-8 ALL`));
      });
      for (const alg of ['ORDEREDSUBJECT', 'REFERENCES', 'REFS']) {
        cmds.push(utf8Cmd(`t${alg} THREAD ${alg} UTF-8 ALL`));
        cmds.push(utf8Cmd(`v${alg} UID THREAD ${alg} UTF-8 ALL`));
      }
      cmds.push(utf8Cmd('z LOGOUT'));
      // Dovecot pipelines the commands and sends tagged replies late, but the result lines
      // (* SEARCH, * ESEARCH, * SORT, * THREAD) come in command order: give them to the
      // commands that ended OK, in order.
      const out = await runPreauthImap(home, cmds);
      const results: string[] = [];
      const order = cmds.map((c) => c.toString('utf8').slice(0, c.indexOf(32)));
      for (const r of splitResponses(out)) {
        const line = r.toString('utf8');
        if (/^\* (SEARCH|ESEARCH|SORT|THREAD)\b/.test(line)) {
          results.push(line);
          continue;
        }
        if (line.startsWith('* ')) continue;
        const tag = line.slice(0, line.indexOf(' '));
        responses.set(tag, { untagged: [], tagged: line.replace(/ \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)/, '').trimEnd() });
      }
      for (const tag of order) {
        const r = responses.get(tag);
        if (tag === 'a' || tag === 'z' || !r || !r.tagged.startsWith(`${tag} OK`)) continue;
        r.untagged.push(results.shift() ?? '');
      }
      assert.ok(responses.get('z')?.tagged.startsWith('z OK'));
    } finally {
      home.cleanup();
    }
  });

  const ctx = { messageCount: messages.length, maxUid: messages.length };
  const untagged = (tag: string, prefix: string) => responses.get(tag)?.untagged.filter((l) => l.startsWith(prefix)) ?? [];

  test('SEARCH, UID SEARCH and ESEARCH results are byte-equal', async () => {
    const diffs: string[] = [];
    for (const [i, c] of CRITERIA.entries()) {
      const prog = compileSearch(parseArgs(c), { charset: 'UTF-8' });
      const hits: number[] = [];
      for (const m of messages) if (await evaluate(prog, m, ctx)) hits.push(m.seq);
      const line = formatSearch(hits);
      const theirs = untagged(`s${i}`, '* SEARCH');
      if (theirs.join('') !== line) diffs.push(`${c}: ours ${JSON.stringify(line)} dovecot ${JSON.stringify(theirs)}`);
      if (untagged(`u${i}`, '* SEARCH').join('') !== line) diffs.push(`UID ${c}`);
      const es = formatEsearch(`e${i}`, false, hits, parseReturnOptions(parseArgs('MIN MAX COUNT ALL')));
      const theirsE = untagged(`e${i}`, '* ESEARCH').join('');
      if (theirsE !== es) diffs.push(`ESEARCH ${c}: ours ${JSON.stringify(es)} dovecot ${JSON.stringify(theirsE)}`);
    }
    assert.deepEqual(diffs, []);
  });

  test('bad criteria get Dovecot tagged texts', () => {
    const diffs: string[] = [];
    ERRORS.forEach((c, i) => {
      let ours = '';
      try {
        compileSearch(parseArgs(c));
        ours = 'compiled';
      } catch (e) {
        if (!(e instanceof SearchError)) throw e;
        ours = e.kind === 'BAD' ? `BAD ${e.badText('SEARCH')}` : e.response;
      }
      // Dovecot ends every tagged text with "(timing)." ; the dot is not part of the message
      const theirs = responses.get(`x${i}`)?.tagged.replace(/^x\d+ /, '').replace(/\.$/, '');
      if (ours !== theirs) diffs.push(`${c}: ours ${ours} dovecot ${theirs}`);
    });
    let cs = '';
    try {
      compileSearch(parseArgs('ALL'), { charset: 'X-NOPE' });
    } catch (e) {
      cs = (e as SearchError).response;
    }
    if (`cs ${cs}.` !== responses.get('cs')?.tagged) diffs.push(`charset: ${cs} vs ${responses.get('cs')?.tagged}`);
    assert.deepEqual(diffs, []);
  });

  test('SORT results are byte-equal', async () => {
    const diffs: string[] = [];
    for (const [i, c] of SORTS.entries()) {
      const sorted = await sortMessages(parseSortCriteria((parseArgs(c)[0] as { items: ImapArg[] }).items), messages);
      const line = formatSearch(
        sorted.map((m) => m.seq),
        { sort: true },
      );
      const theirs = untagged(`o${i}`, '* SORT').join('');
      if (theirs !== line) diffs.push(`${c}: ours ${JSON.stringify(line)} dovecot ${JSON.stringify(theirs)}`);
    }
    assert.deepEqual(diffs, []);
  });

  for (const alg of ['ORDEREDSUBJECT', 'REFERENCES', 'REFS'] as const) {
    test(`THREAD ${alg} is byte-equal`, async () => {
      assert.equal(await threadMessages(alg, messages), untagged(`t${alg}`, '* THREAD').join(''));
      assert.equal(await threadMessages(alg, messages, true), untagged(`v${alg}`, '* THREAD').join(''));
    });
  }
});
