/**
 * IMAP transcripts: Postern's IMAP (with Postern's auth service) plays the
 * scripts of fixtures/imap/*.cmds and must send exactly the lines in the
 * matching .expected file (recorded from a real Dovecot 2.3.19 on the same
 * Maildirs; command timings shown as "(<t>)").
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authTempDir, type ScratchDir } from '../helpers/dovecot-server.js';
import { IMAP_FIXTURES, type ImapSide, maskImap, parseCommands, playCommands, startOursImap } from '../helpers/imap-dovecot.js';
import { seedMail } from '../helpers/pop3-dovecot.js';

const scripts = readdirSync(IMAP_FIXTURES)
  .filter((n) => n.endsWith('.cmds'))
  .sort();

describe('imap transcripts (Postern)', () => {
  let tmp: ScratchDir;
  let ours: ImapSide;
  before(async () => {
    tmp = authTempDir('imt-');
    ours = await startOursImap(tmp.dir);
  });
  after(async () => {
    await ours?.stop();
    tmp?.cleanup();
  });
  for (const name of scripts) {
    it(name, async () => {
      rmSync(ours.mailRoot, { recursive: true, force: true });
      seedMail(ours.dir);
      const got = maskImap(await playCommands(ours.port, parseCommands(readFileSync(join(IMAP_FIXTURES, name), 'utf8'))));
      const want = readFileSync(join(IMAP_FIXTURES, name.replace(/\.cmds$/, '.expected')), 'latin1').replace(/\n$/, '').split('\n');
      assert.deepEqual(got, want);
    });
  }
});
