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

/** Fixtures grouped by the extra config they ask for ("# config: file"). */
function fixturesByConfig(): Map<string, Array<[string, string]>> {
  const m = new Map<string, Array<[string, string]>>();
  for (const name of readdirSync(LMTP_FIXTURES).filter((n) => n.endsWith('.lmtp')).sort()) {
    const text = readFileSync(join(LMTP_FIXTURES, name), 'latin1');
    const conf = /^# config: (\S+)$/m.exec(text)?.[1] ?? '';
    if (!m.has(conf)) m.set(conf, []);
    m.get(conf)?.push([name, text]);
  }
  return m;
}

for (const [conf, scripts] of fixturesByConfig()) {
  describe(`lmtp transcripts (Postern)${conf ? ` with ${conf}` : ''}`, () => {
    let tmp: ScratchDir;
    let ours: LmtpSide;
    before(async () => {
      tmp = authTempDir('plt-');
      ours = await startOursLmtp(tmp.dir, conf ? readFileSync(join(LMTP_FIXTURES, conf), 'utf8') : '');
    });
    after(async () => {
      await ours?.stop();
      tmp?.cleanup();
    });
    for (const [name, text] of scripts) {
      it(name, async () => {
        const steps = parseScript(text);
        const unix = /^# socket: unix$/m.test(text);
        const got = await runScript(unix ? { socketPath: ours.socketPath } : { port: ours.port }, steps);
        assert.deepEqual(got, expectedLines(steps));
      });
    }
  });
}
