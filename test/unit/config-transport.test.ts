// PostfixConfig.forTransport: per-transport parameters as get_mail_conf_int2 reads them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadPostfixConfig } from '../../compat/postfix/config.js';

describe('PostfixConfig.forTransport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-cfg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'main.cf'),
    'default_destination_concurrency_limit = 7\nrelay_destination_concurrency_limit = $(default_destination_concurrency_limit)0\n',
  );
  const cfg = loadPostfixConfig({ configDir: dir });

  it('uses <transport><suffix> when main.cf sets it, expanded', () => {
    assert.deepEqual(cfg.forTransport('relay', '_destination_concurrency_limit', 'default_destination_concurrency_limit'), {
      name: 'relay_destination_concurrency_limit',
      value: '70',
    });
  });

  it('falls back to the default parameter for an unset transport', () => {
    assert.deepEqual(cfg.forTransport('mytransport', '_destination_concurrency_limit', 'default_destination_concurrency_limit'), {
      name: 'default_destination_concurrency_limit',
      value: '7',
    });
  });

  it('uses a built-in per-transport default (local_destination_concurrency_limit = 2)', () => {
    assert.deepEqual(cfg.forTransport('local', '_destination_concurrency_limit', 'default_destination_concurrency_limit'), {
      name: 'local_destination_concurrency_limit',
      value: '2',
    });
  });

  it('takes a service -o override over main.cf', () => {
    const svc = cfg.withService([['relay_destination_concurrency_limit', '3']], 'relay');
    assert.equal(svc.forTransport('relay', '_destination_concurrency_limit', 'default_destination_concurrency_limit').value, '3');
  });
});
