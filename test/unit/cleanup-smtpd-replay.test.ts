/**
 * The CleanupSession contract used the way Postfix's smtpd feeds cleanup
 * reproduces what the real cleanup wrote for a real smtpd session
 * (fixtures/queue/real-smtpd: client attributes, DSN ENVID/RET/NOTIFY/ORCPT,
 * added Message-Id:/Date:). The input is the real file with cleanup's own
 * additions taken out; the real postcat must print both files the same,
 * apart from queue ID and times.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, realPostfixAvailable, tempDir } from '../helpers/postfix-diff.js';
import { makeInstance, normalisePostcat, realPostcat } from '../helpers/postfix-queue.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { openCleanup } from '../../src/cleanup/service.js';
import { CleanupFlag } from '../../src/cleanup/types.js';
import { logicalRecords, parseQueueFile } from '../../src/queue/reader.js';
import { Rec, splitAttr } from '../../src/queue/record.js';

const t = tempDir('postern-replay-');
after(() => t.cleanup());

it('smtpd-style session = real cleanup output', { skip: !realPostfixAvailable() }, async () => {
  const fixture = join(REPO, 'fixtures/queue/real-smtpd');
  const realId = parseQueueFile(readFileSync(fixture)).attrs.get('log_ident')!;
  const inst = makeInstance(t.dir);
  const svc = openCleanup(loadPostfixConfig({ configDir: inst.etc }), { notifyQmgr: false, log: { info() {}, warn() {} } });
  const s = await svc.open(CleanupFlag.FILTER | CleanupFlag.MILTER | CleanupFlag.BCC_OK | CleanupFlag.MAP_OK | CleanupFlag.SMTP_REPLY);
  let segment = 'env';
  let pendingNotify: number | undefined;
  let pendingOrcpt: string | undefined;
  for (const r of logicalRecords(readFileSync(fixture))) {
    if (r.type === Rec.MESG) segment = 'content';
    else if (r.type === Rec.XTRA) segment = 'extracted';
    if (segment === 'env') {
      if (r.type === Rec.ATTR) {
        const [n, v] = splitAttr(r.data) as [string, string];
        if (n === 'create_time') continue;
        if (n === 'notify_flags') pendingNotify = Number(v);
        else if (n === 'dsn_orig_rcpt') pendingOrcpt = v;
        else s.setAttribute(n, n === 'log_ident' ? s.queueId : v);
      } else if (r.type === Rec.FROM) s.setSender(r.data);
      else if (r.type === Rec.RCPT) {
        s.addRecipient(r.data, { orcpt: pendingOrcpt, notify: pendingNotify });
        pendingOrcpt = pendingNotify = undefined;
      }
    } else if (segment === 'content' && (r.type === Rec.NORM || r.type === Rec.CONT)) {
      if (/^(Message-Id|Date): /.test(r.data)) continue; // cleanup's additions
      s.writeLine(Buffer.from(r.data.replaceAll(realId, s.queueId), 'latin1'), r.type === Rec.CONT);
    }
  }
  assert.deepEqual(await s.finish(), { status: 0 });
  const ours = normalisePostcat(realPostcat(['-c', inst.etc, '-q', s.queueId]), s.queueId)
    .replace(/client_port=\d+/g, 'client_port=P');
  const real = normalisePostcat(realPostcat(['-c', inst.etc, fixture]), realId)
    .replace(/client_port=\d+/g, 'client_port=P')
    .replace(/ [^ ]*real-smtpd /g, ' FILE ');
  assert.equal(ours.replaceAll(' incoming/QID ', ' FILE '), real);
});
