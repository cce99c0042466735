/**
 * test/integration/master.test.ts: `postfix start` on a temp configuration
 * with an unprivileged loopback port; status, worker restart after a kill,
 * the bad-startup throttle, "not implemented" services, reload, stop.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPid } from '../../src/master/pidfile.js';
import { runOurs, tempDir } from '../helpers/postfix-diff.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Connect, read the banner line, say QUIT. */
function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no banner on port ${port}`));
    }, 5000);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        sock.end('QUIT\r\n');
        resolve(buf.slice(0, buf.indexOf('\r\n')));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Connect and resolve once the banner arrives, keeping the session open. */
function openSession(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.setEncoding('utf8');
    sock.once('data', () => resolve(sock));
    sock.on('error', reject);
  });
}

async function waitFor(what: () => boolean, label: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('master: start, status, worker restart, throttle, reload, stop', { timeout: 60_000 }, async () => {
  const t = tempDir();
  const etc = join(t.dir, 'etc');
  const log = join(t.dir, 'maillog');
  const queue = join(t.dir, 'queue');
  // Workers of unprivileged services run as mail_owner when the test runs as
  // root: they must be able to read the configuration, as with real Postfix.
  chmodSync(t.dir, 0o755);
  mkdirSync(etc);
  const port = await freePort();
  const port1 = await freePort();
  writeFileSync(
    join(etc, 'main.cf'),
    [
      `queue_directory = ${queue}`,
      `data_directory = ${t.dir}/data`,
      `maillog_file = ${log}`,
      `maillog_file_prefixes = ${t.dir}`,
      'myhostname = mx.example.test',
      'inet_interfaces = 127.0.0.1',
      'service_throttle_time = 1s',
      'compatibility_level = 3.6',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(etc, 'master.cf'),
    [
      `127.0.0.1:${port} inet n - n - - postern-echo`,
      'crash unix n - n - 1 postern-crash',
      `127.0.0.1:${port1} inet n - n - 1 postern-echo`,
      'showq unix n - n - - showq',
      'postlog unix-dgram n - n - 1 postlogd',
      '',
    ].join('\n'),
  );
  const text = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return '';
    }
  };
  const pf = (cmd: string) => runOurs('postfix', ['-c', etc, cmd]);
  try {
    const before = pf('status');
    assert.equal(before.status, 1);
    assert.match(text(), / postfix\/postfix-script\[\d+\]: the Postfix mail system is not running\n/);

    const start = pf('start');
    assert.equal(start.status, 0, start.stderr);
    assert.match(text(), /postfix-script\[\d+\]: starting the Postfix mail system\n/);
    assert.match(text(), new RegExp(`postfix/master\\[\\d+\\]: daemon started -- version 3\\.7\\.11, configuration ${etc}\\n`));
    assert.match(text(), /postfix\/master\[\d+\]: warning: service "showq" \(showq\) is not implemented in Postern yet\n/);

    const pid = readPid(join(queue, 'pid', 'master.pid'));
    assert.ok(pid);
    assert.equal(readFileSync(join(queue, 'pid', 'master.pid'), 'utf8'), `${String(pid).padStart(32)}\n`);
    const status = pf('status');
    assert.equal(status.status, 0);
    assert.match(text(), new RegExp(`the Postfix mail system is running: PID: ${pid}\\n`));

    const again = pf('start');
    assert.equal(again.status, 1);
    assert.match(text(), /postfix-script\[\d+\]: fatal: the Postfix mail system is already running\n/);

    // A worker that dies before it is ready throttles its service.
    await waitFor(() => /warning: \/usr\/lib\/postfix\/sbin\/postern-crash: bad command startup -- throttling\n/.test(text()), 'throttle');
    assert.match(text(), /postfix\/master\[\d+\]: warning: process \/usr\/lib\/postfix\/sbin\/postern-crash pid \d+ exit status 1\n/);

    // Kill the echo worker: it is reported and replaced.
    const b1 = await banner(port).catch((e: Error) => {
      throw new Error(`${e.message}\n${text()}`);
    });
    const w1 = Number(/^220 postern-echo (\d+)$/.exec(b1)?.[1]);
    assert.ok(w1 > 0, b1);
    process.kill(w1, 'SIGKILL');
    await waitFor(() => text().includes(`warning: process /usr/lib/postfix/sbin/postern-echo pid ${w1} killed by signal 9\n`), 'kill report');
    const b2 = await banner(port);
    const w2 = Number(/^220 postern-echo (\d+)$/.exec(b2)?.[1]);
    assert.ok(w2 > 0 && w2 !== w1, `${b1} / ${b2}`);

    // maxproc 1: a second client waits until the first one leaves.
    const first = await openSession(port1);
    const second = openSession(port1);
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(secondDone, false, 'second client served while the first holds the only slot');
    first.end('QUIT\r\n');
    const s2 = await second;
    s2.end('QUIT\r\n');

    // Reload: new generation of workers, same listener.
    assert.equal(pf('reload').status, 0);
    await waitFor(() => text().includes(`postfix/master[${pid}]: reload -- version 3.7.11, configuration ${etc}\n`), 'reload');
    await waitFor(() => {
      try {
        process.kill(w2, 0);
        return false;
      } catch {
        return true;
      }
    }, 'old worker retired');
    const b3 = await banner(port);
    assert.match(b3, /^220 postern-echo \d+$/);
    assert.notEqual(b3, b2);

    const stop = pf('stop');
    assert.equal(stop.status, 0);
    assert.match(text(), /postfix-script\[\d+\]: stopping the Postfix mail system\n/);
    assert.match(text(), new RegExp(`postfix/master\\[${pid}\\]: terminating on signal 15\\n`));
    assert.equal(pf('status').status, 1);
    assert.equal(pf('stop').status, 1);
    assert.match(text(), /fatal: the Postfix mail system is not running\n$/);
  } finally {
    const pid = readPid(join(queue, 'pid', 'master.pid'));
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already stopped */
      }
    }
    t.cleanup();
  }
});
