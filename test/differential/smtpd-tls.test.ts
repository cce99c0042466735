/**
 * Differential tests: STARTTLS and TLS wrapper mode against the real
 * Postfix 3.7 smtpd with the same self-signed certificate: the replies
 * before and after the handshake must be byte-equal, including the
 * plaintext-injection defence (commands pipelined after STARTTLS are
 * discarded) and smtpd_tls_security_level = encrypt.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/postfix-diff.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { MemoryCleanup, MemoryLog, normaliseLog, normaliseReplies, SmtpTestClient } from '../helpers/smtp-client.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';

const FIX = join(REPO, 'fixtures/smtpd');

type Step = string | { raw: string; replies: number } | 'TLS';

async function run(port: number, steps: Step[], wrapper = false): Promise<string[]> {
  const c = wrapper ? await SmtpTestClient.connectTls(port) : await SmtpTestClient.connect(port);
  const out: string[] = [];
  try {
    out.push(...(await c.readReply(30_000)));
    for (const step of steps) {
      if (step === 'TLS') {
        out.push((await c.startTls()) ? '[tls]' : '[tls failed]');
        continue;
      }
      const s = typeof step === 'string' ? { raw: `${step}\r\n`, replies: 1 } : step;
      c.send(s.raw);
      for (let i = 0; i < s.replies; i++) out.push(...(await c.readReply(5000)));
      if (c.isClosed) break;
    }
    for (;;) {
      const r = await c.readReply(150);
      if (r.length === 0) break;
      out.push(...r);
    }
    if (await c.waitClose(200)) out.push('[closed]');
    return normaliseReplies(out);
  } finally {
    c.close();
  }
}

const CASES: Array<{ name: string; service: string; steps: Step[]; wrapper?: boolean }> = [
  {
    name: 'STARTTLS, then a mail transaction',
    service: 'may',
    steps: [
      'EHLO client.example.test',
      'STARTTLS now',
      'STARTTLS',
      'TLS',
      'EHLO client.example.test',
      'STARTTLS',
      'MAIL FROM:<a@example.org>',
      'RCPT TO:<user@mx.example.test>',
      'DATA',
      { raw: 'Subject: tls\r\n\r\nbody\r\n.\r\n', replies: 1 },
      'QUIT',
    ],
  },
  {
    name: 'STARTTLS resets the session (no HELO after it)',
    service: 'may',
    steps: ['HELO client.example.test', 'MAIL FROM:<a@example.org>', 'STARTTLS', 'TLS', 'RCPT TO:<user@mx.example.test>', 'MAIL FROM:<a@example.org>', 'QUIT'],
  },
  {
    name: 'plaintext pipelined after STARTTLS is discarded',
    service: 'may',
    steps: ['EHLO client.example.test', { raw: 'STARTTLS\r\nRSET\r\nNOOP\r\n', replies: 1 }, 'TLS', 'EHLO client.example.test', 'QUIT'],
  },
  {
    name: 'smtpd_tls_security_level = encrypt',
    service: 'encrypt',
    steps: ['EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'VRFY user', 'NOOP', 'STARTTLS', 'TLS', 'EHLO client.example.test', 'MAIL FROM:<a@example.org>', 'QUIT'],
  },
  {
    name: 'no TLS configured',
    service: 'none',
    steps: ['EHLO client.example.test', 'STARTTLS', 'QUIT'],
  },
  {
    name: 'wrapper mode (smtps)',
    service: 'wrapper',
    wrapper: true,
    steps: ['EHLO client.example.test', 'STARTTLS', 'MAIL FROM:<a@example.org>', 'QUIT'],
  },
];

describe('smtpd TLS: Postern vs real Postfix', { skip: !realPostfixUsable() && 'needs root and /usr/sbin/postfix' }, () => {
  let real: RealPostfix;
  const ports = new Map<string, number>();
  const ours = new Map<string, RunningSmtpd>();
  const logs = new Map<string, MemoryLog>();
  const realLines = (svc: string) =>
    real
      .log()
      .split('\n')
      .filter((l) => l.includes(` postfix/${svc}/smtpd[`));
  // Readable by the postfix user (smtpd loads it when a process starts).
  const cert = join(tmpdir(), `smtpd-tls-${process.pid}.pem`);

  before(async () => {
    const names = ['may', 'encrypt', 'none', 'wrapper'];
    const free = await freePorts(names.length);
    for (const [i, n] of names.entries()) ports.set(n, free[i]);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=mx.example.test', '-days', '2', '-keyout', cert, '-out', cert], {
      stdio: 'ignore',
    });
    chmodSync(cert, 0o644);
    const tls = `-o smtpd_tls_cert_file=${cert} -o smtpd_tls_key_file=${cert} -o smtpd_starttls_timeout=10s`;
    real = await startRealPostfix({
      main: readFileSync(join(FIX, 'main.cf'), 'latin1'),
      services: [
        `127.0.0.1:${ports.get('may')} inet n - n - - smtpd -o syslog_name=postfix/may -o smtpd_tls_security_level=may ${tls}`,
        `127.0.0.1:${ports.get('encrypt')} inet n - n - - smtpd -o syslog_name=postfix/encrypt -o smtpd_tls_security_level=encrypt ${tls}`,
        `127.0.0.1:${ports.get('none')} inet n - n - - smtpd -o syslog_name=postfix/none`,
        `127.0.0.1:${ports.get('wrapper')} inet n - n - - smtpd -o syslog_name=postfix/wrapper -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt ${tls}`,
      ].join('\n'),
    });
    for (const [name, port] of ports) {
      const log = new MemoryLog();
      logs.set(name, log);
      ours.set(name, await startSmtpd({ configDir: real.configDir, service: `127.0.0.1:${port}`, cleanup: new MemoryCleanup(), log }));
    }
  });

  after(async () => {
    if (process.env.SMTPD_TLS_DEBUG) console.log(real.log());
    for (const o of ours.values()) await o.close();
    await real?.stop();
    rmSync(cert, { force: true });
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const realStart = realLines(c.service).length;
      const ourLog = logs.get(c.service)!;
      const ourStart = ourLog.lines.length;
      const [r, o] = await Promise.all([
        run(ports.get(c.service)!, c.steps, c.wrapper),
        run(ours.get(c.service)!.port, c.steps, c.wrapper),
      ]);
      assert.deepEqual(o, r);
      const done = (l: string[]) => l.some((x) => x.includes('disconnect from '));
      for (let i = 0; i < 100 && !(done(realLines(c.service).slice(realStart)) && done(ourLog.lines.slice(ourStart))); i++) {
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.deepEqual(normaliseLog(ourLog.lines.slice(ourStart)), normaliseLog(realLines(c.service).slice(realStart)));
    });
  }
});
