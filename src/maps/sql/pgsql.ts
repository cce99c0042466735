/**
 * maps/sql/pgsql.ts: the pgsql: lookup table (pgsql_table(5), Postfix's
 * dict_pgsql.c) over the pooled client in src/db/pgsql.ts.
 *
 * Settings: hosts (default localhost; unix:/dir, inet:host:port, host,
 * host:port, postgresql://...), user, password, dbname (required), query
 * (or the legacy select_function / select_field+table+where_field+
 * additional_conditions), result_format, domain, expansion_limit. Every
 * column of every row is a result value; NULL counts as an empty value.
 *
 * Character set: Postfix talks LATIN1 to the server, so each key byte is
 * one character and a stored character outside LATIN1 makes the query
 * fail. Postern's keys are byte strings already, so sending them as UTF-8
 * text has exactly that effect, and results are checked for characters
 * above U+00FF with the server's words.
 *
 * Failures (server down, refused, timeout, SQL error) log Postfix's
 * warnings per host and end in DictError("retry"). Timeouts and pool size
 * come from `pgsqlMapTuning` (Postfix has none of these settings).
 */
import { PgPool } from '../../db/pgsql.js';
import { DbError, type HostErrorEvent } from '../../db/types.js';
import { warn } from '../../log/msg.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from '../types.js';
import { CfParser } from './cf.js';
import { SqlMap } from './common.js';
import { DomainList } from './domain-list.js';
import { legacySqlQuery, TemplateContext } from './template.js';

/** Pool tuning for every pgsql: table opened afterwards (tests shorten these). */
export const pgsqlMapTuning = {
  maxConnections: 4,
  connectTimeoutMs: 10000,
  queryTimeoutMs: 30000,
  /** RETRY_CONN_INTV in dict_pgsql.c. */
  retryIntervalMs: 60000,
  /** IDLE_CONN_INTV in dict_pgsql.c. */
  idleTimeoutMs: 60000,
};

/** The server's complaint when a value cannot be sent in LATIN1. */
function latin1Error(value: string): string | undefined {
  for (const ch of value) {
    if (ch.codePointAt(0)! > 0xff) {
      const seq = [...Buffer.from(ch, 'utf8')].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
      return `ERROR:  character with byte sequence ${seq} in encoding "UTF8" has no equivalent in encoding "LATIN1"\n`;
    }
  }
  return undefined;
}

export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  const table = `${type}:${name}`;
  if (opts.mode !== 'read') throw new DictError('config', table, `${type}:${name} map requires O_RDONLY access mode`);
  const p = CfParser.open(name, opts.param);
  if ('error' in p) throw new DictError('config', table, p.error);

  // pgsql_parse_config(), in its order (so the first bad setting is the one reported).
  const user = p.getStr('user', '', 0, 0)!;
  const password = p.getStr('password', '', 0, 0)!;
  const dbname = p.getStr('dbname', '', 1, 0)!;
  const resultFormat = p.getStr('result_format', '%s', 1, 0)!;
  const expansionLimit = p.getInt('expansion_limit', 0, 0, 0);
  let query = p.getStr('query', undefined, 0, 0);
  if (query === undefined) {
    const selectFunction = p.getStr('select_function', undefined, 0, 0);
    query =
      selectFunction !== undefined
        ? `SELECT ${selectFunction}('%s')`
        : legacySqlQuery((n, d, min) => p.getStr(n, d, min, 0));
  }
  const ctx = new TemplateContext(type, name);
  ctx.parse(query, true);
  ctx.parse(resultFormat, false);
  const domainValue = p.getStr('domain', '', 0, 0)!;
  const domain = domainValue !== '' ? await DomainList.create(name, domainValue, opts.progName) : undefined;
  const hostList = p.getStr('hosts', '', 0, 0)!.split(/[, \t\r\n]+/).filter((h) => h !== '');
  if (hostList.length === 0) hostList.push('localhost');

  const onHostError = (e: HostErrorEvent) => {
    if (e.phase === 'connect') warn(`connect to pgsql server ${e.host}: ${e.error.detail}`);
    else warn(`pgsql query failed: fatal error from host ${e.host}: ${e.error.detail}`);
  };
  const pool = new PgPool({
    hosts: hostList,
    user,
    password,
    database: dbname,
    ...pgsqlMapTuning,
    onHostError,
  });

  return new SqlMap(
    type,
    name,
    opts.dictFlags | DictFlag.FIXED,
    { query, resultFormat, expansionLimit, ctx, domain },
    {
      firstColumnOnly: false,
      skipNonUtf8: false,
      nullIsEmpty: true,
      limitWarning: (key) => `dict_pgsql_lookup: ${name}: Expansion limit exceeded for key: '${key}'`,
      run: async (build) => {
        let res: Awaited<ReturnType<PgPool['query']>>;
        try {
          res = await pool.query(build);
        } catch (err) {
          if (err instanceof DbError) throw new DictError('retry', table, err.message);
          throw err;
        }
        for (const row of res.rows) {
          for (const v of row) {
            const bad = v === null ? undefined : latin1Error(v);
            if (bad !== undefined) {
              warn(`pgsql query failed: fatal error from host ${res.host ?? ''}: ${bad}`);
              throw new DictError('retry', table, bad.trim());
            }
          }
        }
        return res.rows;
      },
      close: () => pool.close(),
    },
  );
}

