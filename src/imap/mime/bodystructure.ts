/**
 * imap/mime/bodystructure.ts: BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) as
 * Dovecot 2.3 writes them: text/* parts get ("charset" "us-ascii") when no
 * charset is given, a missing Content-Transfer-Encoding is "7bit", sizes
 * are CRLF sizes, text/* and message/rfc822 carry line counts, a multipart
 * without any part shows one empty text/plain part, and a multipart or
 * message/rfc822 left unparsed by the part limits is application/octet-stream.
 */
import { envelopeData, envelopeText } from './envelope.js';
import { type MimePart, bodySizes } from './parser.js';
import { nstring, nstringNolf } from './quote.js';

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

function params(list: [string, string][] | null, defaultCharset: boolean): string {
  if (!defaultCharset && (list === null || list.length === 0)) return 'NIL';
  const items: string[] = [];
  let seenCharset = false;
  for (const [k, v] of list ?? []) {
    if (defaultCharset && k.toLowerCase() === 'charset') seenCharset = true;
    items.push(`${nstring(k)} ${nstring(v)}`);
  }
  if (defaultCharset && !seenCharset) items.push('"charset" "us-ascii"');
  return `(${items.join(' ')})`;
}

function common(part: MimePart): string {
  const disp = part.disposition === null ? 'NIL' : `(${nstring(part.disposition)} ${params(part.dispositionParams, false)})`;
  const lang = part.language === null ? 'NIL' : `(${part.language.map((l) => nstring(l)).join(' ')})`;
  return ` ${disp} ${lang} ${nstringNolf(part.location)}`;
}

function isTruncated(part: MimePart): boolean {
  if (part.contentType !== null) {
    const t = part.contentType.toLowerCase();
    if (t === 'message' && part.contentSubtype!.toLowerCase() === 'rfc822') return true;
    if (t === 'multipart') return true;
    return false;
  }
  return part.parent?.digest === true;
}

function write(part: MimePart, raw: Buffer, extended: boolean): string {
  if (part.multipart) {
    let out = '';
    if (part.children.length > 0) for (const c of part.children) out += `(${write(c, raw, extended)})`;
    else out += extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY;
    out += ` ${nstring(part.contentSubtype ?? '')}`;
    if (!extended) return out;
    return out + ` ${params(part.params, false)}${common(part)}`;
  }
  let out: string;
  let text = false;
  if (part.rfc822) out = '"message" "rfc822"';
  else if (isTruncated(part)) out = '"application" "octet-stream"';
  else if (part.contentType === null) {
    text = true;
    out = '"text" "plain"';
  } else {
    text = part.contentType.toLowerCase() === 'text';
    out = `${nstring(part.contentType)} ${nstring(part.contentSubtype)}`;
  }
  const size = bodySizes(raw, part);
  out += ` ${params(part.params, text)} ${nstringNolf(part.id)} ${nstringNolf(part.description)} `;
  out += part.encoding !== null ? nstring(part.encoding) : '"7bit"';
  out += ` ${size.virtual}`;
  if (text) out += ` ${size.lines}`;
  else if (part.rfc822) {
    const child = part.children[0]!;
    out += ` (${envelopeText(envelopeData(child, raw))}) (${write(child, raw, extended)}) ${size.lines}`;
  }
  if (!extended) return out;
  return out + ` ${nstringNolf(part.md5)}${common(part)}`;
}

/** BODY (extended = false) or BODYSTRUCTURE (extended = true) of a parsed message, with its parentheses. */
export function bodyStructure(part: MimePart, raw: Buffer, extended: boolean): Buffer {
  return Buffer.from(`(${write(part, raw, extended)})`, 'latin1');
}
