/**
 * test/unit/util-passwd.test.ts: getpwnam/getpwuid/getgrnam and the
 * name-or-number lookups over sample passwd and group files.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getgrnam, getpwnam, getpwuid, lookupGid, lookupUid } from '../../src/util/passwd.js';
import { tempDir } from '../helpers/postfix-diff.js';

test('passwd and group lookups', () => {
  const t = tempDir();
  try {
    const pw = join(t.dir, 'passwd');
    const gr = join(t.dir, 'group');
    writeFileSync(pw, 'root:x:0:0:root:/root:/bin/bash\npostfix:x:102:105:Jos\xe9,,,:/var/spool/postfix:/usr/sbin/nologin\npostfix:x:999:999::/x:/bin/sh\nbroken:x:abc:1::/:/bin/sh\n', 'latin1');
    writeFileSync(gr, 'root:x:0:\npostdrop:x:106:alice,bob\nvmail:x:5000:\n');
    assert.deepEqual(getpwnam('postfix', pw), { name: 'postfix', uid: 102, gid: 105, gecos: 'Jos\xe9,,,', dir: '/var/spool/postfix', shell: '/usr/sbin/nologin' });
    assert.equal(getpwnam('broken', pw), undefined);
    assert.equal(getpwnam('nobody-here', pw), undefined);
    assert.equal(getpwuid(0, pw)?.name, 'root');
    assert.deepEqual(getgrnam('postdrop', gr), { name: 'postdrop', gid: 106, members: ['alice', 'bob'] });
    assert.equal(lookupUid('postfix', pw), 102);
    assert.equal(lookupUid('5000', pw), 5000);
    assert.equal(lookupUid('99999999999', pw), undefined);
    assert.equal(lookupGid('vmail', gr), 5000);
    assert.equal(lookupGid('postfix', gr), undefined);
    assert.equal(getpwnam('x', join(t.dir, 'missing')), undefined);
  } finally {
    t.cleanup();
  }
});
