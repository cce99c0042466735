/**
 * maps/sql/sqlite.ts: the sqlite: lookup table (sqlite_table(5), Postfix's
 * dict_sqlite.c) over src/db/sqlite.ts.
 *
 * Settings: dbpath (required), query (or the legacy select_field+table+
 * where_field+additional_conditions), result_format, domain,
 * expansion_limit. Only the first column of each row is a result value;
 * NULL is skipped silently. Keys that are not valid UTF-8 are not looked
 * up (unless the caller has UTF-8 checks active).
 *
 * As in Postfix: the database is opened when the table is (created if
 * missing: sqlite3_open), a query SQLite cannot prepare is fatal, and a
 * failing step (locked database, I/O error) is DictError("retry").
 */
import { SqliteDb } from '../../db/sqlite.js';
import { DbError } from '../../db/types.js';
import { fatal, warn } from '../../log/msg.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from '../types.js';
import { CfParser } from './cf.js';
import { SqlMap } from './common.js';
import { DomainList } from './domain-list.js';
import { legacySqlQuery, TemplateContext } from './template.js';

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const table = `${type}:${name}`;
  if (opts.mode !== 'read') throw new DictError('config', table, `${type}:${name} map requires O_RDONLY access mode`);
  const p = CfParser.open(name, opts.param);
  if ('error' in p) throw new DictError('config', table, p.error);

  // sqlite_parse_config(), in its order.
  const dbpath = p.getStr('dbpath', '', 1, 0)!;
  const query = p.getStr('query', undefined, 0, 0) ?? legacySqlQuery((n, d, min) => p.getStr(n, d, min, 0));
  const resultFormat = p.getStr('result_format', '%s', 1, 0)!;
  const expansionLimit = p.getInt('expansion_limit', 0, 0, 0);
  const ctx = new TemplateContext(type, name);
  ctx.parse(query, true);
  ctx.parse(resultFormat, false);
  const domainValue = p.getStr('domain', '', 0, 0)!;
  const domain = domainValue !== '' ? await DomainList.create(name, domainValue, opts.progName) : undefined;

  let db: SqliteDb;
  try {
    db = new SqliteDb(dbpath, { byteStrings: true });
  } catch (err) {
    if (err instanceof DbError) fatal(`${type}:${name}: Can't open database: ${err.message}\n`);
    throw err;
  }

  return new SqlMap(
    type,
    name,
    opts.dictFlags | DictFlag.FIXED,
    { query, resultFormat, expansionLimit, ctx, domain },
    {
      firstColumnOnly: true,
      skipNonUtf8: true,
      nullIsEmpty: false,
      limitWarning: (key) => `dict_sqlite_lookup: ${name}: Expansion limit exceeded for key '${key}'`,
      run: async (build) => {
        let text = '';
        try {
          const res = db.querySync((esc) => {
            text = build(esc);
            return text;
          });
          return res.rows;
        } catch (err) {
          if (!(err instanceof DbError)) throw err;
          if (err.kind === 'query') fatal(`dict_sqlite_lookup: ${name}: SQL prepare failed: ${err.message}\n`);
          warn(`dict_sqlite_lookup: ${name}: SQL step failed for query '${text}': ${err.message}\n`);
          throw new DictError('retry', table, err.message);
        }
      },
      close: () => db.close(),
    },
  );
}
