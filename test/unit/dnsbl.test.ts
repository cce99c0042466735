/**
 * DNS list building blocks: the reply filter syntax (ip_match), the
 * reversed query names for IPv4/IPv6 clients, and the lookup client's
 * outcomes (listed + TXT, unlisted, filtered, soft failure cached once)
 * against the mock DNS server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createResolver } from '../../src/dns/resolver.js';
import { DnsxlClient, reverseAddress } from '../../src/dnsbl/dnsxl.js';
import { IpMatchError, ipMatches, parseIpMatch } from '../../src/dnsbl/ip-match.js';
import { type MockDns, startMockDns } from '../helpers/mock-dns.js';

describe('ip_match reply filters', () => {
  it('numbers, [lists] and [ranges] per octet, optional outer brackets', () => {
    const f = parseIpMatch('127.0.[0;1].[2..11;20]');
    assert.ok(ipMatches(f, '127.0.0.2'));
    assert.ok(ipMatches(f, '127.0.1.11'));
    assert.ok(ipMatches(f, '127.0.0.20'));
    assert.ok(!ipMatches(f, '127.0.0.12'));
    assert.ok(!ipMatches(f, '127.0.2.2'));
    assert.ok(ipMatches(parseIpMatch('[127.0.0.2]'), '127.0.0.2'));
  });
  it('rejects malformed patterns', () => {
    for (const bad of ['', '127.0.0', '127.0.0.256', '127.0.0.[5..2]', '127.0.0.[2', '127.0.0.2x', '[127.0.0.2']) {
      assert.throws(() => parseIpMatch(bad), IpMatchError, bad);
    }
  });
});

describe('reversed query names', () => {
  it('IPv4 octets and IPv6 nibbles', () => {
    assert.equal(reverseAddress('192.0.2.1'), '1.2.0.192.');
    assert.equal(reverseAddress('2001:db8::1'), `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.`);
    assert.equal(reverseAddress('::ffff:192.0.2.1').slice(0, 16), '1.0.2.0.0.0.0.c.');
  });
});

describe('DnsxlClient', () => {
  let dns: MockDns;
  before(async () => {
    dns = await startMockDns({
      '1.2.0.192.bl.test': { a: ['127.0.0.2', '127.0.0.4'], txt: ['listed'] },
      '2.2.0.192.bl.test': { servfail: true },
    });
  });
  after(() => dns.close());

  it('listed, unlisted, filtered, and a failure that is warned about once', async () => {
    const c = new DnsxlClient(createResolver([`${dns.host}:${dns.port}`]));
    const warnings: string[] = [];
    const w = (t: string) => warnings.push(t);
    assert.deepEqual(await c.lookup('1.2.0.192.', 'bl.test', w), { status: 'listed', addresses: ['127.0.0.2', '127.0.0.4'], txt: 'listed' });
    assert.equal((await c.lookup('1.2.0.192.', 'bl.test=127.0.0.4', w)).status, 'listed');
    assert.equal((await c.lookup('1.2.0.192.', 'bl.test=127.0.0.[5..9]', w)).status, 'unlisted');
    assert.equal((await c.lookup('3.2.0.192.', 'bl.test', w)).status, 'unlisted');
    assert.equal((await c.lookup('2.2.0.192.', 'bl.test', w)).status, 'soft');
    assert.equal((await c.lookup('2.2.0.192.', 'bl.test=127.0.0.2', w)).status, 'soft');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^2\.2\.0\.192\.bl\.test: RBL lookup error: Host or domain name not found\. Name service error for name=2\.2\.0\.192\.bl\.test type=A: /);
    // Answers are cached: the A query for the listed name went out once.
    assert.equal(dns.queries.filter((q) => q === '1.2.0.192.bl.test A').length, 1);
  });
});
