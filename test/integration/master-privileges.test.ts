/**
 * test/integration/master-privileges.test.ts: as root (as in CI), `postfix
 * set-permissions` gives the queue the owners and modes of postfix-files
 * (the same as this machine's real /var/spool/postfix), the master binds the
 * port as root and runs smtpd as $mail_owner, so a message it receives lands
 * in incoming/ owned by postfix with mode 0700, as with real Postfix; and
 * `postfix check` prints postfix-script's warnings for a world-writable
 * queue directory and a file in the queue not owned by $mail_owner.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPid } from '../../src/master/pidfile.js';
import { getgrnam, getpwnam } from '../../src/util/passwd.js';
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

/** Send one message; resolve with the server's replies. */
function smtpSend(port: number): Promise<string> {
  const script = ['EHLO client.test', 'MAIL FROM:<a@client.test>', 'RCPT TO:<b@example.test>', 'DATA'];
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`SMTP stalled: ${buf}`));
    }, 10_000);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buf)) return;
      if (step < script.length) s.write(`${script[step++]}\r\n`);
      else if (step === script.length) {
        step++;
        s.write('Subject: t\r\n\r\nhello\r\n.\r\n');
      } else if (step === script.length + 1) {
        step++;
        s.write('QUIT\r\n');
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(buf);
    });
    s.on('error', reject);
  });
}

const isRoot = process.getuid?.() === 0;

test('privileges: set-permissions, workers as mail_owner, queue file owners, check warnings', {
  timeout: 60_000,
  skip: isRoot ? false : 'needs root (CI runs the tests as root)',
}, async () => {
  const postfix = getpwnam('postfix');
  const postdrop = getgrnam('postdrop');
  assert.ok(postfix && postdrop, 'the postfix user and postdrop group exist (Debian postfix package)');
  const t = tempDir();
  const etc = join(t.dir, 'etc');
  const queue = join(t.dir, 'queue');
  const log = join(t.dir, 'maillog');
  chmodSync(t.dir, 0o755);
  mkdirSync(etc);
  const port = await freePort();
  writeFileSync(
    join(etc, 'main.cf'),
    [
      `queue_directory = ${queue}`,
      `data_directory = ${t.dir}/data`,
      `maillog_file = ${log}`,
      `maillog_file_prefixes = ${t.dir}`,
      'myhostname = mx.example.test',
      'mydestination = example.test',
      'inet_interfaces = 127.0.0.1',
      'compatibility_level = 3.6',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(etc, 'master.cf'),
    [`127.0.0.1:${port} inet n - - - - smtpd`, 'postlog unix-dgram n - n - 1 postlogd', ''].join('\n'),
  );
  const text = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return '';
    }
  };
  const pf = (cmd: string) => runOurs('postfix', ['-c', etc, cmd], { POSTERN_WORKERS: '1' });
  try {
    assert.equal(pf('set-permissions').status, 0);
    // postfix-files: owner, group, mode (what this machine's real /var/spool/postfix shows, less Debian's extra bits).
    const expect: Array<[string, number, number, number]> = [
      ['.', 0, 0, 0o755],
      ['pid', 0, 0, 0o755],
      ['incoming', postfix.uid, 0, 0o700],
      ['active', postfix.uid, 0, 0o700],
      ['deferred', postfix.uid, 0, 0o700],
      ['private', postfix.uid, 0, 0o700],
      ['maildrop', postfix.uid, postdrop.gid, 0o730],
      ['public', postfix.uid, postdrop.gid, 0o710],
    ];
    for (const [d, uid, gid, mode] of expect) {
      const st = statSync(join(queue, d));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [uid, gid, mode], d);
    }
    const data = statSync(join(t.dir, 'data'));
    assert.deepEqual([data.uid, data.mode & 0o777], [postfix.uid, 0o700]);

    // A clean tree: `postfix check` says nothing.
    const clean = pf('check');
    assert.equal(clean.status, 0);
    assert.doesNotMatch(text(), /warning: (not owned|group or other)/);

    assert.equal(pf('start').status, 0, text());
    const replies = await smtpSend(port);
    assert.match(replies, /\r\n250 2\.0\.0 Ok: queued as [0-9A-F]+\r\n/);
    const id = /queued as ([0-9A-F]+)/.exec(replies)![1]!;
    // smtpd ran as postfix (master.cf field 4 "-"), so did the in-process cleanup that wrote the file.
    const pidLine = new RegExp(`postfix/smtpd\\[(\\d+)\\]: ${id}: client=`).exec(text());
    assert.ok(pidLine, text());
    const qf = statSync(join(queue, 'incoming', id));
    assert.deepEqual([qf.uid, qf.mode & 0o7777], [postfix.uid, 0o700]);
    assert.equal(statSync(join(queue, 'pid', 'master.pid')).uid, 0);
    assert.equal(pf('stop').status, 0);

    // Bad ownership and modes: postfix-script's warnings, and the system still starts.
    chmodSync(queue, 0o777);
    writeFileSync(join(queue, 'incoming', 'stray'), 'x');
    chownSync(join(queue, 'incoming', 'stray'), 0, 0);
    const before = text().length;
    assert.equal(pf('check').status, 0);
    const warnings = text()
      .slice(before)
      .split('\n')
      .filter((l) => l.includes('warning:'))
      .map((l) => l.replace(/^.*postfix\/postfix-script\[\d+\]: /, ''));
    assert.deepEqual(warnings.sort(), [
      `warning: group or other writable: ${queue}/.`,
      `warning: not owned by postfix: ${queue}/incoming/stray`,
    ]);
    assert.deepEqual(readdirSync(join(queue, 'incoming')).sort(), [id, 'stray'].sort());
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
