/**
 * test/differential/postqueue-flush.test.ts: the flush requests of
 * postqueue (-f, -s, -i) and sendmail (-q, -qR, -qI) against the real
 * Postfix 3.7 tools on the same configuration, when the mail system is down
 * (no endpoints; endpoints left behind by a dead master: "Connection
 * refused") and for a site outside fast_flush_domains: stderr and exit
 * status byte for byte. Then a real running Postfix defers a message for a
 * fast_flush_domains site and its flush/<site> logfile is compared with the
 * one our queue manager writes for the same deferral (queue IDs masked).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { realPostfixAvailable, runBoth, tempDir } from '../helpers/postfix-diff.js';
import { FULL_MASTER_CF, realPostfixRunnable, startRealInstance } from '../helpers/real-postfix-delivery.js';

const t = tempDir('postern-pqflush-');
after(() => t.cleanup());

function config(name: string): { etc: string; spool: string } {
  const etc = join(t.dir, name, 'etc');
  const spool = join(t.dir, name, 'spool');
  mkdirSync(etc, { recursive: true });
  for (const d of ['public', 'flush', 'deferred', 'incoming']) mkdirSync(join(spool, d), { recursive: true });
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6\nqueue_directory = ${spool}\ndata_directory = ${t.dir}/${name}/data\nrelay_domains = relay.test\n`,
  );
  writeFileSync(join(etc, 'master.cf'), '');
  return { etc, spool };
}

/** Sockets of a master that died: the files are there, nobody listens. */
function staleSockets(spool: string): void {
  const script = `const net=require('net');let n=0;for(const p of ['qmgr','flush','pickup']){net.createServer().listen(${JSON.stringify(
    join(spool, 'public'),
  )}+'/'+p,()=>{if(++n===3)process.exit(0)})}`;
  spawnSync(process.execPath, ['-e', script]);
}

const CASES: Array<[string, string, string[]]> = [
  ['postqueue -f', 'postqueue', ['-f']],
  ['postqueue -s site', 'postqueue', ['-s', 'relay.test']],
  ['postqueue -s other site', 'postqueue', ['-s', 'other.test']],
  ['postqueue -s bad name', 'postqueue', ['-s', 'bad..name']],
  ['postqueue -i id', 'postqueue', ['-i', 'ABCDEF123']],
  ['postqueue -i bad id', 'postqueue', ['-i', 'ABC/../x']],
  ['sendmail -q', 'sendmail', ['-q']],
  ['sendmail -qR', 'sendmail', ['-qRrelay.test']],
  ['sendmail -qI', 'sendmail', ['-qIABCDEF123']],
];

describe('postqueue flush requests vs real Postfix', { skip: !realPostfixAvailable() && 'no real Postfix' }, () => {
  // Endpoints of a dead master: the refused connect, once per kind of request.
  const STALE = CASES.filter(([name]) => ['postqueue -f', 'postqueue -s site', 'postqueue -i id'].includes(name));
  for (const [state, prepare, cases] of [
    ['mail system down (no endpoints)', (_spool: string) => undefined, CASES],
    ['endpoints of a dead master', staleSockets, STALE],
  ] as const) {
    it(state, async () => {
      const c = config(state.replace(/\W+/g, '_'));
      prepare(c.spool);
      const runs = await Promise.all(
        cases.map(([, tool, args]) => runBoth(tool, [tool === 'sendmail' ? '-C' : '-c', c.etc, ...args], { TZ: 'UTC' })),
      );
      cases.forEach(([name], i) => {
        const [real, ours] = runs[i]!;
        assert.equal(ours.stderr, real.stderr, name);
        assert.equal(ours.status, real.status, name);
        assert.equal(ours.stdout, real.stdout, name);
      });
      assert.match(runs[0]![1].stderr, /postqueue: fatal: Cannot flush mail queue - mail system is down\n$/);
    });
  }
});

describe('fast flush logfile vs real Postfix', { skip: !realPostfixRunnable() && 'needs root and Debian postfix' }, () => {
  it('one deferral for relay_domains: flush/relay_test holds "ID\\n"', async () => {
    const main = (dir: string) => {
      writeFileSync(join(dir, 'transport'), 'relay.test retry:4.4.1 try later\n');
      return `relay_domains = relay.test\ntransport_maps = texthash:${dir}/transport\nmydestination =\n`;
    };
    const rdir = join(t.dir, 'real-cfg');
    mkdirSync(rdir, { recursive: true });
    const real = startRealInstance(main(rdir), FULL_MASTER_CF);
    let realLog: string;
    let realId: string;
    try {
      assert.equal(real.tool('sendmail', ['-f', 'sender@example.test', 'user@relay.test'], 'Subject: x\n\nbody\n').status, 0);
      assert.ok(await real.waitLog(/status=deferred/, 20_000), real.log());
      // The log line comes before qmgr moves the file to deferred/.
      let sub: string[] = [];
      for (let i = 0; i < 100 && (sub = readdirSync(join(real.spool, 'deferred'))).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      realId = readdirSync(join(real.spool, 'deferred', sub[0]!))[0]!;
      assert.deepEqual(readdirSync(join(real.spool, 'flush')), ['relay_test']);
      realLog = readFileSync(join(real.spool, 'flush', 'relay_test'), 'latin1');
    } finally {
      await real.stop();
    }
    const root = join(t.dir, 'ours');
    mkdirSync(root, { recursive: true });
    const inst = await deliveryInstance(root, main(root));
    const id = await inst.submit('sender@example.test', ['user@relay.test'], ['Subject: x', '', 'body']);
    const q = inst.qmgr();
    await q.runOnce({ incoming: true, wait: true });
    await q.close();
    assert.deepEqual(readdirSync(join(inst.spool, 'flush')), ['relay_test']);
    const ours = readFileSync(join(inst.spool, 'flush', 'relay_test'), 'latin1');
    // Queue IDs differ between the two systems.
    assert.equal(ours.replace(id, 'ID'), realLog.replace(realId, 'ID'));
    assert.equal(ours, `${id}\n`);
    rmSync(root, { recursive: true, force: true });
  });
});
