/**
 * IMAP differential: the scripts in fixtures/imap/*.cmds (pre-login
 * dialogue, login failures, SASL, and a long selected-state session) are
 * played against a real Dovecot 2.3.19 (imap-login + imap on a loopback
 * port, passwd-file auth) and against Postern's IMAP with Postern's auth
 * service, each on its own copy of the same Maildirs. Server lines must be
 * equal; normalised: command timings "(x + y [+ z] secs)" (run-time
 * figures), and in the log the pids, session ids and out= (its byte count
 * includes those timing texts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { IMAP_FIXTURES, type ImapSide, maskImap, parseCommands, playCommands, startOursImap, startRealImap } from '../helpers/imap-dovecot.js';
import { seedMail } from '../helpers/pop3-dovecot.js';

const scripts = readdirSync(IMAP_FIXTURES)
  .filter((n) => n.endsWith('.cmds'))
  .sort();

export function imapLogLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /imap(-login)?[:(]/.test(l))
    .map((l) =>
      l
        .replace(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d /, '')
        .replace(/mpid=\d+/, 'mpid=<pid>')
        .replace(/<\d+><[^>]*>/, '<pid><session>')
        .replace(/session=<[^>]*>/, 'session=<id>')
        .replace(/ out=\d+/, ' out=<n>')
        .replace(/in \d+ secs/, 'in <n> secs')
        .replace(/finished \d+\.\d+ secs ago/, 'finished <n> secs ago'),
    );
}

describe('imap sessions: Postern vs real Dovecot', { skip: !realDovecotRunnable() && 'real dovecot not runnable (needs root and /usr/sbin/dovecot)' }, () => {
  const temps: ScratchDir[] = [];
  let real: ImapSide;
  let ours: ImapSide;
  before(async () => {
    const a = authTempDir('imr-');
    const b = authTempDir('imo-');
    temps.push(a, b);
    real = await startRealImap(a.dir);
    ours = await startOursImap(b.dir);
  });
  after(async () => {
    await real?.stop();
    await ours?.stop();
    for (const t of temps) t.cleanup();
  });
  for (const name of scripts) {
    it(name, async () => {
      const cmds = parseCommands(readFileSync(join(IMAP_FIXTURES, name), 'utf8'));
      const out: string[][] = [];
      for (const side of [real, ours]) {
        rmSync(side.mailRoot, { recursive: true, force: true });
        seedMail(side.dir);
        out.push(maskImap(await playCommands(side.port, cmds)));
      }
      assert.deepEqual(out[1], out[0]);
    });
  }
  it('log lines of all sessions (imap-login Login/Disconnected, imap Logged out)', async () => {
    // the real log process writes asynchronously: let it catch up
    await new Promise((r) => setTimeout(r, 300));
    const rl = imapLogLines(real.log());
    assert.ok(rl.length >= scripts.length);
    assert.deepEqual(imapLogLines(ours.log()), rl);
  });
});
