/**
 * test/unit/man-pages.test.ts: the manual pages in man/. Every command in
 * package.json "bin" has a page and package.json "man" lists every page;
 * postconf(5) and postern(5) are what man-catalogue.ts makes from the
 * parameter tables (so a parameter added to a catalogue without
 * regenerating them — `node man/generate.mjs` — fails here), every
 * catalogue parameter has an entry and every Postern parameter a
 * description; every page renders with groff without a warning, and
 * `man -l man/man1/postqueue.1` shows the page.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtinParams } from '../../compat/postfix/params/index.js';
import { postconfManual, posternManual } from '../../src/master/man-catalogue.js';
import { POSTERN_PARAMS } from '../../src/master/postern-params.js';
import { REPO } from '../helpers/postfix-diff.js';

const MAN = join(REPO, 'man');
const pages = () =>
  readdirSync(MAN)
    .filter((d) => /^man\d$/.test(d))
    .flatMap((d) => readdirSync(join(MAN, d)).map((f) => `./man/${d}/${f}`))
    .sort();
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; man: string[] };

test('a page for every command, and package.json lists every page', () => {
  for (const name of Object.keys(pkg.bin)) assert.ok(existsSync(join(MAN, 'man1', `${name}.1`)), `man1/${name}.1`);
  assert.deepEqual([...pkg.man].sort(), pages());
});

test('postconf(5) and postern(5) are generated from the catalogues', () => {
  const postconf = readFileSync(join(MAN, 'man5/postconf.5'), 'utf8');
  assert.equal(postconf, postconfManual(), 'man/man5/postconf.5 is stale: run node man/generate.mjs');
  const entries = new Set([...postconf.matchAll(/^\.B (\S+)$/gm)].map((m) => m[1]));
  const missing = [...builtinParams().keys()].filter((n) => !entries.has(n));
  assert.deepEqual(missing, [], 'catalogue parameters without an entry in postconf(5)');
  assert.ok(builtinParams().size > 800);

  const postern = readFileSync(join(MAN, 'man5/postern.5'), 'utf8');
  assert.equal(postern, posternManual(), 'man/man5/postern.5 is stale: run node man/generate.mjs');
  for (const p of POSTERN_PARAMS) {
    assert.ok(p.doc.length > 20, `${p.name} has no description`);
    assert.match(postern, new RegExp(`^\\.B ${p.name}$`, 'm'));
    assert.equal(builtinParams().has(p.name), false, `${p.name} must stay out of the Postfix catalogue`);
  }
});

test('every page renders without warnings', (ctx) => {
  if (spawnSync('groff', ['--version']).status !== 0) return ctx.skip('groff is not installed');
  for (const page of pages()) {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(REPO, page)], { encoding: 'utf8' });
    assert.equal(r.status, 0, page);
    assert.equal(r.stderr, '', page);
  }
});

test('man -l renders postqueue(1)', (ctx) => {
  const r = spawnSync('man', ['-l', join(MAN, 'man1/postqueue.1')], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
  if (r.error) return ctx.skip('man is not installed');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^NAME\n {7}postqueue - list and flush the mail queue$/m);
  assert.match(r.stdout, /^ {7}-p {5}List the queue/m);
});
