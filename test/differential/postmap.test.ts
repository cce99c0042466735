/**
 * Differential tests: Postern's postmap(1) against the real Postfix 3.7
 * postmap, on the fixture tables in fixtures/maps/postmap/. Each case is a
 * sequence of commands run in two copies of the fixture directory (real
 * tools in one, Postern's in the other); every step's stdout, stderr and
 * exit status must be byte-equal. Builds are checked through what the
 * tables then answer (-s listings, -q lookups), so the file contents,
 * folding, NUL conventions and duplicate handling are covered too.
 *
 * Steps are written as in parseStep (test/helpers/postmap-diff.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, realPostfixAvailable } from '../helpers/postfix-diff.js';
import { limitConcurrency, normaliseStepOutput, parseStep, runBothSteps } from '../helpers/postmap-diff.js';

const FIXTURE = join(REPO, 'fixtures/maps/postmap');

/** [name, steps] */
const CASES: Array<[string, string[]]> = [
  ['build and list', ['postmap lmdb:basic', 'postmap -s lmdb:basic']],
  ['queries', ['postmap lmdb:basic', 'postmap -q User@EXAMPLE.com lmdb:basic', 'postmap -q missing lmdb:basic', 'postmap -q - lmdb:basic < basic.queries']],
  ['-q with several tables', ['postmap lmdb:basic lmdb:quoting', "postmap -q '\"quoted key\"' lmdb:basic lmdb:quoting", 'postmap -q nope lmdb:basic lmdb:quoting', 'postmap -q - lmdb:quoting lmdb:basic < basic.queries']],
  ['no folding (-f)', ['postmap -f lmdb:basic', 'postmap -s lmdb:basic', 'postmap -q user@example.com lmdb:basic', 'postmap -f -q User@Example.com lmdb:basic']],
  ['duplicates: warn, ignore, replace', ['postmap lmdb:dups', 'postmap -s lmdb:dups', 'postmap -w lmdb:dups', 'postmap -s lmdb:dups', 'postmap -r lmdb:dups', 'postmap -s lmdb:dups', 'postmap -q - lmdb:dups < dups.queries']],
  ['NUL conventions', ['postmap -n lmdb:basic', 'postmap -s lmdb:basic', 'postmap -q foo@example.com lmdb:basic', 'postmap -N -q foo@example.com lmdb:basic', 'postmap -n -q foo@example.com lmdb:basic', 'postmap -N lmdb:dups', 'postmap -n -q dup lmdb:dups', 'postmap -q dup lmdb:dups']],
  ['quoting', ['postmap lmdb:quoting', 'postmap -s lmdb:quoting']],
  ['continuation and comments', ['postmap lmdb:continuation', 'postmap -s lmdb:continuation']],
  ['leading whitespace', ['postmap lmdb:leading-space', 'postmap -s lmdb:leading-space']],
  ['CRLF, NUL, escapes', ['postmap lmdb:crlf', 'postmap -s lmdb:crlf']],
  ['malformed lines', ['postmap lmdb:bad-lines', 'postmap -s lmdb:bad-lines', 'postmap -q - lmdb:bad-lines < bad-lines.queries']],
  ['UTF-8 folding', ['postmap lmdb:utf8', 'postmap -s lmdb:utf8', 'postmap -q - lmdb:utf8 < utf8.queries', 'postmap -q STRASSE lmdb:utf8']],
  ['-u: ASCII folding only', ['postmap -u lmdb:utf8', 'postmap -s lmdb:utf8', 'postmap -u -q - lmdb:utf8 < utf8.queries']],
  ['non-UTF-8 input', ['postmap lmdb:nonutf8', 'postmap -s lmdb:nonutf8']],
  ['non-UTF-8 input, smtputf8 off', ['sh cp noutf8/main.cf main.cf', 'postmap lmdb:nonutf8', 'postmap -s lmdb:nonutf8', 'postmap lmdb:utf8', 'postmap -s lmdb:utf8']],
  ['large values', ['postmap lmdb:large', 'sh wc -c < large', 'postmap -q big lmdb:large', 'postmap -q huge lmdb:large', 'postmap -q after lmdb:large']],
  ['key too long', ['postmap lmdb:longkey']],
  ['incremental -i', ['postmap lmdb:basic', 'postmap -i lmdb:basic < insert.in', 'postmap -s lmdb:basic', 'postmap -ir lmdb:basic < insert.in', 'postmap -s lmdb:basic', 'postmap -iw lmdb:dups < insert.in', 'postmap -s lmdb:dups', 'postmap -i lmdb:created < insert.in', 'postmap -s lmdb:created']],
  ['delete -d', ['postmap lmdb:basic', 'postmap -d foo@example.com lmdb:basic', 'postmap -d foo@example.com lmdb:basic', 'postmap -d - lmdb:basic < basic.queries', 'postmap -s lmdb:basic', 'postmap -d x lmdb:newfile', 'postmap -s lmdb:newfile']],
  ['hash: and btree:', ['postmap hash:basic', '~postmap -s hash:basic', 'postmap -q FOO@example.com hash:basic', 'postmap btree:dups', 'postmap -s btree:dups', 'postmap basic', '~postmap -s basic', 'postmap -q - basic < basic.queries']],
  ['texthash:', ['postmap -q foo@example.com texthash:basic', 'postmap -q - texthash:basic < basic.queries', '~postmap -s texthash:basic', 'postmap -q - texthash:dups < dups.queries', 'postmap -q x texthash:bad-lines', 'postmap -q x texthash:missing', 'postmap -d x texthash:basic', 'postmap texthash:basic', 'postmap -q - texthash:utf8 < utf8.queries']],
  ['-F values are files', ['postmap -F lmdb:filevals', 'postmap -F -s lmdb:filevals', 'postmap -s lmdb:filevals', 'postmap -F -q c lmdb:filevals', 'postmap -q c lmdb:filevals']],
  ['-b -h -m message queries', ['postmap -h -q - texthash:headers < msg-simple', 'postmap -b -q - texthash:headers < msg-simple', 'postmap -hb -q - texthash:headers < msg-simple', 'postmap -m -q - texthash:headers < msg-simple', 'postmap -hm -q - texthash:headers < msg-mime', 'postmap -b -q x texthash:headers', 'postmap -b lmdb:basic']],
  ['stale database warning', ['postmap lmdb:basic', "sh touch -d '2 hours ago' basic.lmdb", 'postmap -q foo@example.com lmdb:basic', 'postmap -s lmdb:basic']],
  ['open errors', ['postmap -q x lmdb:missing', 'postmap -s lmdb:missing', 'postmap -q x missing', 'postmap -d x lmdb:/nonexistent/dir/t', 'postmap lmdb:missing', 'postmap lmdb:/nonexistent/x', 'sh : > empty.lmdb', 'postmap -q x lmdb:empty', 'sh cp basic notlmdb.lmdb', 'postmap -q x lmdb:notlmdb', 'postmap -c /nonexistent lmdb:basic']],
  ['map types postmap cannot build', ['postmap nosuchtype:basic', 'postmap regexp:basic', 'postmap texthash:basic', 'postmap cidr:basic', 'postmap static:basic', 'postmap proxy:lmdb:basic', 'postmap -i regexp:basic', 'postmap -q x nosuchtype:basic', 'postmap -s nosuchtype:basic', 'postmap -s static:x']],
  ['usage errors', ['postmap', 'postmap -x', 'postmap -q', 'postmap -q x', 'postmap -s', 'postmap -q x -s lmdb:basic', 'postmap -s -q x lmdb:basic', 'postmap -d x -q y lmdb:basic', 'postmap -b -q x lmdb:basic']],
  ['directory as source', ['sh mkdir dir', 'postmap lmdb:dir', 'postmap -s lmdb:dir']],
];

describe('postmap vs real postmap', { skip: !realPostfixAvailable() && 'real Postfix not installed' }, () => {
  it('every case gives byte-equal output', { timeout: 180_000 }, async () => {
    const results = await limitConcurrency(
      8,
      CASES.map(([name, steps]) => async () => ({ name, both: await runBothSteps(FIXTURE, steps.map(parseStep)) })),
    );
    let compared = 0;
    for (const { name, both } of results) {
      const [real, ours] = both;
      for (let i = 0; i < real.length; i++) {
        const r = real[i]!;
        const o = ours[i]!;
        const what = `${name}: step ${i + 1} (${r.step.tool} ${r.step.args.join(' ')})`;
        assert.equal(normaliseStepOutput(o), normaliseStepOutput(r), `${what}: stdout`);
        assert.equal(o.stderr, r.stderr, `${what}: stderr`);
        assert.equal(o.status, r.status, `${what}: exit status`);
        compared++;
      }
    }
    assert.ok(compared >= 140, `compared ${compared} steps`);
  });
});
