/**
 * Differential: trivial-rewrite's rewrite and resolve results, ours vs the
 * real Postfix 3.7. The real trivial-rewrite runs with -v, so it logs every
 * request it answers:
 *   `local' `root' -> `root@example.test'                      (rewrite)
 *   `sender' -> `addr' -> (`transport' `nexthop' `rcpt' `flags')  (resolve)
 * A real smtpd (which asks for both while checking RCPT TO) is fed a list
 * of recipients under several senders; every logged request is then
 * replayed against our TrivialRewrite with the same main.cf and must give
 * the same answer, byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { TrivialRewrite } from '../../src/rewrite/trivial-rewrite.js';
import { freePort } from '../helpers/real-postfix.js';
import { backdate } from '../helpers/postfix-diff.js';
import { realPostfixRunnable, startRealInstance, type RealInstance } from '../helpers/real-postfix-delivery.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const skip = !realPostfixRunnable() && 'needs root and Debian postfix';

const TABLES: Record<string, string> = {
  transport: `lmtp.test        lmtp:unix:private/dovecot-lmtp
inet.test        lmtp:inet:127.0.0.1:24
err.test         error:5.7.1 this domain is permanently unreachable
err2.test        error:
disc.test        discard:
.sub.test        smtp:[10.0.0.1]:2525
nh.test          :[nexthop.example]
noop.test        :
relay.test       relay:
user@special.test  smtp:special-host:2525
local.test       local:
retry.test       retry:
list.test        smtp:a.example, b.example
vmail2.test      virtual:
mx.example.test  local:
`,
  relocated: `moved@old.test   new@new.test
@gone.test       someone@else.test
`,
  sdrelay: `s@sd.test        [relay2.test]:587
@sdd.test        DUNNO
`,
  sdxport: `@sdx.test        uucp:
x@sdx2.test      relay:[viaxport]
`,
};

const MAIN = (dir: string) => `myhostname = mx.example.test
mydomain = example.test
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = 127.0.0.1
virtual_alias_domains = alias.test
virtual_mailbox_domains = vmail.test, vmail2.test
relay_domains = relay.test, parent.test
relayhost = [127.0.0.1]:10599
recipient_delimiter = +
transport_maps = texthash:${dir}/transport
relocated_maps = texthash:${dir}/relocated
sender_dependent_relayhost_maps = texthash:${dir}/sdrelay
sender_dependent_default_transport_maps = texthash:${dir}/sdxport
local_recipient_maps =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = permit
smtpd_reject_unlisted_recipient = no
smtpd_reject_unlisted_sender = no
mynetworks = 10.99.0.0/16
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 10000
smtpd_hard_error_limit = 10000
`;

const SENDERS = ['sender@vmail.test', '', 's@sd.test', 'x@sdd.test', 'y@sdx.test', 'x@sdx2.test', 'local'];
const RECIPIENTS = [
  'alice@vmail.test',
  'Alice+Ext@VMail.test',
  'zed@vmail2.test',
  'info+x@Alias.test',
  'bob+y@relay.test',
  'bob@sub.parent.test',
  'root@mx.example.test',
  'root+z@localhost',
  'root',
  'postmaster',
  'user@[127.0.0.1]',
  'user@[127.0.0.2]',
  'u@lmtp.test',
  'u@inet.test',
  'u@err.test',
  'u@err2.test',
  'u@disc.test',
  'a@x.sub.test',
  'a@sub.test',
  'u@nh.test',
  'u@noop.test',
  'user@special.test',
  'user+x@special.test',
  'other@special.test',
  'u@local.test',
  'u@retry.test',
  'u@list.test',
  'moved@old.test',
  'moved+e@old.test',
  'anyone@gone.test',
  'u%other.test@mx.example.test',
  'site!user@mx.example.test',
  'someone@remote.example',
  'someone@remote.example.',
  'someone@nodot',
  '"quoted@x"@mx.example.test',
  '"a b"@vmail.test',
];

let real: RealInstance | undefined;
let dir = '';
let port = 0;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'rw-tables-'));
  for (const [name, text] of Object.entries(TABLES)) writeFileSync(join(dir, name), text);
  // Tables changed within the last second are read again after a pause (dict_thash.c).
  backdate(dir);
  port = await freePort();
  real = startRealInstance(
    MAIN(dir),
    `127.0.0.1:${port} inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite -v
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
`,
  );
});

after(async () => {
  await real?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('rewrite and resolve match real trivial-rewrite', { skip, timeout: 60_000 }, async () => {
  const c = await SmtpTestClient.connect(port);
  await c.readReply();
  await c.cmd('EHLO client.example.test');
  for (const sender of SENDERS) {
    await c.cmd(`MAIL FROM:<${sender}>`);
    for (const r of RECIPIENTS) await c.cmd(`RCPT TO:<${r}>`);
    await c.cmd('RSET');
  }
  await c.cmd('QUIT');
  // The last resolve is logged once the reply went out; wait for quiet.
  await new Promise((r) => setTimeout(r, 500));
  const log = real!.log();
  const resolves: Array<[string, string, string]> = [];
  const rewrites: Array<[string, string, string]> = [];
  for (const line of log.split('\n')) {
    const m = /postfix\/trivial-rewrite\[\d+\]: `(.*)' -> `(.*)' -> \(`(.*)' `(.*)' `(.*)' `(-?\d+)'\)$/.exec(line);
    if (m) {
      resolves.push([m[1]!, m[2]!, `(${m[3]}|${m[4]}|${m[5]}|${m[6]})`]);
      continue;
    }
    const w = /postfix\/trivial-rewrite\[\d+\]: `(local|remote)' `(.*)' -> `(.*)'$/.exec(line);
    if (w) rewrites.push([w[1]!, w[2]!, w[3]!]);
  }
  assert.ok(resolves.length >= 20, `real resolve requests logged: ${resolves.length}`);
  assert.ok(rewrites.length > 0, 'real rewrite requests logged');

  const cfg = loadPostfixConfig({ configDir: real!.configDir });
  const warnings: string[] = [];
  const tr = await TrivialRewrite.open(cfg, { warn: (t) => warnings.push(t) });
  try {
    const oursResolve: string[] = [];
    const realResolve: string[] = [];
    for (const [sender, addr, answer] of resolves) {
      const r = await tr.resolve(sender, addr);
      oursResolve.push(`${sender} -> ${addr} -> (${r.transport}|${r.nexthop}|${r.recipient}|${r.flags})`);
      realResolve.push(`${sender} -> ${addr} -> ${answer}`);
    }
    if (process.env.RESOLVE_DEBUG) console.log(realResolve.join('\n'));
    assert.deepEqual(oursResolve, realResolve);
    const oursRewrite = rewrites.map(([ctx, a]) => `${ctx} ${a} -> ${tr.rewriteExternal(ctx as 'local', a)}`);
    assert.deepEqual(
      oursRewrite,
      rewrites.map(([ctx, a, r]) => `${ctx} ${a} -> ${r}`),
    );
  } finally {
    await tr.close();
  }
});
