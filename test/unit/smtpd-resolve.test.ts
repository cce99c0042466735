/**
 * Unit tests: address rewriting and class resolution for relay control
 * (rewrite/resolve.ts, rewrite/rewrite.ts), match lists with CIDR and parent-domain matching
 * (smtpd/lists.ts), and the restriction engine's list evaluation
 * (warn_if_reject, defer_if_permit, restriction classes, unknown names).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { RestrictionEngine } from '../../src/smtpd/checks/engine.js';
import { MatchList } from '../../src/smtpd/lists.js';
import {
  RESOLVE_CLASS_ALIAS,
  RESOLVE_CLASS_DEFAULT,
  RESOLVE_CLASS_LOCAL,
  RESOLVE_CLASS_RELAY,
  RESOLVE_CLASS_VIRTUAL,
  RESOLVE_FLAG_ERROR,
  RESOLVE_FLAG_ROUTED,
  rewriteInternal,
} from '../../src/rewrite/resolve.js';
import { loadSmtpdSettings, type SmtpdSettings } from '../../src/smtpd/settings.js';
import { SmtpdState } from '../../src/smtpd/state.js';
import { MemoryLog } from '../helpers/smtp-client.js';

const MAIN = `
compatibility_level = 3.6
inet_protocols = ipv4
myhostname = mx.example.test
mydomain = example.test
mydestination = mx.example.test, localhost
inet_interfaces = 127.0.0.1
mynetworks = 127.0.0.2/32, [::1]/128, 10.0.0.0/8, !192.0.2.7, 192.0.2.0/24
relay_domains = relay.test
virtual_alias_domains = alias.test
virtual_mailbox_domains = vmail.test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_restriction_classes = myclass
myclass = reject_non_fqdn_recipient
`;

describe('smtpd resolve, lists and restrictions', () => {
  let dir = '';
  let settings: SmtpdSettings;
  const log = new MemoryLog();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smtpd-unit-'));
    writeFileSync(join(dir, 'main.cf'), MAIN);
    settings = await loadSmtpdSettings(loadPostfixConfig({ configDir: dir }), { warn: (t) => log.warn(t) });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cls = (flags: number) =>
    flags & RESOLVE_CLASS_LOCAL
      ? 'local'
      : flags & RESOLVE_CLASS_ALIAS
        ? 'alias'
        : flags & RESOLVE_CLASS_VIRTUAL
          ? 'virtual'
          : flags & RESOLVE_CLASS_RELAY
            ? 'relay'
            : flags & RESOLVE_CLASS_DEFAULT
              ? 'default'
              : '?';

  const cases: Array<[string, string, string, boolean]> = [
    // address, resolved recipient, class, routed
    ['user@mx.example.test', 'user@mx.example.test', 'local', false],
    ['User@MX.Example.Test.', 'user@mx.example.test', 'local', false],
    ['user', 'user@mx.example.test', 'local', false],
    ['user@[127.0.0.1]', 'user@[127.0.0.1]', 'local', false],
    ['user@[192.0.2.1]', 'user@[192.0.2.1]', 'default', false],
    ['user@vmail.test', 'user@vmail.test', 'virtual', false],
    ['user@alias.test', 'user@alias.test', 'alias', false],
    ['user@relay.test', 'user@relay.test', 'relay', false],
    ['user@sub.relay.test', 'user@sub.relay.test', 'relay', false],
    ['victim@outside.test', 'victim@outside.test', 'default', false],
    ['victim%outside.test@mx.example.test', 'victim@outside.test', 'default', false],
    ['outside.test!victim@mx.example.test', 'victim@outside.test', 'default', false],
    ['@mx.example.test:victim@outside.test', 'victim@outside.test', 'default', false],
    ['victim@outside.test@mx.example.test', 'victim@outside.test', 'default', false],
    ['victim@mx.example.test@outside.test', 'victim@mx.example.test@outside.test', 'default', true],
    ['victim%outside.test@relay.test', 'victim%outside.test@relay.test', 'relay', true],
    ['a!b@relay.test', 'a!b@relay.test', 'relay', true],
    ['', 'mailer-daemon@mx.example.test', 'local', false],
  ];
  for (const [addr, rcpt, c, routed] of cases) {
    test(`resolve <${addr}>`, async () => {
      const r = await settings.resolver.resolve(addr);
      assert.equal(r.recipient, rcpt);
      assert.equal(cls(r.flags), c);
      assert.equal((r.flags & RESOLVE_FLAG_ROUTED) !== 0, routed);
    });
  }

  test('resolve: bad domain syntax is flagged', async () => {
    assert.ok((await settings.resolver.resolve('user@bad_domain!')).flags & RESOLVE_FLAG_ERROR);
    assert.ok((await settings.resolver.resolve('user@[1.2.3]')).flags & RESOLVE_FLAG_ERROR);
  });

  test('rewrite (local context): %-hack, bang path, source route, trailing dot', () => {
    assert.equal(rewriteInternal(settings.rewrite, 'local', 'a%b'), 'a@b');
    assert.equal(rewriteInternal(settings.rewrite, 'local', 'b!a'), 'a@b');
    assert.equal(rewriteInternal(settings.rewrite, 'local', '@x:a@b'), 'a@b');
    assert.equal(rewriteInternal(settings.rewrite, 'local', 'a@b.'), 'a@b');
    assert.equal(rewriteInternal(settings.rewrite, 'local', 'a'), 'a@mx.example.test');
    assert.equal(rewriteInternal(settings.rewrite, 'local', 'first last@b'), 'first last@b');
  });

  test('mynetworks: CIDR, IPv6, negation, names', async () => {
    const m = settings.mynetworks;
    assert.equal(await m.match('unknown', '127.0.0.2'), true);
    assert.equal(await m.match('unknown', '127.0.0.1'), false);
    assert.equal(await m.match('unknown', '10.9.8.7'), true);
    assert.equal(await m.match('unknown', '::1'), true);
    assert.equal(await m.match('unknown', '192.0.2.7'), false);
    assert.equal(await m.match('unknown', '192.0.2.8'), true);
  });

  test('domain lists: parent style vs .domain style', async () => {
    const parent = new MatchList('relay_domains', 'example.com', { kind: 'hostname', parent: true });
    const dot = new MatchList('x', 'example.com, .example.org', { kind: 'hostname' });
    assert.equal(await parent.match('sub.example.com'), true);
    assert.equal(await parent.match('badexample.com'), false);
    assert.equal(await dot.match('sub.example.com'), false);
    assert.equal(await dot.match('example.com'), true);
    assert.equal(await dot.match('sub.example.org'), true);
    assert.equal(await dot.match('example.org'), false);
  });

  test('string lists from a /file, with negation', async () => {
    writeFileSync(join(dir, 'cmds'), 'foo\n# comment\nbar baz\n');
    const l = new MatchList('x', `!BAR, ${join(dir, 'cmds')}`, { kind: 'string' });
    assert.equal(await l.match('FOO'), true);
    assert.equal(await l.match('bar'), false);
    assert.equal(await l.match('baz'), true);
  });

  const rcptCheck = async (restrictions: string[], rcpt: string) => {
    const s = { ...settings, restrictions: { ...settings.restrictions, recipient: restrictions, relay: [] } };
    const st = new SmtpdState();
    st.name = 'unknown';
    st.addr = '192.0.2.99';
    st.buildNamaddr();
    st.protocol = 'ESMTP';
    st.where = 'RCPT';
    st.sender = 'a@example.org';
    return new RestrictionEngine(s, log).rcpt(st, rcpt);
  };

  test('restrictions: warn_if_reject turns a reject into a logged warning', async () => {
    const n = log.lines.length;
    assert.equal(await rcptCheck(['warn_if_reject', 'reject_non_fqdn_recipient', 'permit'], 'user'), undefined);
    assert.match(log.lines[n], /^NOQUEUE: reject_warning: RCPT from unknown\[192\.0\.2\.99\]: 504 5\.5\.2 <user>: /);
  });

  test('restrictions: defer_if_permit applies only when the list permits', async () => {
    assert.equal(
      await rcptCheck(['defer_if_permit', 'permit'], 'user@x.test'),
      '450 4.7.0 <user@x.test>: Recipient address rejected: defer_if_permit requested',
    );
    assert.equal(
      await rcptCheck(['defer_if_permit', 'reject'], 'user@x.test'),
      '554 5.7.1 <user@x.test>: Recipient address rejected: Access denied',
    );
  });

  test('restrictions: defer_if_reject turns a later 5xx into 450', async () => {
    assert.equal(
      await rcptCheck(['defer_if_reject', 'reject'], 'user@x.test'),
      '450 4.7.0 <user@x.test>: Recipient address rejected: defer_if_reject requested',
    );
  });

  test('restrictions: classes, unknown names, relay denial', async () => {
    assert.equal(await rcptCheck(['myclass'], 'user'), '504 5.5.2 <user>: Recipient address rejected: need fully-qualified address');
    assert.equal(await rcptCheck(['no_such_thing'], 'user@x.test'), '451 4.3.5 Server configuration error');
    assert.ok(log.lines.includes('warning: unknown smtpd restriction: "no_such_thing"'));
    assert.equal(await rcptCheck(['reject_unauth_destination'], 'v@outside.test'), '554 5.7.1 <v@outside.test>: Relay access denied');
    assert.equal(await rcptCheck(['reject_unauth_destination'], 'v@relay.test'), undefined);
    // A bare table is an access table for this stage; a table that cannot be opened is a
    // server configuration error in the stage's words (real Postfix 3.7, see smtpd-access fixtures).
    assert.equal(
      await rcptCheck(['hash:/nonexistent'], 'v@relay.test'),
      '451 4.3.5 <v@relay.test>: Recipient address rejected: Server configuration error',
    );
  });

  test('restrictions: a list without a relay guard is a configuration error', () => {
    const s = { ...settings, restrictions: { ...settings.restrictions, recipient: ['permit_mynetworks'], relay: ['permit'] } };
    assert.match(RestrictionEngine.configError(s) ?? '', /^in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify/);
    assert.equal(RestrictionEngine.configError(settings), undefined);
  });
});
