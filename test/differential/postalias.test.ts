/**
 * Differential tests: Postern's postalias(1) and newaliases(1) against
 * the real Postfix 3.7 tools, on the aliases(5) fixtures in
 * fixtures/maps/postmap/ (name:value syntax, quoting, :include:, |command,
 * /file, owner- entries, continuation lines, bad lines, the "@" and NIS
 * entries postalias adds, alias_database). Byte-equal stdout, stderr and
 * exit status per step; YP_LAST_MODIFIED's timestamp is masked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, realPostfixAvailable } from '../helpers/postfix-diff.js';
import { limitConcurrency, normaliseStepOutput, parseStep, runBothSteps } from '../helpers/postmap-diff.js';

const FIXTURE = join(REPO, 'fixtures/maps/postmap');

const CASES: Array<[string, string[]]> = [
  ['build and list', ['postalias lmdb:aliases', 'postalias -s lmdb:aliases']],
  ['aliases(5) syntax', ['postalias lmdb:aliases-syntax', 'postalias -s lmdb:aliases-syntax', 'postalias -q - lmdb:aliases-syntax < aliases.queries', 'postalias -q prog lmdb:aliases-syntax', 'postmap -s lmdb:aliases-syntax']],
  ['options', ['postalias -f lmdb:aliases', 'postalias -s lmdb:aliases', 'postalias -N lmdb:aliases', 'postalias -q upper lmdb:aliases', 'postalias -n lmdb:aliases', 'postalias -s lmdb:aliases', 'postalias -w lmdb:aliases', 'postalias -r lmdb:aliases', 'postalias -s lmdb:aliases']],
  ['incremental and delete', ['postalias lmdb:aliases', 'postalias -i lmdb:aliases < aliases-insert.in', 'postalias -s lmdb:aliases', 'postalias -d dup lmdb:aliases', 'postalias -d dup lmdb:aliases', 'postalias -d - lmdb:aliases < aliases.queries', 'postalias -s lmdb:aliases']],
  ['hash: and default type', ['postalias aliases', '~postalias -s aliases', 'postalias -q - hash:aliases < aliases.queries', 'postalias btree:aliases-syntax', 'postalias -s btree:aliases-syntax']],
  ['newaliases', ['newaliases', 'postalias -s lmdb:aliases', '~postalias -s hash:aliases2', 'newaliases extra', 'newaliases -oAlmdb:aliases-syntax', 'postalias -q prog lmdb:aliases-syntax']],
  ['smtputf8 off', ['sh cp noutf8/main.cf main.cf', 'postalias lmdb:aliases-syntax', 'postalias -s lmdb:aliases-syntax', 'newaliases', 'postalias -q root lmdb:aliases']],
  ['errors', ['postalias', 'postalias -x', 'postalias -q x', 'postalias -q x lmdb:missing', 'postalias lmdb:missing', 'postalias regexp:aliases', 'postalias proxy:lmdb:aliases', 'postalias -s -q x lmdb:aliases']],
];

describe('postalias and newaliases vs the real ones', { skip: !realPostfixAvailable() && 'real Postfix not installed' }, () => {
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
    assert.ok(compared >= 45, `compared ${compared} steps`);
  });
});
