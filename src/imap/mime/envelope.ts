/**
 * imap/mime/envelope.ts: the ENVELOPE structure (RFC 3501 §7.4.2) of a
 * message or of a message/rfc822 part's encapsulated message, as Dovecot
 * writes it: raw header text (no RFC 2047 decoding), Sender and Reply-To
 * fall back to From, repeated address headers are merged, for the other
 * fields the last one counts.
 */
import { type Address, parseAddressList } from './address.js';
import { type MimePart, fieldValue, headerString } from './parser.js';
import { forHumans, nstring, nstringNolf } from './quote.js';

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

const ADDRESS_FIELDS = new Map<string, 'from' | 'sender' | 'replyTo' | 'to' | 'cc' | 'bcc'>([
  ['from', 'from'],
  ['sender', 'sender'],
  ['reply-to', 'replyTo'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
]);
const STRING_FIELDS = new Map<string, 'date' | 'subject' | 'inReplyTo' | 'messageId'>([
  ['date', 'date'],
  ['subject', 'subject'],
  ['in-reply-to', 'inReplyTo'],
  ['message-id', 'messageId'],
]);

/** The envelope fields of a message part's header (the root, or the child of a message/rfc822 part). */
export function envelopeData(part: MimePart, raw: Buffer): Envelope {
  let env = part.cache.envelope as Envelope | undefined;
  if (env) return env;
  env = {
    date: null,
    subject: null,
    from: null,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: null,
  };
  for (const f of part.headers) {
    const a = ADDRESS_FIELDS.get(f.lower);
    if (a !== undefined) {
      const list = parseAddressList(fieldValue(raw, f));
      const prev = env[a];
      env[a] = prev === null ? list : prev.concat(list);
      continue;
    }
    const s = STRING_FIELDS.get(f.lower);
    if (s !== undefined) env[s] = headerString(fieldValue(raw, f));
  }
  part.cache.envelope = env;
  return env;
}

function writeAddresses(list: Address[] | null): string {
  if (list === null || list.length === 0) return 'NIL';
  let out = '(';
  for (const a of list) {
    out += `(${a.name === null ? 'NIL' : forHumans(a.name)} ${nstring(a.route)} ${nstring(a.mailbox)} ${nstring(a.domain)})`;
  }
  return out + ')';
}

/** The envelope text without the surrounding parentheses, as a byte string. */
export function envelopeText(env: Envelope): string {
  const or = (a: Address[] | null) => (a === null || a.length === 0 ? env.from : a);
  return [
    nstringNolf(env.date),
    env.subject === null ? 'NIL' : forHumans(env.subject),
    writeAddresses(env.from),
    writeAddresses(or(env.sender)),
    writeAddresses(or(env.replyTo)),
    writeAddresses(env.to),
    writeAddresses(env.cc),
    writeAddresses(env.bcc),
    nstringNolf(env.inReplyTo),
    nstringNolf(env.messageId),
  ].join(' ');
}

/**
 * ENVELOPE of `part` (normally the root from parseMessage) in IMAP syntax,
 * with its parentheses: `(date subject from ... message-id)`. Bytes, since
 * 8-bit header text is sent in literals.
 */
export function envelope(part: MimePart, raw: Buffer): Buffer {
  return Buffer.from(`(${envelopeText(envelopeData(part, raw))})`, 'latin1');
}
