/**
 * test/unit/maps-sql.test.ts: the pure parts of the SQL, tcp: and
 * socketmap: drivers: db_common template expansion, the .cf reader, libpq
 * error texts, SQL escapes, SQLite value texts, host and endpoint syntax,
 * %XX quoting. (The drivers against real servers and the real postmap are
 * in test/differential/maps-sql*.test.ts and test/integration/maps-sql*.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { errorPositionText, serverErrorText } from '../../src/db/libpq-text.js';
import { parsePgHost, pgEscapeString } from '../../src/db/pgsql.js';
import { firstStatement, SqliteDb, sqliteEscapeString, sqliteRealText } from '../../src/db/sqlite.js';
import { addMsgOutput, FatalExit, type MsgOutput, removeMsgOutput, setMsgStderr } from '../../src/log/msg.js';
import { CfParser } from '../../src/maps/sql/cf.js';
import { isValidUtf8, lowercaseAscii } from '../../src/maps/sql/common.js';
import { casefold, DomainList } from '../../src/maps/sql/domain-list.js';
import { legacySqlQuery, TemplateContext } from '../../src/maps/sql/template.js';
import { hexQuote, hexUnquote, parseHostPort } from '../../src/maps/tcp.js';

const dir = mkdtempSync(join(tmpdir(), 'postern-sqlunit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run fn with Postfix messages captured instead of printed. */
function captured<T>(fn: () => T): { value?: T; messages: string[]; fatal: boolean } {
  const messages: string[] = [];
  const out: MsgOutput = (level, text) => messages.push(`${level}: ${text}`);
  addMsgOutput(out);
  setMsgStderr(false);
  try {
    return { value: fn(), messages, fatal: false };
  } catch (err) {
    if (err instanceof FatalExit) return { messages, fatal: true };
    throw err;
  } finally {
    removeMsgOutput(out);
    setMsgStderr(true);
  }
}

function ctxFor(query: string, result = '%s'): TemplateContext {
  const ctx = new TemplateContext('pgsql', '/x.cf');
  ctx.parse(query, true);
  ctx.parse(result, false);
  return ctx;
}

describe('db_common templates', () => {
  it('expands %s %u %d %% and quotes each value', () => {
    const ctx = ctxFor("SELECT a FROM t WHERE u='%u' AND d='%d' AND s='%s' AND p LIKE '%%x'");
    const q = (s: string) => s.replace(/'/g, "''");
    assert.equal(
      ctx.expand("SELECT a FROM t WHERE u='%u' AND d='%d' AND s='%s' AND p LIKE '%%x'", "o'r@ex.com", undefined, q),
      "SELECT a FROM t WHERE u='o''r' AND d='ex.com' AND s='o''r@ex.com' AND p LIKE '%x'",
    );
  });
  it('skips keys that lack the parts the query needs', () => {
    const ctx = ctxFor("'%d'");
    assert.equal(ctx.expand("'%d'", 'user', undefined), undefined);
    assert.equal(ctx.expand("'%d'", 'user@', undefined), undefined);
    assert.equal(ctxFor("'%u'").expand("'%u'", '@example.com', undefined), undefined);
    assert.equal(ctxFor("'%u'").expand("'%u'", 'plain', undefined), "'plain'");
  });
  it('uses the last @ for user and domain', () => {
    const ctx = ctxFor('%u|%d');
    assert.equal(ctx.expand('%u|%d', 'a@b@c.d', undefined), 'a@b|c.d');
  });
  it('%1..%9 count domain labels from the right; empty labels are dropped', () => {
    const ctx = ctxFor('%1.%2.%3');
    assert.equal(ctx.expand('%1.%2.%3', 'u@mail.example.com', undefined), 'com.example.mail');
    assert.equal(ctx.expand('%1.%2.%3', 'u@example.com', undefined), undefined);
    assert.equal(ctx.expand('%1.%2.%3', 'u@a..example.com.', undefined), 'com.example.a');
  });
  it('result_format: lower case = result, upper case = key', () => {
    const ctx = ctxFor('%s', '%u at %d for %U/%D/%S');
    assert.equal(ctx.expand('%u at %d for %U/%D/%S', 'r@res.net', 'k@key.org'), 'r at res.net for k/key.org/k@key.org');
    // A result without a domain is skipped when %d is used.
    assert.equal(ctx.expand('%u at %d for %U/%D/%S', 'plain', 'k@key.org'), undefined);
  });
  it('result_format with %D and an unqualified key warns "skipped after query"', () => {
    const ctx = ctxFor('%s', '%s@%D');
    const r = captured(() => ctx.expand('%s@%D', 'v', 'plainkey'));
    assert.equal(r.value, undefined);
    assert.deepEqual(r.messages, ["warning: db_common_expand: /x.cf: lookup key 'v' skipped after query"]);
  });
  it('warns about empty values and skips NULL silently', () => {
    const ctx = ctxFor('%s');
    const r = captured(() => [ctx.expand('%s', '', 'k'), ctx.expand('%s', '', undefined), ctx.expand('%s', null, 'k')]);
    assert.deepEqual(r.value, [undefined, undefined, undefined]);
    assert.deepEqual(r.messages, [
      'warning: table "pgsql:/x.cf": empty lookup result for: "k" -- ignored',
      'warning: table "pgsql:/x.cf": empty query string -- ignored',
    ]);
  });
  it('rejects bad specifiers with Postfix words', () => {
    const ctx = new TemplateContext('sqlite', '/y.cf');
    const r1 = captured(() => ctx.parse('select %x', true));
    assert.ok(r1.fatal);
    assert.deepEqual(r1.messages, ['fatal: db_common_parse: /y.cf: Invalid query template: select %x']);
    const r2 = captured(() => ctx.parse('trailing %', false));
    assert.deepEqual(r2.messages, ['fatal: db_common_parse: /y.cf: Invalid result template: trailing %']);
  });
  it('builds the legacy query', () => {
    const vals: Record<string, string> = { table: 't', select_field: 'f', where_field: 'w', additional_conditions: 'AND x=1' };
    assert.equal(legacySqlQuery((n, d) => vals[n] ?? d), "SELECT f FROM t WHERE w='%s' AND x=1");
  });
});

describe('.cf reader', () => {
  it('reads main.cf syntax with continuation lines and overrides', () => {
    const f = join(dir, 'a.cf');
    writeFileSync(f, '# comment\nhosts = h1\n  h2\nquery = SELECT 1\nquery = SELECT 2\nexpansion_limit = 3\n');
    const r = captured(() => {
      const p = CfParser.open(f);
      assert.ok(p instanceof CfParser);
      return [p.getStr('hosts', '', 0, 0), p.getStr('query', undefined, 0, 0), p.getInt('expansion_limit', 0, 0, 0), p.getStr('user', undefined, 0, 0)];
    });
    assert.deepEqual(r.value, ['h1  h2', 'SELECT 2', 3, undefined]);
    assert.deepEqual(r.messages, [`warning: ${f}, line 5: overriding earlier entry: query=SELECT 1`]);
  });
  it('reports a missing file as the surrogate reason', () => {
    assert.deepEqual(CfParser.open('/nonexistent/x.cf'), { error: 'open /nonexistent/x.cf: No such file or directory' });
  });
  it('fatal texts for bad values (file and main.cf forms)', () => {
    const f = join(dir, 'b.cf');
    writeFileSync(f, 'expansion_limit = 1x\n');
    const p = CfParser.open(f) as CfParser;
    assert.deepEqual(captured(() => p.getStr('dbname', '', 1, 0)).messages, [`fatal: ${f}: bad string length 0 < 1: dbname = `]);
    assert.deepEqual(captured(() => p.getInt('expansion_limit', 0, 0, 0)).messages, [
      `fatal: ${f}: bad numerical configuration: expansion_limit = 1x`,
    ]);
    const m = CfParser.open('relname', (n) => (n === 'relname_user' ? 'joe' : undefined)) as CfParser;
    assert.equal(m.getStr('user', '', 0, 0), 'joe');
    assert.deepEqual(captured(() => m.getStr('dbname', '', 1, 0)).messages, ['fatal: bad string length 0 < 1: relname_dbname = ']);
  });
});

describe('domain list', () => {
  it('matches exact domains case-insensitively, negation, /file, first match wins', async () => {
    const f = join(dir, 'domains');
    writeFileSync(f, '# list\nfile.example\n!bad.file.example other.example\n');
    const d = await DomainList.create('/x.cf', `Example.COM, !no.example.com ${f} no.example.com bad.file.example`);
    const cases: [string, boolean][] = [
      ['u@example.com', true],
      ['u@EXAMPLE.com', true],
      ['u@sub.example.com', false],
      ['u@no.example.com', false],
      ['u@file.example', true],
      ['u@bad.file.example', false],
      ['u@other.example', true],
      ['@example.com', false],
      ['example.com', false],
    ];
    for (const [key, want] of cases) assert.equal(await d.eligible(key), want, key);
    await d.close();
  });
});

describe('libpq error texts', () => {
  it('puts a caret under the error position', () => {
    assert.equal(errorPositionText('SELECT x FROM t', 8), 'LINE 1: SELECT x FROM t\n               ^\n');
    assert.equal(errorPositionText('SELECT\n  x FROM t', 10), 'LINE 2:   x FROM t\n          ^\n');
    assert.equal(errorPositionText('a\r\nb\rc', 6), 'LINE 3: c\n        ^\n');
  });
  it('cuts long lines around the position as libpq does', () => {
    const q = `SELECT ${'a'.repeat(100)} bad ${'b'.repeat(100)}`;
    const pos = q.indexOf('bad') + 1;
    const t = errorPositionText(q, pos);
    const [line, caret] = t.split('\n');
    assert.match(line!, /^LINE 1: \.\.\.a+ bad b+\.\.\.$/);
    assert.equal(line!.length, 'LINE 1: '.length + 3 + 60 + 3);
    assert.equal(line![caret!.length - 1], 'b');
    assert.equal(caret![caret!.length - 1], '^');
  });
  it('builds the PQresultErrorMessage text', () => {
    assert.equal(
      serverErrorText({ severity: 'ERROR', message: 'boom', detail: 'd', hint: 'h', position: '1' }, 'X'),
      'ERROR:  boom\nLINE 1: X\n        ^\nDETAIL:  d\nHINT:  h\n',
    );
    assert.equal(serverErrorText({ severity: 'ERROR', message: 'boom', position: '3' }), 'ERROR:  boom at character 3\n');
  });
});

describe('escapes and value texts', () => {
  it('PostgreSQL and SQLite string escapes', () => {
    assert.equal(pgEscapeString("a'b\\c"), "a''b\\c");
    assert.equal(pgEscapeString("a'b\\c", false), "a''b\\\\c");
    assert.equal(sqliteEscapeString("it's"), "it''s");
  });
  it('SQLite REAL as %!.15g', () => {
    const cases: [number, string][] = [
      [1.5, '1.5'],
      [2, '2.0'],
      [1e20, '1.0e+20'],
      [0.1, '0.1'],
      [1e-5, '1.0e-05'],
      [1.2345678901234568e17, '1.23456789012346e+17'],
      [Math.PI, '3.14159265358979'],
      [-2.5, '-2.5'],
      [100000000000000, '100000000000000.0'],
      [1e15, '1.0e+15'],
      [0.0001, '0.0001'],
    ];
    for (const [x, want] of cases) assert.equal(sqliteRealText(x), want, String(x));
  });
  it('runs only the first statement', () => {
    assert.equal(firstStatement("SELECT 'a;b' -- c;\n; SELECT 2"), "SELECT 'a;b' -- c;\n;");
    assert.equal(firstStatement('SELECT 1'), 'SELECT 1');
    const db = new SqliteDb(':memory:');
    assert.deepEqual(db.querySync("SELECT 'x'; SELECT 'y'").rows, [['x']]);
    assert.deepEqual(db.querySync('SELECT ?, 3, 2.0, NULL, x\'41\'', ['p']).rows, [['p', '3', '2.0', null, 'A']]);
  });
  it('byte strings in and out', async () => {
    const db = new SqliteDb(':memory:', { byteStrings: true });
    const e = Buffer.from('é').toString('latin1');
    await db.query(`CREATE TABLE t(k, v); INSERT INTO t VALUES ('${e}', '€')`.split(';')[0]!);
    await db.query(`INSERT INTO t VALUES ('${e}', '${Buffer.from('€').toString('latin1')}')`);
    const r = await db.query((q) => `SELECT v FROM t WHERE k='${q(e)}'`);
    assert.deepEqual(r.rows, [[Buffer.from('€').toString('latin1')]]);
    await db.close();
  });
  it('folding and UTF-8 checks', () => {
    assert.equal(lowercaseAscii('MiXÉd'), 'mixÉd');
    assert.equal(casefold(Buffer.from('ÉXAMPLE').toString('latin1')), Buffer.from('éxample').toString('latin1'));
    assert.ok(isValidUtf8(Buffer.from('é').toString('latin1')));
    assert.ok(!isValidUtf8('\xe9'));
  });
});

describe('host and endpoint syntax', () => {
  it('pgsql hosts as host_init() reads them', () => {
    assert.deepEqual(parsePgHost('inet:db.example:5433'), { spec: 'inet:db.example:5433', type: 'inet', host: 'db.example', port: 5433 });
    assert.deepEqual(parsePgHost('db.example'), { spec: 'db.example', type: 'inet', host: 'db.example' });
    assert.deepEqual(parsePgHost('unix:/run/pg'), { spec: 'unix:/run/pg', type: 'unix', host: '/run/pg' });
    assert.deepEqual(parsePgHost('/run/pg'), { spec: '/run/pg', type: 'unix', host: '/run/pg' });
    assert.equal(parsePgHost('postgresql://u@h/db').type, 'uri');
  });
  it('host_port()', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:25'), { host: '127.0.0.1', port: '25' });
    assert.deepEqual(parseHostPort('[::1]:25'), { host: '::1', port: '25' });
    assert.deepEqual(parseHostPort(':25'), { host: 'localhost', port: '25' });
    assert.deepEqual(parseHostPort('[::1'), { error: 'missing "]"' });
    assert.deepEqual(parseHostPort('h:25x'), { error: 'garbage after numerical service' });
  });
  it('%XX quoting of tcp: requests', () => {
    assert.equal(hexQuote('a b%c\td\xe9'), 'a%20b%25c%09d%E9');
    assert.equal(hexUnquote('a%20b%2fc'), 'a b/c');
    assert.equal(hexUnquote('bad%2'), undefined);
    assert.equal(hexUnquote('bad%zz'), undefined);
  });
});
