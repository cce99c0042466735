/**
 * smtp(8) end to end: queue file -> qmgr pass -> a fake relayhost / MX on
 * loopback (smtp-server): STARTTLS + AUTH with smtp_sasl_password_maps,
 * MX lookups through an injected resolver, per-recipient rejections,
 * connection refused -> deferred -> retried with backoff on the test clock.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StaticResolver } from '../../src/delivery/smtp/dns.js';
import { queuePath, queueLayout } from '../../src/queue/layout.js';
import { tempDir } from '../helpers/postfix-diff.js';
import { freePort } from '../helpers/real-postfix.js';
import { deliveryInstance } from '../helpers/delivery-instance.js';
import { startPeer } from '../helpers/delivery-smtp-peer.js';

const t = tempDir('postern-smtp-');
after(() => t.cleanup());
let n = 0;

const strip = (lines: string[]) =>
  lines
    .filter((l) => !l.startsWith('postfix/cleanup'))
    .map((l) =>
      l
        .replace(/\b[0-9A-F]{10,11}\b/g, 'ID')
        .replace(/delay=[\d.]+, delays=[\d./]+/, 'delay=D, delays=D')
        .replace(/size=\d+/, 'size=N')
        .replace(/:\d{4,5}\b/g, ':PORT'),
    );

async function inst(main: string) {
  const root = join(t.dir, `s${n++}`);
  mkdirSync(root, { recursive: true });
  return { root, i: await deliveryInstance(root, main) };
}

describe('smtp client', () => {
  it('relayhost on a submission-like port with STARTTLS required and AUTH from smtp_sasl_password_maps', async () => {
    const peer = await startPeer({ users: { relayuser: 's3cret' }, requireTls: true });
    try {
      const root = join(t.dir, `s${n++}`);
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'sasl_passwd'), `[127.0.0.1]:${peer.port} relayuser:s3cret\n`);
      const i = await deliveryInstance(
        root,
        `relayhost = [127.0.0.1]:${peer.port}
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = texthash:${root}/sasl_passwd
smtp_sasl_security_options = noanonymous
smtp_tls_security_level = encrypt
`,
      );
      const id = await i.submit('sender@example.test', ['remote@far.test', 'other@far.test'], ['Subject: relay me', '', '.dot line', 'body']);
      const q = i.qmgr();
      await q.runOnce({ incoming: true });
      await q.close();
      assert.equal(peer.mails.length, 1);
      const m = peer.mails[0]!;
      assert.equal(m.user, 'relayuser');
      assert.equal(m.secure, true);
      assert.equal(m.from, 'sender@example.test');
      assert.deepEqual(m.to, ['other@far.test', 'remote@far.test']);
      assert.match(m.data.toString("latin1"), /\r\nSubject: relay me\r\n[\s\S]*\r\n\r\n\.dot line\r\nbody\r\n$/);
      const lines = strip(i.log);
      assert.ok(lines.some((l) => /^postfix\/smtp: (Untrusted|Anonymous) TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:PORT: TLSv1\.[23] with cipher /.test(l)), lines.join('\n'));
      assert.ok(
        lines.includes(
          'postfix/smtp: ID: to=<remote@far.test>, relay=127.0.0.1[127.0.0.1]:PORT, delay=D, delays=D, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as TESTQ1)',
        ) || lines.includes('postfix/smtp: ID: to=<remote@far.test>, relay=127.0.0.1[127.0.0.1]:PORT, delay=D, delays=D, dsn=2.0.0, status=sent (250 Ok: queued as TESTQ1)'),
        lines.join('\n'),
      );
      assert.ok(lines.includes('postfix/qmgr: ID: removed'));
      assert.ok(!existsSync(join(i.spool, 'active', id)));
    } finally {
      await peer.close();
    }
  });

  it('MX lookup through the resolver; 550 on one recipient bounces it, the other is sent', async () => {
    const peer = await startPeer({
      rejectRcpt: (a) => (a.startsWith('nosuch') ? { code: 550, message: '5.1.1 <nosuch@mx.test>: Recipient address rejected: User unknown' } : undefined),
    });
    try {
      const root = join(t.dir, `s${n++}`);
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'transport'), `mx.test smtp:mx.test:${peer.port}\n`);
      const i = await deliveryInstance(root, `transport_maps = texthash:${root}/transport\n`);
      const resolver = new StaticResolver({ mx: { 'mx.test': [[10, 'mail.mx.test']] }, a: { 'mail.mx.test': ['127.0.0.1'] } });
      await i.submit('sender@example.test', ['ok@mx.test', 'nosuch@mx.test'], ['Subject: mx', '', 'body']);
      const q2 = i.qmgr({ resolver });
      await q2.runOnce({ incoming: true });
      await q2.close();
      const lines = strip(i.log);
      assert.ok(
        lines.includes(
          'postfix/smtp: ID: to=<nosuch@mx.test>, relay=mail.mx.test[127.0.0.1]:PORT, delay=D, delays=D, dsn=5.1.1, status=bounced (host mail.mx.test[127.0.0.1] said: 550 5.1.1 <nosuch@mx.test>: Recipient address rejected: User unknown (in reply to RCPT TO command))',
        ),
        lines.join('\n'),
      );
      assert.ok(lines.some((l) => l.startsWith('postfix/smtp: ID: to=<ok@mx.test>, relay=mail.mx.test[127.0.0.1]:PORT') && l.includes('status=sent (250')));
      assert.ok(lines.some((l) => /^postfix\/bounce: ID: sender non-delivery notification: ID$/.test(l)));
      // The bounce to sender@example.test finds no MX in the test zone and is deferred.
      assert.equal(peer.mails.length, 1);
      assert.deepEqual(peer.mails[0]!.to, ['ok@mx.test']);
    } finally {
      await peer.close();
    }
  });

  it('connection refused: deferred with Postfix text, backoff in the file time, retried and delivered', async () => {
    const port = await freePort();
    const { i } = await inst(`relayhost = [127.0.0.1]:${port}\nminimal_backoff_time = 300s\nmaximal_backoff_time = 4000s\n`);
    const id = await i.submit('sender@example.test', ['later@far.test'], ['Subject: later', '', 'body']);
    const q = i.qmgr();
    await q.runOnce({ incoming: true });
    let lines = strip(i.log);
    assert.deepEqual(lines, [
      'postfix/qmgr: ID: from=<sender@example.test>, size=N, nrcpt=1 (queue active)',
      'postfix/smtp: connect to 127.0.0.1[127.0.0.1]:PORT: Connection refused',
      'postfix/smtp: ID: to=<later@far.test>, relay=none, delay=D, delays=D, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:PORT: Connection refused)',
    ]);
    const layout = queueLayout(i.spool);
    const dpath = queuePath(layout, 'deferred', id);
    assert.ok(existsSync(dpath));
    const mtime = statSync(dpath).mtimeMs;
    assert.ok(mtime >= i.clock() + 299_000 && mtime <= i.clock() + 301_000, 'mtime = now + minimal_backoff_time');
    const dlog = readFileSync(queuePath(layout, 'defer', id), 'latin1');
    assert.match(dlog, /^\n<later@far\.test>: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused\nrecipient=later@far\.test\noffset=\d+\ndsn_orig_rcpt=rfc822;later@far\.test\nstatus=4\.4\.1\naction=delayed\nreason=connect to /);
    // Too early: the deferred scan skips it.
    i.log.length = 0;
    await q.runOnce({ incoming: true, deferred: true });
    assert.deepEqual(i.log, []);
    // Start the server on that port, move the clock past the backoff.
    const peer = await startPeerOn(port);
    try {
      i.offset += 301_000;
      await q.runOnce({ incoming: true, deferred: true });
      await q.close();
      lines = strip(i.log);
      assert.ok(lines.some((l) => l.startsWith('postfix/smtp: ID: to=<later@far.test>, relay=127.0.0.1[127.0.0.1]:PORT') && l.includes('status=sent')), lines.join('\n'));
      assert.ok(!existsSync(dpath));
      assert.ok(!existsSync(queuePath(layout, 'defer', id)), 'defer log removed');
      assert.equal(peer.mails.length, 1);
    } finally {
      await peer.close();
    }
  });
});

/** A peer on a given port (the port a deferred message waits for). */
async function startPeerOn(port: number) {
  const { SMTPServer } = await import('smtp-server');
  const mails: Buffer[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    onData(stream, _s, cb) {
      const c: Buffer[] = [];
      stream.on('data', (d: Buffer) => c.push(d));
      stream.on('end', () => {
        mails.push(Buffer.concat(c));
        cb(null, 'Ok: queued as RETRY1');
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('destination feedback', () => {
  it('a destination that keeps refusing is throttled: waiting and new recipients get "delivery temporarily suspended"', async () => {
    const { SMTPServer } = await import('smtp-server');
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      onConnect(_s, cb) {
        setTimeout(() => {
          const err = new Error('4.3.2 Service shutting down') as Error & { responseCode: number };
          err.responseCode = 421;
          cb(err);
        }, 500);
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    try {
      const root = join(t.dir, `f${n++}`);
      mkdirSync(root, { recursive: true });
      const i = await deliveryInstance(root, `relayhost = [127.0.0.1]:${port}\n`);
      for (let k = 0; k < 6; k++) await i.submit('sender@example.test', [`r${k}@far.test`], ['Subject: x', '', 'body']);
      const q = i.qmgr();
      await q.runOnce({ incoming: true });
      const lines = strip(i.log);
      const refused = lines.filter((l) => l.includes('status=deferred (host 127.0.0.1[127.0.0.1] refused to talk to me: 421 '));
      const suspended = lines.filter((l) =>
        /^postfix\/(qmgr|error): ID: to=<r\d@far\.test>, relay=none, delay=D, delays=D, dsn=4\.3\.2, status=deferred \(delivery temporarily suspended: host 127\.0\.0\.1\[127\.0\.0\.1\] refused to talk to me: 421 /.test(l),
      );
      assert.equal(refused.length + suspended.length, 6, lines.join('\n'));
      assert.ok(suspended.length >= 1, lines.join('\n'));
      // New mail for the dead destination goes to the retry service at once.
      i.log.length = 0;
      await i.submit('sender@example.test', ['late@far.test'], ['Subject: y', '', 'body']);
      await q.runOnce({ incoming: true });
      await q.close();
      assert.ok(
        strip(i.log).some((l) =>
          /^postfix\/error: ID: to=<late@far\.test>, relay=none, delay=D, delays=D, dsn=4\.3\.2, status=deferred \(delivery temporarily suspended: host 127\.0\.0\.1\[127\.0\.0\.1\] refused to talk to me: 421 /.test(l),
        ),
        i.log.join('\n'),
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('smtp connection cache', () => {
  it('smtp_connection_cache_destinations: the second message reuses the session after an RSET probe, logged conn_use=2', async () => {
    const peer = await startPeer();
    try {
      const { i } = await inst(`relayhost = [127.0.0.1]:${peer.port}
smtp_connection_cache_destinations = [127.0.0.1]:${peer.port}
initial_destination_concurrency = 1
default_destination_concurrency_limit = 1
`);
      await i.submit('sender@example.test', ['one@far.test'], ['Subject: first', '', 'body']);
      await i.submit('sender@example.test', ['two@far.test'], ['Subject: second', '', 'body']);
      const q = i.qmgr();
      await q.runOnce({ incoming: true, wait: true });
      await q.close();
      assert.equal(peer.mails.length, 2);
      assert.equal(peer.mails[0]!.sessionId, peer.mails[1]!.sessionId);
      const sent = strip(i.log).filter((l) => l.includes('status=sent'));
      assert.equal(sent.length, 2, i.log.join('\n'));
      assert.equal(sent.filter((l) => l.includes(', conn_use=2, ')).length, 1, sent.join('\n'));
      assert.match(sent.find((l) => l.includes('conn_use'))!, /relay=127\.0\.0\.1\[127\.0\.0\.1\]:PORT, conn_use=2, delay=D/);
    } finally {
      await peer.close();
    }
  });

  it('on demand (the default): caching starts with the first back-to-back delivery, so the third message reuses the second one\'s session', async () => {
    const peer = await startPeer();
    try {
      const { i } = await inst(
        `relayhost = [127.0.0.1]:${peer.port}\ninitial_destination_concurrency = 1\ndefault_destination_concurrency_limit = 1\n`,
      );
      for (const n of ['one', 'two', 'three']) await i.submit('sender@example.test', [`${n}@far.test`], [`Subject: ${n}`, '', 'body']);
      const q = i.qmgr();
      await q.runOnce({ incoming: true, wait: true });
      await q.close();
      assert.equal(peer.mails.length, 3);
      const ids = peer.mails.map((m) => m.sessionId);
      assert.notEqual(ids[0], ids[1]);
      assert.equal(ids[1], ids[2]);
      const sent = strip(i.log).filter((l) => l.includes('status=sent'));
      assert.deepEqual(
        sent.map((l) => /conn_use=(\d+)/.exec(l)?.[1] ?? '1'),
        ['1', '1', '2'],
      );
    } finally {
      await peer.close();
    }
  });

  it('without caching each message gets its own connection', async () => {
    const peer = await startPeer();
    try {
      const { i } = await inst(
        `relayhost = [127.0.0.1]:${peer.port}\nsmtp_connection_cache_on_demand = no\ninitial_destination_concurrency = 1\ndefault_destination_concurrency_limit = 1\n`,
      );
      await i.submit('sender@example.test', ['one@far.test'], ['Subject: first', '', 'body']);
      await i.submit('sender@example.test', ['two@far.test'], ['Subject: second', '', 'body']);
      const q = i.qmgr();
      await q.runOnce({ incoming: true, wait: true });
      await q.close();
      assert.equal(peer.mails.length, 2);
      assert.notEqual(peer.mails[0]!.sessionId, peer.mails[1]!.sessionId);
      assert.ok(!i.log.some((l) => l.includes('conn_use=')), i.log.join('\n'));
    } finally {
      await peer.close();
    }
  });
});
