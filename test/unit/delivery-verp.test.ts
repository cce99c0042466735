/** verp_sender(): the VERP envelope sender per recipient (global/verp_sender.c). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verpSender } from '../../src/delivery/verp.js';

describe('verpSender', () => {
  it('prefix@origin + user@domain -> prefix+user=domain@origin', () => {
    assert.equal(verpSender('+=', 'owner@lists.test', 'alice@far.test'), 'owner+alice=far.test@lists.test');
  });
  it('other delimiters', () => {
    assert.equal(verpSender('-=', 'bounces@lists.test', 'bob@x.test'), 'bounces-bob=x.test@lists.test');
  });
  it('a recipient without a domain adds no second delimiter', () => {
    assert.equal(verpSender('+=', 'owner@lists.test', 'alice'), 'owner+alice@lists.test');
  });
  it('a sender without a domain gets no @', () => {
    assert.equal(verpSender('+=', 'owner', 'alice@far.test'), 'owner+alice=far.test');
  });
  it('the last @ splits local part and domain', () => {
    assert.equal(verpSender('+=', '"a@b"@lists.test', 'c@d@far.test'), '"a@b"+c@d=far.test@lists.test');
  });
});
