/**
 * maps/query.ts: Postfix's table query semantics, in one place, for every
 * caller (smtpd, cleanup, trivial-rewrite, delivery agents):
 *
 * - MapList: the tables of one main.cf parameter ("hash:/etc/postfix/virtual,
 *   pcre:/x"), searched in order; the first table that answers wins; a table
 *   that cannot answer stops the search with a DictError ("retry" → the
 *   caller defers / replies 4xx), never "not found" (global/maps.c).
 * - findAddress: the user+ext@domain → user@domain → user+ext → user →
 *   @domain → domain → parents → user@ search, each step tried in every
 *   table before the next, with only the full address offered to
 *   regexp/pcre/cidr/tcp tables (global/mail_addr_find.c).
 * - The per-use orders measured on real Postfix 3.7 (postfix-parity §4.7):
 *   findAccessAddress (check_sender/recipient_access), findDomain
 *   (check_helo_access, client host names), findHostAddress (client IP
 *   prefixes), findClient, findTransport (transport_maps with the "*"
 *   fallback); MA_FIND_DEFAULT for virtual_alias_maps, canonical_maps,
 *   relocated_maps, smtp_generic_maps, virtual_mailbox_maps, ...
 *
 * Keys are passed as the caller has them; each table folds them as its
 * flags say (maps/dict-get.ts; MapList.open adds the UTF-8 layer). Lookups with `flags = FIXED` ("partial"
 * keys) skip pattern tables, as Postfix does.
 */
import { COMMA_BLANKS, splitQuoted } from '../../compat/postfix/strops.js';
import { msgVerbose, info as logInfo, warn } from '../log/msg.js';
import { type SplitAddrConfig, quote822Local, stripAddrExtension, unquote822Local } from './address.js';
import { dictGet } from './dict-get.js';
import { withUtf8Layer } from './driver-util.js';
import { openMapSpec } from './registry.js';
import { openTableOrSurrogate } from './surrogate.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

/** maps_find() flags: 0 = every table ("full" key); FIXED = fixed-string tables only ("partial" key). */
export const FULL = 0;
export const PARTIAL = DictFlag.FIXED;

/** mail_addr_find() strategy bits (MA_FIND_* in mail_addr_find.h, same values). */
export const MaFind = {
  /** localpart+ext@domain */
  FULL: 1 << 0,
  /** localpart@domain (extension stripped) */
  NOEXT: 1 << 1,
  /** localpart+ext, localpart, when the domain is local */
  LOCALPART_IF_LOCAL: 1 << 2,
  /** localpart+ext@, localpart@, when the domain is local */
  LOCALPART_AT_IF_LOCAL: 1 << 3,
  /** @domain */
  AT_DOMAIN: 1 << 4,
  /** domain */
  DOMAIN: 1 << 5,
  /** with DOMAIN: parent domains (example.org, org) */
  PDMS: 1 << 6,
  /** with DOMAIN: parent dot-domains (.example.org, .org) */
  PDDMDS: 1 << 7,
  /** localpart+ext@, localpart@, for any domain */
  LOCALPART_AT: 1 << 8,
  /** FULL | NOEXT | LOCALPART_IF_LOCAL | AT_DOMAIN */
  DEFAULT: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 4),
} as const;

/**
 * Query forms (MA_FORM_* in mail_addr_form.h): "external" keys are the
 * RFC 822 quoted form ("a b"@x), "internal" ones unquoted. Postfix's
 * mail_addr_find() asks "external-first" (quoted, then unquoted when it
 * differs); cleanup's canonical/virtual mapping asks "external".
 */
export type QueryForm = 'internal' | 'external' | 'external-first' | 'internal-first';

/** Name → bit of dict_flags_str() (util/dict.c), in Postfix's order. */
const FLAG_NAMES: ReadonlyArray<[string, number]> = [
  ['warn_dup', DictFlag.DUP_WARN],
  ['ignore_dup', DictFlag.DUP_IGNORE],
  ['try0null', DictFlag.TRY0NULL],
  ['try1null', DictFlag.TRY1NULL],
  ['fixed', DictFlag.FIXED],
  ['pattern', DictFlag.PATTERN],
  ['lock', DictFlag.LOCK],
  ['replace', DictFlag.DUP_REPLACE],
  ['sync_update', DictFlag.SYNC_UPDATE],
  ['debug', DictFlag.DEBUG],
  ['no_regsub', DictFlag.NO_REGSUB],
  ['no_proxy', DictFlag.NO_PROXY],
  ['no_unauth', DictFlag.NO_UNAUTH],
  ['fold_fix', DictFlag.FOLD_FIX],
  ['fold_mul', DictFlag.FOLD_MUL],
  ['open_lock', DictFlag.OPEN_LOCK],
  ['bulk_update', DictFlag.BULK_UPDATE],
  ['multi_writer', DictFlag.MULTI_WRITER],
  ['utf8_request', DictFlag.UTF8_REQUEST],
  ['utf8_active', DictFlag.UTF8_ACTIVE],
  ['src_rhs_is_file', DictFlag.SRC_RHS_IS_FILE],
];

/** dict_flags_str(): "lock|fold_fix|utf8_request". */
export function dictFlagsString(flags: number): string {
  return FLAG_NAMES.filter(([, bit]) => flags & bit)
    .map(([n]) => n)
    .join('|');
}

/** The table specs of a main.cf value: split on commas and blanks, `{...}` kept whole (mystrtokq). */
export function splitMapNames(value: string): string[] {
  return splitQuoted(value, COMMA_BLANKS);
}

/** Is `name` listed in parent_domain_matches_subdomains (match_parent_style)? */
export function parentMatchesSubdomains(paramValue: string, name: string): boolean {
  const want = name.toLowerCase();
  return splitQuoted(paramValue, COMMA_BLANKS).some((item) => item.toLowerCase() === want);
}

export interface MapListOptions extends OpenOptions {
  /**
   * Replace a table that cannot be opened by a surrogate whose lookups fail
   * with "retry" (daemons: dict_allow_surrogate = 1). Default false: the
   * open error is thrown (command-line tools).
   */
  surrogate?: boolean;
  /** Receives Postfix's msg_verbose lines of maps_find(); default: logged when msgVerbose() > 0. */
  trace?: (line: string) => void;
}

/** One opened table, shared between MapLists that open the same spec with the same flags (dict_register). */
interface Shared {
  table: Promise<LookupTable>;
  refs: number;
}
const shared = new Map<string, Shared>();

function modeOctal(mode: OpenOptions['mode']): string {
  // O_RDONLY = 0, O_RDWR|O_CREAT = 0102, O_RDWR|O_CREAT|O_TRUNC = 01102 (Linux).
  return mode === 'read' ? '0' : mode === 'update' ? '102' : '1102';
}

/** MAPS: an ordered list of opened tables for one parameter. */
export class MapList {
  /** Cached "*" result of transport_maps (see findTransport). */
  wildcard?: { value: string | undefined; error?: DictError; expires: number };
  private readonly traceFn: ((line: string) => void) | undefined;

  constructor(
    /** The parameter name, for warnings ("virtual_alias_maps"). */
    readonly title: string,
    readonly tables: LookupTable[],
    /** Each table's "type:name(mode,flags)" label, for -v traces. */
    private readonly labels: string[] = tables.map((t) => `${t.type}:${t.name}(0,${dictFlagsString(t.flags)})`),
    private readonly sharedKeys: string[] = [],
    trace?: (line: string) => void,
  ) {
    this.traceFn = trace;
  }

  /**
   * maps_create(): open every table named in a main.cf value, in order. An
   * empty value gives an empty list (every lookup "not found").
   */
  static async open(title: string, value: string, opts: MapListOptions): Promise<MapList> {
    const tables: LookupTable[] = [];
    const labels: string[] = [];
    const keys: string[] = [];
    const { surrogate, trace, ...openOpts } = opts;
    try {
      for (const spec of splitMapNames(value)) {
        const label = `${spec}(${modeOctal(opts.mode)},${dictFlagsString(opts.dictFlags)})`;
        const key = surrogate ? `${label} surrogate` : label;
        let entry = shared.get(key);
        if (entry === undefined) {
          entry = { table: openOne(spec, openOpts, surrogate ?? false), refs: 0 };
          shared.set(key, entry);
          entry.table.catch(() => shared.delete(key));
        }
        entry.refs++;
        keys.push(key);
        tables.push(await entry.table);
        labels.push(label);
      }
    } catch (err) {
      await releaseShared(keys);
      throw err;
    }
    return new MapList(title, tables, labels, keys, trace);
  }

  get isEmpty(): boolean {
    return this.tables.length === 0;
  }

  private trace(line: string): void {
    if (this.traceFn) this.traceFn(line);
    else if (msgVerbose() > 0) logInfo(line);
  }

  /**
   * maps_find(): the first table's value for `key`, undefined when no table
   * has it. `flags` = PARTIAL skips tables without DICT_FLAG_FIXED. An empty
   * key is never looked up. An empty value is a configuration error.
   * Throws DictError (after Postfix's warning) when a table cannot answer.
   */
  async find(key: string, flags = FULL): Promise<string | undefined> {
    if (key === '') return undefined;
    for (const [i, table] of this.tables.entries()) {
      if (flags !== 0 && (table.flags & flags) === 0) continue;
      let value: string | undefined;
      try {
        value = await dictGet(table, key);
      } catch (err) {
        if (err instanceof DictError) {
          warn(`${table.type}:${table.name} lookup error for "${key}"`);
          this.trace(`maps_find: ${this.title}: ${key}: search aborted`);
        }
        throw err;
      }
      if (value === undefined) continue;
      if (value === '') {
        warn(`${this.title} lookup of ${key} returns an empty string result`);
        warn(`${this.title} should return NO RESULT in case of NOT FOUND`);
        throw new DictError('config', `${table.type}:${table.name}`, `${this.title} lookup of ${key} returns an empty string result`);
      }
      this.trace(
        `maps_find: ${this.title}: ${this.labels[i]}: ${key} = ${value.length > 100 ? `${value.slice(0, 100)}...` : value}`,
      );
      return value;
    }
    this.trace(`maps_find: ${this.title}: ${key}: not found`);
    return undefined;
  }

  /** maps_free(): release the tables (closed when no other MapList uses them). */
  async close(): Promise<void> {
    if (this.sharedKeys.length > 0) await releaseShared(this.sharedKeys);
    else await Promise.all(this.tables.map((t) => t.close()));
    this.tables.length = 0;
  }
}

async function openOne(spec: string, opts: OpenOptions, surrogate: boolean): Promise<LookupTable> {
  const colon = spec.indexOf(':');
  // Without a ':' openMapSpec throws the "type:name" error, surrogate or not.
  const table =
    surrogate && colon > 0
      ? await openTableOrSurrogate(spec.slice(0, colon), spec.slice(colon + 1), opts)
      : await openMapSpec(spec, opts);
  return withUtf8Layer(table, opts);
}

async function releaseShared(keys: string[]): Promise<void> {
  for (const key of keys) {
    const entry = shared.get(key);
    if (entry === undefined) continue;
    if (--entry.refs > 0) continue;
    shared.delete(key);
    try {
      await (await entry.table).close();
    } catch {
      // An open that failed has nothing to close.
    }
  }
}

// ---------------------------------------------------------------------------
// Address lookups (mail_addr_find.c)

/** What findAddress needs to know about the local machine and main.cf. */
export interface AddressLookupConfig extends SplitAddrConfig {
  /** recipient_delimiter: the set of extension delimiter characters ("" = none). */
  recipientDelimiter: string;
  /** myorigin: a domain equal to it (case-insensitive) is local. */
  myorigin?: string;
  /**
   * resolve_local(): is the domain in mydestination, or an address literal
   * of inet_interfaces/proxy_interfaces? May throw DictError (a table in
   * mydestination that cannot answer). Default: never local.
   */
  isLocal?: (domain: string) => boolean | Promise<boolean>;
}

export interface FindAddressOptions extends AddressLookupConfig {
  /** MaFind bits; default MaFind.DEFAULT. */
  strategy?: number;
  /** Default "external-first" (mail_addr_find, mail_addr_find_strategy). */
  queryForm?: QueryForm;
}

export interface AddressMatch {
  value: string;
  /** The extension (with its delimiter, e.g. "+ext") that was stripped to find the value. */
  extension?: string;
}

/** find_addr(): one lookup of `address` in the query form asked for. */
async function findInForm(
  maps: MapList,
  address: string,
  flags: number,
  withDomain: boolean,
  form: QueryForm,
): Promise<string | undefined> {
  const external = () => quote822Local(address, !withDomain);
  switch (form) {
    case 'external':
      return maps.find(external(), flags);
    case 'external-first': {
      const ext = external();
      const r = await maps.find(ext, flags);
      if (r !== undefined || ext === address) return r;
      return maps.find(address, flags);
    }
    case 'internal':
      return maps.find(address, flags);
    case 'internal-first': {
      const r = await maps.find(address, flags);
      if (r !== undefined) return r;
      const ext = external();
      return ext === address ? undefined : maps.find(ext, flags);
    }
  }
}

/**
 * mail_addr_find_opt(): search `maps` for an internal-form address and the
 * keys derived from it, in the order of the strategy bits (see MaFind).
 * Only the full address goes to pattern tables. Returns the first value
 * found (as stored, external form) and the extension that had to be
 * stripped; undefined when nothing matched. Throws DictError when a table
 * cannot answer: the search stops there.
 */
export async function findAddress(
  maps: MapList,
  address: string,
  opts: FindAddressOptions,
): Promise<AddressMatch | undefined> {
  const strategy = opts.strategy ?? MaFind.DEFAULT;
  const form = opts.queryForm ?? 'external-first';
  const full = address;
  const bare =
    opts.recipientDelimiter !== '' && strategy & MaFind.NOEXT
      ? stripAddrExtension(full, opts.recipientDelimiter, opts)
      : undefined;

  // user+ext@domain, then user@domain.
  if (strategy & MaFind.FULL) {
    const r = await findInForm(maps, full, FULL, true, form);
    if (r !== undefined) return { value: r };
  }
  if (bare !== undefined) {
    const r = await findInForm(maps, bare.stripped, PARTIAL, true, form);
    if (r !== undefined) return { value: r, extension: bare.extension };
  }

  // find_local(): user+ext then user (or user+ext@ then user@).
  const findLocal = async (withAt: boolean): Promise<AddressMatch | undefined> => {
    const cut = (a: string) => a.slice(0, a.lastIndexOf('@') + (withAt ? 1 : 0));
    const r = await findInForm(maps, cut(full), PARTIAL, withAt, form);
    if (r !== undefined) return { value: r };
    if (bare !== undefined) {
      const rb = await findInForm(maps, cut(bare.stripped), PARTIAL, withAt, form);
      if (rb !== undefined) return { value: rb, extension: bare.extension };
    }
    return undefined;
  };

  const at = full.lastIndexOf('@');
  if (at < 0) return undefined;
  const domain = full.slice(at + 1);

  // The localpart alone, when the domain is local.
  if (strategy & (MaFind.LOCALPART_IF_LOCAL | MaFind.LOCALPART_AT_IF_LOCAL)) {
    const local =
      (opts.myorigin !== undefined && domain.toLowerCase() === opts.myorigin.toLowerCase()) ||
      (opts.isLocal !== undefined && (await opts.isLocal(domain)));
    if (local) {
      if (strategy & MaFind.LOCALPART_IF_LOCAL) {
        const r = await findLocal(false);
        if (r !== undefined) return r;
      }
      if (strategy & MaFind.LOCALPART_AT_IF_LOCAL) {
        const r = await findLocal(true);
        if (r !== undefined) return r;
      }
    }
  }

  // @domain
  if (strategy & MaFind.AT_DOMAIN) {
    const r = await maps.find(full.slice(at), PARTIAL);
    if (r !== undefined) return { value: r };
  }

  // domain, then parent domains (PDMS: example.org, org) or dot-parents (PDDMDS: .example.org, .org).
  if (strategy & MaFind.DOMAIN) {
    if (strategy & MaFind.PDMS && strategy & MaFind.PDDMDS) {
      warn('mail_addr_find_opt: do not specify both MA_FIND_PDMS and MA_FIND_PDDMDS');
    }
    for (let name = domain; name !== ''; ) {
      const r = await maps.find(name, PARTIAL);
      if (r !== undefined) return { value: r };
      if (!(strategy & (MaFind.PDMS | MaFind.PDDMDS))) break;
      const dot = name.indexOf('.', 1);
      if (dot < 0) break;
      name = strategy & MaFind.PDDMDS ? name.slice(dot) : name.slice(dot + 1);
    }
  }

  // user+ext@, user@, whatever the domain.
  if (strategy & MaFind.LOCALPART_AT) {
    const r = await findLocal(true);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** mail_addr_find_to_internal()-style result conversion: the value as one internal-form address. */
export function valueToInternal(value: string): string {
  return unquote822Local(value);
}

// ---------------------------------------------------------------------------
// smtpd access maps (smtpd_check.c)

export interface AccessLookupOptions extends AddressLookupConfig {
  /** "smtpd_access_maps" is listed in parent_domain_matches_subdomains (the default). */
  parentMatchesSubdomains: boolean;
}

/**
 * check_mail_access(): check_sender_access / check_recipient_access. For
 * user+ext@sub.example.org: the full address, user@sub.example.org,
 * sub.example.org, example.org, org (or .example.org, .org), user+ext@,
 * user@. smtpd passes the address lowercased.
 */
export function findAccessAddress(
  maps: MapList,
  address: string,
  opts: AccessLookupOptions,
): Promise<AddressMatch | undefined> {
  const strategy =
    MaFind.FULL |
    MaFind.NOEXT |
    MaFind.DOMAIN |
    MaFind.LOCALPART_AT |
    (opts.parentMatchesSubdomains ? MaFind.PDMS : MaFind.PDDMDS);
  return findAddress(maps, address, { ...opts, strategy, queryForm: 'external-first' });
}

/** valid_hostaddr(): an IPv4 dotted quad or an IPv6 address (no brackets). */
function isHostAddress(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split('.').every((p) => Number(p) <= 255);
  return s.includes(':') && /^[0-9A-Fa-f:.]+$/.test(s) && isIpv6(s);
}

function isIpv6(s: string): boolean {
  const v4 = /(?:^|:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  let head = s;
  let groups = 8;
  if (v4) {
    if (!isHostAddress(v4[1]!)) return false;
    head = s.slice(0, s.length - v4[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
    groups = 6;
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return false;
  const parts = (p: string) => (p === '' ? [] : p.split(':'));
  const left = parts(dbl[0]!);
  const right = dbl.length === 2 ? parts(dbl[1]!) : [];
  const all = [...left, ...right];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return dbl.length === 2 ? all.length < groups : all.length === groups;
}

export interface DomainLookupOptions {
  /** Bare parent domains (example.org) rather than dot-parents (.example.org). */
  parentMatchesSubdomains: boolean;
  /** maps_find flags for the first key (FULL, as smtpd passes). */
  flags?: number;
}

/**
 * check_domain_access(): check_helo_access, and the host-name half of
 * check_client_access: Client.Example.Test, then Example.Test, Test (or
 * .Example.Test, .Test). Parents are partial keys (fixed tables only). A
 * numerical host address gets one lookup only.
 */
export async function findDomain(
  maps: MapList,
  domain: string,
  opts: DomainLookupOptions,
): Promise<string | undefined> {
  let flags = opts.flags ?? FULL;
  const numerical = isHostAddress(domain);
  for (let name = domain; name !== ''; ) {
    const r = await maps.find(name, flags);
    if (r !== undefined) return r;
    if (numerical) break;
    const dot = name.indexOf('.', 1);
    if (dot < 0) break;
    name = opts.parentMatchesSubdomains ? name.slice(dot + 1) : name.slice(dot);
    flags = PARTIAL;
  }
  return undefined;
}

/**
 * check_addr_access(): a client (or server) IP address, then its parent
 * networks by dropping the last octet: 127.0.0.1, 127.0.0, 127.0, 127. An
 * IPv6 address drops its last ':' group each time: 2001:db8::1, 2001:db8:,
 * 2001:db8, 2001. The first key is full, the others partial.
 */
export async function findHostAddress(maps: MapList, address: string, flags = FULL): Promise<string | undefined> {
  const delim = address.includes(':') ? ':' : '.';
  let addr = address;
  for (;;) {
    const r = await maps.find(addr, flags);
    if (r !== undefined) return r;
    flags = PARTIAL;
    const cut = addr.lastIndexOf(delim);
    if (cut < 0) return undefined;
    addr = addr.slice(0, cut);
  }
}

/**
 * check_namadr_access(): check_client_access / check_reverse_client_access:
 * the client host name and its parents, then the address and its networks.
 */
export async function findClient(
  maps: MapList,
  name: string,
  address: string,
  opts: DomainLookupOptions,
): Promise<string | undefined> {
  return (await findDomain(maps, name, opts)) ?? (await findHostAddress(maps, address, opts.flags ?? FULL));
}

// ---------------------------------------------------------------------------
// transport_maps (trivial-rewrite/transport.c)

export interface TransportLookupOptions extends AddressLookupConfig {
  /** "transport_maps" is listed in parent_domain_matches_subdomains (not by default). */
  parentMatchesSubdomains: boolean;
  /** Clock for the 30-second "*" cache; default Date.now. */
  now?: () => number;
}

export interface TransportMatch {
  value: string;
  /** Found through the "*" entry: the caller parses it without a recipient domain. */
  wildcard: boolean;
}

/** transport_wildcard_init(): look up "*" (every table, full key) and cache it for 30 s. */
export async function probeTransportWildcard(maps: MapList, now = Date.now): Promise<void> {
  try {
    maps.wildcard = { value: await maps.find('*', FULL), expires: now() + 30_000 };
  } catch (err) {
    if (!(err instanceof DictError)) throw err;
    maps.wildcard = { value: undefined, error: err, expires: now() + 30_000 };
  }
}

/**
 * transport_lookup(): user+ext@a.b.example, user@a.b.example, a.b.example,
 * .b.example, .example (bare parents when transport_maps is in
 * parent_domain_matches_subdomains), then the "*" entry, which trivial-
 * rewrite probes at start-up and again after 30 s or an error.
 */
export async function findTransport(
  maps: MapList,
  address: string,
  opts: TransportLookupOptions,
): Promise<TransportMatch | undefined> {
  if (address === '') {
    warn('transport_lookup: null address - skipping table lookup');
    return undefined;
  }
  const strategy =
    MaFind.FULL | MaFind.NOEXT | MaFind.DOMAIN | (opts.parentMatchesSubdomains ? MaFind.PDMS : MaFind.PDDMDS);
  const found = await findAddress(maps, address, { ...opts, strategy, queryForm: 'external-first' });
  if (found !== undefined) return { value: found.value, wildcard: false };
  const now = opts.now ?? Date.now;
  if (maps.wildcard === undefined || maps.wildcard.error !== undefined || now() > maps.wildcard.expires) {
    await probeTransportWildcard(maps, now);
  }
  if (maps.wildcard!.error !== undefined) throw maps.wildcard!.error;
  const value = maps.wildcard!.value;
  return value === undefined ? undefined : { value, wildcard: true };
}
