/**
 * test/differential/delivery-smtp-content.test.ts: what a fake relayhost
 * (smtp-server on loopback) receives from the real Postfix 3.7 smtp(8) and
 * from ours with the same smtp_generic_maps, smtp_header_checks and
 * smtp_body_checks: envelope sender and recipients, and the message bytes
 * (header addresses rewritten and refolded, REPLACE/PREPEND/IGNORE/STRIP),
 * and the action log lines; and VERP (sendmail -XV): one delivery per
 * recipient with the sender rewritten. Normalised: the Received: header each system's
 * pickup adds (queue ID, date, host) and queue IDs in log lines.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CleanupFlag } from '../../src/cleanup/types.js';
import { Rec } from '../../src/queue/record.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { startPeer } from '../helpers/delivery-smtp-peer.js';
import { tempDir } from '../helpers/postfix-diff.js';
import { FULL_MASTER_CF, realPostfixRunnable, startRealInstance } from '../helpers/real-postfix-delivery.js';

const skip = !realPostfixRunnable() && 'needs root and Debian postfix';
const t = tempDir('postern-smtpc-');
after(() => t.cleanup());

const MESSAGE = [
  'From: Some Sender <sender@internal.test>',
  'To: alice@internal.test, "Bob Person" <bob@internal.test>, carol@internal.test,',
  ' dave@internal.test, erin@internal.test, frank@elsewhere.test',
  'Cc: team: gina@internal.test, hank@internal.test;',
  'Reply-To: nobody@elsewhere.test',
  'Subject: secret plans',
  'Message-ID: <fixed-1@internal.test>',
  'Date: Mon, 23 Nov 2026 10:00:00 +0000',
  'X-Internal: do not leak',
  'X-Strip-Me: gone',
  'X-Tag: tagged',
  'X-Warn: watch',
  '',
  'INTERNAL ONLY line one',
  'drop this line',
  'ordinary line',
  '',
];

function tables(dir: string): string {
  writeFileSync(join(dir, 'generic'), '@internal.test @public.test\nsender@internal.test outbound@public.test\n');
  writeFileSync(
    join(dir, 'header_checks'),
    [
      '/^Subject: secret/ REPLACE Subject: [redacted]',
      '/^X-Internal:/ IGNORE',
      '/^X-Strip-Me:/ STRIP',
      '/^X-Tag:/ PREPEND X-Added: yes',
      '/^X-Warn:/ WARN watch this',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'body_checks'), '/^INTERNAL ONLY/ REPLACE PUBLIC line\n/^drop this line/ IGNORE\n');
  return `smtp_generic_maps = texthash:${dir}/generic
smtp_header_checks = regexp:${dir}/header_checks
smtp_body_checks = regexp:${dir}/body_checks
`;
}

/** Drop the Received: header (and its continuation lines) each system's pickup adds. */
function withoutReceived(data: string): string {
  return data.replace(/^Received: [^\r]*\r\n(?:[ \t][^\r]*\r\n)*/m, '');
}

const actionLines = (log: string[]) =>
  log
    .map((l) => /postfix\/smtp(?:\[\d+\])?: [0-9A-Za-z]+: ((?:replace|prepend|strip|warning|info): .*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);

describe('smtp content rewriting vs real Postfix', { skip }, () => {
  it('smtp_generic_maps + smtp_header_checks + smtp_body_checks: same envelope, bytes and log lines', async () => {
    const peer = await startPeer();
    try {
      const rdir = join(t.dir, 'real');
      mkdirSync(rdir, { recursive: true });
      const main = (dir: string) => `relayhost = [127.0.0.1]:${peer.port}\nmydestination =\n${tables(dir)}`;
      const real = startRealInstance(main(rdir), FULL_MASTER_CF);
      let realLog: string[];
      try {
        const r = real.tool('sendmail', ['-f', 'sender@internal.test', 'alice@internal.test', 'frank@elsewhere.test'], MESSAGE.join('\n'));
        assert.equal(r.status, 0, r.stderr);
        assert.ok(await real.waitLog(/status=sent/, 20_000), real.log());
        realLog = real.log().split('\n');
      } finally {
        await real.stop();
      }
      assert.equal(peer.mails.length, 1);

      const odir = join(t.dir, 'ours');
      mkdirSync(odir, { recursive: true });
      const inst = await deliveryInstance(odir, main(odir));
      await inst.submit('sender@internal.test', ['alice@internal.test', 'frank@elsewhere.test'], MESSAGE.slice(0, -1));
      const q = inst.qmgr();
      await q.runOnce({ incoming: true, wait: true });
      await q.close();
      assert.equal(peer.mails.length, 2, inst.log.join('\n'));

      const [realMail, ourMail] = peer.mails;
      assert.equal(ourMail!.from, realMail!.from);
      assert.equal(ourMail!.from, 'outbound@public.test');
      assert.deepEqual([...ourMail!.to].sort(), [...realMail!.to].sort());
      const realData = withoutReceived(realMail!.data.toString('latin1'));
      const ourData = withoutReceived(ourMail!.data.toString('latin1'));
      assert.equal(ourData, realData);
      assert.match(ourData, /^To: alice@public\.test, "Bob Person" <bob@public\.test>,\r\n\t/m);
      assert.deepEqual(actionLines(inst.log), actionLines(realLog));
      assert.ok(actionLines(realLog).length >= 4, realLog.join('\n'));
    } finally {
      await peer.close();
    }
  });

  it('VERP (sendmail -XV): one transaction per recipient, MAIL FROM prefix+user=domain@origin', async () => {
    const peer = await startPeer();
    try {
      const rcpts = ['alice@far.test', 'bob@other.test', 'carol@far.test'];
      const rdir = join(t.dir, 'real-verp');
      mkdirSync(rdir, { recursive: true });
      const main = `relayhost = [127.0.0.1]:${peer.port}\nmydestination =\n`;
      const real = startRealInstance(main, FULL_MASTER_CF);
      try {
        const r = real.tool('sendmail', ['-XV', '-f', 'owner@lists.test', ...rcpts], 'Subject: verp\n\nbody\n');
        assert.equal(r.status, 0, r.stderr);
        const end = Date.now() + 20_000;
        while (Date.now() < end && (real.log().match(/status=sent/g)?.length ?? 0) < rcpts.length) await new Promise((res) => setTimeout(res, 50));
      } finally {
        await real.stop();
      }
      const realEnv = peer.mails.map((m) => `${m.from} -> ${m.to.join(',')}`).sort();
      assert.equal(realEnv.length, rcpts.length, realEnv.join('\n'));

      const odir = join(t.dir, 'ours-verp');
      mkdirSync(odir, { recursive: true });
      const inst = await deliveryInstance(odir, main);
      const s = await inst.cleanup.open(CleanupFlag.FILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK);
      s.setAttribute('rewrite_context', 'local');
      s.setSender('owner@lists.test');
      s.putRecord(Rec.VERP, '+=');
      for (const r of rcpts) s.addRecipient(r, {});
      // What pickup adds (cleanup refuses local mail without a Received: header).
      const received = ['Received: by mx.example.test (Postfix, from userid 0)', `\tid ${s.queueId}; Mon, 23 Nov 2026 10:00:00 +0000`];
      for (const l of [...received, 'Subject: verp', '', 'body']) s.writeLine(Buffer.from(l, 'latin1'));
      assert.equal((await s.finish()).status, 0, inst.log.join('\n'));
      const q = inst.qmgr();
      await q.runOnce({ incoming: true, wait: true });
      await q.close();
      const ourEnv = peer.mails.slice(rcpts.length).map((m) => `${m.from} -> ${m.to.join(',')}`).sort();
      assert.deepEqual(ourEnv, realEnv);
      assert.ok(ourEnv.includes('owner+alice=far.test@lists.test -> alice@far.test'), ourEnv.join('\n'));
    } finally {
      await peer.close();
    }
  });
});
