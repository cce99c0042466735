/**
 * postcat(1): Postern's and the real one on the same queue files, byte for
 * byte (stdout, stderr, exit status): files the real Postfix made
 * (fixtures/queue, see generate.sh: maildrop, incoming, smtpd-received, a milter-padded
 * hold file with pointer records, a long-ID file), files Postern's cleanup
 * and writer make here, and damaged files.
 *
 * With -v the real postcat also prints its configuration setup (name_mask,
 * inet_addr_local...) on stderr; those lines are dropped before comparing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, realPostfixAvailable, runBoth, tempDir } from '../helpers/postfix-diff.js';
import { makeInstance } from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { openCleanup } from '../../src/cleanup/service.js';
import { CleanupFlag } from '../../src/cleanup/types.js';
import { queueLayout, queuePath } from '../../src/queue/layout.js';
import { encodeRecord, Rec } from '../../src/queue/record.js';
import { QueueFileWriter } from '../../src/queue/writer.js';

const FIX = join(REPO, 'fixtures/queue');
const VERBOSE_NOISE = /^postcat: (name_mask|inet_addr_local|mynetworks_core|been_here):/;
const ENV = { TZ: 'UTC' };

describe('postcat vs real postcat', { skip: !realPostfixAvailable() }, () => {
  const t = tempDir('postern-postcat-');
  let etc = '';
  const files: Record<string, string> = {};

  before(async () => {
    const inst = makeInstance(join(t.dir, 'q'), 'enable_long_queue_ids = no\n');
    etc = inst.etc;
    for (const f of ['real-maildrop', 'real-incoming', 'real-milter-hold', 'real-longid', 'real-smtpd']) {
      files[f] = join(t.dir, f);
      copyFileSync(join(FIX, f), files[f]!);
    }
    // Ours: an SMTP-style message (the attributes smtpd sends), held.
    const cfg = loadPostfixConfig({ configDir: etc });
    const svc = openCleanup(cfg, { notifyQmgr: false, log: { info() {}, warn() {} } });
    const s = await svc.open(CleanupFlag.FILTER | CleanupFlag.MAP_OK | CleanupFlag.BCC_OK | CleanupFlag.HOLD);
    for (const [n, v] of [
      ['log_ident', s.queueId],
      ['rewrite_context', 'remote'],
    ]) s.setAttribute(n!, v!);
    s.setSender('sender@vmail.test');
    for (const [n, v] of [
      ['log_client_name', 'localhost'],
      ['log_client_address', '127.0.0.1'],
      ['log_message_origin', 'localhost[127.0.0.1]'],
      ['log_helo_name', 'client.example.test'],
      ['log_protocol_name', 'ESMTP'],
      ['client_address_type', '2'],
    ]) s.setAttribute(n!, v!);
    s.addRecipient('bob@vmail.test', { orcpt: 'rfc822;bob@vmail.test', notify: 6 });
    const lines = [
      'Received: from client.example.test (localhost [127.0.0.1])',
      `\tby mx.example.test (Postfix) with ESMTP id ${s.queueId}`,
      'Subject: ours',
      '',
      'body',
      'x'.repeat(5000),
    ];
    for (const l of lines) s.writeLine(Buffer.from(l, 'latin1'));
    s.writeLine(Buffer.from('continued '), true);
    s.writeLine(Buffer.from('end'));
    const r = await s.finish();
    assert.equal(r.status, 0);
    files['ours-hold'] = queuePath(queueLayout(inst.spool), 'hold', s.queueId);
    // Ours: a maildrop-style file (what postdrop writes), with a CONT record in the envelope segment.
    const w = await QueueFileWriter.create({ layout: queueLayout(inst.spool), queueName: 'maildrop', longIds: true, mode: 0o444 });
    w.put(Rec.TIME, '1795366448 12345');
    w.put(Rec.ATTR, 'rewrite_context=local');
    w.put(Rec.FULL, 'Some One');
    w.put(Rec.FROM, 'someone');
    w.put(Rec.RCPT, 'x@example.org');
    w.put(Rec.MESG, '');
    w.put(Rec.NORM, 'Subject: maildrop');
    w.put(Rec.NORM, '');
    w.put(Rec.CONT, 'partial');
    w.put(Rec.XTRA, '');
    w.put(Rec.END, '');
    await w.finish();
    files['ours-maildrop'] = w.path;
    // Damaged files.
    const inc = readFileSync(join(FIX, 'real-incoming'));
    const bad = (name: string, bytes: Buffer) => {
      files[name] = join(t.dir, name);
      writeFileSync(files[name]!, bytes);
    };
    bad('truncated-data', inc.subarray(0, 150));
    bad('truncated-length', Buffer.concat([inc.subarray(0, 97), Buffer.from([0x54, 0x80])]));
    bad('no-end', inc.subarray(0, inc.length - 2));
    bad('not-a-queue-file', Buffer.from('hello world\n'));
    bad('empty', Buffer.alloc(0));
    bad(
      'bad-pointer',
      Buffer.concat([encodeRecord(Rec.TIME, '1 2'), encodeRecord(Rec.PTR, 'xyz'), encodeRecord(Rec.END, '')]),
    );
    bad(
      'pointer-loop-and-size',
      Buffer.concat([
        encodeRecord(Rec.SIZE, 'junk'),
        encodeRecord(Rec.SIZE, '1 2'),
        encodeRecord(Rec.ATTR, '=novalue'),
        encodeRecord(Rec.WARN, '-1'),
        encodeRecord(Rec.CONT, 'filter in envelope'),
        encodeRecord(Rec.XTRA, ''),
        encodeRecord(Rec.MESG, ''),
        encodeRecord(Rec.NORM, 'late text'),
        encodeRecord(Rec.END, ''),
      ]),
    );
    bad('nul-and-unknown', Buffer.concat([encodeRecord(Rec.FROM, 'a\0b'), encodeRecord(0x21, 'odd'), encodeRecord(Rec.END, '')]));
  });
  after(() => t.cleanup());

  async function same(args: string[], input?: string): Promise<void> {
    const [real, ours] = await runBoth('postcat', ['-c', etc, ...args], ENV, input);
    const drop = (s: string) =>
      s
        .split('\n')
        .filter((l) => !VERBOSE_NOISE.test(l))
        .join('\n');
    assert.equal(ours.stdout, real.stdout, `stdout of postcat ${args.join(' ')} (status ${ours.status}; ${ours.stderr})`);
    assert.equal(ours.stderr, drop(real.stderr), `stderr of postcat ${args.join(' ')}`);
    assert.equal(ours.status, real.status, `status of postcat ${args.join(' ')}`);
  }

  const FULL_MATRIX = ['', '-v', '-o', '-b', '-h', '-e', '-r', '-d', '-vo'];

  for (const name of ['real-incoming', 'real-milter-hold', 'ours-hold']) {
    it(`${name}: every output option`, async () => {
      await Promise.all(FULL_MATRIX.map((o) => same([...(o ? [o] : []), files[name]!])));
    });
  }

  for (const name of ['real-maildrop', 'real-longid', 'real-smtpd', 'ours-maildrop']) {
    it(`${name}: default, -v, -bh, -s offset`, async () => {
      await Promise.all([[], ['-v'], ['-bh'], ['-s', '97']].map((o) => same([...o, files[name]!])));
    });
  }

  it('damaged and foreign files', async () => {
    await Promise.all(
      [
        'truncated-data',
        'truncated-length',
        'no-end',
        'not-a-queue-file',
        'empty',
        'bad-pointer',
        'pointer-loop-and-size',
        'nul-and-unknown',
      ].map((n) => same([files[n]!])),
    );
  });

  it('-q finds files by queue ID in every queue; bad IDs and missing files', async () => {
    const q = join(t.dir, 'q', 'spool');
    copyFileSync(files['real-incoming']!, join(q, 'incoming', 'ABCDEF12345'));
    const deferred = queuePath(queueLayout(q), 'deferred', '4jXb3m3nq8zJ99b');
    mkdirSync(join(deferred, '..'), { recursive: true });
    copyFileSync(files['real-longid']!, deferred);
    await Promise.all([
      same(['-q', 'ABCDEF12345']),
      same(['-q', '4jXb3m3nq8zJ99b']),
      same(['-eq', 'ABCDEF12345']),
      same(['-q', 'NOSUCHID']),
      same(['-q', 'bad/id']),
      same(['/nonexistent/file']),
      same(['-Z']),
      same(['-s', 'x', files['real-incoming']!]),
    ]);
  });

  it('stdin', async () => {
    await same([], readFileSync(files['real-maildrop']!, 'latin1'));
  });
});
