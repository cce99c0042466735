/**
 * cleanup/header-opts.ts: the message headers Postfix knows and what it
 * does with them (global/header_opts.c), and is_header() (is_header.c).
 * message_drop_headers adds the DROP flag to the named headers (default:
 * bcc, content-length, resent-bcc, return-path).
 */

export const HDR = {
  OTHER: 0,
  APPARENTLY_TO: 1,
  BCC: 2,
  CC: 3,
  CONTENT_LENGTH: 4,
  CONTENT_TRANSFER_ENCODING: 5,
  CONTENT_TYPE: 6,
  DATE: 7,
  DELIVERED_TO: 8,
  ERRORS_TO: 9,
  FROM: 10,
  MESSAGE_ID: 11,
  RECEIVED: 12,
  REPLY_TO: 13,
  RESENT_BCC: 14,
  RESENT_CC: 15,
  RESENT_DATE: 16,
  RESENT_FROM: 17,
  RESENT_MESSAGE_ID: 18,
  RESENT_REPLY_TO: 19,
  RESENT_SENDER: 20,
  RESENT_TO: 21,
  RETURN_PATH: 22,
  RETURN_RECEIPT_TO: 23,
  SENDER: 24,
  TO: 25,
  MAIL_FOLLOWUP_TO: 26,
  CONTENT_DESCRIPTION: 27,
  CONTENT_DISPOSITION: 28,
  CONTENT_ID: 29,
  MIME_VERSION: 30,
  DISP_NOTIFICATION: 31,
} as const;

export const HDR_OPT_DROP = 1 << 0;
export const HDR_OPT_SENDER = 1 << 1;
export const HDR_OPT_RECIP = 1 << 2;
export const HDR_OPT_RR = 1 << 3;
export const HDR_OPT_EXTRACT = 1 << 4;
export const HDR_OPT_MIME = 1 << 5;
const XRECIP = HDR_OPT_RECIP | HDR_OPT_EXTRACT;

export interface HeaderOpts {
  name: string;
  type: number;
  flags: number;
}

const TABLE: HeaderOpts[] = [
  { name: 'Apparently-To', type: HDR.APPARENTLY_TO, flags: HDR_OPT_RECIP },
  { name: 'Bcc', type: HDR.BCC, flags: XRECIP },
  { name: 'Cc', type: HDR.CC, flags: XRECIP },
  { name: 'Content-Description', type: HDR.CONTENT_DESCRIPTION, flags: HDR_OPT_MIME },
  { name: 'Content-Disposition', type: HDR.CONTENT_DISPOSITION, flags: HDR_OPT_MIME },
  { name: 'Content-ID', type: HDR.CONTENT_ID, flags: HDR_OPT_MIME },
  { name: 'Content-Length', type: HDR.CONTENT_LENGTH, flags: 0 },
  { name: 'Content-Transfer-Encoding', type: HDR.CONTENT_TRANSFER_ENCODING, flags: HDR_OPT_MIME },
  { name: 'Content-Type', type: HDR.CONTENT_TYPE, flags: HDR_OPT_MIME },
  { name: 'Delivered-To', type: HDR.DELIVERED_TO, flags: 0 },
  { name: 'Disposition-Notification-To', type: HDR.DISP_NOTIFICATION, flags: HDR_OPT_SENDER },
  { name: 'Date', type: HDR.DATE, flags: 0 },
  { name: 'Errors-To', type: HDR.ERRORS_TO, flags: HDR_OPT_SENDER },
  { name: 'From', type: HDR.FROM, flags: HDR_OPT_SENDER },
  { name: 'Mail-Followup-To', type: HDR.MAIL_FOLLOWUP_TO, flags: HDR_OPT_SENDER },
  { name: 'Message-Id', type: HDR.MESSAGE_ID, flags: 0 },
  { name: 'MIME-Version', type: HDR.MIME_VERSION, flags: HDR_OPT_MIME },
  { name: 'Received', type: HDR.RECEIVED, flags: 0 },
  { name: 'Reply-To', type: HDR.REPLY_TO, flags: HDR_OPT_SENDER },
  { name: 'Resent-Bcc', type: HDR.RESENT_BCC, flags: XRECIP | HDR_OPT_RR },
  { name: 'Resent-Cc', type: HDR.RESENT_CC, flags: XRECIP | HDR_OPT_RR },
  { name: 'Resent-Date', type: HDR.RESENT_DATE, flags: HDR_OPT_RR },
  { name: 'Resent-From', type: HDR.RESENT_FROM, flags: HDR_OPT_SENDER | HDR_OPT_RR },
  { name: 'Resent-Message-Id', type: HDR.RESENT_MESSAGE_ID, flags: HDR_OPT_RR },
  { name: 'Resent-Reply-To', type: HDR.RESENT_REPLY_TO, flags: HDR_OPT_RECIP | HDR_OPT_RR },
  { name: 'Resent-Sender', type: HDR.RESENT_SENDER, flags: HDR_OPT_SENDER | HDR_OPT_RR },
  { name: 'Resent-To', type: HDR.RESENT_TO, flags: XRECIP | HDR_OPT_RR },
  { name: 'Return-Path', type: HDR.RETURN_PATH, flags: HDR_OPT_SENDER },
  { name: 'Return-Receipt-To', type: HDR.RETURN_RECEIPT_TO, flags: HDR_OPT_SENDER },
  { name: 'Sender', type: HDR.SENDER, flags: HDR_OPT_SENDER },
  { name: 'To', type: HDR.TO, flags: XRECIP },
];

const BASE = new Map(TABLE.map((h) => [h.name.toLowerCase(), h]));
const withDrop = new Map<string, Map<string, HeaderOpts>>();

/** The header table with message_drop_headers applied. */
function table(drop: ReadonlySet<string>): Map<string, HeaderOpts> {
  const key = [...drop].sort().join(',');
  let t = withDrop.get(key);
  if (!t) {
    t = new Map(BASE);
    for (const name of drop) {
      const h = t.get(name);
      t.set(name, h ? { ...h, flags: h.flags | HDR_OPT_DROP } : { name, type: HDR.OTHER, flags: HDR_OPT_DROP });
    }
    withDrop.set(key, t);
  }
  return t;
}

/** message_drop_headers as a set of lower-case names. */
export function dropHeaderSet(value: string): Set<string> {
  return new Set(
    value
      .split(/[\s,]+/)
      .filter((s) => s !== '')
      .map((s) => s.toLowerCase()),
  );
}

/** header_opts_find(): the options for a "Name: value" header, if known. */
export function headerOptsFind(header: string, drop: ReadonlySet<string> = new Set()): HeaderOpts | undefined {
  const colon = header.indexOf(':');
  if (colon < 0) return undefined;
  const name = header.slice(0, colon).replace(/[ \t\r\n]+$/, '').toLowerCase();
  return table(drop).get(name);
}

/** is_header_buf(): length of the header name when `text` starts a header, else 0. */
export function isHeaderBuf(text: string): number {
  let state = 0;
  let len = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return state !== 0 ? len : 0;
    if (c === 0x20 || c === 0x09) {
      if (state === 1) state = 2;
      if (state === 2) continue;
      return 0;
    }
    if (c === 0 || c > 0x7f || c < 0x20 || c === 0x7f) return 0;
    if (state === 0) state = 1;
    if (state === 1) {
      len++;
      continue;
    }
    return 0;
  }
  return 0;
}

/** is_header(): does `text` start with "name:"? */
export function isHeader(text: string): boolean {
  return isHeaderBuf(text) > 0;
}
