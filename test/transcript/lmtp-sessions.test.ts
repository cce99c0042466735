/**
 * LMTP transcripts against Postern alone: every fixtures/lmtp/*.lmtp script
 * (recorded from a real Dovecot 2.3 LMTP on the same dovecot.conf and
 * passwd-file users) is played against Postern's LMTP server with
 * Postern's auth service on auth-userdb; the replies must match the
 * script's S: lines exactly (session ids masked as <SID>).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authTempDir, type ScratchDir } from '../helpers/dovecot-server.js';
import { expectedLines, LMTP_FIXTURES, type LmtpSide, parseScript, runScript, startOursLmtp } from '../helpers/lmtp-dovecot.js';

describe('lmtp transcripts (Postern)', () => {
  let tmp: ScratchDir;
  let ours: LmtpSide;
  before(async () => {
    tmp = authTempDir('plt-');
    ours = await startOursLmtp(tmp.dir);
  });
  after(async () => {
    await ours?.stop();
    tmp?.cleanup();
  });
  for (const name of readdirSync(LMTP_FIXTURES).filter((n) => n.endsWith('.lmtp')).sort()) {
    it(name, async () => {
      const text = readFileSync(join(LMTP_FIXTURES, name), 'latin1');
      const steps = parseScript(text);
      const unix = /^# socket: unix$/m.test(text);
      const got = await runScript(unix ? { socketPath: ours.socketPath } : { port: ours.port }, steps);
      assert.deepEqual(got, expectedLines(steps));
    });
  }
});
