/**
 * cleanup through the CleanupService contract (src/cleanup/service.ts), the
 * way smtpd uses it: status bits and reasons, limits (hopcount, message and
 * header size), header/body check actions, virtual alias expansion limits,
 * duplicate elimination, BCC, hold/discard, abort, and the log lines.
 * Tables are in-memory fakes of the AddrMaps/TextMaps interfaces.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/postfix-diff.js';
import { makeInstance } from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { openCleanup, type PosternCleanupSession } from '../../src/cleanup/service.js';
import { CleanupFlag, CleanupStat } from '../../src/cleanup/types.js';
import type { AddrMaps, CleanupMaps, TextMaps } from '../../src/cleanup/maps.js';
import { DictError } from '../../src/maps/types.js';
import { parseQueueFile } from '../../src/queue/reader.js';

const t = tempDir('postern-cleanup-');
after(() => t.cleanup());
let n = 0;

const SMTPD_FLAGS = CleanupFlag.FILTER | CleanupFlag.MILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK;

function service(extraMain = '', maps: CleanupMaps = {}) {
  const inst = makeInstance(join(t.dir, `i${n++}`), extraMain);
  const lines: string[] = [];
  const cfg = loadPostfixConfig({ configDir: inst.etc });
  const svc = openCleanup(cfg, {
    maps,
    notifyQmgr: false,
    log: { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`) },
  });
  return { inst, svc, lines };
}

/** An SMTP transaction as smtpd feeds it. */
function smtp(s: PosternCleanupSession, rcpts: string[], body: string[], opts: { received?: boolean } = {}): void {
  s.setAttribute('rewrite_context', 'remote');
  s.setSender('sender@vmail.test');
  s.setAttribute('log_message_origin', 'client.test[192.0.2.1]');
  s.setAttribute('log_protocol_name', 'ESMTP');
  s.setAttribute('log_helo_name', 'client.test');
  for (const r of rcpts) s.addRecipient(r, { orcpt: `rfc822;${r}` });
  if (opts.received !== false) {
    s.writeLine(Buffer.from('Received: from client.test (client.test [192.0.2.1])'));
    s.writeLine(Buffer.from(`\tby mx.example.test (Postfix) with ESMTP id ${s.queueId}`));
  }
  for (const l of body) s.writeLine(Buffer.from(l, 'latin1'));
}

function file(inst: { spool: string }, queue: string, id: string) {
  return parseQueueFile(readFileSync(join(inst.spool, queue, id)), { requireSize: true, withContent: true });
}

const textMaps = (title: string, rules: Array<[RegExp, string]>): TextMaps => ({
  title,
  async find(text) {
    for (const [re, v] of rules) if (re.test(text)) return v;
    return undefined;
  },
});

const addrMaps = (title: string, table: Record<string, string[]>): AddrMaps => ({
  title,
  async map(addr) {
    return table[addr.toLowerCase()];
  },
  async find(addr) {
    return table[addr.toLowerCase()]?.[0];
  },
});

describe('cleanup session', () => {
  it('queues a message: SIZE record, attributes, DSN records, fsynced 0700 file, log lines', async () => {
    const { inst, svc, lines } = service();
    const s = await svc.open(SMTPD_FLAGS);
    smtp(s, ['a@x.test'], ['Subject: hi', 'Message-ID: <m1@client.test>', '', 'body']);
    const r = await s.finish();
    assert.deepEqual(r, { status: 0 });
    const env = file(inst, 'incoming', s.queueId);
    assert.equal(env.sender, 'sender@vmail.test');
    assert.deepEqual(
      env.recipients.map((x) => [x.address, x.orig, x.dsnOrcpt]),
      [['a@x.test', 'a@x.test', 'rfc822;a@x.test']],
    );
    assert.equal(env.attrs.get('log_protocol_name'), 'ESMTP');
    assert.equal(env.size?.rcptCount, 1);
    assert.deepEqual(lines, [`${s.queueId}: message-id=<m1@client.test>`]);
    // Remote context without remote_header_rewrite_domain: no headers added.
    assert.deepEqual(
      env.content.map((c) => c.data).slice(2),
      ['Subject: hi', 'Message-ID: <m1@client.test>', '', 'body'],
    );
  });

  it('always_add_missing_headers adds Message-Id, Date, From; message-id=<> is logged otherwise', async () => {
    const a = service('always_add_missing_headers = yes\n');
    const s = await a.svc.open(SMTPD_FLAGS);
    smtp(s, ['a@x.test'], ['Subject: hi', '', 'body']);
    assert.equal((await s.finish()).status, 0);
    const hdrs = file(a.inst, 'incoming', s.queueId).content.map((c) => c.data);
    assert.match(hdrs[3]!, new RegExp(`^Message-Id: <\\d{14}\\.${s.queueId}@mx\\.example\\.test>$`));
    assert.match(hdrs[4]!, /^Date: \w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(.+\)$/);
    assert.equal(hdrs[5], 'From: sender@vmail.test');
    const b = service();
    const s2 = await b.svc.open(SMTPD_FLAGS);
    smtp(s2, ['a@x.test'], ['Subject: hi', '', 'body']);
    await s2.finish();
    assert.deepEqual(b.lines, [`${s2.queueId}: message-id=<>`]);
  });

  it('status bits: no Received (BAD), no recipients (RCPT), hop count (HOPS), size (SIZE); the file is removed', async () => {
    const { inst, svc, lines } = service('hopcount_limit = 3\nmessage_size_limit = 2000\n');
    const cases: Array<[string[], string[], boolean, number]> = [
      [['a@x.test'], ['Subject: x'], false, CleanupStat.BAD],
      [[], ['Subject: x'], true, CleanupStat.RCPT],
      [['a@x.test'], ['Received: a', 'Received: b', 'Subject: x'], true, CleanupStat.HOPS],
      [['a@x.test'], ['Subject: x', '', 'y'.repeat(3000)], true, CleanupStat.SIZE],
    ];
    for (const [rcpts, body, received, want] of cases) {
      const s = await svc.open(SMTPD_FLAGS);
      smtp(s, rcpts, body, { received });
      const r = await s.finish();
      assert.equal(r.status, want, body.join('|'));
      assert.ok(!existsSync(join(inst.spool, 'incoming', s.queueId)));
    }
    assert.ok(lines.some((l) => /: message rejected: no Received: header$/.test(l)));
    assert.ok(lines.some((l) => /: message rejected: hopcount exceeded$/.test(l)));
    assert.ok(lines.some((l) => /: queue file size limit exceeded$/.test(l)));
    assert.equal(readdirSync(join(inst.spool, 'incoming')).length, 0);
  });

  it('header_size_limit: an over-long header is cut, the message is still accepted', async () => {
    const { inst, svc } = service('header_size_limit = 1000\n');
    const s = await svc.open(SMTPD_FLAGS);
    smtp(s, ['a@x.test'], ['Subject: x', `X-Big: ${'a'.repeat(900)}`, ...Array.from({ length: 20 }, () => ` ${'b'.repeat(70)}`), '', 'body']);
    assert.equal((await s.finish()).status, 0);
    const lines = file(inst, 'incoming', s.queueId).content.map((c) => c.data);
    const big = lines.slice(lines.findIndex((l) => l.startsWith('X-Big:')), lines.indexOf(''));
    assert.ok(big.join('\n').length <= 1000);
  });

  it('header_checks: REJECT, 4xx REJECT, DISCARD, HOLD, BCC, with log lines', async () => {
    const maps: CleanupMaps = {
      headerChecks: textMaps('header_checks', [
        [/^Subject: reject/, 'REJECT go away'],
        [/^Subject: defer/, 'REJECT 4.7.0 later'],
        [/^Subject: discard/, 'DISCARD'],
        [/^Subject: hold/, 'HOLD held'],
        [/^Subject: bcc/, 'BCC copy@x.test'],
      ]),
    };
    const { inst, svc, lines } = service('', maps);
    const run = async (subject: string) => {
      const s = await svc.open(SMTPD_FLAGS);
      smtp(s, ['a@x.test'], [`Subject: ${subject}`, '', 'body']);
      return { s, r: await s.finish() };
    };
    const rej = await run('reject');
    assert.deepEqual(rej.r, { status: CleanupStat.CONT, reason: '5.7.1 go away' });
    const def = await run('defer');
    assert.deepEqual(def.r, { status: CleanupStat.DEFER, reason: '4.7.0 later' });
    const dis = await run('discard');
    assert.deepEqual(dis.r, { status: 0 });
    assert.ok(!existsSync(join(inst.spool, 'incoming', dis.s.queueId)));
    const hold = await run('hold');
    assert.equal(hold.r.status, 0);
    assert.ok(existsSync(join(inst.spool, 'hold', hold.s.queueId)));
    const bcc = await run('bcc');
    assert.deepEqual(
      file(inst, 'incoming', bcc.s.queueId).recipients.map((r) => [r.address, r.dsnNotify]),
      [
        ['a@x.test', undefined],
        ['copy@x.test', 1],
      ],
    );
    assert.ok(
      lines.includes(
        `${rej.s.queueId}: reject: header Subject: reject from client.test[192.0.2.1]; from=<sender@vmail.test> to=<a@x.test> proto=ESMTP helo=<client.test>: 5.7.1 go away`,
      ),
    );
    assert.ok(lines.some((l) => l.startsWith(`${hold.s.queueId}: hold: header Subject: hold from client.test[192.0.2.1];`)));
  });

  it('header_checks are skipped without CLEANUP_FLAG_FILTER; a table that cannot answer defers', async () => {
    const failing: TextMaps = {
      title: 'header_checks',
      async find() {
        throw new DictError('retry', 'regexp:x', 'boom');
      },
    };
    const { svc, lines } = service('', { headerChecks: failing });
    const s = await svc.open(CleanupFlag.MAP_OK);
    smtp(s, ['a@x.test'], ['Subject: x', '', 'b']);
    assert.equal((await s.finish()).status, 0);
    const s2 = await svc.open(SMTPD_FLAGS);
    smtp(s2, ['a@x.test'], ['Subject: x', '', 'b']);
    assert.equal((await s2.finish()).status, CleanupStat.WRITE);
    assert.ok(lines.includes(`warning: ${s2.queueId}: header_checks map lookup problem -- message not accepted, try again later`));
  });

  it('virtual alias expansion: one-to-many, duplicates dropped, recursion and expansion limits', async () => {
    const va = addrMaps('virtual_alias_maps', {
      'list@x.test': ['a@x.test', 'b@x.test', 'a@x.test'],
      'self@x.test': ['self@x.test', 'other@x.test'],
      'loop1@x.test': ['loop2@x.test'],
      'loop2@x.test': ['loop1@x.test'],
      'big@x.test': Array.from({ length: 5 }, (_, i) => `m${i}@x.test`),
    });
    const { inst, svc, lines } = service('virtual_alias_recursion_limit = 10\nvirtual_alias_expansion_limit = 3\n', { virtAlias: va });
    const s = await svc.open(SMTPD_FLAGS);
    smtp(s, ['list@x.test', 'self@x.test', 'a@x.test'], ['Subject: x', '', 'b']);
    assert.equal((await s.finish()).status, 0);
    assert.deepEqual(
      file(inst, 'incoming', s.queueId).recipients.map((r) => [r.address, r.orig]),
      [
        ['a@x.test', 'list@x.test'],
        ['b@x.test', 'list@x.test'],
        ['self@x.test', 'self@x.test'],
        ['other@x.test', 'self@x.test'],
        ['a@x.test', 'a@x.test'],
      ],
    );
    for (const rcpt of ['loop1@x.test', 'big@x.test']) {
      const s2 = await svc.open(SMTPD_FLAGS);
      smtp(s2, [rcpt], ['Subject: x', '', 'b']);
      assert.deepEqual(await s2.finish(), { status: CleanupStat.DEFER, reason: '4.6.0 Alias expansion error' });
    }
    assert.ok(lines.some((l) => /unreasonable virtual_alias_maps map nesting for loop1@x\.test/.test(l)));
    assert.ok(lines.some((l) => /unreasonable virtual_alias_maps map expansion size for big@x\.test/.test(l)));
  });

  it('enable_original_recipient = no: duplicates by address only; always_bcc', async () => {
    const { inst, svc } = service('enable_original_recipient = no\nalways_bcc = archive@x.test\n');
    const s = await svc.open(SMTPD_FLAGS);
    s.setSender('s@x.test');
    s.addRecipient('A@x.test', { orcpt: 'rfc822;one' });
    s.addRecipient('a@x.test', { orcpt: 'rfc822;two', notify: 2 });
    s.writeLine(Buffer.from('Received: x'));
    assert.equal((await s.finish()).status, 0);
    assert.deepEqual(
      file(inst, 'incoming', s.queueId).recipients.map((r) => r.address),
      ['A@x.test', 'archive@x.test'],
    );
  });

  it('client HOLD flag, DSN attribute aliases, abort', async () => {
    const { inst, svc } = service();
    const s = await svc.open(SMTPD_FLAGS);
    s.setAttribute('dsn_envid', 'ENV1');
    s.setAttribute('dsn_ret', '2');
    smtp(s, ['a@x.test'], ['Subject: x']);
    s.setExtraFlags(CleanupFlag.HOLD);
    assert.equal((await s.finish()).status, 0);
    const env = file(inst, 'hold', s.queueId);
    assert.equal(env.dsnEnvid, 'ENV1');
    assert.equal(env.dsnRet, 2);
    const s2 = await svc.open(SMTPD_FLAGS);
    smtp(s2, ['a@x.test'], ['Subject: x']);
    await s2.abort();
    assert.ok(!existsSync(join(inst.spool, 'incoming', s2.queueId)));
  });

  it('long lines arrive in pieces and are stored as L records of line_length_limit', async () => {
    const { inst, svc } = service('line_length_limit = 1000\n');
    const s = await svc.open(SMTPD_FLAGS);
    smtp(s, ['a@x.test'], ['Subject: x', '']);
    s.writeLine(Buffer.from('p'.repeat(1500)), true);
    s.writeLine(Buffer.from('q'.repeat(700)));
    assert.equal((await s.finish()).status, 0);
    const c = file(inst, 'incoming', s.queueId).content.slice(-3);
    assert.deepEqual(
      c.map((x) => [String.fromCharCode(x.type), x.data.length]),
      [
        ['L', 1000],
        ['L', 500],
        ['N', 700],
      ],
    );
  });
});
