/**
 * Differential tests of what smtpd hands to cleanup: the same messages go
 * to the real Postfix (its queue file is read back with the real postcat)
 * and to Postern's smtpd (recorded by a memory CleanupService). Compared:
 * the envelope's named attributes (ports excluded), sender, recipients with
 * their DSN attributes, our Received: header (queue ID and date
 * normalised) and the message content after it. The service runs with
 * an empty local_header_rewrite_clients so the real cleanup adds no headers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { type DialogueStep, MemoryCleanup, type MemoryMessage, MemoryLog, runDialogue } from '../helpers/smtp-client.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';

const FIX = join(REPO, 'fixtures/smtpd');
const HDRS = 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@example.org\r\nTo: user@mx.example.test\r\nMessage-Id: <m@example.org>\r\n';
const LONG = 'x'.repeat(5000);

interface Case {
  name: string;
  steps: DialogueStep[];
}

const mail = (extra = '', rcpts = ['<user@mx.example.test>']): DialogueStep[] => [
  `MAIL FROM:<a@example.org>${extra}`,
  ...rcpts.map((r) => `RCPT TO:${r}`),
];

const CASES: Case[] = [
  {
    name: 'plain message with dot stuffing',
    steps: ['EHLO client.example.test', ...mail(), 'DATA', { raw: `${HDRS}Subject: t\r\n\r\n..dot\r\n.x\r\nline\r\n.\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'From_ line and leading white space',
    steps: ['EHLO client.example.test', ...mail(), 'DATA', { raw: `>From x\r\n continued\r\n${HDRS}\r\nbody\r\n.\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'From_ lines only first',
    steps: ['EHLO client.example.test', ...mail(), 'DATA', { raw: `From a\r\n>>From b\r\n${HDRS}\r\nFrom c\r\nFrom d\r\n.\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'line longer than line_length_limit',
    steps: ['EHLO client.example.test', ...mail(), 'DATA', { raw: `${HDRS}\r\n${LONG}\r\n.${LONG}\r\nend\r\n.\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'two recipients, HELO, DSN parameters',
    steps: [
      'HELO client.example.test',
      ...mail(' RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME', [
        '<user@mx.example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;orig+40example.org',
        '<"Other User"@MX.example.test> NOTIFY=NEVER',
      ]),
      'DATA',
      { raw: `${HDRS}\r\nbody\r\n.\r\n`, replies: 1 },
      'QUIT',
    ],
  },
  {
    name: 'SMTPUTF8 transaction',
    steps: ['EHLO client.example.test', ...mail(' SMTPUTF8'), 'DATA', { raw: `${HDRS}\r\nb\u00c3\u00a9\r\n.\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'BDAT chunks splitting lines and CRLF',
    steps: [
      'EHLO client.example.test',
      ...mail(),
      { raw: `BDAT ${HDRS.length + 5}\r\n${HDRS}\r\nab\r`, replies: 1 },
      { raw: 'BDAT 8\r\n\ncd\r\n.\r\n', replies: 1 },
      { raw: 'BDAT 5 LAST\r\ntail!', replies: 1 },
      'QUIT',
    ],
  },
  {
    name: 'BDAT line longer than line_length_limit',
    steps: ['EHLO client.example.test', ...mail(), { raw: `BDAT ${HDRS.length + 2 + 5002} LAST\r\n${HDRS}\r\n${LONG}\r\n`, replies: 1 }, 'QUIT'],
  },
  {
    name: 'empty message',
    steps: ['EHLO client.example.test', ...mail(), 'DATA', { raw: '.\r\n', replies: 1 }, 'QUIT'],
  },
  {
    name: 'null sender, source route and quoted recipient',
    steps: [
      'EHLO client.example.test',
      'MAIL FROM:<>',
      'RCPT TO:<@mx.example.test:user@mx.example.test>',
      'RCPT TO:<"a b"@mx.example.test>',
      'DATA',
      { raw: `${HDRS}\r\nx\r\n.\r\n`, replies: 1 },
      'QUIT',
    ],
  },
];

interface Envelope {
  attrs: string[];
  sender: string;
  rcpts: string[];
  content: string[];
}

const PORTS = /^(log_client_port|client_port|server_port)=/;

/** The parts of `postcat -q ID` output we compare. */
function parsePostcat(text: string): Envelope {
  const env: Envelope = { attrs: [], sender: '', rcpts: [], content: [] };
  let inContent = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*** MESSAGE CONTENTS')) inContent = true;
    else if (line.startsWith('*** ')) inContent = false;
    else if (inContent) env.content.push(line);
    else if (line.startsWith('named_attribute: ')) {
      const a = line.slice(17);
      if (a.startsWith('dsn_orig_rcpt=') || a.startsWith('notify_flags=')) env.rcpts.push(a);
      else if (!PORTS.test(a)) env.attrs.push(a);
    } else if (line.startsWith('sender: ')) env.sender = line.slice(8);
    else if (line.startsWith('recipient: ')) env.rcpts.push(`recipient=${line.slice(11)}`);
  }
  if (env.content[env.content.length - 1] === '') env.content.pop();
  // cleanup repeats some attributes at the end of the envelope; smtpd sent them once.
  env.attrs = env.attrs.filter((a, i) => env.attrs.findIndex((b) => b.split('=')[0] === a.split('=')[0]) === i);
  return env;
}

function fromMemory(m: MemoryMessage): Envelope {
  const attrs: string[] = [];
  for (const [k, v] of m.attributes) if (!PORTS.test(`${k}=`)) attrs.push(`${k}=${v}`);
  const rcpts: string[] = [];
  for (const r of m.recipients) {
    if (r.options?.notify) rcpts.push(`notify_flags=${r.options.notify}`);
    if (r.options?.orcpt) rcpts.push(`dsn_orig_rcpt=${r.options.orcpt}`);
    rcpts.push(`recipient=${r.address}`);
  }
  const content = MemoryCleanup.content(m).split('\n');
  if (content[content.length - 1] === '') content.pop();
  return { attrs, sender: m.sender ?? '', rcpts, content };
}

/** Queue IDs and dates in our Received: header differ by run. */
function normalise(e: Envelope): Envelope {
  return {
    ...e,
    attrs: e.attrs.map((a) => a.replace(/^log_ident=.*/, 'log_ident=ID')),
    content: e.content.map((l) =>
      l.replace(/ id [0-9A-Za-z]+(;?)$/, ' id ID$1').replace(/[A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4} \(\w+\)/, 'DATE'),
    ),
  };
}

describe('smtpd -> cleanup content: Postern vs real Postfix', { skip: !realPostfixUsable() && 'needs root and /usr/sbin/postfix' }, () => {
  let real: RealPostfix;
  let realPort = 0;
  let ours: RunningSmtpd;
  const cleanup = new MemoryCleanup();

  before(async () => {
    [realPort] = await freePorts(1);
    real = await startRealPostfix({
      main: readFileSync(join(FIX, 'main.cf'), 'latin1'),
      // Remote rewrite context: cleanup adds no missing headers, so the
      // queue file shows exactly what smtpd sent.
      services: `127.0.0.1:${realPort} inet n - n - - smtpd -o local_header_rewrite_clients=`,
    });
    ours = await startSmtpd({ configDir: real.configDir, service: `127.0.0.1:${realPort}`, cleanup, log: new MemoryLog() });
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const [realOut, ourOut] = await Promise.all([runDialogue(realPort, c.steps), runDialogue(ours.port, c.steps)]);
      const norm = (l: string[]) => l.map((x) => x.replace(/queued as \w+/, 'queued as ID'));
      assert.deepEqual(norm(ourOut), norm(realOut), 'replies');
      const id = /queued as (\w+)/.exec(realOut.join('\n'))?.[1];
      assert.ok(id, `no message queued: ${realOut.join(' | ')}`);
      const pc = execFileSync('postcat', ['-c', real.configDir, '-q', id], { encoding: 'latin1' });
      const mine = cleanup.messages.filter((m) => m.state === 'finished').pop();
      assert.ok(mine, 'nothing reached our cleanup');
      assert.deepEqual(normalise(fromMemory(mine)), normalise(parsePostcat(pc)));
    });
  }
});
