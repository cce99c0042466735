/**
 * Transcript tests: Postern's smtpd alone against the dialogues in
 * fixtures/smtpd/dialogues, whose S: (server lines) and L: (log lines) were
 * recorded from the real Postfix 3.7 smtpd with the same main.cf and
 * master.cf services (see test/differential/smtpd-dialogues.test.ts).
 * Needs no real Postfix.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import {
  MemoryCleanup,
  MemoryLog,
  normaliseLog,
  normaliseReplies,
  readDialogues,
  readSmtpdServices,
  runDialogue,
  smtpdMasterCf,
} from '../helpers/smtp-client.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';

const FIX = join(REPO, 'fixtures/smtpd');

describe('smtpd transcripts (recorded from real Postfix)', () => {
  const services = readSmtpdServices(FIX);
  const ours = new Map<string, { smtpd: RunningSmtpd; log: MemoryLog }>();
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smtpd-transcript-'));
    copyFileSync(join(FIX, 'main.cf'), join(dir, 'main.cf'));
    const ports = new Map(services.map((s, i) => [s.name, 40000 + i] as [string, number]));
    writeFileSync(join(dir, 'master.cf'), `${smtpdMasterCf(services, ports)}\n`);
    for (const s of services) {
      const log = new MemoryLog();
      const smtpd = await startSmtpd({ configDir: dir, service: `127.0.0.1:${ports.get(s.name)}`, cleanup: new MemoryCleanup(), log });
      ours.set(s.name, { smtpd, log });
    }
  });

  after(async () => {
    for (const o of ours.values()) await o.smtpd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const { fx } of readDialogues(FIX)) {
    test(fx.name, async () => {
      const o = ours.get(fx.service);
      assert.ok(o, `unknown service ${fx.service}`);
      assert.ok(fx.expect.length > 0, 'fixture has no recorded S: lines');
      const start = o.log.lines.length;
      const out = normaliseReplies(await runDialogue(o.smtpd.port, fx.steps, { localAddress: fx.from }));
      for (let i = 0; i < 100 && !o.log.lines.slice(start).some((l) => l.startsWith('disconnect from')); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(out, fx.expect, 'server replies');
      assert.deepEqual(normaliseLog(o.log.lines.slice(start)), fx.log, 'log lines');
    });
  }
});
