/**
 * Differential POP3: a real Dovecot 2.3 (pop3-login + pop3) and Postern's,
 * on the same dovecot.conf template and passwd-file users, each on its own
 * copy of the same Maildirs (fixtures/pop3/mail, written by a real Dovecot,
 * with saved-UIDL P records), run the same sessions (fixtures/pop3/*.pop3;
 * "# config: …" lines add settings). The replies must be byte-equal and
 * equal to the script's expectations, the log lines equal (pids, session
 * ids and seconds masked), and afterwards both mail roots equal: new/ vs
 * cur/, flags in file names, uidlist records, message bytes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { expectedLines, parseScript, runScript } from '../helpers/lmtp-dovecot.js';
import { maildirSnapshot } from '../helpers/maildir-snapshot.js';
import { POP3_FIXTURES, maskPop3, type Pop3Side, pop3LogLines, seedMail, startOursPop3, startRealPop3 } from '../helpers/pop3-dovecot.js';

const runnable = realDovecotRunnable();

const scripts = readdirSync(POP3_FIXTURES)
  .filter((n) => n.endsWith('.pop3'))
  .sort()
  .map((n) => {
    const text = readFileSync(join(POP3_FIXTURES, n), 'latin1');
    const config = [...text.matchAll(/^# config: (.*)$/gm)].map((m) => m[1]).join('\n');
    const from = /^# from: (\S+)$/m.exec(text)?.[1];
    return { name: n, text, config: config ? `${config}\n` : '', ...(from ? { from } : {}) };
  });
const configs = [...new Set(scripts.map((s) => s.config))];

describe('pop3 differential (real Dovecot 2.3 vs Postern)', { skip: !runnable && 'real Dovecot not runnable here (needs root and the dovecot users)' }, () => {
  const temps: ScratchDir[] = [];
  after(() => {
    for (const t of temps) t.cleanup();
  });
  for (const config of configs) {
    describe(config ? `with ${config.trim().replace(/\n/g, '; ')}` : 'default settings', () => {
      let real: Pop3Side;
      let ours: Pop3Side;
      const pair = async () => {
        if (real && ours) return;
        const a = authTempDir('ppr-');
        const b = authTempDir('ppo-');
        temps.push(a, b);
        [real, ours] = await Promise.all([startRealPop3(a.dir, config), startOursPop3(b.dir, config)]);
      };
      after(async () => {
        await Promise.all([real?.stop(), ours?.stop()]);
      });
      for (const s of scripts.filter((x) => x.config === config)) {
        it(s.name, async () => {
          await pair();
          for (const side of [real, ours]) {
            rmSync(side.mailRoot, { recursive: true, force: true });
            seedMail(side.dir);
          }
          const logBefore = [pop3LogLines(real.log()).length, pop3LogLines(ours.log()).length];
          const steps = parseScript(s.text);
          const [a, b] = await Promise.all([runScript({ ...real, localAddress: s.from }, steps), runScript({ ...ours, localAddress: s.from }, steps)]);
          assert.deepEqual(maskPop3(b), maskPop3(a), 'replies differ from the real Dovecot');
          assert.deepEqual(maskPop3(a), maskPop3(expectedLines(steps)), 'the real Dovecot no longer matches the script');
          // both log their last line as the connection closes
          await new Promise((r) => setTimeout(r, 200));
          assert.deepEqual(pop3LogLines(ours.log()).slice(logBefore[1]), pop3LogLines(real.log()).slice(logBefore[0]), 'log lines differ');
          assert.deepEqual(maildirSnapshot(ours.mailRoot), maildirSnapshot(real.mailRoot), 'Maildirs differ after the session');
        });
      }
    });
  }
});
