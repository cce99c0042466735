/**
 * test/integration/master-reload.test.ts: `postfix reload` with Postern's
 * smtpd on a loopback port. Sessions open across a reload finish on the old
 * settings (myhostname in the EHLO reply) while new connections get the new
 * smtpd_banner; a master.cf or main.cf error on reload keeps the running
 * configuration and is logged with file and line; with
 * postern_auto_reload = yes, editing main.cf reloads by itself and the log
 * says what changed.
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

/** A line-oriented SMTP client: send a command, read one complete (possibly multi-line) reply. */
class Client {
  private buf = '';
  private waiters: Array<() => void> = [];
  private constructor(readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  async reply(): Promise<string> {
    const end = Date.now() + 8000;
    for (;;) {
      const m = /(?:^|\r\n)\d{3} [^\r\n]*\r\n/.exec(this.buf);
      if (m) {
        const out = this.buf.slice(0, m.index + m[0].length);
        this.buf = this.buf.slice(out.length);
        return out;
      }
      if (this.sock.destroyed || Date.now() > end) throw new Error(`no reply; have ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  async cmd(line: string): Promise<string> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }
}

async function waitFor(what: () => boolean, label: string, log: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('reload: live sessions keep the old settings, new ones get the new, errors keep the config', { timeout: 60_000 }, async () => {
  const t = tempDir();
  const etc = join(t.dir, 'etc');
  const log = join(t.dir, 'maillog');
  const queue = join(t.dir, 'queue');
  chmodSync(t.dir, 0o755);
  mkdirSync(etc);
  const port = await freePort();
  const main = (host: string, extra: string[] = []) =>
    writeFileSync(
      join(etc, 'main.cf'),
      [
        `queue_directory = ${queue}`,
        `data_directory = ${t.dir}/data`,
        `maillog_file = ${log}`,
        `maillog_file_prefixes = ${t.dir}`,
        `myhostname = ${host}`,
        'smtpd_banner = $myhostname ESMTP banner-of-$myhostname',
        'inet_interfaces = 127.0.0.1',
        'compatibility_level = 3.6',
        ...extra,
        '',
      ].join('\n'),
    );
  const masterCf = (extra: string[] = []) =>
    writeFileSync(
      join(etc, 'master.cf'),
      [`127.0.0.1:${port} inet n - n - - smtpd`, 'postlog unix-dgram n - n - 1 postlogd', ...extra, ''].join('\n'),
    );
  main('old.example.test');
  masterCf();
  const text = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return '';
    }
  };
  const count = (s: string) => text().split(s).length - 1;
  const pf = (cmd: string) => runOurs('postfix', ['-c', etc, cmd], { POSTERN_WORKERS: '1' });
  const sessions: Client[] = [];
  try {
    const start = pf('start');
    assert.equal(start.status, 0, start.stderr + text());
    const pid = readPid(join(queue, 'pid', 'master.pid'));
    assert.ok(pid);
    const reloadLine = `postfix/master[${pid}]: reload -- version 3.7.11, configuration ${etc}\n`;

    // Five sessions open before the reload, one of them half-way through a transaction.
    for (let i = 0; i < 5; i++) {
      const c = await Client.open(port);
      assert.equal(await c.reply(), '220 old.example.test ESMTP banner-of-old.example.test\r\n');
      sessions.push(c);
    }
    const busy = sessions[0]!;
    assert.match(await busy.cmd('EHLO client.test'), /^250-old\.example\.test\r\n/);
    assert.equal(await busy.cmd('MAIL FROM:<a@client.test>'), '250 2.1.0 Ok\r\n');

    main('new.example.test');
    assert.equal(pf('reload').status, 0);
    await waitFor(() => text().includes(reloadLine), 'reload line', text);

    // New connections: the new banner (once the new worker generation is up).
    let fresh: Client | undefined;
    let banner = '';
    for (let i = 0; i < 40 && !banner.includes('new.example.test'); i++) {
      fresh?.sock.destroy();
      fresh = await Client.open(port);
      banner = await fresh.reply();
      if (!banner.includes('new.example.test')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(banner, '220 new.example.test ESMTP banner-of-new.example.test\r\n');
    assert.match(await fresh!.cmd('EHLO client.test'), /^250-new\.example\.test\r\n/);
    assert.equal(await fresh!.cmd('QUIT'), '221 2.0.0 Bye\r\n');

    // The sessions opened before the reload are alive and still on the old settings.
    for (const c of sessions.slice(1)) assert.match(await c.cmd('EHLO client.test'), /^250-old\.example\.test\r\n/);
    assert.equal(await busy.cmd('RSET'), '250 2.0.0 Ok\r\n');
    for (const c of sessions) assert.equal(await c.cmd('QUIT'), '221 2.0.0 Bye\r\n');

    // A broken master.cf: the error with file and line, the running configuration stays.
    masterCf(['bogus inet n - n - - smtpd extra', 'broken']);
    const reloadsBefore = count(reloadLine);
    assert.equal(pf('reload').status, 0);
    await waitFor(() => count(reloadLine) > reloadsBefore && text().includes('reload failed'), 'failed reload', text);
    assert.match(text(), new RegExp(`postfix/master\\[${pid}\\]: warning: file ${etc}/master.cf: line 4: bad field count\\n`));
    assert.match(text(), new RegExp(`postfix/master\\[${pid}\\]: warning: reload failed -- keeping the running configuration\\n`));
    const still = await Client.open(port);
    assert.equal(await still.reply(), '220 new.example.test ESMTP banner-of-new.example.test\r\n');
    assert.equal(await still.cmd('QUIT'), '221 2.0.0 Bye\r\n');

    // A bad number in main.cf is refused the same way, in Postfix's words.
    masterCf();
    main('bad.example.test', ['smtpd_timeout = abc']);
    const failedBefore = count('reload failed');
    assert.equal(pf('reload').status, 0);
    await waitFor(() => count('reload failed') > failedBefore, 'second failed reload', text);
    assert.match(text(), /warning: parameter smtpd_timeout: bad time value or unit: abc\n/);
    const still2 = await Client.open(port);
    assert.equal(await still2.reply(), '220 new.example.test ESMTP banner-of-new.example.test\r\n');
    still2.sock.destroy();

    // Auto reload: turn it on with a reload, then an edit alone is enough.
    main('auto.example.test', ['postern_auto_reload = yes']);
    assert.equal(pf('reload').status, 0);
    await waitFor(() => count(reloadLine) >= reloadsBefore + 3, 'third reload', text);
    await new Promise((r) => setTimeout(r, 700)); // the watcher's initial scan
    main('auto2.example.test', ['postern_auto_reload = yes', 'smtpd_helo_required = yes']);
    await waitFor(() => text().includes(`auto reload: ${etc}/main.cf changed\n`), 'auto reload', text);
    await waitFor(() => text().includes('auto reload: main.cf: smtpd_helo_required added\n'), 'change list', text);
    assert.match(text(), /auto reload: main\.cf: myhostname changed\n/);
    let b = '';
    for (let i = 0; i < 40 && !b.includes('auto2'); i++) {
      const c = await Client.open(port);
      b = await c.reply();
      c.sock.destroy();
      if (!b.includes('auto2')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(b, '220 auto2.example.test ESMTP banner-of-auto2.example.test\r\n');

    assert.equal(pf('stop').status, 0);
  } finally {
    for (const c of sessions) c.sock.destroy();
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
