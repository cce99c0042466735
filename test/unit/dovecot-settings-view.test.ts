// compat/dovecot/settings-view.ts and filters.ts: what a service sees for one connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { ipToText, parseNet } from '../../compat/dovecot/filters.js';
import { settingsView } from '../../compat/dovecot/settings-view.js';

describe('dovecot settings view', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-dview-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      'mail_max_userip_connections = 5',
      'auth_failure_delay = 3 secs',
      'default_vsz_limit = 1G',
      'protocol imap {',
      '  mail_max_userip_connections = 20',
      '}',
      'remote 10.0.0.0/8 {',
      '  mail_debug = yes',
      '  protocol imap {',
      '    mail_max_userip_connections = 50',
      '  }',
      '}',
      'local_name *.example.org {',
      '  login_greeting = hello org',
      '}',
      'remote 192.168.0.0/16 {',
      '  login_greeting = lan',
      '}',
      'protocol pop3 {',
      '  login_greeting = pop',
      '}',
      'passdb {',
      '  driver = static',
      '}',
      '',
    ].join('\n'),
  );
  const cfg = parseConfigFile(conf, { expand: true });

  it('gives the top level and defaults without a filter', () => {
    const v = settingsView(cfg);
    assert.equal(v.uint('mail_max_userip_connections'), 5);
    assert.equal(v.seconds('auth_failure_delay'), 3);
    assert.equal(v.size('default_vsz_limit'), 1024n ** 3n);
    assert.equal(v.bool('mail_debug'), false);
    assert.equal(v.str('login_greeting'), 'Dovecot (Debian) ready.');
    assert.equal(v.sections('passdb').length, 1);
  });

  it('applies the protocol block for that protocol only', () => {
    assert.equal(settingsView(cfg, { protocol: 'imap' }).uint('mail_max_userip_connections'), 20);
    assert.equal(settingsView(cfg, { protocol: 'pop3' }).uint('mail_max_userip_connections'), 5);
  });

  it('applies a remote block to clients from that network only', () => {
    const v = settingsView(cfg, { remote: '10.1.2.3' });
    assert.equal(v.bool('mail_debug'), true);
    assert.equal(v.uint('mail_max_userip_connections'), 5);
    assert.equal(settingsView(cfg, { remote: '172.16.0.1' }).bool('mail_debug'), false);
  });

  it('flags remote+protocol vs protocol blocks setting the same key as real Dovecot does', () => {
    // Real doveconf -f protocol=imap -f remote=10.1.2.3 on this file: "Conflict in setting
    // mail_max_userip_connections found from filter at FILE:4" (the protocol imap block).
    const v = settingsView(cfg, { protocol: 'imap', remote: '10.1.2.3' });
    assert.equal(v.conflict, `Conflict in setting mail_max_userip_connections found from filter at ${conf}:4`);
    assert.equal(v.uint('mail_max_userip_connections'), 50);
  });

  it('matches local_name wildcards', () => {
    assert.equal(settingsView(cfg, { localName: 'mx.example.org' }).str('login_greeting'), 'hello org');
    assert.equal(settingsView(cfg, { localName: 'example.com' }).str('login_greeting'), 'Dovecot (Debian) ready.');
  });

  it('reports a conflict between unrelated blocks setting the same key', () => {
    const v = settingsView(cfg, { protocol: 'pop3', remote: '192.168.1.1' });
    assert.match(v.conflict ?? '', /^Conflict in setting login_greeting found from filter at .*dovecot\.conf:19$/);
  });

  it('takes overrides over everything', () => {
    assert.equal(settingsView(cfg, { protocol: 'imap' }, new Map([['mail_max_userip_connections', '1']])).uint('mail_max_userip_connections'), 1);
  });

  it('parses and prints networks as doveconf does', () => {
    assert.equal(parseNet('2001:db8:0:0:0:0:0:1/64').print, '2001:db8::1/64');
    assert.equal(parseNet('::ffff:1.2.3.4').print, '::ffff:1.2.3.4');
    assert.equal(parseNet('10.1.2.3/32').print, '10.1.2.3');
    assert.equal(ipToText([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), '::1');
    assert.throws(() => parseNet('10.0.0.0/33'), /^Error: Invalid network mask: 33$/);
  });
});
