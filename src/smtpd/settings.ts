/**
 * smtpd/settings.ts: every main.cf/master.cf value the SMTP server reads,
 * typed and expanded once per service (smtpd.c's VAR_* tables and
 * pre_jail_init()). Per-service `-o` overrides arrive through
 * PostfixConfig.withService(); parameter names, defaults and units come
 * from the catalogue in compat/postfix/params.
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { MatchList, splitQuoted } from './lists.js';
import { ownAddresses, type RewriteSettings, SmtpdResolver } from '../rewrite/resolve.js';

/** The PostfixConfig subset smtpd needs (tests may pass a stub). */
export type SmtpdConfig = Pick<PostfixConfig, 'get' | 'int' | 'long' | 'bool' | 'time' | 'list' | 'has'>;

/** ehlo_mask() bits (ehlo_mask.h). */
export const EHLO = {
  '8BITMIME': 1 << 0,
  PIPELINING: 1 << 1,
  SIZE: 1 << 2,
  VRFY: 1 << 3,
  ETRN: 1 << 4,
  AUTH: 1 << 5,
  VERP: 1 << 6,
  STARTTLS: 1 << 7,
  XCLIENT: 1 << 8,
  XFORWARD: 1 << 9,
  ENHANCEDSTATUSCODES: 1 << 10,
  DSN: 1 << 11,
  SMTPUTF8: 1 << 12,
  CHUNKING: 1 << 13,
  SILENT: 1 << 15,
} as const;

/** ehlo_mask_table order, for parsing and for str_ehlo_mask(). */
const EHLO_NAMES: Array<[string, number]> = [
  ['8BITMIME', EHLO['8BITMIME']],
  ['AUTH', EHLO.AUTH],
  ['ETRN', EHLO.ETRN],
  ['PIPELINING', EHLO.PIPELINING],
  ['SIZE', EHLO.SIZE],
  ['VERP', EHLO.VERP],
  ['VRFY', EHLO.VRFY],
  ['XCLIENT', EHLO.XCLIENT],
  ['XFORWARD', EHLO.XFORWARD],
  ['STARTTLS', EHLO.STARTTLS],
  ['ENHANCEDSTATUSCODES', EHLO.ENHANCEDSTATUSCODES],
  ['DSN', EHLO.DSN],
  ['EHLO_MASK_SMTPUTF8', EHLO.SMTPUTF8],
  ['SMTPUTF8', EHLO.SMTPUTF8],
  ['CHUNKING', EHLO.CHUNKING],
  ['SILENT-DISCARD', EHLO.SILENT],
];

/** ehlo_mask(): unknown names are ignored. */
export function ehloMask(words: string): number {
  let mask = 0;
  for (const w of words.split(/[\s,]+/)) {
    if (w === '') continue;
    const hit = EHLO_NAMES.find(([n]) => n.toLowerCase() === w.toLowerCase());
    if (hit) mask |= hit[1];
  }
  return mask;
}

/** str_ehlo_mask(): names in table order, first name per bit. */
export function strEhloMask(mask: number): string {
  const out: string[] = [];
  let m = mask;
  for (const [n, bit] of EHLO_NAMES) {
    if (m & bit) {
      out.push(n);
      m &= ~bit;
    }
  }
  return out.join(' ');
}

/** smtpd_forbid_bare_newline values (bare_lf_mask_table). */
export const BARE_LF_WANT_STD_EOD = 1;
export const BARE_LF_REPLY_REJECT = 2;

export interface SmtpdSettings {
  cfg: SmtpdConfig;
  serviceName: string;
  myhostname: string;
  mailName: string;
  banner: string;
  timeout: number;
  hardErrorLimit: number;
  softErrorLimit: number;
  errorSleepTime: number;
  junkCommandLimit: number;
  recipientLimit: number;
  recipientOvershootLimit: number;
  messageSizeLimit: number;
  lineLengthLimit: number;
  disableVrfy: boolean;
  heloRequired: boolean;
  delayReject: boolean;
  delayOpen: boolean;
  strictRfc821: boolean;
  smtputf8Enable: boolean;
  strictSmtputf8: boolean;
  discardEhloKeywords: string;
  forbidUnauthPipelining: boolean;
  bareLfMask: number;
  bareLfExclusions: MatchList;
  bareLfCode: number;
  forbiddenCommands: MatchList;
  noopCommands: MatchList;
  xclientHosts: MatchList;
  xforwardHosts: MatchList;
  verpClients: MatchList;
  verpFilter: string;
  verpDelims: string;
  softBounce: boolean;
  clientPortLogging: boolean;
  peernameLookup: boolean;
  fastFlushDomains: MatchList;
  infoLogExternal: boolean;
  receiveOverride: string;
  /** TLS */
  useTls: boolean;
  enforceTls: boolean;
  tlsWrapper: boolean;
  tlsAuthOnly: boolean;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsChainFiles: string;
  starttlsTimeout: number;
  tlsReceivedHeader: boolean;
  tlsAskCcert: boolean;
  saslEnable: boolean;
  /** Restrictions and the address resolver. */
  mynetworks: MatchList;
  /** inet_interfaces addresses (permit_inet_interfaces). */
  inetAddresses: Set<string>;
  resolver: SmtpdResolver;
  rewrite: RewriteSettings;
  restrictions: {
    client: string[];
    helo: string[];
    sender: string[];
    relay: string[];
    recipient: string[];
    data: string[];
    eod: string[];
    etrn: string[];
  };
  restrictionClasses: Map<string, string[]>;
  localRewriteClients: string[];
  relayBeforeRcpt: boolean;
  rejectUnlistedRecipient: boolean;
  rejectUnlistedSender: boolean;
  allowUntrustedRouting: boolean;
  codes: {
    relay: number;
    reject: number;
    defer: number;
    nonFqdn: number;
    badName: number;
    unknownLocal: number;
    unknownVirtualAlias: number;
    unknownVirtualMailbox: number;
    unknownRelay: number;
  };
  recipientMaps: { local: string; virtualMailbox: string; relay: string; virtualAlias: string };
  permitLogging: MatchList;
  warn: (text: string) => void;
}

/** Postfix parameter lists split on comma/space, keeping {...} groups. */
export const splitList = (v: string): string[] => splitQuoted(v);

/** Load the settings of one smtpd service. */
export async function loadSmtpdSettings(
  cfg: SmtpdConfig,
  opts: { serviceName?: string; warn?: (text: string) => void } = {},
): Promise<SmtpdSettings> {
  const warn = opts.warn ?? (() => undefined);
  const str = (n: string) => cfg.get(n);
  const parentStyle = new Set(cfg.list('parent_domain_matches_subdomains'));
  const list = (name: string, kind: 'string' | 'hostname' | 'namadr', value = str(name)) =>
    new MatchList(name, value, { kind, parent: parentStyle.has(name), warn });
  const mynetworks = list('mynetworks', 'namadr');
  const relayDomains = list('relay_domains', 'hostname');
  const rewrite: RewriteSettings = {
    myhostname: str('myhostname'),
    myorigin: str('myorigin'),
    mydomain: str('mydomain'),
    remoteHeaderRewriteDomain: str('remote_header_rewrite_domain'),
    swapBangpath: cfg.bool('swap_bangpath'),
    percentHack: cfg.bool('allow_percent_hack'),
    appendAtMyorigin: cfg.bool('append_at_myorigin'),
    appendDotMydomain: cfg.bool('append_dot_mydomain'),
    resolveDequoted: cfg.bool('resolve_dequoted_address'),
    resolveNullDomain: cfg.bool('resolve_null_domain'),
    resolveNumericDomain: cfg.bool('resolve_numeric_domain'),
    emptyAddressRecipient: str('empty_address_recipient'),
    smtputf8Enable: cfg.bool('smtputf8_enable'),
    showUnknownTable: cfg.bool('show_user_unknown_table_name'),
    localTransport: str('local_transport'),
    virtualTransport: str('virtual_transport'),
    relayTransport: str('relay_transport'),
    defaultTransport: str('default_transport'),
    relayhost: str('relayhost'),
    mydestination: new MatchList('mydestination', str('mydestination'), { kind: 'string', warn }),
    virtualAliasDomains: new MatchList('virtual_alias_domains', str('virtual_alias_domains'), { kind: 'string', warn }),
    virtualMailboxDomains: new MatchList('virtual_mailbox_domains', str('virtual_mailbox_domains'), { kind: 'string', warn }),
    relayDomains,
    ownAddresses: await ownAddresses(str('inet_interfaces'), str('proxy_interfaces'), str('inet_protocols')),
  };

  const tlsLevel = str('smtpd_tls_security_level').toLowerCase();
  let useTls = cfg.bool('smtpd_use_tls');
  let enforceTls = cfg.bool('smtpd_enforce_tls');
  if (tlsLevel !== '') {
    useTls = tlsLevel === 'may' || tlsLevel === 'encrypt';
    enforceTls = tlsLevel === 'encrypt';
  }
  if (enforceTls) useTls = true;
  const tlsWrapper = cfg.bool('smtpd_tls_wrappermode');

  const bareLf = str('smtpd_forbid_bare_newline').toLowerCase();
  const bareLfMask =
    bareLf === 'normalize' || bareLf === 'yes'
      ? BARE_LF_WANT_STD_EOD
      : bareLf === 'reject'
        ? BARE_LF_WANT_STD_EOD | BARE_LF_REPLY_REJECT
        : bareLf === 'no'
          ? 0
          : -1;
  if (bareLfMask < 0) throw new Error(`bad configuration: smtpd_forbid_bare_newline = ${str('smtpd_forbid_bare_newline')}`);

  const classes = new Map<string, string[]>();
  for (const name of splitList(str('smtpd_restriction_classes'))) {
    const value = cfg.get(name);
    if (value === '') throw new Error(`restriction class \`${name}' needs a definition`);
    classes.set(name, splitList(value));
  }

  return {
    cfg,
    serviceName: opts.serviceName ?? 'smtp',
    myhostname: str('myhostname'),
    mailName: str('mail_name'),
    banner: str('smtpd_banner'),
    timeout: cfg.time('smtpd_timeout'),
    hardErrorLimit: cfg.int('smtpd_hard_error_limit'),
    softErrorLimit: cfg.int('smtpd_soft_error_limit'),
    errorSleepTime: cfg.time('smtpd_error_sleep_time'),
    junkCommandLimit: cfg.int('smtpd_junk_command_limit'),
    recipientLimit: cfg.int('smtpd_recipient_limit'),
    recipientOvershootLimit: cfg.int('smtpd_recipient_overshoot_limit'),
    messageSizeLimit: cfg.long('message_size_limit'),
    lineLengthLimit: cfg.int('line_length_limit'),
    disableVrfy: cfg.bool('disable_vrfy_command'),
    heloRequired: cfg.bool('smtpd_helo_required'),
    delayReject: cfg.bool('smtpd_delay_reject'),
    delayOpen: cfg.bool('smtpd_delay_open_until_valid_rcpt'),
    strictRfc821: cfg.bool('strict_rfc821_envelopes'),
    smtputf8Enable: cfg.bool('smtputf8_enable'),
    strictSmtputf8: cfg.bool('strict_smtputf8'),
    discardEhloKeywords: str('smtpd_discard_ehlo_keywords'),
    forbidUnauthPipelining: cfg.bool('smtpd_forbid_unauth_pipelining'),
    bareLfMask,
    bareLfExclusions: list('smtpd_forbid_bare_newline_exclusions', 'namadr'),
    bareLfCode: cfg.int('smtpd_forbid_bare_newline_reject_code'),
    forbiddenCommands: list('smtpd_forbidden_commands', 'string'),
    noopCommands: list('smtpd_noop_commands', 'string'),
    xclientHosts: list('smtpd_authorized_xclient_hosts', 'namadr'),
    xforwardHosts: list('smtpd_authorized_xforward_hosts', 'namadr'),
    verpClients: list('smtpd_authorized_verp_clients', 'namadr'),
    verpFilter: str('verp_delimiter_filter'),
    verpDelims: str('default_verp_delimiters'),
    softBounce: cfg.bool('soft_bounce'),
    clientPortLogging: cfg.bool('smtpd_client_port_logging'),
    peernameLookup: cfg.bool('smtpd_peername_lookup'),
    fastFlushDomains: list('fast_flush_domains', 'hostname'),
    infoLogExternal: str('info_log_address_format').toLowerCase() !== 'internal',
    receiveOverride: str('receive_override_options'),
    useTls,
    enforceTls,
    tlsWrapper,
    tlsAuthOnly: cfg.bool('smtpd_tls_auth_only'),
    tlsCertFile: str('smtpd_tls_cert_file'),
    tlsKeyFile: str('smtpd_tls_key_file'),
    tlsChainFiles: str('smtpd_tls_chain_files'),
    starttlsTimeout: cfg.time('smtpd_starttls_timeout'),
    tlsReceivedHeader: cfg.bool('smtpd_tls_received_header'),
    tlsAskCcert: cfg.bool('smtpd_tls_ask_ccert'),
    saslEnable: cfg.bool('smtpd_sasl_auth_enable'),
    mynetworks,
    inetAddresses: await ownAddresses(str('inet_interfaces'), '', str('inet_protocols')),
    resolver: new SmtpdResolver(rewrite),
    rewrite,
    restrictions: {
      client: splitList(str('smtpd_client_restrictions')),
      helo: splitList(str('smtpd_helo_restrictions')),
      sender: splitList(str('smtpd_sender_restrictions')),
      relay: splitList(str('smtpd_relay_restrictions')),
      recipient: splitList(str('smtpd_recipient_restrictions')),
      data: splitList(str('smtpd_data_restrictions')),
      eod: splitList(str('smtpd_end_of_data_restrictions')),
      etrn: splitList(str('smtpd_etrn_restrictions')),
    },
    restrictionClasses: classes,
    localRewriteClients: splitList(str('local_header_rewrite_clients')),
    relayBeforeRcpt: cfg.bool('smtpd_relay_before_recipient_restrictions'),
    rejectUnlistedRecipient: cfg.bool('smtpd_reject_unlisted_recipient'),
    rejectUnlistedSender: cfg.bool('smtpd_reject_unlisted_sender'),
    allowUntrustedRouting: cfg.bool('allow_untrusted_routing'),
    codes: {
      relay: cfg.int('relay_domains_reject_code'),
      reject: cfg.int('reject_code'),
      defer: cfg.int('defer_code'),
      nonFqdn: cfg.int('non_fqdn_reject_code'),
      badName: cfg.int('invalid_hostname_reject_code'),
      unknownLocal: cfg.int('unknown_local_recipient_reject_code'),
      unknownVirtualAlias: cfg.int('unknown_virtual_alias_reject_code'),
      unknownVirtualMailbox: cfg.int('unknown_virtual_mailbox_reject_code'),
      unknownRelay: cfg.int('unknown_relay_recipient_reject_code'),
    },
    recipientMaps: {
      local: str('local_recipient_maps'),
      virtualMailbox: str('virtual_mailbox_maps'),
      relay: str('relay_recipient_maps'),
      virtualAlias: str('virtual_alias_maps'),
    },
    permitLogging: list('smtpd_log_access_permit_actions', 'string'),
    warn,
  };
}
