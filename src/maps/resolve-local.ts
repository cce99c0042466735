/**
 * maps/resolve-local.ts: is a domain "local" (Postfix's global/resolve_local.c)?
 * True when it matches $mydestination, or when it is an address literal
 * ([1.2.3.4], [IPv6:...]) of an address that $inet_interfaces or
 * $proxy_interfaces name. mail_addr_find (maps/query.ts) uses this to
 * decide whether a bare localpart may be looked up.
 *
 * mydestination is a string list (util/match_list.c with match_string):
 * names compared after case folding, "!" negation, "/file/name" read in
 * place, "type:table" looked up (a hit is a match, a table error is a
 * DictError).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { warn } from '../log/msg.js';
import { strerror } from '../util/strerror.js';
import { ipv6Groups } from '../../compat/postfix/host.js';
import { dictGet } from './dict-get.js';
import { casefold } from './casefold.js';
import { withUtf8Layer } from './driver-util.js';
import { splitMapNames } from './query.js';
import { openMapSpec } from './registry.js';
import { surrogateTable } from './surrogate.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

type Pattern = { negate: boolean } & ({ text: string } | { table: LookupTable });

export interface LocalDomainConfig {
  /** mydestination, expanded. */
  mydestination: string;
  /** inet_interfaces, expanded ("all", "loopback-only", or addresses/names). */
  inetInterfaces?: string;
  /** proxy_interfaces, expanded. */
  proxyInterfaces?: string;
  /** smtputf8_enable: fold with Unicode rules. Default true. */
  utf8?: boolean;
  /** How tables named in mydestination are opened (mode is forced to "read"). */
  openOptions?: Partial<OpenOptions>;
}

/** string_list_init(): parse a list, opening the tables it names. */
export async function parseStringList(
  paramName: string,
  value: string,
  utf8: boolean,
  open: Partial<OpenOptions> = {},
): Promise<Pattern[]> {
  const out: Pattern[] = [];
  const dictFlags = DictFlag.LOCK | (utf8 ? DictFlag.UTF8_REQUEST : 0);
  const parse = async (text: string, initMatch: boolean): Promise<void> => {
    const items = splitMapNames(text);
    for (const [i, start] of items.entries()) {
      if (start.startsWith('#')) {
        warn(`${paramName}: comment at end of line is not supported: ${items.slice(i).join(' ')}`);
        break;
      }
      let match = initMatch;
      let item = start;
      while (item.startsWith('!')) {
        match = !match;
        item = item.slice(1);
      }
      if (item === '') throw new DictError('config', paramName, `${paramName}: no pattern after '!'`);
      if (item.startsWith('/')) {
        let content: string;
        try {
          content = readFileSync(Buffer.from(item, 'latin1')).toString('latin1');
        } catch (e) {
          const opts: OpenOptions = { ...open, mode: 'read', dictFlags };
          out.push({ negate: !match, table: surrogateTable('non-existent', item, opts, `open file ${item}: ${strerror(e)}`) });
          continue;
        }
        for (const line of content.split('\n')) if (!line.startsWith('#')) await parse(line, match);
      } else if (/^[^:]+:/.test(item) && !item.startsWith('[')) {
        const opts: OpenOptions = { ...open, mode: 'read', dictFlags };
        out.push({ negate: !match, table: withUtf8Layer(await openMapSpec(item, opts), opts) });
      } else {
        out.push({ negate: !match, text: casefold(item, utf8) });
      }
    }
  };
  await parse(value, true);
  return out;
}

/** match_list_match() with match_string(): true / false; throws DictError when a table cannot answer. */
export async function matchStringList(patterns: Pattern[], string: string, utf8: boolean): Promise<boolean> {
  const folded = casefold(string, utf8);
  for (const p of patterns) {
    if ('table' in p) {
      if ((await dictGet(p.table, folded)) !== undefined) return !p.negate;
    } else if (p.text === folded) {
      return !p.negate;
    }
  }
  return false;
}

/** The interface addresses a value of inet_interfaces/proxy_interfaces stands for, normalised. */
function interfaceAddresses(value: string | undefined): string[] {
  const out: string[] = [];
  for (const item of splitMapNames(value ?? '')) {
    const v = item.toLowerCase();
    if (v === 'all') {
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(normaliseIp(a.address));
    } else if (v === 'loopback-only' || v === 'localhost') {
      out.push('127.0.0.1', normaliseIp('::1'));
    } else {
      out.push(normaliseIp(item.replace(/^\[|\]$/g, '')));
    }
  }
  return out;
}

function normaliseIp(a: string): string {
  const bare = a.replace(/%.*$/, '');
  if (!bare.includes(':')) return bare;
  try {
    return ipv6Groups(bare).join(':');
  } catch {
    return bare.toLowerCase();
  }
}

/**
 * A resolve_local() function for maps/query.ts (AddressLookupConfig.isLocal).
 * Tables in mydestination are opened once, here.
 */
export async function makeResolveLocal(cfg: LocalDomainConfig): Promise<(domain: string) => Promise<boolean>> {
  const utf8 = cfg.utf8 ?? true;
  const patterns = await parseStringList('mydestination', cfg.mydestination, utf8, cfg.openOptions);
  const own = new Set([...interfaceAddresses(cfg.inetInterfaces), ...interfaceAddresses(cfg.proxyInterfaces)]);
  return async (domain: string) => {
    // Strip one trailing dot, but not two.
    let d = domain;
    if (d.endsWith('.')) d = d.slice(0, -1);
    if (d === '' || d.endsWith('.')) return false;
    if (await matchStringList(patterns, d, utf8)) return true;
    if (d.startsWith('[') && d.endsWith(']')) {
      let lit = d.slice(1, -1);
      if (/^ipv6:/i.test(lit)) lit = lit.slice(5);
      else if (lit.includes(':')) return false;
      return own.has(normaliseIp(lit));
    }
    return false;
  };
}
