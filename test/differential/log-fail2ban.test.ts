/**
 * Log compatibility with fail2ban (issue 12): the same abusive dialogues go
 * to the real Postfix 3.7 smtpd and to Postern's; fail2ban's own postfix
 * filter (Debian's fail2ban, mode=aggressive) must find the same client
 * addresses in both mail logs. Postern's lines get the syslog prefix from
 * the formatter its maillog writer uses (log/maillog.ts formatLogLine).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatLogLine } from '../../src/log/maillog.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';
import { REPO } from '../helpers/postfix-diff.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { type DialogueStep, MemoryCleanup, MemoryLog, runDialogue } from '../helpers/smtp-client.js';

const FIX = join(REPO, 'fixtures/smtpd/fail2ban');
const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';

/** [client address, dialogue]: abusive sessions of several kinds, and a clean one last. */
const ABUSE: Array<[string, DialogueStep[]]> = [
  ['127.0.0.11', ['EHLO client.example', 'MAIL FROM:<a@example.com>', 'RCPT TO:<x@elsewhere.example>', 'QUIT']],
  ['127.0.0.12', ['EHLO bad_helo!', 'MAIL FROM:<a@example.com>', 'RCPT TO:<user@mx.example.test>', 'QUIT']],
  ['127.0.0.13', ['EHLO client.example', 'MAIL FROM:<nodomain>', 'RCPT TO:<user@mx.example.test>', 'QUIT']],
  ['127.0.0.14', ['EHLO client.example', 'FOO', 'BAR', 'BAZ', 'QUX']],
  ['127.0.0.15', [{ raw: 'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n', replies: 4 }]],
  ['127.0.0.16', ['EHLO client.example', 'MAIL FROM:<a@example.com>', 'RCPT TO:<user@mx.example.test>', 'QUIT']],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bannedIps(logFile: string): string[] {
  const r = spawnSync(FAIL2BAN_REGEX, ['-o', 'ip', logFile, 'postfix[mode=aggressive]'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l)).sort();
}

const skip = (!realPostfixUsable() && 'needs root and /usr/sbin/postfix') || (!existsSync(FAIL2BAN_REGEX) && 'fail2ban is not installed');

describe("fail2ban's postfix filter: Postern's log vs real Postfix's", { skip }, () => {
  let real: RealPostfix;
  let ours: RunningSmtpd;
  const log = new MemoryLog();
  let port = 0;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-f2b-'));
    [port] = await freePorts(1);
    real = await startRealPostfix({
      main: readFileSync(join(FIX, 'main.cf'), 'latin1'),
      services: `127.0.0.1:${port} inet n - n - - smtpd`,
    });
    ours = await startSmtpd({ configDir: real.configDir, service: `127.0.0.1:${port}`, cleanup: new MemoryCleanup(), log });
    await Promise.all(
      ABUSE.map(async ([from, steps]) => {
        await Promise.all([runDialogue(port, steps, { localAddress: from }), runDialogue(ours.port, steps, { localAddress: from })]);
      }),
    );
    const disconnects = (lines: string[]) => lines.filter((l) => /disconnect from /.test(l)).length;
    for (let i = 0; i < 250 && (disconnects(real.log().split('\n')) < ABUSE.length || disconnects(log.lines) < ABUSE.length); i++) await sleep(20);
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the same abusive clients in both logs', () => {
    const realFile = join(dir, 'real.log');
    writeFileSync(realFile, real.log());
    const ourFile = join(dir, 'ours.log');
    const now = new Date();
    writeFileSync(
      ourFile,
      log.lines
        .map((l) => (l.startsWith('warning: ') ? formatLogLine(now, 'mx', 'postfix/smtpd', 4242, 'warning', l.slice(9)) : formatLogLine(now, 'mx', 'postfix/smtpd', 4242, 'info', l)))
        .join('\n')
        .concat('\n'),
    );
    const realIps = bannedIps(realFile);
    const ourIps = bannedIps(ourFile);
    assert.deepEqual(ourIps, realIps);
    // Every abusive client is caught at least once, the clean one never.
    // What the filter bans: relay denied, too many errors, and improper pipelining plus its
    // relay reject (two lines). A bad HELO name, a non-FQDN sender and a clean session are not banned.
    assert.deepEqual(realIps, ['127.0.0.11', '127.0.0.14', '127.0.0.15', '127.0.0.15']);
  });
});
