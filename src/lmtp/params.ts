/**
 * lmtp/params.ts: MAIL and RCPT parameters as Dovecot's LMTP accepts them
 * (lib-smtp/smtp-params.c with the LMTP capability set: 8BITMIME,
 * CHUNKING, ENHANCEDSTATUSCODES, PIPELINING, XCLIENT and ORCPT only;
 * no SIZE, DSN or AUTH). Errors carry the reply code: 501 for bad syntax,
 * 555 for "not supported".
 */
import { parsePath, type SmtpAddress } from './address.js';

export interface ParamError {
  code: 501 | 555 | 550;
  /** enhanced code (default 5.5.4) */
  enh?: string;
  text: string;
}

export interface MailParams {
  body?: '7BIT' | '8BITMIME';
}

export interface RcptParams {
  orcpt?: { type: string; raw: string; addr?: SmtpAddress };
  /** XRCPTFORWARD (trusted clients only) */
  forward?: string;
  /** the parameters as given, for duplicate detection */
  canonical: string;
}

interface Param {
  keyword: string;
  value?: string;
}

/** esmtp-keyword ["=" esmtp-value] */
function parseParam(text: string): Param | string {
  if (text === '') return 'Parameter is empty';
  let i = 0;
  if (!/[A-Za-z0-9]/.test(text[0] as string)) return 'Unexpected character in parameter keyword';
  i++;
  while (i < text.length && /[A-Za-z0-9-]/.test(text[i] as string)) i++;
  const keyword = text.slice(0, i);
  if (i >= text.length) return { keyword };
  if (text[i] !== '=') return 'Unexpected character in parameter keyword';
  i++;
  const start = i;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 33 || c === 61 || c > 126) break;
    i++;
  }
  if (i < text.length) return 'Unexpected character in parameter value';
  return { keyword, value: text.slice(start) };
}

/** t_strsplit(args, " "): "" gives no parameters; "a  b" gives an empty one. */
function splitArgs(args: string): string[] {
  return args === '' ? [] : args.split(' ');
}

export function parseMailParams(args: string): MailParams | ParamError {
  const out: MailParams = {};
  for (const a of splitArgs(args)) {
    const p = parseParam(a);
    if (typeof p === 'string') return { code: 501, text: `Invalid MAIL parameter: ${p}` };
    const kw = p.keyword.toUpperCase();
    if (kw === 'BODY') {
      if (out.body !== undefined) return { code: 501, text: 'Duplicate BODY= parameter' };
      if (p.value === undefined) return { code: 501, text: 'Missing BODY= parameter value' };
      const v = p.value.toUpperCase();
      if (v === '7BIT' || v === '8BITMIME') out.body = v;
      else return { code: 555, text: 'Unsupported mail BODY type' };
    } else {
      return { code: 555, text: 'Unsupported parameters' };
    }
  }
  return out;
}

/** xtext (RFC 3461): "+HH" escapes. */
function decodeXtext(s: string): string | { error: string } | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '+') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(h)) return { error: "Invalid hexchar after '+' in xtext" };
      out += String.fromCharCode(Number.parseInt(h, 16));
      i += 2;
    } else if (c.charCodeAt(0) >= 33 && c.charCodeAt(0) <= 126 && c !== '=') {
      out += c;
    } else return undefined;
  }
  return out;
}

export function parseRcptParams(args: string, opts: { trusted: boolean }): RcptParams | ParamError {
  const out: RcptParams = { canonical: '' };
  const canon: string[] = [];
  for (const a of splitArgs(args)) {
    const p = parseParam(a);
    if (typeof p === 'string') return { code: 501, text: `Invalid RCPT parameter: ${p}` };
    const kw = p.keyword.toUpperCase();
    if (kw === 'ORCPT') {
      if (out.orcpt) return { code: 501, text: 'Duplicate ORCPT= parameter' };
      if (p.value === undefined) return { code: 501, text: 'Missing ORCPT= parameter value' };
      const semi = p.value.indexOf(';');
      const type = semi < 0 ? '' : p.value.slice(0, semi);
      if (semi <= 0 || !/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(type)) return { code: 501, text: 'Invalid addr-type for ORCPT= parameter' };
      const x = decodeXtext(p.value.slice(semi + 1));
      if (x === undefined) return { code: 501, text: 'Invalid ORCPT= parameter: Invalid character in xtext' };
      if (typeof x === 'object') return { code: 501, text: `Invalid ORCPT= parameter: ${x.error}` };
      if (x === '') return { code: 501, text: 'Invalid ORCPT= parameter: Empty address value' };
      if (!/^[\x20-\x7e\t]*$/.test(x)) return { code: 501, text: 'Invalid ORCPT= address value: Contains non-printable characters' };
      out.orcpt = { type, raw: x };
      if (type.toLowerCase() === 'rfc822') {
        const r = parsePath(`<${x}>`, { allowLocalpart: true });
        if (r.error || !r.address) return { code: 501, text: 'Invalid ORCPT= address value: Invalid RFC822 address' };
        out.orcpt.addr = r.address;
      }
      canon.push(`ORCPT=${type};${x}`);
    } else if (kw === 'XRCPTFORWARD') {
      if (!opts.trusted) return { code: 550, enh: '5.7.14', text: 'Unacceptable XRCPTFORWARD= parameter: You are not from trusted IP' } as ParamError;
      out.forward = p.value ?? '';
      canon.push(`XRCPTFORWARD=${p.value ?? ''}`);
    } else {
      return { code: 555, text: 'Unsupported parameters' };
    }
  }
  out.canonical = canon.join(' ');
  return out;
}
