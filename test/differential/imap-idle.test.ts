/**
 * IMAP IDLE differential: a selected, idling session must see another
 * session's APPEND, flag change and EXPUNGE as the real Dovecot 2.3.19
 * sends them (inotify there, the storage's change bus and watch here):
 * FETCH FLAGS first, then EXPUNGE, then EXISTS and RECENT, then
 * "OK Idle completed". Timings normalised.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { idleScenario, type ImapSide, startOursImap, startRealImap } from '../helpers/imap-dovecot.js';

describe('imap IDLE: Postern vs real Dovecot', { skip: !realDovecotRunnable() && 'real dovecot not runnable (needs root and /usr/sbin/dovecot)' }, () => {
  const temps: ScratchDir[] = [];
  const sides: ImapSide[] = [];
  after(async () => {
    for (const s of sides) await s.stop();
    for (const t of temps) t.cleanup();
  });
  it('changes by another session reach the idling one in the same form', async () => {
    const a = authTempDir('imir-');
    const b = authTempDir('imio-');
    temps.push(a, b);
    const real = await startRealImap(a.dir);
    sides.push(real);
    const ours = await startOursImap(b.dir);
    sides.push(ours);
    const want = await idleScenario(real.port);
    assert.ok(want.includes('+ idling') && want.some((l) => /^\* \d+ EXPUNGE$/.test(l)), want.join('\n'));
    assert.deepEqual(await idleScenario(ours.port), want);
  });
});
