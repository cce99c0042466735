/**
 * Milter parity with the real Postfix 3.7 smtpd: the same SMTP dialogue and
 * the same fake-milter script (test/helpers/fake-milter.ts) against both;
 * the SMTP replies, the milter packets each MTA sent, and the milter log
 * lines must be equal.
 *
 * Normalised: client ports (in SMFIC_CONNECT and logs), queue IDs (the {i}
 * macro, "queued as", log prefixes), Message-Id/Date values that carry the
 * queue ID and the time, and log timestamps/pids (the real log lines are cut
 * after "postfix/<daemon>[pid]: ").
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { openCleanup } from '../../src/cleanup/service.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';
import {
  accept,
  addHeader,
  addRcpt,
  addRcptPar,
  delRcpt,
  chgHeader,
  cont,
  insHeader,
  discard,
  type FakeMilter,
  type Packet,
  quarantine,
  rawPacket,
  reject,
  replycode,
  startFakeMilter,
  tempfail,
} from '../helpers/fake-milter.js';
import { REPO } from '../helpers/postfix-diff.js';
import { makeInstance, normalisePostcat, realPostcat } from '../helpers/postfix-queue.js';
import { freePort, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { MemoryLog, runDialogue } from '../helpers/smtp-client.js';

const usable = realPostfixUsable();
const MAIN = readFileSync(join(REPO, 'fixtures/smtpd/main.cf'), 'latin1')
  .split('\n')
  .filter((l) => !/^(compatibility_level|inet_protocols)\b/.test(l))
  .join('\n');

/** Scripts: event letter -> reply packets (default continue). */
type Script = Partial<Record<string, Packet[] | 'hang' | 'close'>>;
let current: Script = {};
const replies = (event: string) => current[event];

const MSG = ['EHLO client.example.test', 'MAIL FROM:<alice@example.org> SIZE=100', 'RCPT TO:<bob@mx.example.test>', 'DATA'];
const BODY = { raw: 'Subject: hi\r\nFrom: alice@example.org\r\nTo: bob@mx.example.test\r\n\r\nhello\r\n.\r\n', replies: 1 };

const ALL_SCENARIOS: Array<{ name: string; script: Script; steps: Parameters<typeof runDialogue>[1]; postcat?: boolean }> = [
  { name: 'all continue, RSET', script: {}, steps: [...MSG.slice(0, 3), 'RSET', 'QUIT'] },
  { name: 'all continue, full message', script: {}, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'reject at CONNECT', script: { C: [reject()] }, steps: ['EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT'] },
  { name: 'tempfail at CONNECT', script: { C: [tempfail()] }, steps: ['HELO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT'] },
  { name: 'accept at CONNECT', script: { C: [accept()] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'reject at HELO', script: { H: [reject()] }, steps: ['EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT'] },
  { name: 'tempfail at MAIL', script: { M: [tempfail()] }, steps: [...MSG.slice(0, 3), 'QUIT'] },
  { name: 'reject at RCPT', script: { R: [reject()] }, steps: [...MSG.slice(0, 3), 'RCPT TO:<carol@mx.example.test>', 'QUIT'] },
  { name: 'replycode at RCPT', script: { R: [replycode('554-5.7.1 first 100%%\r\n554 5.7.1 second')] }, steps: [...MSG.slice(0, 3), 'QUIT'] },
  { name: 'malformed replycode', script: { M: [replycode('250 ok')] }, steps: [...MSG.slice(0, 2), 'QUIT'] },
  { name: 'discard at MAIL', script: { M: [discard()] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'reject at DATA', script: { T: [reject()] }, steps: [...MSG, 'QUIT'] },
  { name: 'reject at end of message', script: { E: [replycode('550 5.7.1 spam detected')] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'tempfail at end of message', script: { E: [tempfail()] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'discard at end of message', script: { E: [discard()] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'quarantine at end of message', script: { E: [quarantine('suspicious'), accept()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'reject at end of header', script: { N: [reject()] }, steps: [...MSG, BODY, 'QUIT'] },
  { name: 'add header', script: { E: [addHeader('X-Milter', 'yes'), accept()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  {
    name: 'add a multi-line header',
    script: { E: [addHeader('X-Spam-Report', 'line one\n\tline two'), accept()] },
    steps: [...MSG, BODY, 'QUIT'],
    postcat: true,
  },
  { name: 'insert header at the top', script: { E: [insHeader(0, 'X-Top', 'first'), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'insert header at index 2', script: { E: [insHeader(2, 'X-Two', 'second'), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'change Subject', script: { E: [chgHeader(1, 'Subject', 'changed'), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'delete To', script: { E: [chgHeader(1, 'To', ''), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'change a missing header adds it', script: { E: [chgHeader(1, 'X-None', 'new'), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'delete our Received: header (hidden: no effect)', script: { E: [chgHeader(1, 'Received', ''), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  { name: 'add recipient', script: { E: [addRcpt('<carol@mx.example.test>'), cont()] }, steps: [...MSG, BODY, 'QUIT'], postcat: true },
  {
    name: 'add recipient with ESMTP args, plus a header',
    script: { E: [addRcptPar('<dave@example.org>', 'NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dave+2B@example.org FOO=bar'), addHeader('X-A', 'b'), cont()] },
    steps: [...MSG, BODY, 'QUIT'],
    postcat: true,
  },
  { name: 'delete recipient', script: { E: [delRcpt('<bob@mx.example.test>'), cont()] }, steps: [...MSG.slice(0, 3), 'RCPT TO:<carol@mx.example.test>', 'DATA', BODY, 'QUIT'], postcat: true },
  { name: 'milter dies at RCPT', script: { R: 'close' }, steps: [...MSG.slice(0, 3), 'RCPT TO:<carol@mx.example.test>', 'QUIT'] },
  { name: 'milter hangs at MAIL (command timeout)', script: { M: 'hang' }, steps: [...MSG.slice(0, 3), 'QUIT'] },
  { name: 'milter speaks garbage at HELO', script: { H: [rawPacket('Z', Buffer.from('junk'))] }, steps: [...MSG.slice(0, 2), 'QUIT'] },
  { name: 'CONTINUE with data bytes', script: { M: [rawPacket('c', Buffer.from('x'))] }, steps: [...MSG.slice(0, 2), 'QUIT'] },
  { name: 'unknown command', script: { U: [replycode('502 5.5.2 not here')] }, steps: ['HELO x.example.test', 'FOO bar', 'QUIT'] },
];

// MILTER_ONLY=<substring> runs the matching scenarios only (debugging).
const SCENARIOS = ALL_SCENARIOS.filter((s) => !process.env.MILTER_ONLY || s.name.includes(process.env.MILTER_ONLY));

function normPackets(p: string[], port: number): string[] {
  return p.map((l) =>
    l
      .replace(new RegExp(`\\b${port}\\b`, 'g'), 'PORT')
      .replace(/ 4 \d+ 127\.0\.0\.1$/, ' 4 CPORT 127.0.0.1')
      .replace(/\bi=[0-9A-Za-z]+/g, 'i=QID')
      .replace(/<\d{14}\.[0-9A-Za-z]+@/g, '<MSGID@')
      .replace(/^L Date .*/, 'L Date DATE')
      .replace(/v=Postfix [0-9.]+/, 'v=Postfix'),
  );
}

function normReplies(r: string[]): string[] {
  return r.filter((l) => l !== '[closed]').map((l) => l.replace(/queued as [0-9A-Za-z]+/, 'queued as QID'));
}

function normLog(lines: string[]): string[] {
  return lines
    .filter((l) => /milter|warning/.test(l) && !/public\/qmgr/.test(l))
    // The log writer shows control characters as '?'.
    .map((l) => l.replace(/[\r\n]/g, '?'))
    .map((l) => l.replace(/^(warning: )?[0-9A-F]{6,}: /, '$1QID: ').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT'));
}

describe('milter differential: Postern smtpd vs real Postfix smtpd', { skip: usable ? false : 'real Postfix not usable (needs /usr/sbin/postfix and root)' }, () => {
  let real: RealPostfix;
  let realPort = 0;
  let realMilter: FakeMilter;
  let ourMilter: FakeMilter;
  let ours: RunningSmtpd;
  let ourLog: MemoryLog;
  let dir = '';

  before(async () => {
    realMilter = await startFakeMilter({ replies: (e) => replies(e) });
    ourMilter = await startFakeMilter({ replies: (e) => replies(e) });
    realPort = await freePort();
    real = await startRealPostfix({
      main: `${MAIN}\nsmtpd_milters = inet:127.0.0.1:${realMilter.port}\nmilter_command_timeout = 2s\n`,
      services: `127.0.0.1:${realPort} inet n - n - - smtpd`,
    });
    dir = mkdtempSync(join(tmpdir(), 'milter-diff-'));
    const etc = join(dir, 'smtpd');
    makeInstance(dir);
    copyFileSync(join(REPO, 'fixtures/smtpd/main.cf'), join(dir, 'main.cf'));
    writeFileSync(join(dir, 'master.cf'), '');
    ourLog = new MemoryLog();
    const cleanup = openCleanup(loadPostfixConfig({ configDir: join(dir, 'etc') }), { notifyQmgr: false, log: ourLog });
    ours = await startSmtpd({ configDir: dir, cleanup, log: ourLog, overrides: [['smtpd_milters', `inet:127.0.0.1:${ourMilter.port}`], ['milter_command_timeout', '2s']] });
    void etc;
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    await realMilter?.close();
    await ourMilter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const sc of SCENARIOS) {
    test(sc.name, { timeout: 20_000 }, async () => {
      current = sc.script;
      realMilter.received.length = 0;
      ourMilter.received.length = 0;
      const realLogBefore = real.log().split('\n').length - 1;
      const ourLogBefore = ourLog.lines.length;
      const rawReal = await runDialogue(realPort, sc.steps, { timeoutMs: 3000 });
      const rawOurs = await runDialogue(ours.port, sc.steps, { timeoutMs: 3000 });
      const realReplies = normReplies(rawReal);
      const ourReplies = normReplies(rawOurs);
      // Let both sides finish QUIT/close handling.
      await real.waitLog(/disconnect from [^\n]*\n(?![\s\S]*connect from)/, 3000);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(ourReplies, realReplies, 'SMTP replies');
      assert.deepEqual(normPackets(ourMilter.received, ourMilter.port), normPackets(realMilter.received, realMilter.port), 'milter packets');
      const realLines = real
        .log()
        .split('\n')
        .slice(realLogBefore)
        .filter((l) => l !== '')
        .map((l) => l.replace(/^.*? postfix\/[a-z]+\[\d+\]: /, ''));
      assert.deepEqual(normLog(ourLog.lines.slice(ourLogBefore)), normLog(realLines), 'log lines');
      if (sc.postcat) {
        // The queue files as the real postcat shows them (records in logical order).
        const qid = (r: string[]) => /queued as ([0-9A-Za-z]+)/.exec(r.join('\n'))?.[1] ?? '';
        const realId = qid(rawReal);
        const ourId = qid(rawOurs);
        assert.ok(realId && ourId, 'both queued');
        // message_size differs: Postfix reserves pointer records for edits (not shown by postcat).
        const norm = (t: string, id: string) =>
          normalisePostcat(t, id)
            .replace(/^message_size: .*$/m, 'message_size: S')
            .replace(/(client|server)_port=\d+/g, '$1_port=P')
            .replace(/^\*\*\* ENVELOPE RECORDS .*$/m, '*** ENVELOPE RECORDS');
        const realText = norm(realPostcat(['-c', real.configDir, '-q', realId]), realId);
        const ourText = norm(realPostcat(['-c', join(dir, 'etc'), '-q', ourId]), ourId);
        assert.equal(ourText, realText, 'postcat');
      }
    });
  }
});
