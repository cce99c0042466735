/**
 * Fast flush end to end: a deferral for a fast_flush_domains site appends
 * the queue ID to flush/<site>; postqueue -s (ours and the real one) asks
 * our flush service, which moves the listed messages from deferred/ to
 * incoming/, truncates the log and wakes qmgr ("F" first, then "I");
 * postqueue -i sets S_IRGRP (unthrottle once) which the next qmgr pass
 * clears; postqueue -f and sendmail -q wake qmgr with "FADI" and pickup
 * with "W". The qmgr and pickup endpoints are sockets the test listens on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FlushStat, flushAdd, flushRefresh, siteToPath } from '../../src/flush/logfile.js';
import { serveFlushClient } from '../../src/flush/worker.js';
import { layoutFromConfig, Queue, queuePath } from '../../src/queue/layout.js';
import { mailTriggerRequest } from '../../src/queue/trigger.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { realPostfixAvailable, runOursAsync, runRealAsync, tempDir } from '../helpers/postfix-diff.js';

const t = tempDir('postern-flush-');
const servers: Server[] = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  t.cleanup();
});
let n = 0;

async function instance() {
  const root = join(t.dir, `i${n++}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'transport'), 'relay.test retry:4.4.1 try later\nother.test retry:4.4.1 try later\n');
  const inst = await deliveryInstance(
    root,
    `relay_domains = relay.test
transport_maps = texthash:${root}/transport
`,
  );
  return inst;
}

function listen(path: string, onConn: Parameters<typeof createServer>[1]): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer(onConn);
    servers.push(s);
    s.listen(path, () => resolve(s));
  });
}

/** Fake public/qmgr and public/pickup that record the trigger bytes; our flush service on public/flush. */
async function services(inst: Awaited<ReturnType<typeof instance>>) {
  const got = { qmgr: [] as string[], pickup: [] as string[] };
  for (const name of ['qmgr', 'pickup'] as const) {
    await listen(join(inst.spool, 'public', name), (sock) => {
      let text = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => {
        text += d;
      });
      sock.on('end', () => got[name].push(text));
    });
  }
  const layout = layoutFromConfig(inst.cfg);
  const ctx = {
    cfg: inst.cfg,
    layout,
    warn: (w: string) => inst.log.push(`postfix/flush: warning: ${w}`),
    triggerQmgr: async (req: string) => {
      await mailTriggerRequest(inst.spool, 'public', 'qmgr', req);
    },
    now: () => Math.floor(inst.clock() / 1000),
  };
  await listen(join(inst.spool, 'public', 'flush'), (sock) => serveFlushClient(ctx, sock));
  return { got, ctx };
}

/** Wait until `cond` holds (trigger bytes arrive asynchronously). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

async function deferOne(inst: Awaited<ReturnType<typeof instance>>, rcpt: string): Promise<string> {
  const id = await inst.submit('sender@example.test', [rcpt], ['Subject: flush me', '', 'body']);
  const q = inst.qmgr();
  await q.runOnce({ incoming: true, wait: true });
  await q.close();
  return id;
}

describe('fast flush', () => {
  it('a deferral for a fast_flush_domains site appends "ID\\n" to flush/<site>; other sites get no log', async () => {
    const inst = await instance();
    const id = await deferOne(inst, 'user@relay.test');
    await deferOne(inst, 'user@other.test');
    assert.equal(readFileSync(join(inst.spool, 'flush', 'relay_test'), 'latin1'), `${id}\n`);
    assert.ok(!existsSync(join(inst.spool, 'flush', 'other_test')));
    assert.ok(existsSync(queuePath(layoutFromConfig(inst.cfg), Queue.DEFERRED, id)));
  });

  it('site names map to paths as flush_site_to_path does', () => {
    assert.equal(siteToPath('Mail.Example-One.NET'), 'mail_example_one_net');
    assert.equal(siteToPath('[192.0.2.1]'), '_192_0_2_1_');
    assert.equal(siteToPath('bücher.example'), 'xn__bcher_kva_example');
  });

  it('postqueue -s site: deferred -> incoming, log truncated, qmgr gets F then I, next pass delivers again', async () => {
    const inst = await instance();
    const { got } = await services(inst);
    const id = await deferOne(inst, 'user@relay.test');
    const r = await runOursAsync('postqueue', ['-c', inst.etc, '-s', 'relay.test']);
    assert.deepEqual([r.status, r.stderr], [0, '']);
    const layout = layoutFromConfig(inst.cfg);
    assert.ok(existsSync(queuePath(layout, Queue.INCOMING, id)));
    assert.ok(!existsSync(queuePath(layout, Queue.DEFERRED, id)));
    assert.equal(readFileSync(join(inst.spool, 'flush', 'relay_test'), 'latin1'), '');
    await until(() => got.qmgr.length >= 2);
    assert.deepEqual(got.qmgr, ['F', 'I']);
    const q = inst.qmgr();
    const rep = await q.runOnce({ incoming: true, wait: true });
    await q.close();
    assert.equal(rep.fed, 1);
    // Deferred again, so listed again.
    assert.equal(readFileSync(join(inst.spool, 'flush', 'relay_test'), 'latin1'), `${id}\n`);
  });

  it('postqueue -s for a site outside fast_flush_domains is refused by the client', async () => {
    const inst = await instance();
    await services(inst);
    const r = await runOursAsync('postqueue', ['-c', inst.etc, '-s', 'other.test']);
    assert.equal(r.status, 69);
    assert.equal(r.stderr, 'postqueue: fatal: Flush service is not configured for destination "other.test"\n');
  });

  it('postqueue -i ID: S_IRGRP set and file moved to incoming; qmgr clears the bit when it takes the file', async () => {
    const inst = await instance();
    const { got } = await services(inst);
    const id = await deferOne(inst, 'user@other.test');
    const r = await runOursAsync('postqueue', ['-c', inst.etc, '-i', id]);
    assert.deepEqual([r.status, r.stderr], [0, '']);
    const layout = layoutFromConfig(inst.cfg);
    const inc = queuePath(layout, Queue.INCOMING, id);
    assert.equal(statSync(inc).mode & 0o777, 0o740);
    await until(() => got.qmgr.length >= 1);
    assert.deepEqual(got.qmgr, ['I']);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true, wait: true });
    await q.close();
    assert.equal(statSync(queuePath(layout, Queue.DEFERRED, id)).mode & 0o777, 0o700);
  });

  it('postqueue -f and sendmail -q, -qR, -qI wake qmgr with FADI and pickup with W', async () => {
    const inst = await instance();
    const { got } = await services(inst);
    const id = await deferOne(inst, 'user@relay.test');
    const f = await runOursAsync('postqueue', ['-c', inst.etc, '-f']);
    assert.deepEqual([f.status, f.stderr], [0, '']);
    const q = await runOursAsync('sendmail', ['-C', inst.etc, '-q']);
    assert.deepEqual([q.status, q.stderr], [0, '']);
    await until(() => got.qmgr.length >= 2 && got.pickup.length >= 2);
    assert.deepEqual(got.qmgr, ['FADI', 'FADI']);
    assert.deepEqual(got.pickup, ['W', 'W']);
    const qr = await runOursAsync('sendmail', ['-C', inst.etc, '-qRrelay.test']);
    assert.deepEqual([qr.status, qr.stderr], [0, '']);
    assert.ok(existsSync(queuePath(layoutFromConfig(inst.cfg), Queue.INCOMING, id)));
    const qi = await runOursAsync('sendmail', ['-C', inst.etc, `-qI${id}`]);
    assert.deepEqual([qi.status, qi.stderr], [0, '']);
    assert.equal(statSync(queuePath(layoutFromConfig(inst.cfg), Queue.INCOMING, id)).mode & 0o777, 0o740);
  });

  it('the real postqueue -s and -i work against our flush service', { skip: !realPostfixAvailable() && 'no real Postfix' }, async () => {
    const inst = await instance();
    const { got } = await services(inst);
    const id = await deferOne(inst, 'user@relay.test');
    const s = await runRealAsync('postqueue', ['-c', inst.etc, '-s', 'relay.test']);
    assert.deepEqual([s.status, s.stderr], [0, '']);
    const layout = layoutFromConfig(inst.cfg);
    assert.ok(existsSync(queuePath(layout, Queue.INCOMING, id)));
    assert.equal(readFileSync(join(inst.spool, 'flush', 'relay_test'), 'latin1'), '');
    const i = await runRealAsync('postqueue', ['-c', inst.etc, '-i', id]);
    assert.deepEqual([i.status, i.stderr], [0, '']);
    assert.equal(statSync(queuePath(layout, Queue.INCOMING, id)).mode & 0o777, 0o740);
    await until(() => got.qmgr.length >= 3);
    assert.deepEqual(got.qmgr, ['F', 'I', 'I']);
  });

  it('refresh: old non-empty logs are flushed, old empty logs removed, fresh ones kept', async () => {
    const inst = await instance();
    const { ctx } = await services(inst);
    const id = await deferOne(inst, 'user@relay.test');
    assert.equal(await flushAdd(ctx, 'other.test', id), FlushStat.DENY);
    const flushDir = join(inst.spool, 'flush');
    writeFileSync(join(flushDir, 'empty_test'), '');
    const refresh = inst.cfg.time('fast_flush_refresh_time');
    const purge = inst.cfg.time('fast_flush_purge_time');
    // Nothing is old yet.
    await flushRefresh(ctx, refresh);
    assert.equal(readFileSync(join(flushDir, 'relay_test'), 'latin1'), `${id}\n`);
    inst.offset = (Math.max(refresh, purge) + 60) * 1000;
    await flushRefresh(ctx, refresh);
    assert.equal(readFileSync(join(flushDir, 'relay_test'), 'latin1'), '');
    assert.ok(!existsSync(join(flushDir, 'empty_test')));
    assert.ok(existsSync(queuePath(layoutFromConfig(inst.cfg), Queue.INCOMING, id)));
  });
});
