/**
 * rewrite/settings.ts: what trivial-rewrite(8) reads from main.cf
 * (trivial-rewrite.c, resolve.c resolve_init, transport.c
 * transport_pre_init), opened once per process.
 *
 * The address-class lists (mydestination, virtual_alias_domains,
 * virtual_mailbox_domains, relay_domains) are the match lists smtpd uses
 * (smtpd/lists.ts); the lookup tables (transport_maps, relocated_maps,
 * sender_dependent_relayhost_maps, sender_dependent_default_transport_maps)
 * are MapLists with Postfix's dict flags (lock, fold_fix, utf8_request;
 * transport_maps also no_regsub).
 */
import { MapList } from '../maps/query.js';
import { DictFlag } from '../maps/types.js';
import { MatchList } from '../smtpd/lists.js';
import { ownAddresses, type RewriteSettings } from './rewrite.js';

/** The main.cf view trivial-rewrite needs (PostfixConfig, a worker config). */
export interface RewriteConfig {
  get(name: string): string;
}

/** Everything resolve_addr() consults. */
export interface ResolveSettings extends RewriteSettings {
  recipientDelimiter: string;
  helpfulWarnings: boolean;
  allowMinUser: boolean;
  /** empty_address_relayhost_maps_lookup_key ("<>"). */
  nullRelayKey: string;
  /** empty_address_default_transport_maps_lookup_key ("<>"). */
  nullDefXportKey: string;
  /** transport_maps is listed in parent_domain_matches_subdomains. */
  transportParentStyle: boolean;
  transportMaps: MapList | undefined;
  relocatedMaps: MapList | undefined;
  senderRelayMaps: MapList | undefined;
  senderDefXportMaps: MapList | undefined;
  configDirectory: string;
  /** Warning sink (msg_warn). */
  warn: (text: string) => void;
}

const parseBool = (v: string) => /^(yes|true|1|on)$/i.test(v.trim());

/** Open the lists and tables (trivial-rewrite pre_jail_init + post_jail_init). */
export async function loadResolveSettings(
  cfg: RewriteConfig,
  opts: { warn?: (text: string) => void; surrogate?: boolean } = {},
): Promise<ResolveSettings> {
  const warn = opts.warn ?? (() => undefined);
  const str = (n: string) => cfg.get(n);
  const bool = (n: string) => parseBool(str(n));
  const parentStyle = new Set(
    str('parent_domain_matches_subdomains')
      .split(/[\s,]+/)
      .filter(Boolean),
  );
  const param = (n: string) => {
    const v = cfg.get(n);
    return v === '' ? undefined : v;
  };
  const base = DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST;
  const maps = async (name: string, flags = base): Promise<MapList | undefined> => {
    const value = str(name);
    if (value.trim() === '') return undefined;
    return MapList.open(name, value, { mode: 'read', dictFlags: flags, param, surrogate: opts.surrogate ?? true });
  };
  return {
    myhostname: str('myhostname'),
    myorigin: str('myorigin'),
    mydomain: str('mydomain'),
    remoteHeaderRewriteDomain: str('remote_header_rewrite_domain'),
    swapBangpath: bool('swap_bangpath'),
    percentHack: bool('allow_percent_hack'),
    appendAtMyorigin: bool('append_at_myorigin'),
    appendDotMydomain: bool('append_dot_mydomain'),
    resolveDequoted: bool('resolve_dequoted_address'),
    resolveNullDomain: bool('resolve_null_domain'),
    resolveNumericDomain: bool('resolve_numeric_domain'),
    emptyAddressRecipient: str('empty_address_recipient'),
    smtputf8Enable: bool('smtputf8_enable'),
    showUnknownTable: bool('show_user_unknown_table_name'),
    localTransport: str('local_transport'),
    virtualTransport: str('virtual_transport'),
    relayTransport: str('relay_transport'),
    defaultTransport: str('default_transport'),
    relayhost: str('relayhost'),
    mydestination: new MatchList('mydestination', str('mydestination'), { kind: 'string', warn }),
    virtualAliasDomains: new MatchList('virtual_alias_domains', str('virtual_alias_domains'), { kind: 'string', warn }),
    virtualMailboxDomains: new MatchList('virtual_mailbox_domains', str('virtual_mailbox_domains'), {
      kind: 'string',
      warn,
    }),
    relayDomains: new MatchList('relay_domains', str('relay_domains'), {
      kind: 'hostname',
      parent: parentStyle.has('relay_domains'),
      warn,
    }),
    ownAddresses: await ownAddresses(str('inet_interfaces'), str('proxy_interfaces'), str('inet_protocols')),
    recipientDelimiter: str('recipient_delimiter'),
    helpfulWarnings: bool('helpful_warnings'),
    allowMinUser: bool('allow_min_user'),
    nullRelayKey: str('empty_address_relayhost_maps_lookup_key') || '<>',
    nullDefXportKey: str('empty_address_default_transport_maps_lookup_key') || '<>',
    transportParentStyle: parentStyle.has('transport_maps'),
    transportMaps: await maps('transport_maps', base | DictFlag.NO_REGSUB),
    relocatedMaps: await maps('relocated_maps'),
    senderRelayMaps: await maps('sender_dependent_relayhost_maps'),
    senderDefXportMaps: await maps('sender_dependent_default_transport_maps'),
    configDirectory: str('config_directory'),
    warn,
  };
}

/** maps_free() for every table the settings opened. */
export async function closeResolveSettings(s: ResolveSettings): Promise<void> {
  for (const m of [s.transportMaps, s.relocatedMaps, s.senderRelayMaps, s.senderDefXportMaps]) await m?.close();
}
