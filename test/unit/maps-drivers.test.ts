/**
 * Unit tests for the in-memory map drivers (static, fail, environ, inline,
 * unionmap, pipemap, randmap, proxy), surrogate tables and MapList.open:
 * what the differential test cannot reach through postmap -q (write modes,
 * sequence, -F file values, proxy approvals, daemon-style surrogates,
 * non-UTF-8 names). Expected words are the real postmap's where it has any
 * (captured: postmap -q x "inline:{a\xff=1}", postmap -q x "static:a\xff",
 * postmap -d/-s on these types).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addMsgOutput, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import { dictGet } from '../../src/maps/dict-get.js';
import { withUtf8Layer } from '../../src/maps/driver-util.js';
import { approvedProxyTables } from '../../src/maps/proxy.js';
import { MapList } from '../../src/maps/query.js';
import { openMapSpec } from '../../src/maps/registry.js';
import { surrogateTable } from '../../src/maps/surrogate.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from '../../src/maps/types.js';
import { tempDir } from '../helpers/postfix-diff.js';

const UTF8_PARAM = (n: string) => (n === 'smtputf8_enable' ? 'yes' : undefined);
const READ: OpenOptions = { mode: 'read', dictFlags: DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST, param: UTF8_PARAM };

async function open(spec: string, opts: OpenOptions = READ): Promise<LookupTable> {
  return withUtf8Layer(await openMapSpec(spec, opts), opts);
}

async function openError(spec: string, opts: OpenOptions = READ): Promise<string> {
  try {
    await open(spec, opts);
  } catch (e) {
    if (e instanceof DictError) return e.message;
    throw e;
  }
  assert.fail(`${spec} opened`);
}

async function all(seq: AsyncIterable<[string, string]>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const kv of seq) out.push(kv);
  return out;
}

describe('maps: in-memory drivers', () => {
  const messages: string[] = [];
  const capture: MsgOutput = (level, text) => messages.push(`${level}: ${text}`);
  const tmp = tempDir('postern-maps-drivers-');
  before(() => {
    addMsgOutput(capture);
    setMsgStderr(false);
  });
  after(() => {
    removeMsgOutput(capture);
    setMsgStderr(true);
    tmp.cleanup();
  });

  it('table types that need read-only access refuse write modes', async () => {
    for (const spec of ['inline:{a=1}', 'unionmap:{inline:{a=1}}', 'pipemap:{inline:{a=1}}', 'randmap:{a}']) {
      assert.equal(await openError(spec, { ...READ, mode: 'update' }), `${spec} map requires O_RDONLY access mode`);
    }
  });

  it('static: no sequence, update or delete; value kept as written', async () => {
    const t = await open('static:{  Mixed Value  }');
    assert.equal(await dictGet(t, 'ANY'), 'Mixed Value');
    assert.equal(t.sequence, undefined);
    assert.equal(t.update, undefined);
    assert.equal(t.flags & DictFlag.FIXED, DictFlag.FIXED);
  });

  it('fail: every operation fails with "retry" / Application error', async () => {
    const t = await open('fail:x', { ...READ, mode: 'update' });
    await assert.rejects(dictGet(t, 'k'), { name: 'DictError', kind: 'retry', message: 'Application error' });
    await assert.rejects(t.update!('k', 'v'), { kind: 'retry' });
    await assert.rejects(t.delete!('k'), { kind: 'retry' });
    await assert.rejects(all(t.sequence!()), { kind: 'retry' });
    assert.equal((await open('fail:x')).update, undefined);
  });

  it('environ: folded key unless -f; update sets the variable', async () => {
    process.env.postern_drv_lower = 'lower';
    process.env.POSTERN_DRV_UPPER = 'upper';
    try {
      const t = await open('environ:e');
      assert.equal(await dictGet(t, 'POSTERN_DRV_LOWER'), 'lower');
      assert.equal(await dictGet(t, 'POSTERN_DRV_UPPER'), undefined);
      const f = await open('environ:e', { ...READ, dictFlags: DictFlag.UTF8_REQUEST });
      assert.equal(await dictGet(f, 'POSTERN_DRV_UPPER'), 'upper');
      await f.update!('POSTERN_DRV_SET', 'v');
      assert.equal(process.env.POSTERN_DRV_SET, 'v');
      assert.equal(f.delete, undefined);
    } finally {
      delete process.env.postern_drv_lower;
      delete process.env.POSTERN_DRV_UPPER;
      delete process.env.POSTERN_DRV_SET;
    }
  });

  it('inline: sequence gives the folded keys, last duplicate wins', async () => {
    const t = await open('inline:{B=1, a=2, b=3}');
    assert.deepEqual((await all(t.sequence!())).sort(), [
      ['a', '2'],
      ['b', '3'],
    ]);
  });

  it('inline: Unicode folding only with smtputf8_enable', async () => {
    const name = Buffer.from('inline:{Straße=1}', 'utf8').toString('latin1');
    const on = await open(name);
    assert.equal(await dictGet(on, 'STRASSE'), '1');
    const off = await open(name, { ...READ, param: () => 'no' });
    assert.equal(await dictGet(off, 'STRASSE'), undefined);
    assert.equal(await dictGet(off, Buffer.from('straße', 'utf8').toString('latin1')), '1');
  });

  it('inline: non-UTF-8 name is a syntax error (real words)', async () => {
    assert.equal(
      await openError('inline:{a\xff=1}'),
      'bad UTF-8 syntax: "inline:{a\xff=1}"; need "inline:{name=value...}"',
    );
    // Without smtputf8_enable the bytes are just bytes.
    const t = await open('inline:{a\xff=1}', { ...READ, param: () => 'no' });
    assert.equal(await dictGet(t, 'A\xff'), '1');
  });

  it('static: a non-UTF-8 value is a configuration error at lookup', async () => {
    messages.length = 0;
    const t = await open('static:a\xff');
    await assert.rejects(dictGet(t, 'x'), { kind: 'config' });
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /^warning: static:a.: key "x": non-UTF-8 value "a.": malformed UTF-8 or invalid codepoint$/);
  });

  it('-F (SRC_RHS_IS_FILE): values are files, returned as base64', async () => {
    const a = join(tmp.dir, 'a.pem');
    const b = join(tmp.dir, 'b.pem');
    writeFileSync(a, 'AAA');
    writeFileSync(b, 'BBB');
    const opts = { ...READ, dictFlags: READ.dictFlags | DictFlag.SRC_RHS_IS_FILE };
    const s = await open(`static:{${a}, ${b}}`, opts);
    assert.equal(Buffer.from((await dictGet(s, 'k'))!, 'base64').toString(), 'AAA\nBBB');
    const i = await open(`inline:{k=${a}}`, opts);
    assert.equal(Buffer.from((await dictGet(i, 'k'))!, 'base64').toString(), 'AAA');
    const missing = join(tmp.dir, 'missing');
    assert.equal(await openError(`static:${missing}`, opts), `open ${missing}: No such file or directory`);
    assert.equal(
      await openError(`inline:{k=${missing}}`, opts),
      `open ${missing}: No such file or directory: "inline:{k=${missing}}"; need "inline:{name=filename...}"`,
    );
    assert.equal(await openError(`randmap:{${missing}}`, opts), `open ${missing}: No such file or directory`);
  });

  it('unionmap/pipemap take FIXED or PATTERN from their first table', async () => {
    assert.equal((await open('unionmap:{inline:{a=1}, randmap:{x}}')).flags & DictFlag.FIXED, DictFlag.FIXED);
    assert.equal((await open('pipemap:{randmap:{x}, inline:{x=1}}')).flags & DictFlag.PATTERN, DictFlag.PATTERN);
    // The whole pipeline's key is folded by the outer table, then each stage folds its own.
    assert.equal(await dictGet(await open('pipemap:{inline:{foo=Bar}, inline:{bar=baz}}'), 'FOO'), 'baz');
  });

  it('a component lookup error names the combined table', async () => {
    const t = await open('unionmap:{inline:{a=1}, fail:x}');
    await assert.rejects(dictGet(t, 'a'), { kind: 'retry', table: 'unionmap:{inline:{a=1}, fail:x}' });
  });
});

describe('maps: proxy', () => {
  const param = (values: Record<string, string>) => (n: string) => values[n];

  it('opens the inner table directly with the same flags', async () => {
    const t = await open('proxy:inline:{Foo=bar}');
    assert.equal(t.type, 'proxy');
    assert.equal(t.name, 'inline:{Foo=bar}');
    assert.equal(await dictGet(t, 'FOO'), 'bar');
    assert.equal(t.flags & DictFlag.FIXED, DictFlag.FIXED);
    assert.equal(await dictGet(await open('proxy:proxy:static:x'), 'k'), 'x');
  });

  it('keeps proxymap refusals', async () => {
    assert.equal(await openError('proxy:foo'), 'proxymap open failed for table "foo": invalid request');
    const opts = { ...READ, param: param({ proxy_read_maps: 'proxy:inline:{a=1} $other', proxy_write_maps: '' }) };
    assert.equal(await dictGet(await open('proxy:inline:{a=1}', opts), 'a'), '1');
    assert.equal(
      await openError('proxy:inline:{b=2}', opts),
      'proxymap service is not configured for table "inline:{b=2}"',
    );
    assert.equal(
      await openError('proxy:fail:x', { ...opts, mode: 'update' }),
      'proxywrite service is not configured for table "fail:x"',
    );
    // DICT_FLAG_NO_PROXY: a silent direct open.
    const direct = await open('proxy:inline:{b=2}', { ...opts, dictFlags: opts.dictFlags | DictFlag.NO_PROXY });
    assert.equal(direct.type, 'inline');
  });

  it('approved tables: proxy: prefixes, nested unionmap/pipemap, {} groups', () => {
    const set = approvedProxyTables(
      'proxy:hash:/a, proxy:proxy:lmdb:/b hash:/notproxied unionmap:{proxy:pcre:/c, static:x} ' +
        'pipemap:{proxy:texthash:/d} { proxy:cidr:/e } proxy:noname',
    );
    assert.deepEqual([...set].sort(), ['cidr:/e', 'hash:/a', 'lmdb:/b', 'pcre:/c', 'texthash:/d']);
  });
});

describe('maps: surrogates and MapList.open', () => {
  const messages: string[] = [];
  const capture: MsgOutput = (level, text) => messages.push(`${level}: ${text}`);
  before(() => {
    addMsgOutput(capture);
    setMsgStderr(false);
  });
  after(() => {
    removeMsgOutput(capture);
    setMsgStderr(true);
  });

  it('a surrogate warns on each access and fails with "retry"', async () => {
    messages.length = 0;
    const t = surrogateTable('inline', '{}', READ, 'bad syntax: "inline:{}"; need "inline:{name=value...}"');
    await assert.rejects(t.lookup('k'), { kind: 'retry' });
    assert.deepEqual(messages, ['warning: inline:{} is unavailable. bad syntax: "inline:{}"; need "inline:{name=value...}"']);
  });

  it('daemons (surrogate: true) keep going past a broken table; tools fail', async () => {
    messages.length = 0;
    const maps = await MapList.open('virtual_alias_maps', 'inline:{a=1}, inline:{}', { ...READ, surrogate: true });
    assert.deepEqual(messages, ['error: bad syntax: "inline:{}"; need "inline:{name=value...}"']);
    assert.equal(await maps.find('a'), '1');
    await assert.rejects(maps.find('b'), { kind: 'retry' });
    await maps.close();
    await assert.rejects(MapList.open('virtual_alias_maps', 'inline:{}', READ), {
      kind: 'config',
      message: 'bad syntax: "inline:{}"; need "inline:{name=value...}"',
    });
  });

  it('a spec without "type:" is fatal even for daemons', async () => {
    await assert.rejects(MapList.open('x', 'hash', { ...READ, surrogate: true }), {
      message: 'open dictionary: expecting "type:name" form instead of "hash"',
    });
    await assert.rejects(MapList.open('x', 'static:', { ...READ, surrogate: true }), {
      message: 'open dictionary: expecting "type:name" form instead of "static:"',
    });
  });

  it('MapList.open adds the UTF-8 layer and shares tables between lists', async () => {
    const spec = Buffer.from('inline:{Straße=1}', 'utf8').toString('latin1');
    const a = await MapList.open('a', spec, READ);
    const b = await MapList.open('b', `static:x ${spec}`, READ);
    assert.equal(a.tables[0], b.tables[1]);
    assert.equal(await a.find('STRASSE'), '1');
    assert.equal(a.tables[0]!.flags & DictFlag.UTF8_ACTIVE, DictFlag.UTF8_ACTIVE);
    await a.close();
    assert.equal(await b.find('x'), 'x');
    await b.close();
    assert.equal((await MapList.open('empty', ' , ', READ)).isEmpty, true);
  });
});
