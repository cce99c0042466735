/**
 * Differential tests of what the access-map actions delegated to cleanup
 * leave in the queue (smtpd.c data_cmd() / common_post_message_handling()):
 * HOLD (the file lands in hold/), FILTER (a content_filter record),
 * REDIRECT (redirect_to), BCC (an extra recipient with NOTIFY=NEVER),
 * PREPEND (a header above Received:) and DISCARD (no file at all).
 *
 * The same dialogue goes to the real Postfix 3.7 (smtpd + cleanup, no
 * qmgr, so mail stays where cleanup put it) and to Postern's smtpd with
 * Postern's cleanup on its own queue directory; both queue files are read
 * with the real postcat. Normalised: queue IDs, times, the client port and
 * the message_size field that depends on their lengths.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import { normalisePostcat } from '../helpers/postfix-queue.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { type DialogueStep, MemoryLog, runDialogue } from '../helpers/smtp-client.js';
import { openCleanup } from '../../src/cleanup/service.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { ensureQueueDirs } from '../../src/queue/layout.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';

const FIX = join(REPO, 'fixtures/smtpd/access');
const MSG = 'From: a@example.org\r\nTo: any@mx.example.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <m@example.org>\r\nSubject: t\r\n\r\nbody\r\n.\r\n';

const dialogue = (sender: string, rcpts: string[]): DialogueStep[] => [
  'EHLO client.example.test',
  `MAIL FROM:<${sender}>`,
  ...rcpts.map((r) => `RCPT TO:<${r}>`),
  'DATA',
  { raw: MSG, replies: 1 },
  'QUIT',
];

const CASES: Array<{ name: string; steps: DialogueStep[] }> = [
  { name: 'sender HOLD', steps: dialogue('hold@example.org', ['any@mx.example.test']) },
  { name: 'sender FILTER', steps: dialogue('filter@example.org', ['any@mx.example.test']) },
  { name: 'sender REDIRECT', steps: dialogue('redirect@example.org', ['any@mx.example.test']) },
  { name: 'sender BCC', steps: dialogue('bcc@example.org', ['any@mx.example.test', 'two@mx.example.test']) },
  { name: 'sender PREPEND', steps: dialogue('prepend@example.org', ['any@mx.example.test']) },
  { name: 'sender DISCARD', steps: dialogue('discard@example.org', ['any@mx.example.test']) },
  {
    name: 'recipient HOLD, WARN, BCC, then DISCARD',
    steps: dialogue('a@example.com', ['hold@mx.example.test', 'warn@mx.example.test', 'bcc@mx.example.test', 'discard@mx.example.test']),
  },
];

/** Queue files as "queue/name", recursively (hashed or flat). */
function listQueue(spool: string): string[] {
  const out: string[] = [];
  for (const q of ['incoming', 'active', 'hold', 'deferred']) {
    const walk = (d: string, rel: string) => {
      if (!existsSync(d)) return;
      for (const n of readdirSync(d, { withFileTypes: true })) {
        if (n.isDirectory()) walk(join(d, n.name), `${rel}/${n.name}`);
        else out.push(`${rel}/${n.name}`);
      }
    };
    walk(join(spool, q), q);
  }
  return out;
}

const postcat = (configDir: string, file: string) =>
  execFileSync('postcat', ['-c', configDir, file], { encoding: 'latin1', env: { PATH: '/usr/sbin:/usr/bin:/bin', TZ: 'UTC' } });

function normalise(text: string, id: string): string {
  return normalisePostcat(text, id)
    .replace(/^(\*\*\* [A-Z ]+) \/\S+ \*\*\*$/gm, '$1 FILE ***')
    .replace(/(client|server)_port=\d+/g, '$1_port=PORT');
}

describe('smtpd access actions in the queue file: Postern vs real Postfix', { skip: !realPostfixUsable() && 'needs root and /usr/sbin/postfix' }, () => {
  let real: RealPostfix;
  let realPort = 0;
  let ours: RunningSmtpd;
  const ourSpool = mkdtempSync(join(tmpdir(), 'postern-access-queue-'));
  let configDir = '';

  before(async () => {
    [realPort] = await freePorts(1);
    real = await startRealPostfix({
      main: `${readFileSync(join(FIX, 'main.cf'), 'latin1')}fixdir = ${FIX}\n`,
      services: `127.0.0.1:${realPort} inet n - n - - smtpd`,
    });
    configDir = real.configDir;
    ensureQueueDirs(ourSpool);
    const overrides: Array<[string, string]> = [['queue_directory', ourSpool]];
    const cleanup = openCleanup(loadPostfixConfig({ configDir, overrides }), { notifyQmgr: false, log: new MemoryLog() });
    ours = await startSmtpd({ configDir, service: `127.0.0.1:${realPort}`, cleanup, log: new MemoryLog(), overrides });
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    rmSync(ourSpool, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const realSpool = join(real.dir, 'spool');
      const realBefore = new Set(listQueue(realSpool));
      const ourBefore = new Set(listQueue(ourSpool));
      const [realOut, ourOut] = await Promise.all([runDialogue(realPort, c.steps), runDialogue(ours.port, c.steps)]);
      const ids = (l: string[]) => l.map((x) => x.replace(/queued as \w+/, 'queued as ID'));
      assert.deepEqual(ids(ourOut), ids(realOut), 'replies');
      assert.match(realOut.join('\n'), /250 2\.0\.0 Ok: queued as/);
      const realNew = listQueue(realSpool).filter((f) => !realBefore.has(f));
      const ourNew = listQueue(ourSpool).filter((f) => !ourBefore.has(f));
      const where = (l: string[]) => l.map((f) => f.split('/')[0]);
      assert.deepEqual(where(ourNew), where(realNew), 'queue the file is in');
      if (realNew.length === 0) return;
      const realId = realNew[0].split('/').pop()!;
      const ourId = ourNew[0].split('/').pop()!;
      const realText = normalise(postcat(configDir, join(realSpool, realNew[0])), realId);
      const ourText = normalise(postcat(configDir, join(ourSpool, ourNew[0])), ourId);
      assert.equal(ourText, realText);
    });
  }
});
