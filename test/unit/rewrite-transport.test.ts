/**
 * transport(5) semantics of update_entry(): which of transport and
 * nexthop a transport_maps result replaces (trivial-rewrite/transport.c).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updateEntry } from '../../src/rewrite/resolve.js';

describe('transport_maps results', () => {
  const base = { channel: 'smtp', nexthop: '[relay.example]:587' };
  const u = (ch: string, nh: string) => updateEntry(ch, nh, 'dom.test', base.channel, base.nexthop);
  it('":" changes nothing; ":nexthop" only the nexthop', () => {
    assert.deepEqual(u('', ''), base);
    assert.deepEqual(u('', '[other]'), { channel: 'smtp', nexthop: '[other]' });
  });
  it('"transport:" resets the nexthop to the recipient domain', () => {
    assert.deepEqual(u('relay', ''), { channel: 'relay', nexthop: 'dom.test' });
    assert.deepEqual(u('lmtp', 'unix:private/dovecot-lmtp'), { channel: 'lmtp', nexthop: 'unix:private/dovecot-lmtp' });
  });
  it('error:/retry: without text say "Address is undeliverable"', () => {
    assert.deepEqual(u('error', ''), { channel: 'error', nexthop: 'Address is undeliverable' });
    assert.deepEqual(u('retry', ''), { channel: 'retry', nexthop: 'Address is undeliverable' });
    assert.deepEqual(u('error', '5.7.1 go away'), { channel: 'error', nexthop: '5.7.1 go away' });
  });
});
