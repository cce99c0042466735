/**
 * DNS allow/deny lists (reject_rbl_client with and without a reply filter,
 * reject_rhsbl_sender/helo, permit_dnswl_client, default_rbl_reply and
 * rbl_reply_maps templates, TXT reasons, lookup failures) against the real
 * Postfix 3.7 smtpd: both ask the same mock DNS server
 * (test/helpers/mock-dns.ts), the real one through a private
 * /etc/resolv.conf in its own mount namespace. Replies and smtpd log lines
 * must be byte-equal (client ports normalised).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createResolver } from '../../src/dns/resolver.js';
import { DnsxlClient } from '../../src/dnsbl/dnsxl.js';
import { setDnsxlClient } from '../../src/smtpd/checks/dnsbl.js';
import { type RunningSmtpd, startSmtpd } from '../../src/smtpd/server.js';
import { type MockDns, privateResolvConfWorks, startMockDns } from '../helpers/mock-dns.js';
import { REPO } from '../helpers/postfix-diff.js';
import { freePorts, type RealPostfix, realPostfixUsable, startRealPostfix } from '../helpers/real-postfix.js';
import { type DialogueStep, MemoryCleanup, MemoryLog, normaliseLog, normaliseReplies, runDialogue } from '../helpers/smtp-client.js';

const FIX = join(REPO, 'fixtures/smtpd/dnsbl');

const ZONE = {
  '2.0.0.127.bl.test': { a: ['127.0.0.2'], txt: ['Listed, see https://bl.test/lookup?ip=127.0.0.2'] },
  '3.0.0.127.bl.test': { a: ['127.0.0.3'], txt: ['first reason', 'second reason'] },
  '4.0.0.127.bl.test': { a: ['127.0.0.10'] },
  '5.0.0.127.bl.test': { servfail: true },
  '6.0.0.127.wl.test': { a: ['127.0.0.2'] },
  '7.0.0.127.wl.test': { servfail: true },
  'spam.example.rhs.test': { a: ['127.0.0.2'], txt: ['bad sender domain'] },
  'badhelo.example.rhs.test': { a: ['127.0.0.2'] },
};

const SERVICES: Record<string, string> = {
  base: '',
  allow: '-o smtpd_recipient_restrictions=$allowlisted',
  custom: '-o { default_rbl_reply = $rbl_code 5.7.9 <$client_address> is listed by $rbl_domain${rbl_reason?: $rbl_reason} (server $server_name, helo $helo_name) }',
  maps: '-o rbl_reply_maps=texthash:${fixdir}/replies',
};

const mail = (helo: string, from: string): DialogueStep[] => [`HELO ${helo}`, `MAIL FROM:<${from}>`, 'RCPT TO:<user@mx.example.test>', 'QUIT'];

/** [name, service, client address, steps] */
const CASES: Array<[string, string, string, DialogueStep[]]> = [
  ['listed with TXT reason', 'base', '127.0.0.2', mail('client.example', 'a@example.com')],
  ['several TXT records joined', 'base', '127.0.0.3', mail('client.example', 'a@example.com')],
  ['filtered out by the first list, caught by the unfiltered one', 'base', '127.0.0.4', mail('client.example', 'a@example.com')],
  ['lookup failure lets the mail through', 'base', '127.0.0.5', mail('client.example', 'a@example.com')],
  ['not listed', 'base', '127.0.0.9', mail('client.example', 'a@example.com')],
  ['sender domain listed', 'base', '127.0.0.9', mail('client.example', 'x@spam.example')],
  ['helo name listed', 'base', '127.0.0.9', mail('badhelo.example', 'a@example.com')],
  ['numeric helo is not asked', 'base', '127.0.0.9', mail('[127.0.0.9]', 'a@example.com')],
  ['allow list: listed client permitted', 'allow', '127.0.0.6', mail('client.example', 'a@example.com')],
  ['allow list: unlisted client rejected', 'allow', '127.0.0.9', mail('client.example', 'a@example.com')],
  ['allow list: lookup failure defers', 'allow', '127.0.0.7', mail('client.example', 'a@example.com')],
  ['custom default_rbl_reply', 'custom', '127.0.0.2', mail('client.example', 'a@example.com')],
  ['rbl_reply_maps template', 'maps', '127.0.0.2', mail('client.example', 'a@example.com')],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const skip = (!realPostfixUsable() && 'needs root and /usr/sbin/postfix') || (!privateResolvConfWorks() && 'cannot give the real Postfix its own /etc/resolv.conf (unshare -m)');

describe('smtpd DNS lists: Postern vs real Postfix', { skip }, () => {
  let dns: MockDns;
  let real: RealPostfix;
  const ports = new Map<string, number>();
  const ours = new Map<string, { smtpd: RunningSmtpd; log: MemoryLog }>();

  before(async () => {
    // Port 53 on a loopback address of our own: resolv.conf cannot name a port.
    const host = `127.83.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    dns = await startMockDns(ZONE, host, 53);
    const resolvConf = join(tmpdir(), `postern-resolv-${process.pid}.conf`);
    writeFileSync(resolvConf, `nameserver ${host}\noptions attempts:1 timeout:2\n`);
    const names = Object.keys(SERVICES);
    const free = await freePorts(names.length);
    for (const [i, n] of names.entries()) ports.set(n, free[i]!);
    try {
      real = await startRealPostfix({
        main: `${readFileSync(join(FIX, 'main.cf'), 'latin1')}fixdir = ${FIX}\n`,
        services: names.map((n) => `127.0.0.1:${ports.get(n)} inet n - n - - smtpd -o syslog_name=postfix/${n}${SERVICES[n] ? ` ${SERVICES[n]}` : ''}`).join('\n'),
        resolvConf,
      });
    } finally {
      // The namespace holds its own reference to the mounted file.
      setTimeout(() => import('node:fs').then((fs) => fs.rmSync(resolvConf, { force: true })), 2000);
    }
    setDnsxlClient(new DnsxlClient(createResolver([`${host}:53`])));
    for (const [name, port] of ports) {
      const log = new MemoryLog();
      const smtpd = await startSmtpd({ configDir: real.configDir, service: `127.0.0.1:${port}`, cleanup: new MemoryCleanup(), log });
      ours.set(name, { smtpd, log });
    }
  });

  after(async () => {
    setDnsxlClient(undefined);
    for (const o of ours.values()) await o.smtpd.close();
    await real?.stop();
    await dns?.close();
  });

  const realLines = (service: string) =>
    real
      .log()
      .split('\n')
      .filter((l) => l.includes(` postfix/${service}/smtpd[`));

  for (const [name, service, from, steps] of CASES) {
    it(name, async () => {
      const o = ours.get(service)!;
      const startReal = realLines(service).length;
      const startOurs = o.log.lines.length;
      const [realOut, ourOut] = await Promise.all([
        runDialogue(ports.get(service)!, steps, { localAddress: from }),
        runDialogue(o.smtpd.port, steps, { localAddress: from }),
      ]);
      const done = (lines: string[]) => lines.some((l) => /(^|: )disconnect from /.test(l));
      for (let i = 0; i < 250 && !(done(realLines(service).slice(startReal)) && done(o.log.lines.slice(startOurs))); i++) await sleep(20);
      assert.deepEqual(normaliseReplies(ourOut), normaliseReplies(realOut), 'server replies');
      assert.deepEqual(normaliseLog(o.log.lines.slice(startOurs)), normaliseLog(realLines(service).slice(startReal)), 'smtpd log lines');
    });
  }

  it('the real Postfix really asked the mock DNS server', () => {
    assert.ok(dns.queries.includes('2.0.0.127.bl.test A'), dns.queries.join(', '));
  });
});
