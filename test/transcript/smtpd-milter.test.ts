/**
 * smtpd with smtpd_milters: SMTP dialogues in, exact replies out, and the
 * milter packets Postern sent to a scripted fake filter
 * (test/helpers/fake-milter.ts). Replies and packet sequences follow
 * Postfix 3.7 smtpd.c / milter8.c; test/differential/milter-*.test.ts
 * checks the same scripts against the real Postfix.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import { MemoryCleanup, MemoryLog, runDialogue } from '../helpers/smtp-client.js';
import { accept, type FakeMilterOptions, replycode, reject, startFakeMilter, tempfail } from '../helpers/fake-milter.js';
import { startSmtpd } from '../../src/smtpd/server.js';
import { makeInstance } from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { openCleanup } from '../../src/cleanup/service.js';

const FIX = join(REPO, 'fixtures/smtpd');
const MSG = ['EHLO client.example.test', 'MAIL FROM:<alice@example.org> SIZE=100', 'RCPT TO:<bob@mx.example.test>', 'DATA'];
const BODY = { raw: 'Subject: hi\r\nFrom: alice@example.org\r\n\r\nhello\r\n.\r\n', replies: 1 };

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtpd-milter-'));
  copyFileSync(join(FIX, 'main.cf'), join(dir, 'main.cf'));
  writeFileSync(join(dir, 'master.cf'), '');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** One session against a fresh fake milter; returns replies, packets and log. */
async function session(script: FakeMilterOptions, steps: Parameters<typeof runDialogue>[1], extra: Array<[string, string]> = []) {
  const milter = await startFakeMilter(script);
  const log = new MemoryLog();
  const cleanup = new MemoryCleanup();
  const smtpd = await startSmtpd({
    configDir: dir,
    cleanup,
    log,
    overrides: [['smtpd_milters', `inet:127.0.0.1:${milter.port}`], ...extra],
  });
  try {
    const replies = (await runDialogue(smtpd.port, steps)).filter((l) => l !== '[closed]');
    await new Promise((r) => setTimeout(r, 50));
    return { replies, packets: milter.received.slice(), log: log.lines, cleanup };
  } finally {
    await smtpd.close();
    await milter.close();
  }
}

const strip = (packets: string[]) => packets.map((p) => p.replace(/ (\d+) 127\.0\.0\.1$/, ' PORT 127.0.0.1'));

describe('milter envelope stages', () => {
  test('all continue: negotiation, macros and events in order', async () => {
    const r = await session({}, [...MSG.slice(0, 3), 'RSET', 'QUIT']);
    assert.deepEqual(r.replies.slice(-3), ['250 2.1.5 Ok', '250 2.0.0 Ok', '221 2.0.0 Bye']);
    assert.deepEqual(strip(r.packets), [
      'O 6 0x1ff 0x1fffff',
      'D C j=mx.example.test {daemon_name}=mx.example.test {daemon_addr}=127.0.0.1 v=Postfix 3.7.11 _=localhost [127.0.0.1]',
      'C localhost 4 PORT 127.0.0.1',
      'D H',
      'H client.example.test',
      'D M {mail_addr}=alice@example.org {mail_host}=example.org {mail_mailer}=smtp',
      'M <alice@example.org> SIZE=100',
      // No {i} yet: the queue file is opened after the first accepted RCPT.
      'D R {rcpt_addr}=bob@mx.example.test {rcpt_host}=mx.example.test {rcpt_mailer}=local',
      'R <bob@mx.example.test>',
      // RSET aborts the message; the end of the session aborts again (helo_reset) and quits.
      'A',
      'A',
      'Q',
    ]);
  });

  test('reject at RCPT: 550 5.7.1 Command rejected, logged as milter-reject', async () => {
    const r = await session({ replies: { R: [reject()] } }, [...MSG.slice(0, 3), 'QUIT']);
    assert.equal(r.replies.at(-2), '550 5.7.1 Command rejected');
    assert.ok(
      r.log.includes(
        'NOQUEUE: milter-reject: RCPT from localhost[127.0.0.1]: 550 5.7.1 Command rejected; from=<alice@example.org> to=<bob@mx.example.test> proto=ESMTP helo=<client.example.test>',
      ),
      r.log.join('\n'),
    );
  });

  test('tempfail at MAIL: 451 4.7.1, the transaction is reset', async () => {
    const r = await session({ replies: { M: [tempfail()] } }, [...MSG.slice(0, 2), 'RCPT TO:<bob@mx.example.test>', 'QUIT']);
    assert.deepEqual(r.replies.slice(-3), ['451 4.7.1 Service unavailable - try again later', '503 5.5.1 Error: need MAIL command', '221 2.0.0 Bye']);
  });

  test('replycode with %% and a multi-line reply', async () => {
    const r = await session({ replies: { R: [replycode('554-5.7.1 first 100%%\r\n554 5.7.1 second')] } }, [...MSG.slice(0, 3), 'QUIT']);
    assert.deepEqual(r.replies.slice(-3), ['554-5.7.1 first 100%', '554 5.7.1 second', '221 2.0.0 Bye']);
  });

  test('malformed replycode: configuration error, milter_default_action', async () => {
    const r = await session({ replies: { M: [replycode('250 ok')] } }, [...MSG.slice(0, 2), 'QUIT']);
    assert.equal(r.replies.at(-2), '451 4.3.5 Server configuration problem - try again later');
    assert.ok(r.log.some((l) => /^warning: milter inet:127\.0\.0\.1:\d+: malformed reply: 250 ok$/.test(l)), r.log.join('\n'));
  });

  test('reject at CONNECT: 554 greeting, EHLO shows ENHANCEDSTATUSCODES only, MAIL rejected', async () => {
    const r = await session({ replies: { C: [reject()] } }, ['EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT']);
    assert.deepEqual(r.replies, [
      '554 mx.example.test ESMTP not accepting connections',
      '250-mx.example.test',
      '250 ENHANCEDSTATUSCODES',
      '550 5.7.1 Command rejected',
      '221 2.0.0 Bye',
    ]);
  });

  test('tempfail at CONNECT: normal greeting, MAIL gets 451', async () => {
    const r = await session({ replies: { C: [tempfail()] } }, ['HELO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT']);
    assert.deepEqual(r.replies, [
      '220 mx.example.test ESMTP Postfix',
      '250 mx.example.test',
      '451 4.7.1 Service unavailable - try again later',
      '221 2.0.0 Bye',
    ]);
  });

  test('accept at CONNECT: no more events for the session', async () => {
    const r = await session({ replies: { C: [accept()] } }, [...MSG.slice(0, 3), 'QUIT']);
    assert.equal(r.replies.at(-2), '250 2.1.5 Ok');
    assert.deepEqual(
      r.packets.map((p) => p[0]),
      // Accept at connect closes the socket (LIBMILTER_AUTO_DISCONNECT): no QUIT either.
      ['O', 'D', 'C'],
    );
  });

  test('unreachable milter: default tempfail at MAIL FROM with the connect warning', async () => {
    const r = await session({}, ['EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT'], [['smtpd_milters', 'inet:127.0.0.1:9']]);
    assert.equal(r.replies.at(-2), '451 4.7.1 Service unavailable - try again later');
    assert.ok(r.log.includes('warning: connect to Milter service inet:127.0.0.1:9: Connection refused'), r.log.join('\n'));
  });

  test('per-milter default_action=accept overrides a dead milter', async () => {
    const r = await session({}, [...MSG.slice(0, 3), 'QUIT'], [['smtpd_milters', '{ inet:127.0.0.1:9, default_action=accept }']]);
    assert.equal(r.replies.at(-2), '250 2.1.5 Ok');
  });

  test('unknown command goes to the milter (SMFIC_UNKNOWN) and its reject is the reply', async () => {
    const r = await session({ replies: { U: [replycode('502 5.5.2 not here')] } }, ['HELO x.example.test', 'FOO bar', 'QUIT']);
    assert.equal(r.replies.at(-2), '502 5.5.2 not here');
    assert.ok(r.packets.includes('U FOO'), r.packets.join('\n'));
  });
});

describe('milter message stage (cleanup)', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'smtpd-milter-q-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function withCleanup(script: FakeMilterOptions) {
    const inst = makeInstance(join(root, String(Math.random()).slice(2)));
    const milter = await startFakeMilter(script);
    const log = new MemoryLog();
    const cleanup = openCleanup(loadPostfixConfig({ configDir: inst.etc }), { notifyQmgr: false, log });
    const smtpd = await startSmtpd({ configDir: dir, cleanup, log, overrides: [['smtpd_milters', `inet:127.0.0.1:${milter.port}`]] });
    try {
      const replies = (await runDialogue(smtpd.port, [...MSG, BODY, 'QUIT'])).filter((l) => l !== '[closed]');
      return { replies, packets: milter.received.slice(), log: log.lines };
    } finally {
      await smtpd.close();
      await milter.close();
    }
  }

  test('headers, EOH, body and EOM reach the milter; our Received: header is hidden', async () => {
    const r = await withCleanup({});
    assert.match(r.replies.at(-2) ?? '', /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const from = r.packets.findIndex((p) => p.startsWith('L '));
    assert.deepEqual(
      r.packets.slice(from).map((p) => p.replace(/i=[0-9A-F]+/, 'i=QID').replace(/<[0-9]+\.[0-9A-F]+@mx\.example\.test>/, '<MSGID>').replace(/Date .*/, 'Date DATE')),
      [
        'L Subject hi',
        'D L i=QID',
        'L From alice@example.org',
        'D L i=QID',
        'L Message-Id <MSGID>',
        'D L i=QID',
        'L Date DATE',
        'D N i=QID',
        'N',
        'D B i=QID',
        'B "hello\\r\\n"',
        'D E i=QID',
        'E',
        'A',
        'A',
        'Q',
      ],
    );
  });

  test('reject at end of message: the milter reply, logged by cleanup', async () => {
    const r = await withCleanup({ replies: { E: [replycode('550 5.7.1 spam detected')] } });
    assert.equal(r.replies.at(-2), '550 5.7.1 spam detected');
    assert.ok(
      r.log.some((l) =>
        /^[0-9A-F]+: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 5\.7\.1 spam detected; from=<alice@example\.org> to=<bob@mx\.example\.test> proto=ESMTP helo=<client\.example\.test>$/.test(l),
      ),
      r.log.join('\n'),
    );
  });

  test('tempfail at end of message: 451 4.7.1', async () => {
    const r = await withCleanup({ replies: { E: [tempfail()] } });
    assert.equal(r.replies.at(-2), '451 4.7.1 Service unavailable - try again later');
  });
});
