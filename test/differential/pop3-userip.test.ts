/**
 * Differential POP3 with several sessions at once, real Dovecot 2.3 vs
 * Postern on copies of the same Maildirs (threeSessions in
 * test/helpers/pop3-dovecot.ts): mail_max_userip_connections = 1 refuses B
 * (same user, same IP) and lets C in once A is gone.
 * Replies and log lines must be equal (pids, session ids masked).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { pop3LogLines, startOursPop3, startRealPop3, threeSessions } from '../helpers/pop3-dovecot.js';

const runnable = realDovecotRunnable();

describe('pop3 concurrent sessions (real Dovecot 2.3 vs Postern)', { skip: !runnable && 'real Dovecot not runnable here (needs root and the dovecot users)' }, () => {
  const temps: ScratchDir[] = [];
  after(() => {
    for (const t of temps) t.cleanup();
  });
  it('mail_max_userip_connections = 1', async () => {
    const a = authTempDir('pcr-');
    const b = authTempDir('pco-');
    temps.push(a, b);
    const [real, ours] = await Promise.all([startRealPop3(a.dir, 'mail_max_userip_connections = 1\n'), startOursPop3(b.dir, 'mail_max_userip_connections = 1\n')]);
    try {
      const [r, o] = await Promise.all([threeSessions(real), threeSessions(ours)]);
      assert.deepEqual(o, r, `real: ${r.join(' | ')}`);
      assert.deepEqual(r, [
        '+OK',
        '+OK Logged in.',
        '+OK Dovecot (Debian) ready.',
        '+OK',
        '+OK 7 1055',
        '+OK Logging out.',
        '-ERR [IN-USE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)',
        '<closed>',
        '+OK',
        '+OK Logged in.',
        '+OK Logging out.',
      ]);
      // the sessions log concurrently (the real ones from different processes): compare as sets
      assert.deepEqual(pop3LogLines(ours.log()).sort(), pop3LogLines(real.log()).sort());
    } finally {
      await Promise.all([real.stop(), ours.stop()]);
    }
  });
});
