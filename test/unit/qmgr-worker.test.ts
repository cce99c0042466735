/**
 * The qmgr master worker: trigger bytes (W I D F A) become queue runs;
 * a message queued by cleanup is delivered after a trigger on the
 * service socket, with the mail log written to maillog_file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import type { WorkerContext } from '../../src/master/types.js';
import { parseTriggers, qmgrWorker } from '../../src/qmgr/worker.js';
import { tempDir } from '../helpers/postfix-diff.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';

const t = tempDir('postern-qmgrw-');
after(() => t.cleanup());

describe('qmgr worker', () => {
  it('folds trigger bytes like qmgr_trigger_event', () => {
    assert.deepEqual(parseTriggers('W'), { incoming: true });
    assert.deepEqual(parseTriggers('FADI'), { flushDead: true, scanAll: true, deferred: true, incoming: true });
    assert.deepEqual(parseTriggers('xyz'), {});
  });

  it('delivers after a trigger on its socket and logs to maillog_file', async () => {
    const root = join(t.dir, 'w');
    mkdirSync(root, { recursive: true });
    const maillog = join(root, 'maillog');
    const inst = await deliveryInstance(root, `default_transport = discard:dropped by test\n`);
    writeFileSync(join(inst.etc, 'main.cf'), `${readFileSync(join(inst.etc, 'main.cf'), 'latin1')}maillog_file_prefixes = ${root}\nmaillog_file = ${maillog}\n`);
    const cfg = loadPostfixConfig({ configDir: inst.etc });
    const handlers: { conn?: (s: Socket) => void; stop?: () => void | Promise<void> } = {};
    const ctx = {
      service: { extName: 'qmgr', name: 'public/qmgr', type: 'unix', wakeup: 300 },
      config: cfg,
      log: { info() {}, warn() {} },
      onConnection: (h: (s: Socket) => void) => {
        handlers.conn = h;
      },
      onWakeup: () => {},
      onStop: (h: () => void | Promise<void>) => {
        handlers.stop = h;
      },
    } as unknown as WorkerContext;
    await qmgrWorker.start(ctx);
    const id = await inst.submit('s@example.test', ['x@far.test'], ['Subject: w', '', 'body']);
    const sock = join(root, 'qmgr.sock');
    const srv = createServer((s) => handlers.conn!(s));
    await new Promise<void>((r) => srv.listen(sock, () => r()));
    const c = connect(sock);
    c.end('W');
    const end = Date.now() + 10_000;
    while (Date.now() < end && !(existsSync(maillog) && readFileSync(maillog, 'latin1').includes(`${id}: removed`))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await handlers.stop?.();
    await new Promise<void>((r) => srv.close(() => r()));
    const log = readFileSync(maillog, 'latin1');
    assert.match(log, new RegExp(`postfix/qmgr\\[\\d+\\]: ${id}: from=<s@example\\.test>, size=\\d+, nrcpt=1 \\(queue active\\)`));
    assert.match(log, new RegExp(`postfix/discard\\[\\d+\\]: ${id}: to=<x@far\\.test>, relay=none, delay=[\\d.]+, delays=[\\d./]+, dsn=2\\.0\\.0, status=sent \\(dropped by test\\)`));
    assert.match(log, new RegExp(`postfix/qmgr\\[\\d+\\]: ${id}: removed`));
  });
});
