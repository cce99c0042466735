/**
 * cleanup/settings.ts: the main.cf values cleanup reads (cleanup_init.c
 * tables), read once per service from any view with get() (PostfixConfig,
 * a worker's config). Values are parsed with Postfix's rules and words.
 */
import { parseBool, parseInt as parseIntParam, parseLong, parseTime } from '../../compat/postfix/params/index.js';
import { fatal } from '../log/msg.js';
import { layoutFromConfig, type QueueLayout } from '../queue/layout.js';
import type { RewriteSettings } from './rewrite.js';
import { dropHeaderSet } from './header-opts.js';

/** What cleanup needs from the configuration. */
export interface CleanupConfig {
  get(name: string): string;
}

export interface CleanupSettings {
  layout: QueueLayout;
  longQueueIds: boolean;
  myhostname: string;
  mailName: string;
  lineLimit: number;
  headerLimit: number;
  hopcountLimit: number;
  messageLimit: number;
  delayWarnTime: number;
  alwaysAddHeaders: boolean;
  enableOrigRcpt: boolean;
  rcptWitheld: string;
  hfromObsolete: boolean;
  dropHeaders: Set<string>;
  disableMime: boolean;
  mimeMaxDepth: number;
  mimeBoundLen: number;
  maskStrayCrLf: boolean;
  rejectChars: string;
  stripChars: string;
  bodyCheckLen: number;
  tokenLimit: number;
  qattrCountLimit: number;
  smtputf8Enable: boolean;
  detect8bitEncHeader: boolean;
  emptyAddressRecipient: string;
  alwaysBcc: string;
  virtExpanLimit: number;
  virtRecurLimit: number;
  virtAddrLenLimit: number;
  propagateExt: string;
  recipientDelimiter: string;
  queueServiceName: string;
  rewrite: RewriteSettings;
  /** Raw map settings (opened lazily by maps.ts). */
  maps: {
    canonical: string;
    senderCanonical: string;
    recipientCanonical: string;
    virtualAlias: string;
    headerChecks: string;
    mimeHeaderChecks: string;
    nestedHeaderChecks: string;
    bodyChecks: string;
    senderBcc: string;
    recipientBcc: string;
  };
  canonClasses: string;
  senderCanonClasses: string;
  recipientCanonClasses: string;
  /** The view itself, for map drivers' own parameters. */
  param: (name: string) => string | undefined;
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return fatal((err as Error).message);
  }
}

/** Postfix's unescape(): C escapes in message_reject/strip_characters. */
export function unescapeC(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    const map: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (map[n]) out += map[n];
    else if (n >= '0' && n <= '7') {
      let v = 0;
      let k = 0;
      while (k < 3 && i < s.length && s[i]! >= '0' && s[i]! <= '7') {
        v = v * 8 + (s.charCodeAt(i) - 48);
        i++;
        k++;
      }
      i--;
      out += String.fromCharCode(v & 0xff);
    } else out += n;
  }
  return out;
}

export function readCleanupSettings(cfg: CleanupConfig): CleanupSettings {
  const g = (n: string) => cfg.get(n);
  const b = (n: string) => checked(() => parseBool(n, g(n)));
  const i = (n: string) => checked(() => parseIntParam(n, g(n)));
  const l = (n: string) => checked(() => parseLong(n, g(n)));
  const t = (n: string) => checked(() => parseTime(n, g(n)));
  return {
    layout: layoutFromConfig(cfg),
    longQueueIds: b('enable_long_queue_ids'),
    myhostname: g('myhostname'),
    mailName: g('mail_name') || 'Postfix',
    lineLimit: i('line_length_limit'),
    headerLimit: i('header_size_limit'),
    hopcountLimit: i('hopcount_limit'),
    messageLimit: l('message_size_limit'),
    delayWarnTime: t('delay_warning_time'),
    alwaysAddHeaders: b('always_add_missing_headers'),
    enableOrigRcpt: b('enable_original_recipient'),
    rcptWitheld: g('undisclosed_recipients_header'),
    hfromObsolete: g('header_from_format').toLowerCase() === 'obsolete',
    dropHeaders: dropHeaderSet(g('message_drop_headers')),
    disableMime: b('disable_mime_input_processing'),
    mimeMaxDepth: i('mime_nesting_limit'),
    mimeBoundLen: i('mime_boundary_length_limit'),
    maskStrayCrLf: g('cleanup_replace_stray_cr_lf') === '' ? true : b('cleanup_replace_stray_cr_lf'),
    rejectChars: unescapeC(g('message_reject_characters')),
    stripChars: unescapeC(g('message_strip_characters')),
    bodyCheckLen: i('body_checks_size_limit'),
    tokenLimit: i('header_address_token_limit'),
    qattrCountLimit: i('queue_file_attribute_count_limit'),
    smtputf8Enable: b('smtputf8_enable'),
    detect8bitEncHeader: b('detect_8bit_encoding_header'),
    emptyAddressRecipient: g('empty_address_recipient'),
    alwaysBcc: g('always_bcc'),
    virtExpanLimit: i('virtual_alias_expansion_limit'),
    virtRecurLimit: i('virtual_alias_recursion_limit'),
    virtAddrLenLimit: i('virtual_alias_address_length_limit'),
    propagateExt: g('propagate_unmatched_extensions'),
    recipientDelimiter: g('recipient_delimiter'),
    queueServiceName: g('queue_service_name') || 'qmgr',
    rewrite: {
      myorigin: g('myorigin'),
      mydomain: g('mydomain'),
      remoteDomain: g('remote_header_rewrite_domain'),
      swapBangpath: b('swap_bangpath'),
      percentHack: b('allow_percent_hack'),
      appendAtMyorigin: b('append_at_myorigin'),
      appendDotMydomain: b('append_dot_mydomain'),
    },
    maps: {
      canonical: g('canonical_maps'),
      senderCanonical: g('sender_canonical_maps'),
      recipientCanonical: g('recipient_canonical_maps'),
      virtualAlias: g('virtual_alias_maps'),
      headerChecks: g('header_checks'),
      mimeHeaderChecks: g('mime_header_checks'),
      nestedHeaderChecks: g('nested_header_checks'),
      bodyChecks: g('body_checks'),
      senderBcc: g('sender_bcc_maps'),
      recipientBcc: g('recipient_bcc_maps'),
    },
    canonClasses: g('canonical_classes'),
    senderCanonClasses: g('sender_canonical_classes'),
    recipientCanonClasses: g('recipient_canonical_classes'),
    param: (n) => {
      const v = g(n);
      return v === '' ? undefined : v;
    },
  };
}
