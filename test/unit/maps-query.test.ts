/**
 * Unit tests for maps/query.ts: the keys each kind of lookup probes, in
 * order, against real Postfix 3.7's "-v" maps_find() traces
 * (reference/postfix-captures/lookup-query-order.txt, copied below line for
 * line and checked against the capture when it is present), plus
 * maps_find's rules: first table wins, errors stop the search, empty
 * values are errors, partial keys skip pattern tables.
 *
 * The tables are in-memory stand-ins for the capture's texthash: tables
 * (fixed-string, folded); MapList's trace hook gives the same lines as
 * Postfix's maps_find() verbose logging.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import { stripAddrExtension, quote822Local, unquote822Local, splitLocalpart } from '../../src/maps/address.js';
import {
  type AddressLookupConfig,
  dictFlagsString,
  findAccessAddress,
  findAddress,
  findClient,
  findDomain,
  findHostAddress,
  findTransport,
  MaFind,
  MapList,
  parentMatchesSubdomains,
  probeTransportWildcard,
  splitMapNames,
} from '../../src/maps/query.js';
import { makeResolveLocal } from '../../src/maps/resolve-local.js';
import { DictError, DictFlag, type LookupTable } from '../../src/maps/types.js';
import { memoryTable, patternTable } from '../helpers/maps-memory-table.js';
import { SHARED } from '../helpers/postfix-diff.js';

const CAPTURE = join(SHARED, 'reference/postfix-captures/lookup-query-order.txt');
const captureLines = existsSync(CAPTURE) ? new Set(readFileSync(CAPTURE, 'utf8').split('\n')) : undefined;

/** The capture's configuration (see the header of lookup-query-order.txt). */
let cfg: AddressLookupConfig;

/** A MapList over in-memory tables whose -v trace lines, prefixed with `prog: `, go to `lines`. */
function traced(prog: string, title: string, tables: LookupTable[], lines: string[], labels?: string[]): MapList {
  return new MapList(title, tables, labels, [], (l) => lines.push(`${prog}: ${l}`));
}

/** Assert the trace, and that the expected lines are the capture's own. */
function expectTrace(got: string[], want: string[]): void {
  if (captureLines) for (const l of want) assert.ok(captureLines.has(l), `not in the capture: ${l}`);
  assert.deepEqual(got, want);
}

const SCRATCH = (n: string) => `texthash:<scratch>/${n}`;
const FIXED_FOLD = DictFlag.FIXED | DictFlag.FOLD_FIX | DictFlag.LOCK | DictFlag.UTF8_REQUEST;

describe('maps/query: search orders measured on Postfix 3.7', () => {
  const warnings: string[] = [];
  const capture: MsgOutput = (level, text) => warnings.push(`${level}: ${text}`);
  before(async () => {
    cfg = {
      recipientDelimiter: '+',
      myorigin: 'example.test',
      isLocal: await makeResolveLocal({
        mydestination: 'mx.example.test, localhost.example.test, localhost',
        inetInterfaces: 'loopback-only',
      }),
    };
    addMsgOutput(capture);
    setMsgStderr(false);
  });
  after(() => {
    removeMsgOutput(capture);
    setMsgStderr(true);
  });

  it('canonical/virtual/relocated (MA_FIND_DEFAULT), non-local domain', async () => {
    const lines: string[] = [];
    const maps = traced('cleanup', 'sender_canonical_maps', [memoryTable()], lines);
    assert.equal(await findAddress(maps, 'Sender+Tag@Sub.Example.ORG', cfg), undefined);
    expectTrace(lines, [
      'cleanup: maps_find: sender_canonical_maps: Sender+Tag@Sub.Example.ORG: not found',
      'cleanup: maps_find: sender_canonical_maps: Sender@Sub.Example.ORG: not found',
      'cleanup: maps_find: sender_canonical_maps: @Sub.Example.ORG: not found',
    ]);
  });

  it('canonical/virtual/relocated (MA_FIND_DEFAULT), local domain adds the localpart', async () => {
    const lines: string[] = [];
    const maps = traced('trivial-rewrite', 'relocated_maps', [memoryTable()], lines);
    assert.equal(await findAddress(maps, 'root+z@mx.example.test', cfg), undefined);
    expectTrace(lines, [
      'trivial-rewrite: maps_find: relocated_maps: root+z@mx.example.test: not found',
      'trivial-rewrite: maps_find: relocated_maps: root@mx.example.test: not found',
      'trivial-rewrite: maps_find: relocated_maps: root+z: not found',
      'trivial-rewrite: maps_find: relocated_maps: root: not found',
      'trivial-rewrite: maps_find: relocated_maps: @mx.example.test: not found',
    ]);
  });

  it('an address without extension is looked up once per form', async () => {
    const lines: string[] = [];
    const maps = traced('cleanup', 'virtual_alias_maps', [memoryTable()], lines);
    await findAddress(maps, 'catchall@vmail2.test', cfg);
    expectTrace(lines, [
      'cleanup: maps_find: virtual_alias_maps: catchall@vmail2.test: not found',
      'cleanup: maps_find: virtual_alias_maps: @vmail2.test: not found',
    ]);
  });

  it('the null sender key "<>" is tried quoted, then as is', async () => {
    const lines: string[] = [];
    const maps = traced('trivial-rewrite', 'sender_dependent_relayhost_maps', [memoryTable()], lines);
    await findAddress(maps, '<>', cfg);
    expectTrace(lines, [
      'trivial-rewrite: maps_find: sender_dependent_relayhost_maps: "<>": not found',
      'trivial-rewrite: maps_find: sender_dependent_relayhost_maps: <>: not found',
    ]);
  });

  it('virtual_mailbox_maps hit on user@domain reports the extension', async () => {
    const lines: string[] = [];
    const vmailbox = memoryTable({ 'alice@vmail.test': 'vmail/alice/' }, { flags: FIXED_FOLD });
    const maps = traced('smtpd', 'virtual_mailbox_maps', [vmailbox], lines, [
      `${SCRATCH('vmailbox')}(0,lock|fold_fix|utf8_request)`,
    ]);
    const r = await findAddress(maps, 'alice+ext@vmail.test', cfg);
    assert.deepEqual(r, { value: 'vmail/alice/', extension: '+ext' });
    expectTrace(lines, [
      'smtpd: maps_find: virtual_mailbox_maps: alice+ext@vmail.test: not found',
      'smtpd: maps_find: virtual_mailbox_maps: texthash:<scratch>/vmailbox(0,lock|fold_fix|utf8_request): alice@vmail.test = vmail/alice/',
    ]);
  });

  it('virtual_mailbox_maps catch-all @domain', async () => {
    const lines: string[] = [];
    const vmailbox = memoryTable({ 'alice@vmail.test': 'vmail/alice/', '@vmail2.test': 'vmail2/catchall/' });
    const maps = traced('virtual', 'virtual_mailbox_maps', [vmailbox], lines, [
      `${SCRATCH('vmailbox')}(0,lock|no_regsub|no_proxy|no_unauth|utf8_request)`,
    ]);
    assert.deepEqual(await findAddress(maps, 'zed+q@vmail2.test', cfg), { value: 'vmail2/catchall/' });
    expectTrace(lines, [
      'virtual: maps_find: virtual_mailbox_maps: zed+q@vmail2.test: not found',
      'virtual: maps_find: virtual_mailbox_maps: zed@vmail2.test: not found',
      'virtual: maps_find: virtual_mailbox_maps: texthash:<scratch>/vmailbox(0,lock|no_regsub|no_proxy|no_unauth|utf8_request): @vmail2.test = vmail2/catchall/',
    ]);
  });

  it('local_recipient_maps hit on the bare localpart', async () => {
    const lines: string[] = [];
    const maps = traced('smtpd', 'local_recipient_maps', [memoryTable({ root: 'x' }, { flags: FIXED_FOLD })], lines, [
      `${SCRATCH('local_recipients')}(0,lock|fold_fix|utf8_request)`,
    ]);
    assert.deepEqual(await findAddress(maps, 'root+z@mx.example.test', cfg), { value: 'x', extension: '+z' });
    expectTrace(lines, [
      'smtpd: maps_find: local_recipient_maps: root+z@mx.example.test: not found',
      'smtpd: maps_find: local_recipient_maps: root@mx.example.test: not found',
      'smtpd: maps_find: local_recipient_maps: root+z: not found',
      'smtpd: maps_find: local_recipient_maps: texthash:<scratch>/local_recipients(0,lock|fold_fix|utf8_request): root = x',
    ]);
  });

  it('relay_recipient_maps hit on @domain', async () => {
    const lines: string[] = [];
    const maps = traced('smtpd', 'relay_recipient_maps', [memoryTable({ '@relay.test': 'OK' })], lines, [
      `${SCRATCH('relay_recipients')}(0,lock|fold_fix|utf8_request)`,
    ]);
    assert.deepEqual(await findAddress(maps, 'bob+y@relay.test', cfg), { value: 'OK' });
    expectTrace(lines, [
      'smtpd: maps_find: relay_recipient_maps: bob+y@relay.test: not found',
      'smtpd: maps_find: relay_recipient_maps: bob@relay.test: not found',
      'smtpd: maps_find: relay_recipient_maps: texthash:<scratch>/relay_recipients(0,lock|fold_fix|utf8_request): @relay.test = OK',
    ]);
  });

  it('transport_maps: "*" probed at start-up, then address, domain and dot-parents', async () => {
    const lines: string[] = [];
    const maps = traced('trivial-rewrite', 'transport_maps', [memoryTable()], lines);
    const opts = { ...cfg, parentMatchesSubdomains: false };
    await probeTransportWildcard(maps);
    assert.equal(await findTransport(maps, 'Sender+Tag@Sub.Example.ORG', opts), undefined);
    assert.equal(await findTransport(maps, 'root+z@mx.example.test', opts), undefined);
    expectTrace(lines, [
      'trivial-rewrite: maps_find: transport_maps: *: not found',
      'trivial-rewrite: maps_find: transport_maps: Sender+Tag@Sub.Example.ORG: not found',
      'trivial-rewrite: maps_find: transport_maps: Sender@Sub.Example.ORG: not found',
      'trivial-rewrite: maps_find: transport_maps: Sub.Example.ORG: not found',
      'trivial-rewrite: maps_find: transport_maps: .Example.ORG: not found',
      'trivial-rewrite: maps_find: transport_maps: .ORG: not found',
      // No localpart lookups for transport_maps, even in a local domain.
      'trivial-rewrite: maps_find: transport_maps: root+z@mx.example.test: not found',
      'trivial-rewrite: maps_find: transport_maps: root@mx.example.test: not found',
      'trivial-rewrite: maps_find: transport_maps: mx.example.test: not found',
      'trivial-rewrite: maps_find: transport_maps: .example.test: not found',
      'trivial-rewrite: maps_find: transport_maps: .test: not found',
    ]);
  });

  it('transport_maps: the "*" entry is the fallback, re-probed after 30 s', async () => {
    const lines: string[] = [];
    const table = memoryTable({ '*': 'smtp:[relay.example]', '.example': 'relay:x' });
    const maps = traced('trivial-rewrite', 'transport_maps', [table], lines);
    let now = 1_000_000;
    const opts = { ...cfg, parentMatchesSubdomains: true, now: () => now };
    await probeTransportWildcard(maps, opts.now);
    assert.deepEqual(await findTransport(maps, 'u@a.b.example', opts), { value: 'smtp:[relay.example]', wildcard: true });
    assert.deepEqual(table.probes, ['*', 'u@a.b.example', 'a.b.example', 'b.example', 'example']);
    table.probes.length = 0;
    now += 31_000;
    await findTransport(maps, 'u@x', opts);
    assert.deepEqual(table.probes, ['u@x', 'x', '*']);
  });

  it('check_client_access: host name, then the address and its networks', async () => {
    const lines: string[] = [];
    const maps = traced('smtpd', SCRATCH('client_access'), [memoryTable()], lines);
    assert.equal(await findClient(maps, 'localhost', '127.0.0.1', { parentMatchesSubdomains: true }), undefined);
    expectTrace(lines, [
      'smtpd: maps_find: texthash:<scratch>/client_access: localhost: not found',
      'smtpd: maps_find: texthash:<scratch>/client_access: 127.0.0.1: not found',
      'smtpd: maps_find: texthash:<scratch>/client_access: 127.0.0: not found',
      'smtpd: maps_find: texthash:<scratch>/client_access: 127.0: not found',
      'smtpd: maps_find: texthash:<scratch>/client_access: 127: not found',
    ]);
  });

  it('check_helo_access: the name and its parent domains, case kept', async () => {
    const lines: string[] = [];
    const maps = traced('smtpd', SCRATCH('helo_access'), [memoryTable()], lines);
    await findDomain(maps, 'Client.Example.Test', { parentMatchesSubdomains: true });
    expectTrace(lines, [
      'smtpd: maps_find: texthash:<scratch>/helo_access: Client.Example.Test: not found',
      'smtpd: maps_find: texthash:<scratch>/helo_access: Example.Test: not found',
      'smtpd: maps_find: texthash:<scratch>/helo_access: Test: not found',
    ]);
  });

  it('check_sender_access / check_recipient_access', async () => {
    const lines: string[] = [];
    const sender = traced('smtpd', SCRATCH('sender_access'), [memoryTable()], lines);
    const recipient = traced('smtpd', SCRATCH('recipient_access'), [memoryTable()], lines);
    const opts = { ...cfg, parentMatchesSubdomains: true };
    await findAccessAddress(sender, 'sender+tag@sub.example.org', opts);
    await findAccessAddress(recipient, 'root+z@mx.example.test', opts);
    expectTrace(lines, [
      'smtpd: maps_find: texthash:<scratch>/sender_access: sender+tag@sub.example.org: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: sender@sub.example.org: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: sub.example.org: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: example.org: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: org: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: sender+tag@: not found',
      'smtpd: maps_find: texthash:<scratch>/sender_access: sender@: not found',
      // A local domain adds no localpart-only keys for access maps.
      'smtpd: maps_find: texthash:<scratch>/recipient_access: root+z@mx.example.test: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: root@mx.example.test: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: mx.example.test: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: example.test: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: test: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: root+z@: not found',
      'smtpd: maps_find: texthash:<scratch>/recipient_access: root@: not found',
    ]);
  });

  it('access maps without parent matching use dot-parents', async () => {
    const table = memoryTable();
    await findAccessAddress(new MapList('t', [table]), 'u@sub.example.org', { ...cfg, parentMatchesSubdomains: false });
    assert.deepEqual(table.probes, ['u@sub.example.org', 'sub.example.org', '.example.org', '.org', 'u@']);
  });

  it('smtp_sasl_password_maps sender lookups (smtp)', async () => {
    const lines: string[] = [];
    const maps = traced('smtp', 'smtp_sasl_password_maps', [memoryTable()], lines);
    await findAddress(maps, 'Sender+Tag@Sub.Example.ORG', cfg);
    await maps.find('127.0.0.1');
    await maps.find('[127.0.0.1]:10599');
    expectTrace(lines, [
      'smtp: maps_find: smtp_sasl_password_maps: Sender+Tag@Sub.Example.ORG: not found',
      'smtp: maps_find: smtp_sasl_password_maps: Sender@Sub.Example.ORG: not found',
      'smtp: maps_find: smtp_sasl_password_maps: @Sub.Example.ORG: not found',
      'smtp: maps_find: smtp_sasl_password_maps: 127.0.0.1: not found',
      'smtp: maps_find: smtp_sasl_password_maps: [127.0.0.1]:10599: not found',
    ]);
  });

  it('pattern tables (tcp:, regexp:) get the full address once, unfolded', async () => {
    const tcp = patternTable();
    const fixed = memoryTable();
    const maps = new MapList('virtual_alias_maps', [tcp, fixed]);
    await findAddress(maps, 'Alice+Ext@VMail.test', cfg);
    assert.deepEqual(tcp.probes, ['Alice+Ext@VMail.test']);
    assert.deepEqual(fixed.probes, ['alice+ext@vmail.test', 'alice@vmail.test', '@vmail.test']);
    const helo = patternTable();
    await findDomain(new MapList('h', [helo]), 'Client.Example.Test', { parentMatchesSubdomains: true });
    assert.deepEqual(helo.probes, ['Client.Example.Test']);
    const client = patternTable();
    await findClient(new MapList('c', [client]), 'localhost', '127.0.0.1', { parentMatchesSubdomains: true });
    assert.deepEqual(client.probes, ['localhost', '127.0.0.1']);
  });
});

describe('maps/query: maps_find rules', () => {
  const warnings: string[] = [];
  const capture: MsgOutput = (level, text) => warnings.push(`${level}: ${text}`);
  before(() => {
    addMsgOutput(capture);
    setMsgStderr(false);
  });
  after(() => {
    removeMsgOutput(capture);
    setMsgStderr(true);
  });

  it('the first table that answers wins; later ones are not asked', async () => {
    const a = memoryTable({ k: 'from-a' });
    const b = memoryTable({ k: 'from-b', j: 'only-b' });
    const maps = new MapList('t', [a, b]);
    assert.equal(await maps.find('K'), 'from-a');
    assert.deepEqual(b.probes, []);
    assert.equal(await maps.find('j'), 'only-b');
    assert.equal(await maps.find('none'), undefined);
  });

  it('a table error stops the search with a DictError and a warning', async () => {
    warnings.length = 0;
    const a = memoryTable({}, { failOn: ['k'], name: 'a' });
    const b = memoryTable({ k: 'v' });
    const maps = new MapList('t', [a, b]);
    await assert.rejects(maps.find('k'), (e) => e instanceof DictError && e.kind === 'retry');
    assert.deepEqual(b.probes, []);
    assert.deepEqual(warnings, ['warning: memory:a lookup error for "k"']);
  });

  it('errors propagate out of address searches instead of "not found"', async () => {
    const maps = new MapList('t', [memoryTable({}, { failOn: ['u@x'] })]);
    await assert.rejects(findAddress(maps, 'u+e@x', { recipientDelimiter: '+' }), DictError);
  });

  it('an empty value is a configuration error', async () => {
    warnings.length = 0;
    const maps = new MapList('virtual_alias_maps', [memoryTable({ k: '' })]);
    await assert.rejects(maps.find('k'), (e) => e instanceof DictError && e.kind === 'config');
    assert.deepEqual(warnings, [
      'warning: virtual_alias_maps lookup of k returns an empty string result',
      'warning: virtual_alias_maps should return NO RESULT in case of NOT FOUND',
    ]);
  });

  it('an empty key is never looked up', async () => {
    const t = memoryTable({ '': 'x' });
    assert.equal(await new MapList('t', [t]).find(''), undefined);
    assert.deepEqual(t.probes, []);
  });

  it('partial lookups skip pattern tables', async () => {
    const p = patternTable(() => 'any');
    const maps = new MapList('t', [p]);
    assert.equal(await maps.find('x', DictFlag.FIXED), undefined);
    assert.equal(await maps.find('x'), 'any');
  });

  it('client address prefixes: IPv4 octets, IPv6 ":" groups', async () => {
    const t = memoryTable();
    const maps = new MapList('t', [t]);
    await findHostAddress(maps, '192.168.1.20');
    await findHostAddress(maps, '2001:db8::1');
    assert.deepEqual(t.probes, ['192.168.1.20', '192.168.1', '192.168', '192', '2001:db8::1', '2001:db8:', '2001:db8', '2001']);
  });

  it('a numerical host name gets no parent-domain lookups', async () => {
    const t = memoryTable();
    await findDomain(new MapList('t', [t]), '10.1.2.3', { parentMatchesSubdomains: true });
    assert.deepEqual(t.probes, ['10.1.2.3']);
  });

  it('helo names ending in "." never produce an empty key', async () => {
    const t = memoryTable();
    await findDomain(new MapList('t', [t]), 'a.example.', { parentMatchesSubdomains: true });
    await findDomain(new MapList('t', [t]), 'a.example.', { parentMatchesSubdomains: false });
    assert.deepEqual(t.probes, ['a.example.', 'example.', 'a.example.', '.example.', '.']);
  });

  it('recipient_delimiter is a set of characters; special localparts are not split', async () => {
    const t = memoryTable({ 'bob@x': 'hit' });
    const maps = new MapList('t', [t]);
    assert.deepEqual(await findAddress(maps, 'bob-list@x', { recipientDelimiter: '+-' }), { value: 'hit', extension: '-list' });
    t.probes.length = 0;
    await findAddress(maps, 'owner-bob@x', { recipientDelimiter: '+-' });
    assert.deepEqual(t.probes, ['owner-bob@x', '@x']);
    t.probes.length = 0;
    await findAddress(maps, 'owner-bob@x', { recipientDelimiter: '+-', ownerRequestSpecial: false });
    assert.deepEqual(t.probes, ['owner-bob@x', 'owner@x', '@x']);
    t.probes.length = 0;
    await findAddress(maps, 'MAILER-DAEMON@y', { recipientDelimiter: '-' });
    assert.deepEqual(t.probes, ['mailer-daemon@y', '@y']);
    t.probes.length = 0;
    // Only a whole localpart is special: postmaster+x is split.
    await findAddress(maps, 'postmaster+x@y', { recipientDelimiter: '+' });
    assert.deepEqual(t.probes, ['postmaster+x@y', 'postmaster@y', '@y']);
  });

  it('no recipient_delimiter: no extension stripping', async () => {
    const t = memoryTable();
    await findAddress(new MapList('t', [t]), 'a+b@x', { recipientDelimiter: '' });
    assert.deepEqual(t.probes, ['a+b@x', '@x']);
  });

  it('query forms: quoted local-parts', async () => {
    const t = memoryTable({ '"a b"@x': 'quoted' });
    const maps = new MapList('t', [t]);
    assert.deepEqual(await findAddress(maps, 'a b@x', { recipientDelimiter: '' }), { value: 'quoted' });
    t.probes.length = 0;
    await findAddress(maps, 'c d@x', { recipientDelimiter: '', strategy: MaFind.FULL, queryForm: 'internal' });
    assert.deepEqual(t.probes, ['c d@x']);
    t.probes.length = 0;
    await findAddress(maps, 'c d@x', { recipientDelimiter: '', strategy: MaFind.FULL, queryForm: 'internal-first' });
    assert.deepEqual(t.probes, ['c d@x', '"c d"@x']);
  });

  it('LOCALPART_AT_IF_LOCAL and myorigin', async () => {
    const t = memoryTable();
    await findAddress(new MapList('t', [t]), 'u+e@Origin.Example', {
      recipientDelimiter: '+',
      myorigin: 'origin.example',
      strategy: MaFind.LOCALPART_AT_IF_LOCAL | MaFind.NOEXT,
    });
    // NOEXT without FULL still tries the stripped address first.
    assert.deepEqual(t.probes, ['u@origin.example', 'u+e@', 'u@']);
  });
});

describe('maps/query: helpers', () => {
  it('splitMapNames keeps {} groups whole', () => {
    assert.deepEqual(splitMapNames(' hash:/a, inline:{ a=1, {b = c d} }\tpcre:/x,,'), [
      'hash:/a',
      'inline:{ a=1, {b = c d} }',
      'pcre:/x',
    ]);
  });

  it('parentMatchesSubdomains reads the list', () => {
    const v = 'debug_peer_list,fast_flush_domains,mynetworks, smtpd_access_maps';
    assert.equal(parentMatchesSubdomains(v, 'smtpd_access_maps'), true);
    assert.equal(parentMatchesSubdomains(v, 'transport_maps'), false);
  });

  it('dictFlagsString follows dict.c names', () => {
    assert.equal(dictFlagsString(DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST), 'lock|fold_fix|utf8_request');
  });

  it('quote822Local / unquote822Local', () => {
    assert.equal(quote822Local('a b@x'), '"a b"@x');
    assert.equal(quote822Local('user@x'), 'user@x');
    assert.equal(quote822Local('<>'), '"<>"');
    assert.equal(quote822Local('a"b\\c@x'), '"a\\"b\\\\c"@x');
    assert.equal(quote822Local('a.@x'), '"a."@x');
    assert.equal(quote822Local('a@b', true), '"a@b"');
    assert.equal(quote822Local('@r1,@r2:a b@x'), '@r1,@r2:"a b"@x');
    assert.equal(unquote822Local('"a b"@x'), 'a b@x');
    assert.equal(unquote822Local('"a\\"b"@"x"'), 'a"b@"x"');
  });

  it('stripAddrExtension / splitLocalpart', () => {
    assert.deepEqual(stripAddrExtension('user+ext@x', '+'), { stripped: 'user@x', extension: '+ext' });
    assert.deepEqual(stripAddrExtension('user+a+b', '+'), { stripped: 'user', extension: '+a+b' });
    assert.equal(stripAddrExtension('+ext@x', '+'), undefined);
    assert.equal(stripAddrExtension('user@x+y', '+'), undefined);
    assert.equal(stripAddrExtension('MAILER-DAEMON@y', '-'), undefined);
    assert.equal(stripAddrExtension('double-bounce@y', '-'), undefined);
    assert.deepEqual(stripAddrExtension('postmaster+x@y', '+'), { stripped: 'postmaster@y', extension: '+x' });
    assert.equal(splitLocalpart('list-request', '-'), -1);
    assert.equal(splitLocalpart('a-request', '-'), -1);
    assert.equal(splitLocalpart('a-b-c', '-'), 1);
    assert.equal(splitLocalpart('owner-x', '-', { ownerRequestSpecial: false }), 5);
  });

  it('resolve_local: mydestination names, tables, trailing dot, own address literals', async () => {
    const isLocal = await makeResolveLocal({
      mydestination: 'Mx.Example.Test, !neg.example, inline:{tab.example=1}, neg.example',
      inetInterfaces: '127.0.0.1, [::1]',
    });
    assert.equal(await isLocal('mx.example.test'), true);
    assert.equal(await isLocal('MX.EXAMPLE.TEST.'), true);
    assert.equal(await isLocal('mx.example.test..'), false);
    assert.equal(await isLocal('tab.example'), true);
    assert.equal(await isLocal('neg.example'), false);
    assert.equal(await isLocal('other.example'), false);
    assert.equal(await isLocal('[127.0.0.1]'), true);
    assert.equal(await isLocal('[IPv6:0:0::1]'), true);
    assert.equal(await isLocal('[10.9.9.9]'), false);
  });
});
