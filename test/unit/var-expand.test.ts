/**
 * Unit tests of compat/dovecot/var-expand.ts: Dovecot 2.3 %-variables. The
 * expected values were read from the real `doveadm user -e` (Dovecot
 * 2.3.19.1) for a user alice@example.test, uid 5000, home /srv/mail/alice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { strHash, type VarTable, varExpand, varGetKey, varGetKeyRange, varHasKey, wildcardMatch } from '../../compat/dovecot/var-expand.js';

const T: VarTable = [
  { key: 'u', long: 'user', value: 'alice@example.test' },
  { key: 'n', long: 'username', value: 'alice' },
  { key: 'd', long: 'domain', value: 'example.test' },
  { key: 's', long: 'service', value: 'doveadm' },
  { key: 'h', long: 'home', value: '/srv/mail/alice' },
  { key: 'l', long: 'lip', value: undefined },
  { key: 'i', long: 'uid', value: '5000' },
];
const x = (tpl: string) => varExpand(tpl, T).value;

describe('var-expand', () => {
  it('short and long keys, %%', () => {
    assert.equal(x('%u %n %d %s %h %i'), 'alice@example.test alice example.test doveadm /srv/mail/alice 5000');
    assert.equal(x('%{user}/%{domain}/%{home}'), 'alice@example.test/example.test//srv/mail/alice');
    assert.equal(x('100%% %l|%{lip}|'), '100% ||');
  });

  it('modifiers', () => {
    assert.equal(x('%Lu %Uu %Rn %Dd %Xi %Mn'), 'alice@example.test ALICE@EXAMPLE.TEST ecila example,dc=test 1388 6384e2b2184bcbf58eccf10ca7a6563c');
    assert.equal(x('%Hn %3Hn %05Hn %Nn %4Nn'), '682f95 0 0 184bcbf5 1');
    assert.equal(varExpand('%E{user}|%Tn', [{ long: 'user', value: `a"b'c\\` }, { key: 'n', value: 'x \t\n' }]).value, `a\\"b\\'c\\\\|x`);
    assert.equal(x('%ULn'), 'alice', 'modifiers apply in order');
  });

  it('width and offset', () => {
    assert.equal(x('%3n|%1.2n|%-2n|%.-3n|%-3.2n|%0.3n|%2.n|%08i'), 'ali|li|al|al|ic|ali|ice|00005000');
  });

  it('hash extensions', () => {
    assert.equal(x('%{sha1:user}'), '5b3b76e703135ea0bcdb7cb773350e55c1dfa95a');
    assert.equal(x('%{md5;format=base64:user}'), 'KWCmh8gDHT0QW2eAK14TDg==');
    assert.equal(x('%{sha256;rounds=3,truncate=12:user}'), '07df');
    assert.equal(x('%{md4:user}'), 'e01fd4f14d7c725336ecafbb5d7cc340');
    assert.equal(x('%{size:user}'), '0000000000000012');
    assert.equal(
      x('%{sha512;salt=x%n,format=hexuc:user}'),
      '1e788d5e71541398026372db11378afd702322cb8437c14cdc730ac02602ff7f45a4a2173becc0abd876e979779329bc77183578c3a0b8d99b8ef53e8196efdb',
    );
    assert.equal(x('%{pkcs5:user}').slice(0, 40), 'a952ad9a8e23be0412e8ee13f7ead072ad125cef');
    assert.equal(x('%{pkcs5:user}').length, 672);
  });

  it('if', () => {
    assert.equal(x('%{if;%n;eq;alice;yes;no}|%{if;%i;>;4000;big;small}|%{if;%n;*;al*;w}|%{if;%n;~;^a.i;re}'), 'yes|big|w|re');
    assert.equal(x('%{if;%{uid};==;5000;a\\;b;c}'), 'a;b');
    const bad = varExpand('%{if;1;==;x;a;b}', T);
    assert.equal(bad.ret, -1);
    assert.equal(bad.error, 'if: x (rhs) is not a number');
    assert.equal(varExpand('%{if;1;eq}', T).error, 'if: requires four or five parameters, got 2');
  });

  it('unknown variables and errors', () => {
    assert.deepEqual(varExpand('%q', T), { value: 'UNSUPPORTED_VARIABLE_q', ret: 0, error: "Unknown variable '%q'" });
    assert.deepEqual(varExpand('a%{nosuch}b', T), { value: 'aUNSUPPORTED_VARIABLE_nosuchb', ret: 0, error: "Unknown variable '%nosuch'" });
    assert.equal(varExpand('%{user', T).error, "Unknown variable '%{'");
    assert.equal(varExpand('%LLLLLLLLLLLLu', T).error, "Unknown variable '%L'");
    assert.deepEqual(varExpand('%{SHA256:user}', T), { value: '', ret: 0 });
    assert.equal(varExpand('%{sha256;rounds=x:user}', T).error, "Cannot parse hash arguments:'x' is not number for rounds");
    assert.equal(x('%'), '');
    assert.equal(x('x%'), 'x');
  });

  it('functions, env and built-ins', () => {
    const r = varExpand('%{userdb:home}|%{userdb:nosuch:dflt}|%{env:PA_TEST}|%{pid}', T, {
      env: { PA_TEST: 'envv' },
      funcs: { userdb: (d) => ({ value: d.startsWith('home') ? '/h' : (d.split(':')[1] ?? '') }) },
    });
    assert.equal(r.value, `/h|dflt|envv|${process.pid}`);
  });

  it('works on UTF-8 bytes', () => {
    const t: VarTable = [{ key: 'n', value: 'jürgen' }];
    assert.equal(varExpand('%Un|%2n|%Rn', t).value, 'JüRGEN|j\uFFFD|negr\uFFFD\uFFFDj');
  });

  it('key ranges, var_has_key, str_hash, wildcards', () => {
    assert.deepEqual(varGetKeyRange('3.1Lu rest'), { idx: 4, size: 1, long: false });
    assert.deepEqual(varGetKeyRange('L{user}x'), { idx: 2, size: 4, long: true });
    assert.equal(varGetKey('%u'), '%');
    assert.equal(varHasKey('/etc/%d/users', 'd'), true);
    assert.equal(varHasKey('/etc/%%d/users', 'd'), false);
    assert.equal(varHasKey('x %{domain} y', undefined, 'domain'), true);
    assert.equal(strHash('alice'), 0x682f95);
    assert.equal(wildcardMatch('alice@x', 'a*@?'), true);
    assert.equal(wildcardMatch('alice@x', 'b*'), false);
  });
});
