/**
 * maps/sql/domain-list.ts: the `domain` setting of the database maps
 * (db_common_parse_domain, db_common_check_domain): a Postfix string list
 * (string_list.c over match_list.c with match_string) of domain names,
 * "/file/name" (more patterns, one or more a line) and "type:table"
 * lookups, each optionally negated with '!'. Matching is exact and
 * case-insensitive; the first matching pattern decides.
 *
 * A key is eligible for a query only when it is user@domain with a
 * non-empty local part and a matching domain. A failing table lookup is a
 * lookup error (MATCH_FLAG_RETURN: warn, then fail the lookup).
 */
import { readFileSync } from 'node:fs';
import { warn, fatal } from '../../log/msg.js';
import { strerror } from '../../util/strerror.js';
import { openMapSpec } from '../registry.js';
import { DictError, DictFlag, type LookupTable } from '../types.js';

interface Pattern {
  negate: boolean;
  /** Casefolded literal, when not a table. */
  text?: string;
  /** Open table, for "type:table" patterns. */
  table?: LookupTable;
  /** The "nofile" surrogate for an unreadable /file: lookups fail. */
  unavailable?: { name: string; reason: string };
}

/** casefold(): lower case; UTF-8 text folds as Unicode, other bytes as ASCII. */
export function casefold(s: string): string {
  // Keys are byte strings (one char per byte).
  if (!/[\x80-\xff]/.test(s)) return s.toLowerCase();
  const bytes = Buffer.from(s, 'latin1');
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return Buffer.from(text.toLowerCase(), 'utf8').toString('latin1');
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function isDictionary(p: string): boolean {
  // MATCH_DICTIONARY(): not "[...", and a ':' anywhere (after "/file" was tried).
  return p[0] !== '[' && p.includes(':');
}

/** mystrtokq(s, CHARS_COMMA_SP, CHARS_BRACE): each token and the text after it and its delimiter. */
function tokens(s: string): { tok: string; rest: string }[] {
  const out: { tok: string; rest: string }[] = [];
  let i = 0;
  const delim = ', \t\r\n';
  while (i < s.length) {
    while (i < s.length && delim.includes(s[i]!)) i++;
    if (i >= s.length) break;
    let level = 0;
    const start = i;
    for (; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '{') level++;
      else if (ch === '}' && level > 0) level--;
      else if (level === 0 && delim.includes(ch)) break;
    }
    out.push({ tok: s.slice(start, i), rest: s.slice(Math.min(i + 1, s.length)) });
  }
  return out;
}

export class DomainList {
  private constructor(
    /** The .cf name, prefix of warnings. */
    readonly pname: string,
    private readonly patterns: Pattern[],
  ) {}

  /** string_list_init(pname, MATCH_FLAG_RETURN, value); opens the tables. */
  static async create(pname: string, value: string, progName?: string): Promise<DomainList> {
    const patterns: Pattern[] = [];
    await DomainList.parse(pname, value, true, patterns, progName);
    return new DomainList(pname, patterns);
  }

  private static async parse(
    pname: string,
    value: string,
    initMatch: boolean,
    out: Pattern[],
    progName: string | undefined,
  ): Promise<void> {
    for (const { tok: start, rest } of tokens(value)) {
      if (start.startsWith('#')) {
        warn(`${pname}: comment at end of line is not supported: ${start} ${rest}`);
        break;
      }
      let match = initMatch;
      let item = start;
      while (item.startsWith('!')) {
        match = !match;
        item = item.slice(1);
      }
      if (item === '') fatal(`${pname}: no pattern after '!'`);
      if (item.startsWith('/')) {
        let text: string;
        try {
          text = readFileSync(item, 'latin1');
        } catch (err) {
          out.push({ negate: !match, unavailable: { name: item, reason: `open file ${item}: ${strerror(err)}` } });
          continue;
        }
        for (const line of text.split('\n')) {
          if (line.startsWith('#')) continue;
          await DomainList.parse(pname, line, match, out, progName);
        }
      } else if (isDictionary(item)) {
        const table = await openMapSpec(item, {
          mode: 'read',
          dictFlags: DictFlag.LOCK | DictFlag.UTF8_REQUEST,
          progName,
        });
        out.push({ negate: !match, table });
      } else {
        out.push({ negate: !match, text: casefold(item) });
      }
    }
  }

  /**
   * db_common_check_domain(): true when `key` may be queried. Throws
   * DictError when a table in the list cannot answer.
   */
  async eligible(key: string): Promise<boolean> {
    const at = key.lastIndexOf('@');
    if (at <= 0) return false;
    const domain = casefold(key.slice(at + 1));
    for (const p of this.patterns) {
      if (await this.matches(p, domain)) return !p.negate;
    }
    return false;
  }

  private async matches(p: Pattern, domain: string): Promise<boolean> {
    if (p.text !== undefined) return p.text === domain;
    if (p.unavailable !== undefined) {
      warn(`nofile:${p.unavailable.name} is unavailable. ${p.unavailable.reason}`);
      warn(`${this.pname}: nofile:${p.unavailable.name}: table lookup problem`);
      throw new DictError('retry', `nofile:${p.unavailable.name}`, p.unavailable.reason);
    }
    const t = p.table!;
    try {
      return (await t.lookup(domain)) !== undefined;
    } catch (err) {
      if (err instanceof DictError) {
        warn(`${this.pname}: ${t.type}:${t.name}: table lookup problem`);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const p of this.patterns) await p.table?.close();
  }
}
