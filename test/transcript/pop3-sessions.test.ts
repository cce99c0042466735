/**
 * POP3 transcripts: Postern's POP3 (with Postern's auth service) plays the
 * sessions of fixtures/pop3/*.pop3 (the ones the differential test also
 * checks against a real Dovecot) and must send exactly the expected lines.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { authTempDir, type ScratchDir } from '../helpers/dovecot-server.js';
import { expectedLines, parseScript, runScript } from '../helpers/lmtp-dovecot.js';
import { maskPop3, POP3_FIXTURES, type Pop3Side, seedMail, startOursPop3 } from '../helpers/pop3-dovecot.js';

const scripts = readdirSync(POP3_FIXTURES)
  .filter((n) => n.endsWith('.pop3'))
  .sort()
  .map((n) => {
    const text = readFileSync(join(POP3_FIXTURES, n), 'latin1');
    const config = [...text.matchAll(/^# config: (.*)$/gm)].map((m) => m[1]).join('\n');
    const from = /^# from: (\S+)$/m.exec(text)?.[1];
    return { name: n, text, config: config ? `${config}\n` : '', ...(from ? { from } : {}) };
  });

describe('pop3 transcripts (Postern)', () => {
  const temps: ScratchDir[] = [];
  const sides = new Map<string, Pop3Side>();
  after(async () => {
    for (const s of sides.values()) await s.stop();
    for (const t of temps) t.cleanup();
  });
  for (const s of scripts) {
    it(s.name, async () => {
      let side = sides.get(s.config);
      if (!side) {
        const t = authTempDir('pto-');
        temps.push(t);
        side = await startOursPop3(t.dir, s.config);
        sides.set(s.config, side);
      }
      rmSync(side.mailRoot, { recursive: true, force: true });
      seedMail(side.dir);
      const steps = parseScript(s.text);
      assert.deepEqual(maskPop3(await runScript({ ...side, localAddress: s.from }, steps)), maskPop3(expectedLines(steps)));
    });
  }
});
