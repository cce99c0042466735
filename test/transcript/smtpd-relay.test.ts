/**
 * The open-relay battery (fixtures/smtpd/relay-tricks.txt): every trick,
 * each in its own session from a client outside mynetworks, must be
 * refused by Postern's smtpd, and nothing reaches the queue. The same
 * tricks are compared byte for byte with the real Postfix in the
 * relay-battery dialogue (test/differential/smtpd-dialogues.test.ts).
 * As a control, a trusted client (127.0.0.2 in mynetworks) may relay.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import { MemoryCleanup, MemoryLog, runDialogue } from '../helpers/smtp-client.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';

const FIX = join(REPO, 'fixtures/smtpd');
const TRICKS = readFileSync(join(FIX, 'relay-tricks.txt'), 'latin1')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('open-relay battery', () => {
  let dir = '';
  let smtpd: RunningSmtpd;
  const cleanup = new MemoryCleanup();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smtpd-relay-'));
    copyFileSync(join(FIX, 'main.cf'), join(dir, 'main.cf'));
    writeFileSync(join(dir, 'master.cf'), '');
    smtpd = await startSmtpd({ configDir: dir, cleanup, log: new MemoryLog() });
  });

  after(async () => {
    await smtpd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('at least 20 tricks', () => {
    assert.ok(TRICKS.length >= 20, `${TRICKS.length} tricks`);
  });

  for (const trick of TRICKS) {
    test(`refused: RCPT TO:${trick}`, async () => {
      const out = await runDialogue(smtpd.port, ['EHLO client.example.test', 'MAIL FROM:<someone@outside.test>', `RCPT TO:${trick}`, 'QUIT']);
      const rcptReply = out[out.length - 3];
      assert.match(rcptReply, /^5\d\d /, `RCPT reply: ${rcptReply}`);
    });
  }

  test('nothing was queued', () => {
    assert.equal(cleanup.messages.length, 0);
  });

  test('control: a client in mynetworks relays', async () => {
    const out = await runDialogue(
      smtpd.port,
      ['EHLO client.example.test', 'MAIL FROM:<someone@example.org>', 'RCPT TO:<victim@outside.test>', 'QUIT'],
      { localAddress: '127.0.0.2' },
    );
    assert.equal(out[out.length - 3], '250 2.1.5 Ok');
  });
});
