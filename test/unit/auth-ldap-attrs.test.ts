/**
 * The LDAP attribute map syntax (db-ldap.c db_ldap_set_attrs) and the
 * filter escape (ldap_escape): pure functions, no server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ldapEscape, parseLdapAttrs } from '../../src/auth/db/ldap.js';

describe('parseLdapAttrs', () => {
  it('reads attr=field, bare attr, static =field=value and templates', () => {
    const errors: string[] = [];
    const { fields, attrNames } = parseLdapAttrs(
      'uid=user, userPassword=password,mail,=quota_rule=*:storage=1G,homeDirectory=mail=maildir:%$/Maildir,x=home=/srv/%{ldap:cn:none}',
      undefined,
      (m) => errors.push(m),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(
      fields.map((f) => [f.ldapAttr, f.name, f.template]),
      [
        ['uid', 'user', undefined],
        ['userPassword', 'password', undefined],
        ['mail', 'mail', undefined],
        ['', 'quota_rule', '*:storage=1G%$'],
        ['homeDirectory', 'mail', 'maildir:%$/Maildir'],
        ['x', 'home', '/srv/%{ldap:cn:none}'],
      ],
    );
    assert.deepEqual(attrNames, ['uid', 'userPassword', 'mail', 'homeDirectory', 'x', 'cn']);
  });

  it('drops the skipped field (auth_bind drops password), marks !attr and @dn fields, reports empty names', () => {
    const errors: string[] = [];
    const { fields } = parseLdapAttrs('userPassword=password,!objectClass,@mailbox=memberOf,cn=', 'password', (m) => errors.push(m));
    assert.deepEqual(
      fields.map((f) => ({ name: f.name, attr: f.ldapAttr, skip: f.skip, dn: f.valueIsDn })),
      [
        { name: '', attr: 'objectClass', skip: true, dn: false },
        { name: 'mailbox', attr: '', skip: false, dn: true },
      ],
    );
    assert.deepEqual(errors, ['Invalid attrs entry: cn=']);
  });
});

describe('ldapEscape', () => {
  it('escapes the filter/DN specials and 8-bit bytes as \\XX, nothing else', () => {
    assert.equal(ldapEscape('alice@example.test'), 'alice@example.test');
    assert.equal(ldapEscape('a*b(c)d\\e'), 'a\\2Ab\\28c\\29d\\5Ce');
    assert.equal(ldapEscape('x,y=z #+<>;"'), 'x\\2Cy\\3Dz\\20\\23\\2B\\3C\\3E\\3B\\22');
    assert.equal(ldapEscape('ä'), '\\C3\\A4');
  });
});
