/**
 * cleanup/maps.ts: the lookup tables cleanup consults, behind two small
 * interfaces so the record processing does not care how tables are opened:
 *
 * - AddrMaps: address tables (canonical_maps, sender/recipient_canonical_maps,
 *   virtual_alias_maps, sender/recipient_bcc_maps) with Postfix's address
 *   search order (global/mail_addr_find.c, mail_addr_map.c);
 * - TextMaps: header_checks, mime_header_checks, nested_header_checks,
 *   body_checks (maps_find on the whole line).
 *
 * A lookup that cannot be answered throws DictError (src/maps/types.ts);
 * cleanup turns that into "map lookup problem -- message not accepted, try
 * again later" and a 4xx, never into "not found".
 *
 * The table implementations live in src/maps (openMapSpec). The search
 * order helper here is a stop-gap until src/maps/query.ts exists; see
 * openCleanupMaps().
 */
import { DictError, DictFlag, type LookupTable } from '../maps/types.js';
import { quote822Local, unquote822Local, extractAddresses } from './tok822.js';

export interface AddrMaps {
  /** Parameter name, for logging ("virtual_alias_maps"). */
  readonly title: string;
  /**
   * mail_addr_map(): the addresses `addr` (internal form) maps to, internal
   * form, or undefined when not found. `propagate` re-appends an unmatched
   * address extension.
   */
  map(addr: string, propagate: boolean): Promise<string[] | undefined>;
  /** mail_addr_find() without extension stripping (bcc maps): the raw result. */
  find(addr: string): Promise<string | undefined>;
}

export interface TextMaps {
  readonly title: string;
  /** maps_find(): the action for a header or body line, if any. */
  find(text: string): Promise<string | undefined>;
}

export interface CleanupMaps {
  commCanon?: AddrMaps;
  sendCanon?: AddrMaps;
  rcptCanon?: AddrMaps;
  virtAlias?: AddrMaps;
  sendBcc?: AddrMaps;
  rcptBcc?: AddrMaps;
  headerChecks?: TextMaps;
  mimeHeaderChecks?: TextMaps;
  nestedHeaderChecks?: TextMaps;
  bodyChecks?: TextMaps;
}

/** maps_find(): first table with an answer wins; a table error stops the search. */
async function mapsFind(tables: LookupTable[], key: string, partial: boolean): Promise<string | undefined> {
  for (const t of tables) {
    // A partial key (user@domain without +ext, bare user, @domain) goes
    // only to fixed-key tables (maps_find with DICT_FLAG_FIXED), never to
    // regexp/pcre/cidr tables.
    if (partial && (t.flags & DictFlag.FIXED) === 0) continue;
    const k = t.flags & DictFlag.FOLD_FIX ? key.toLowerCase() : key;
    const v = await t.lookup(k);
    if (v !== undefined) return v;
  }
  return undefined;
}

export interface AddrFindContext {
  /** $recipient_delimiter. */
  recipientDelimiter: string;
  /** $myorigin, and "is this domain local" (mydestination, interfaces). */
  myorigin: string;
  isLocalDomain(domain: string): boolean;
}

/** strip_addr_internal(): "user+ext@dom" -> ["user@dom", "+ext"]. */
function stripExtension(addr: string, delims: string): [string, string] | undefined {
  if (delims === '') return undefined;
  const at = addr.lastIndexOf('@');
  const local = at < 0 ? addr : addr.slice(0, at);
  const dom = at < 0 ? '' : addr.slice(at);
  // Do not strip owner-foo, foo-request and the like.
  if (local.startsWith('owner-') || local.endsWith('-request')) return undefined;
  let p = -1;
  for (let i = 0; i < local.length; i++) {
    if (delims.includes(local[i]!)) {
      p = i;
      break;
    }
  }
  if (p <= 0) return undefined;
  return [local.slice(0, p) + dom, local.slice(p)];
}

/** Address tables with mail_addr_find()'s default search order. */
export class AddrMapList implements AddrMaps {
  constructor(
    readonly title: string,
    private readonly tables: LookupTable[],
    private readonly ctx: AddrFindContext,
  ) {}

  /** mail_addr_find_opt(MA_FIND_DEFAULT), internal in, external query and out. */
  private async findOpt(intAddr: string, stripExt: boolean): Promise<{ result: string; ext?: string } | undefined> {
    const q = (a: string) => quote822Local(a);
    const bare = stripExt ? stripExtension(intAddr, this.ctx.recipientDelimiter) : undefined;
    let r = await mapsFind(this.tables, q(intAddr), false);
    if (r !== undefined) return { result: r };
    if (bare) {
      r = await mapsFind(this.tables, q(bare[0]), true);
      if (r !== undefined) return { result: r, ext: bare[1] };
    }
    const at = intAddr.lastIndexOf('@');
    if (at >= 0) {
      const domain = intAddr.slice(at + 1);
      if (domain.toLowerCase() === this.ctx.myorigin.toLowerCase() || this.ctx.isLocalDomain(domain)) {
        r = await mapsFind(this.tables, quote822Local(intAddr.slice(0, at)), true);
        if (r !== undefined) return { result: r };
        if (bare) {
          const bat = bare[0].lastIndexOf('@');
          r = await mapsFind(this.tables, quote822Local(bare[0].slice(0, bat)), true);
          if (r !== undefined) return { result: r, ext: bare[1] };
        }
      }
      r = await mapsFind(this.tables, intAddr.slice(at), true);
      if (r !== undefined) return { result: r };
    }
    return undefined;
  }

  async find(addr: string): Promise<string | undefined> {
    const f = await this.findOpt(addr, true);
    return f ? unquote822Local(f.result) : undefined;
  }

  async map(addr: string, propagate: boolean): Promise<string[] | undefined> {
    const f = await this.findOpt(addr, true);
    if (!f) return undefined;
    let result = f.result;
    if (result.startsWith('@')) {
      const at = addr.lastIndexOf('@');
      let user = at < 0 ? addr : addr.slice(0, at);
      if (f.ext) user = user.slice(0, user.length - f.ext.length);
      result = quote822Local(user + result);
    }
    // mail_addr_crunch(): each address of the result, extension re-added.
    const out: string[] = [];
    for (const a of extractAddresses(result)) {
      let x = a;
      if (propagate && f.ext) {
        const at = x.lastIndexOf('@');
        x = at < 0 ? x + f.ext : x.slice(0, at) + f.ext + x.slice(at);
      }
      out.push(x);
    }
    if (out.length === 0) {
      throw new DictError('retry', this.title, `${this.title} lookup of ${addr} returns non-address result "${result}"`);
    }
    return out;
  }
}

/** Header/body check tables. */
export class TextMapList implements TextMaps {
  constructor(
    readonly title: string,
    private readonly tables: LookupTable[],
  ) {}
  find(text: string): Promise<string | undefined> {
    return mapsFind(this.tables, text, false);
  }
}
