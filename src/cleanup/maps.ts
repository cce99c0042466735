/**
 * cleanup/maps.ts: the lookup tables cleanup consults, behind two small
 * interfaces so the record processing does not care how tables are opened:
 *
 * - AddrMaps: address tables (canonical_maps, sender/recipient_canonical_maps,
 *   virtual_alias_maps, sender/recipient_bcc_maps): mail_addr_map() and
 *   mail_addr_find() (global/mail_addr_map.c, mail_addr_crunch.c) on top of
 *   maps/query.ts findAddress (Postfix's search order);
 * - TextMaps: header_checks, mime_header_checks, nested_header_checks,
 *   body_checks (maps_find on the whole line).
 *
 * A lookup that cannot be answered throws DictError (maps/types.ts);
 * cleanup turns that into "map lookup problem -- message not accepted, try
 * again later" and a 4xx, never into "not found".
 */
import { DictError, DictFlag } from '../maps/types.js';
import { type AddressLookupConfig, findAddress, MapList, type MapListOptions } from '../maps/query.js';
import { makeResolveLocal } from '../maps/resolve-local.js';
import { quote822Local, unquote822Local, grep, parse, externalize, STR_DEFL, TOK_ADDR } from './tok822.js';
import { rewriteExternal, type RewriteSettings } from './rewrite.js';
import type { CleanupConfig } from './settings.js';
import { readCleanupSettings } from './settings.js';

export interface AddrMaps {
  /** Parameter name, for logging ("virtual_alias_maps"). */
  readonly title: string;
  /**
   * mail_addr_map_internal(): the addresses `addr` (internal form) maps to,
   * internal form, or undefined when not found. `propagate` re-appends an
   * unmatched address extension. Throws DictError.
   */
  map(addr: string, propagate: boolean): Promise<string[] | undefined>;
  /** mail_addr_find_to_internal() (bcc maps): the value found, if any. Throws DictError. */
  find(addr: string): Promise<string | undefined>;
}

export interface TextMaps {
  readonly title: string;
  /** maps_find(): the action for a header or body line, if any. Throws DictError. */
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

/**
 * mail_addr_crunch_opt(): each address of a table value, rewritten to
 * standard form (canon_addr_external: the "local" context), unquoted, with
 * the unmatched extension put back before the '@'.
 */
export function addrCrunch(value: string, extension: string | undefined, rw: RewriteSettings): string[] {
  const text = value === '' || value === '<>' ? '""' : value;
  const out: string[] = [];
  for (const node of grep(parse(text), TOK_ADDR)) {
    const canon = rewriteExternal(rw, 'local', externalize(node.head, STR_DEFL));
    let addr = unquote822Local(canon);
    if (extension) {
      const at = addr.lastIndexOf('@');
      addr = at < 0 ? addr + extension : addr.slice(0, at) + extension + addr.slice(at);
    }
    out.push(addr);
  }
  return out;
}

/** Address tables with mail_addr_map()/mail_addr_find() semantics. */
export class AddrMapList implements AddrMaps {
  constructor(
    readonly list: MapList,
    private readonly lookup: AddressLookupConfig,
    private readonly rw: RewriteSettings,
  ) {}

  get title(): string {
    return this.list.title;
  }

  async map(addr: string, propagate: boolean): Promise<string[] | undefined> {
    const m = await findAddress(this.list, addr, { ...this.lookup, queryForm: 'external' });
    if (!m) return undefined;
    let value = m.value;
    if (value.startsWith('@')) {
      // Prepend the original user to @otherdomain, without the unmatched extension.
      const at = addr.lastIndexOf('@');
      let user = at < 0 ? addr : addr.slice(0, at);
      if (m.extension) user = user.slice(0, user.length - m.extension.length);
      value = quote822Local(user + value);
    }
    const out = addrCrunch(value, propagate ? m.extension : undefined, this.rw);
    if (out.length === 0) {
      throw new DictError('retry', this.title, `${this.title} lookup of ${addr} returns non-address result "${value}"`);
    }
    return out;
  }

  async find(addr: string): Promise<string | undefined> {
    const m = await findAddress(this.list, addr, { ...this.lookup, queryForm: 'external-first' });
    return m?.value;
  }
}

/** Header/body check tables. */
export class TextMapList implements TextMaps {
  constructor(readonly list: MapList) {}
  get title(): string {
    return this.list.title;
  }
  find(text: string): Promise<string | undefined> {
    return this.list.find(text);
  }
}

/**
 * Open the tables main.cf names for cleanup (cleanup_pre_jail): address
 * tables with lock|fold_fix|utf8_request, check tables with lock. A table
 * that cannot be opened becomes a surrogate whose lookups fail ("retry"),
 * as in Postfix's daemons, so mail is deferred rather than mis-routed.
 */
export async function openCleanupMaps(cfg: CleanupConfig): Promise<CleanupMaps> {
  const s = readCleanupSettings(cfg);
  const param = s.param;
  const base: MapListOptions = { mode: 'read', dictFlags: DictFlag.LOCK, param, progName: 'cleanup', surrogate: true };
  const addrOpts: MapListOptions = {
    ...base,
    dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
  };
  const isLocal = await makeResolveLocal({
    mydestination: cfg.get('mydestination'),
    inetInterfaces: cfg.get('inet_interfaces'),
    proxyInterfaces: cfg.get('proxy_interfaces'),
    utf8: s.smtputf8Enable,
  });
  const lookup: AddressLookupConfig = {
    recipientDelimiter: s.recipientDelimiter,
    myorigin: s.rewrite.myorigin,
    isLocal,
    ownerRequestSpecial: cfg.get('owner_request_special') !== 'no',
    doubleBounceSender: cfg.get('double_bounce_sender') || 'double-bounce',
  };
  const addr = async (title: string, value: string) =>
    value.trim() === '' ? undefined : new AddrMapList(await MapList.open(title, value, addrOpts), lookup, s.rewrite);
  const text = async (title: string, value: string) =>
    value.trim() === '' ? undefined : new TextMapList(await MapList.open(title, value, base));
  return {
    commCanon: await addr('canonical_maps', s.maps.canonical),
    sendCanon: await addr('sender_canonical_maps', s.maps.senderCanonical),
    rcptCanon: await addr('recipient_canonical_maps', s.maps.recipientCanonical),
    virtAlias: await addr('virtual_alias_maps', s.maps.virtualAlias),
    sendBcc: await addr('sender_bcc_maps', s.maps.senderBcc),
    rcptBcc: await addr('recipient_bcc_maps', s.maps.recipientBcc),
    headerChecks: await text('header_checks', s.maps.headerChecks),
    mimeHeaderChecks: await text('mime_header_checks', s.maps.mimeHeaderChecks),
    nestedHeaderChecks: await text('nested_header_checks', s.maps.nestedHeaderChecks),
    bodyChecks: await text('body_checks', s.maps.bodyChecks),
  };
}
