/**
 * Differential LMTP: a real Dovecot 2.3 LMTP and Postern's, each on the
 * same dovecot.conf template and passwd-file users (fixtures/lmtp), get the
 * same sessions (fixtures/lmtp/*.lmtp, plus a few generated here); the
 * replies must be byte-equal (session ids masked), and afterwards both mail
 * roots must hold the same messages: same folders, UIDs, new/ vs cur/,
 * ,S=/,W= sizes, uidlist record extensions (G references), message bytes
 * (Return-Path/Delivered-To/Received included, the Received id and date
 * masked), maildirsize lines, maildirfolder files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authTempDir, realDovecotRunnable, type ScratchDir } from '../helpers/dovecot-server.js';
import { LMTP_FIXTURES, type LmtpSide, parseScript, runScript, startOursLmtp, startRealLmtp } from '../helpers/lmtp-dovecot.js';
import { maildirSnapshot } from '../helpers/maildir-snapshot.js';

const runnable = realDovecotRunnable();

/** Sessions generated here (no fixture needed): the reply count is what both must send. */
const generated: Record<string, string> = {
  'pipelined-two-transactions': [
    'S: 220',
    'C: LHLO gen.example.test',
    ...Array(5).fill('S: x'),
    'C: MAIL FROM:<g1@remote.test>',
    'C: RCPT TO:<carol@example.test>',
    'C: RCPT TO:<carol+lists@example.test>',
    'C: DATA',
    'S: 1',
    'S: 2',
    'S: 3',
    'S: 4',
    'C: Subject: generated',
    'C: Message-ID: <gen1@remote.test>',
    'C:',
    'C: ..dot',
    'C: .',
    'C: MAIL FROM:<g2@remote.test>',
    'C: RCPT TO:<dave@other.test> ORCPT=rfc822;postmaster@other.test',
    'C: DATA',
    'S: 1',
    'S: 2',
    'S: 3',
    'S: 4',
    'S: 5',
    'C: Subject: second',
    'C:',
    'C: .',
    'S: 1',
    'C: QUIT',
    'S: 1',
    'S: 2',
  ].join('\n'),
};

describe('lmtp differential (real Dovecot 2.3 vs Postern)', { skip: !runnable && 'real Dovecot not runnable here (needs root and the dovecot users)' }, () => {
  let tmpReal: ScratchDir;
  let tmpOurs: ScratchDir;
  let real: LmtpSide;
  let ours: LmtpSide;
  before(async () => {
    tmpReal = authTempDir('plr-');
    tmpOurs = authTempDir('plo-');
    [real, ours] = await Promise.all([startRealLmtp(tmpReal.dir), startOursLmtp(tmpOurs.dir)]);
  });
  after(async () => {
    await Promise.all([real?.stop(), ours?.stop()]);
    tmpReal?.cleanup();
    tmpOurs?.cleanup();
  });

  const scripts: Array<[string, string]> = [
    ...readdirSync(LMTP_FIXTURES)
      .filter((n) => n.endsWith('.lmtp'))
      .sort()
      .map((n): [string, string] => [n, readFileSync(join(LMTP_FIXTURES, n), 'latin1')])
      .filter(([, t]) => !/^# config: /m.test(t)),
    ...Object.entries(generated),
  ];
  for (const [name, text] of scripts) {
    it(`same replies: ${name}`, async () => {
      const steps = parseScript(text);
      const unix = /^# socket: unix$/m.test(text);
      // one side after the other, so deliveries happen in the same order
      const r = await runScript(unix ? { socketPath: real.socketPath } : { port: real.port }, steps);
      const o = await runScript(unix ? { socketPath: ours.socketPath } : { port: ours.port }, steps);
      assert.deepEqual(o, r);
    });
  }

  it('same mail stores afterwards', () => {
    const r = maildirSnapshot(real.mailRoot);
    const o = maildirSnapshot(ours.mailRoot);
    assert.deepEqual(Object.keys(o).sort(), Object.keys(r).sort());
    for (const k of Object.keys(r)) assert.deepEqual(o[k], r[k], `folder ${k}`);
  });
});

/** Fixtures that need their own config ("# config: file"), one real/Postern pair per config. */
const configured = new Map<string, string[]>();
for (const n of readdirSync(LMTP_FIXTURES).filter((x) => x.endsWith('.lmtp')).sort()) {
  const conf = /^# config: (\S+)$/m.exec(readFileSync(join(LMTP_FIXTURES, n), 'latin1'))?.[1];
  if (conf) configured.set(conf, [...(configured.get(conf) ?? []), n]);
}

for (const [conf, names] of configured) {
  describe(`lmtp differential with fixtures/lmtp/${conf}`, { skip: !runnable && 'real Dovecot not runnable here' }, () => {
    let tmpReal: ScratchDir;
    let tmpOurs: ScratchDir;
    let real: LmtpSide;
    let ours: LmtpSide;
    const extra = readFileSync(join(LMTP_FIXTURES, conf), 'utf8');
    before(async () => {
      tmpReal = authTempDir('plr-');
      tmpOurs = authTempDir('plo-');
      [real, ours] = await Promise.all([startRealLmtp(tmpReal.dir, extra), startOursLmtp(tmpOurs.dir, extra)]);
    });
    after(async () => {
      await Promise.all([real?.stop(), ours?.stop()]);
      tmpReal?.cleanup();
      tmpOurs?.cleanup();
    });
    for (const name of names) {
      it(`same replies and mail stores: ${name}`, async () => {
        const text = readFileSync(join(LMTP_FIXTURES, name), 'latin1');
        const steps = parseScript(text);
        const unix = /^# socket: unix$/m.test(text);
        const r = await runScript(unix ? { socketPath: real.socketPath } : { port: real.port }, steps);
        const o = await runScript(unix ? { socketPath: ours.socketPath } : { port: ours.port }, steps);
        assert.deepEqual(o, r);
        const rs = maildirSnapshot(real.mailRoot);
        const os = maildirSnapshot(ours.mailRoot);
        assert.deepEqual(Object.keys(os).sort(), Object.keys(rs).sort());
        for (const k of Object.keys(rs)) assert.deepEqual(os[k], rs[k], `folder ${k}`);
      });
    }
  });
}
