/**
 * maps/address.ts: the address surgery that table lookups need, after
 * Postfix's global/quote_822_local.c (RFC 822 local-part quoting: the
 * "external" form tables are keyed by), strip_addr.c and split_addr.c
 * (recipient_delimiter extensions: user+ext@domain → user@domain, "+ext").
 */

/** Characters that keep a local-part from being an RFC 822 dot-string. */
const SPECIALS = new Set(['(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '[', ']']);

/** is_822_dot_string() with QUOTE_FLAG_8BITCLEAN: 8-bit bytes are left alone. */
function isDotString(local: string): boolean {
  if (local === '' || local[0] === '.' || local.endsWith('.') || local.includes('..')) return false;
  for (const ch of local) {
    const c = ch.charCodeAt(0);
    if (ch === ' ' || c < 0x20 || c === 0x7f || SPECIALS.has(ch)) return false;
  }
  return true;
}

/**
 * quote_822_local_flags(QUOTE_FLAG_DEFAULT): the external (quoted) form of
 * an address. The local-part ends at the last '@' (or is the whole string
 * with `bareLocalpart`); a source route "@a,@b:" before it is kept as is.
 */
export function quote822Local(mbox: string, bareLocalpart = false): string {
  let start = 0;
  if (mbox.startsWith('@')) {
    const colon = mbox.indexOf(':');
    if (colon >= 0) start = colon + 1;
  }
  let end = bareLocalpart ? -1 : mbox.lastIndexOf('@');
  if (end < start) end = mbox.length;
  const local = mbox.slice(start, end);
  if (isDotString(local)) return mbox;
  return mbox.slice(0, start) + '"' + local.replace(/["\\\r]/g, '\\$&') + '"' + mbox.slice(end);
}

/** unquote_822_local(): the internal form: quotes and backslashes removed before the last unquoted '@'. */
export function unquote822Local(mbox: string): string {
  let start = 0;
  if (mbox.startsWith('@')) {
    const colon = mbox.indexOf(':');
    if (colon >= 0) start = colon + 1;
  }
  let out = mbox.slice(0, start);
  let inQuote = false;
  let bareAtOut = -1;
  let bareAtIn = -1;
  for (let i = start; i < mbox.length; i++) {
    const ch = mbox[i]!;
    if (ch === '"') {
      inQuote = !inQuote;
      continue;
    }
    if (ch === '@') {
      if (!inQuote) {
        bareAtOut = out.length;
        bareAtIn = i;
      }
    } else if (ch === '\\') {
      if (i + 1 >= mbox.length) continue;
      i++;
    }
    out += mbox[i];
  }
  return bareAtOut >= 0 ? out.slice(0, bareAtOut) + mbox.slice(bareAtIn) : out;
}

/** Who may not be split at a delimiter (split_addr.c). */
export interface SplitAddrConfig {
  /** owner_request_special (default yes): keep owner-foo and foo-request whole when '-' is a delimiter. */
  ownerRequestSpecial?: boolean;
  /** double_bounce_sender (default "double-bounce"). */
  doubleBounceSender?: string;
}

/**
 * split_addr(): the length of the local-part before its first delimiter,
 * or -1 when it must not be split (postmaster, MAILER-DAEMON, the double
 * bounce sender, owner-/-request, nothing before or no delimiter).
 */
export function splitLocalpart(local: string, delimiters: string, cfg: SplitAddrConfig = {}): number {
  const lower = local.toLowerCase();
  if (lower === 'postmaster' || lower === 'mailer-daemon') return -1;
  if (lower === (cfg.doubleBounceSender ?? 'double-bounce').toLowerCase()) return -1;
  if (delimiters.includes('-') && (cfg.ownerRequestSpecial ?? true)) {
    if (lower.startsWith('owner-')) return -1;
    if (local.length > 8 && lower.endsWith('-request')) return -1;
  }
  let len = 0;
  while (len < local.length && !delimiters.includes(local[len]!)) len++;
  return len === 0 || len === local.length ? -1 : len;
}

/**
 * strip_addr(): user+ext@domain → { stripped: "user@domain", extension:
 * "+ext" } (the extension keeps its delimiter), or undefined when the
 * address has no extension to strip.
 */
export function stripAddrExtension(
  full: string,
  delimiters: string,
  cfg: SplitAddrConfig = {},
): { stripped: string; extension: string } | undefined {
  if (delimiters === '' || ![...delimiters].some((d) => full.includes(d))) return undefined;
  const at = full.lastIndexOf('@');
  const local = at >= 0 ? full.slice(0, at) : full;
  const len = splitLocalpart(local, delimiters, cfg);
  if (len < 0) return undefined;
  return { stripped: local.slice(0, len) + (at >= 0 ? full.slice(at) : ''), extension: local.slice(len) };
}
