/**
 * postern install / uninstall on a scratch root that looks like a Debian
 * Postfix + Dovecot system (regular files, and mailq/newaliases as
 * symlinks to ../sbin/sendmail): the dry run changes nothing, the install
 * links every command name to this checkout and keeps each original
 * beside it, the links run Postern, a second install has nothing to do,
 * uninstall restores every original byte for byte (symlinks as symlinks),
 * an install that would lose a file refuses before touching anything, and
 * an uninstall leaves alone a path a package upgrade replaced.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_PATHS } from '../../src/install/plan.js';
import { REPO } from '../helpers/postfix-diff.js';

const postern = (args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin/postern'), ...args], { encoding: 'utf8' });

/** Every file and link under root: path -> "file:<content>" or "link:<target>". */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isSymbolicLink()) out[p.slice(root.length)] = `link:${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[p.slice(root.length)] = `file:${readFileSync(p, 'utf8')}`;
    }
  };
  walk(root);
  return out;
}

describe('postern install / uninstall', () => {
  let root: string;
  let original: Record<string, string>;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'postern-install-'));
    for (const [, path] of SYSTEM_PATHS) {
      const file = join(root, path);
      mkdirSync(dirname(file), { recursive: true });
      if (path === '/usr/bin/mailq' || path === '/usr/bin/newaliases' || path === '/usr/lib/sendmail') symlinkSync('../sbin/sendmail', file);
      else writeFileSync(file, `#!/bin/sh\necho real ${path}\n`, { mode: 0o755 });
    }
    original = snapshot(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a dry run prints the plan and changes nothing', () => {
    const r = postern(['install', '--dry-run', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^would move \/usr\/sbin\/postqueue to \/usr\/sbin\/postqueue\.postern-orig, link \/usr\/sbin\/postqueue -> .*\/bin\/postqueue$/m);
    assert.match(r.stdout, /^would write \/etc\/systemd\/system\/postern-dovecot\.service$/m);
    assert.deepEqual(snapshot(root), original);
  });

  it('install links every command and keeps the originals; the links run Postern', () => {
    const r = postern(['install', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    for (const [name, path] of SYSTEM_PATHS) {
      assert.ok(lstatSync(join(root, path)).isSymbolicLink(), path);
      assert.equal(readlinkSync(join(root, path)), join(REPO, 'bin', name), path);
      assert.equal(original[path], snapshot(root)[`${path}.postern-orig`], `${path} backup`);
    }
    const unit = readFileSync(join(root, 'etc/systemd/system/postern-postfix.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${join(REPO, 'bin/postfix')} start-fg$`, 'm'));
    const run = spawnSync(join(root, 'usr/sbin/postconf'), ['-d', 'mail_version'], { encoding: 'utf8' });
    assert.equal(run.stdout, spawnSync(process.execPath, [join(REPO, 'bin/postconf'), '-d', 'mail_version'], { encoding: 'utf8' }).stdout);
    assert.match(run.stdout, /^mail_version = /);
  });

  it('a second install has nothing to do', () => {
    const before = snapshot(root);
    const r = postern(['install', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /already installed, nothing to do/);
    assert.deepEqual(snapshot(root), before);
  });

  it('uninstall restores every original exactly, and removes its units and manifest', () => {
    const dry = postern(['uninstall', '--dry-run', '--root', root]);
    assert.match(dry.stdout, /^would restore \/usr\/sbin\/postqueue from \/usr\/sbin\/postqueue\.postern-orig$/m);
    const r = postern(['uninstall', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(snapshot(root), original);
  });

  it('refuses, changing nothing, when a backup would be overwritten', () => {
    writeFileSync(join(root, 'usr/sbin/postmap.postern-orig'), 'left over\n');
    const before = snapshot(root);
    const r = postern(['install', '--root', root]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'postern: fatal: /usr/sbin/postmap.postern-orig already exists and /usr/sbin/postmap is not Postern\'s: resolve this by hand first\n');
    assert.deepEqual(snapshot(root), before);
    rmSync(join(root, 'usr/sbin/postmap.postern-orig'));
  });

  it('uninstall leaves a path that a package upgrade replaced, and keeps its backup', () => {
    assert.equal(postern(['install', '--root', root]).status, 0);
    rmSync(join(root, 'usr/sbin/postsuper'));
    writeFileSync(join(root, 'usr/sbin/postsuper'), 'upgraded\n');
    const r = postern(['uninstall', '--root', root]);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'postern: warning: /usr/sbin/postsuper is no longer Postern\'s link: left in place, the original stays at /usr/sbin/postsuper.postern-orig\n');
    assert.equal(readFileSync(join(root, 'usr/sbin/postsuper'), 'utf8'), 'upgraded\n');
    assert.equal(`file:${readFileSync(join(root, 'usr/sbin/postsuper.postern-orig'), 'utf8')}`, original['/usr/sbin/postsuper']);
    assert.equal(snapshot(root)['/usr/sbin/postqueue'], original['/usr/sbin/postqueue']);
    // The manifest keeps the step it could not undo.
    assert.match(readFileSync(join(root, 'var/lib/postern/install.json'), 'utf8'), /"\/usr\/sbin\/postsuper"/);
  });
});
