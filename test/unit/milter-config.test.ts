/**
 * Milter list and macro-default parsing (milter.c milter_new,
 * milter_macro_defaults_create) and packet framing (milter8.c).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMacroDefaults, parseMilterList, splitQuoted } from '../../src/milter/milters.js';
import { encodePacket, long, str } from '../../src/milter/protocol.js';

const base = {
  connTimeout: 30,
  cmdTimeout: 30,
  msgTimeout: 300,
  protocol: '6',
  defAction: 'tempfail',
  macros: { conn: '', helo: '', mail: '', rcpt: '', data: '', eoh: '', eod: '', unk: '' },
  macroDefaults: new Map<string, string>(),
  softBounce: false,
  lineLimit: 2048,
  daemonName: 'mx',
  macroV: 'Postfix 3.7.11',
};

describe('milter configuration', () => {
  test('lists split on blanks and commas, braces kept whole', () => {
    assert.deepEqual(splitQuoted('inet:a:1, { unix:/x, default_action=accept } local:/y'), ['inet:a:1', '{ unix:/x, default_action=accept }', 'local:/y']);
  });

  test('per-milter overrides', () => {
    const l = parseMilterList('inet:127.0.0.1:8891 { inet:127.0.0.1:8892, connect_timeout=10s, command_timeout=1m, default_action=accept, protocol=4 }', base);
    assert.equal(l.length, 2);
    assert.deepEqual(l[0], { name: 'inet:127.0.0.1:8891', connTimeout: 30, cmdTimeout: 30, msgTimeout: 300, protocol: '6', defAction: 'tempfail' });
    assert.deepEqual(l[1], { name: 'inet:127.0.0.1:8892', connTimeout: 10, cmdTimeout: 60, msgTimeout: 300, protocol: '4', defAction: 'accept' });
  });

  test('unknown per-milter attribute is an error', () => {
    assert.throws(() => parseMilterList('{ inet:a:1, bogus=1 }', base), /unknown attribute name/);
  });

  test('macro defaults: name=value and { name = value }, names canonical', () => {
    const m = parseMacroDefaults('auth_type=none, { {client_ptr} = unknown host }');
    assert.equal(m.get('{auth_type}'), 'none');
    assert.equal(m.get('{client_ptr}'), 'unknown host');
  });

  test('packet framing: length, command, NUL-terminated strings, network longs', () => {
    const p = encodePacket(0x4f, [long(6), str('ab')]);
    assert.deepEqual([...p], [0, 0, 0, 8, 0x4f, 0, 0, 0, 6, 0x61, 0x62, 0]);
  });
});
