/**
 * cleanup/mime.ts: the message structure walker cleanup (and sendmail -t)
 * feed content records through, after global/mime_state.c. It does not
 * decode anything; it finds header blocks and bodies:
 *
 * - primary headers: "Name: value" lines, folded continuation lines joined
 *   with "\n" into one logical header (at most header_size_limit bytes; the
 *   rest is dropped and MIME_ERR_TRUNC_HEADER raised); obsolete
 *   "Name : value" is normalised to "Name: value";
 * - the first line that is not a header ends the block: an empty line is
 *   kept as the separator, anything else gets an empty line inserted before
 *   it (primary headers only);
 * - multipart/* bodies: "--boundary" lines start part headers (class
 *   MULTIPART), "--boundary--" ends the multipart; message/rfc822 bodies
 *   start with nested headers (class NESTED);
 * - body lines are passed on as they came (N or L records).
 *
 * The callbacks may be asynchronous (table lookups); update() awaits them in
 * order.
 */
import { Rec } from '../queue/record.js';
import { HDR, headerOptsFind, type HeaderOpts, isHeaderBuf } from './header-opts.js';

export const MIME_HDR_PRIMARY = 1;
export const MIME_HDR_MULTIPART = 2;
export const MIME_HDR_NESTED = 3;
const MIME_STATE_BODY = 4;

export const MIME_OPT_DISABLE_MIME = 1 << 5;
export const MIME_OPT_REPORT_TRUNC_HEADER = 1 << 0;
export const MIME_OPT_REPORT_NESTING = 1 << 6;

export const MIME_ERR_NESTING = 1 << 0;
export const MIME_ERR_TRUNC_HEADER = 1 << 1;
export const MIME_ERR_8BIT_IN_HEADER = 1 << 2;
export const MIME_ERR_8BIT_IN_7BIT_BODY = 1 << 3;
export const MIME_ERR_ENCODING_DOMAIN = 1 << 4;

const ERR_TEXT: ReadonlyArray<[number, string, string]> = [
  [MIME_ERR_NESTING, '5.6.0', 'MIME nesting exceeds safety limit'],
  [MIME_ERR_TRUNC_HEADER, '5.6.0', 'message header length exceeds safety limit'],
  [MIME_ERR_8BIT_IN_HEADER, '5.6.0', 'improper use of 8-bit data in message header'],
  [MIME_ERR_8BIT_IN_7BIT_BODY, '5.6.0', 'improper use of 8-bit data in message body'],
  [MIME_ERR_ENCODING_DOMAIN, '5.6.0', 'invalid message/* or multipart/* encoding domain'],
];

/** mime_state_detail(): DSN and text of the first error bit. */
export function mimeErrorDetail(errs: number): { dsn: string; text: string } {
  for (const [bit, dsn, text] of ERR_TEXT) if (errs & bit) return { dsn, text };
  return { dsn: '5.6.0', text: 'unknown error' };
}

/** mime_state_error(): text of the first error bit. */
export function mimeError(errs: number): string {
  return mimeErrorDetail(errs).text;
}

const CT_OTHER = 0;
const CT_TEXT = 1;
const CT_MESSAGE = 2;
const CT_MULTIPART = 3;
const ST_OTHER = 0;
const ST_PLAIN = 1;
const ST_RFC822 = 2;
const ST_GLOBAL = 5;

export interface MimeCallbacks {
  /** One complete (possibly multi-line) header. */
  head(headerClass: number, opts: HeaderOpts | undefined, header: string, offset: number): void | Promise<void>;
  /** End of the primary header block. */
  headEnd?(): void | Promise<void>;
  body(type: number, text: string, offset: number): void | Promise<void>;
  bodyEnd?(): void | Promise<void>;
  error?(code: number, text: string): void;
}

export interface MimeLimits {
  headerLimit: number;
  maxDepth: number;
  boundLimit: number;
}

interface Bound {
  defCtype: number;
  defStype: number;
  boundary: string;
}

/** header_token() for Content-Type: tokens up to ';' (RFC 2045 tspecials). */
function contentTypeTokens(s: string, pos: { i: number }): Array<{ t: string; v: string }> | undefined {
  const TSPECIALS = '()<>@,;:\\"/[]?=';
  const toks: Array<{ t: string; v: string }> = [];
  let i = pos.i;
  if (i >= s.length) return undefined;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c === '(') {
      let level = 1;
      i++;
      while (i < s.length && level > 0) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') level++;
        else if (s[i] === ')') level--;
        i++;
      }
      continue;
    }
    if (c === ';') {
      i++;
      break;
    }
    if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i];
        i++;
      }
      i++;
      toks.push({ t: 'token', v });
      continue;
    }
    if (TSPECIALS.includes(c)) {
      toks.push({ t: c, v: c });
      i++;
      continue;
    }
    let v = '';
    while (i < s.length && !TSPECIALS.includes(s[i]!) && !' \t\r\n'.includes(s[i]!)) v += s[i++];
    toks.push({ t: 'token', v });
  }
  pos.i = i;
  return toks;
}

export class MimeState {
  private state = MIME_HDR_PRIMARY;
  private ctype = CT_TEXT;
  private stype = ST_PLAIN;
  private stack: Bound[] = [];
  private buffer = '';
  private haveHeader = false;
  private prevType = 0;
  private headOffset = 0;
  private bodyOffset = 0;
  errFlags = 0;

  constructor(
    private readonly flags: number,
    private readonly limits: MimeLimits,
    private readonly cb: MimeCallbacks,
    /** header_opts lookups honour message_drop_headers. */
    private readonly dropHeaders: ReadonlySet<string>,
  ) {}

  private report(code: number, text: string): void {
    if ((this.errFlags & code) === 0) {
      this.cb.error?.(code, text);
      this.errFlags |= code;
    }
  }

  private setState(st: number, ctype?: number, stype?: number): void {
    this.state = st;
    if (ctype !== undefined) this.ctype = ctype;
    if (stype !== undefined) this.stype = stype;
    if (st === MIME_STATE_BODY) this.bodyOffset = 0;
    else this.headOffset = 0;
  }

  private contentType(header: string, opts: HeaderOpts): void {
    const pos = { i: opts.name.length + 1 };
    const toks = contentTypeTokens(header, pos);
    if (!toks || toks.length === 0) {
      return;
    }
    const is = (k: number, text: string) => toks[k]?.t === 'token' && toks[k]!.v.toLowerCase() === text;
    const sub = (text: string) => toks.length >= 3 && toks[1]!.t === '/' && is(2, text);
    if (is(0, 'text')) {
      this.ctype = CT_TEXT;
      this.stype = sub('plain') ? ST_PLAIN : ST_OTHER;
      return;
    }
    if (is(0, 'message')) {
      this.ctype = CT_MESSAGE;
      this.stype = sub('rfc822') ? ST_RFC822 : sub('global') ? ST_GLOBAL : ST_OTHER;
      return;
    }
    if (is(0, 'multipart')) {
      this.ctype = CT_MULTIPART;
      const digest = sub('digest');
      for (;;) {
        const p = contentTypeTokens(header, pos);
        if (!p) break;
        if (p.length >= 3 && p[0]!.t === 'token' && p[0]!.v.toLowerCase() === 'boundary' && p[1]!.t === '=') {
          if (this.stack.length > this.limits.maxDepth) {
            if (this.flags & MIME_OPT_REPORT_NESTING) this.report(MIME_ERR_NESTING, header);
          } else {
            this.stack.unshift({
              defCtype: digest ? CT_MESSAGE : CT_TEXT,
              defStype: digest ? ST_RFC822 : ST_PLAIN,
              boundary: p[2]!.v.slice(0, this.limits.boundLimit),
            });
          }
        }
      }
      return;
    }
    this.ctype = CT_OTHER;
  }

  private async flushHeader(): Promise<void> {
    const header = this.buffer;
    const opts = headerOptsFind(header, this.dropHeaders);
    if (!(this.flags & MIME_OPT_DISABLE_MIME) && opts?.type === HDR.CONTENT_TYPE) this.contentType(header, opts);
    this.haveHeader = false;
    this.buffer = '';
    this.prevType = 0;
    const off = this.headOffset;
    this.headOffset += header.length + 1;
    await this.cb.head(this.state, opts, header, off);
  }

  private async bodyOut(type: number, text: string): Promise<void> {
    const off = this.bodyOffset;
    this.bodyOffset += text.length + 1;
    await this.cb.body(type, text, off);
  }

  /** mime_state_update(): one record (N, L, or a non-text end marker). Returns the error flags. */
  async update(type: number, text: string): Promise<number> {
    const isText = type === Rec.NORM || type === Rec.CONT;
    if (!isText && this.prevType === Rec.CONT) await this.update(Rec.NORM, '');
    if (this.state !== MIME_STATE_BODY) {
      if (this.haveHeader) {
        if (isText) {
          if (this.prevType === Rec.CONT) {
            if (this.buffer.length < this.limits.headerLimit) this.buffer += text;
            else if (this.flags & MIME_OPT_REPORT_TRUNC_HEADER) this.report(MIME_ERR_TRUNC_HEADER, this.buffer);
            this.prevType = type;
            return this.errFlags;
          }
          const c = text[0];
          if (c === ' ' || c === '\t') {
            if (this.buffer.length < this.limits.headerLimit) this.buffer += `\n${text}`;
            else if (this.flags & MIME_OPT_REPORT_TRUNC_HEADER) this.report(MIME_ERR_TRUNC_HEADER, this.buffer);
            this.prevType = type;
            return this.errFlags;
          }
        }
        await this.flushHeader();
      }
      if (isText) {
        const hlen = isHeaderBuf(text);
        if (hlen > 0) {
          let i = hlen;
          while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
          this.buffer = text.slice(0, hlen) + text.slice(i);
          this.haveHeader = true;
          this.prevType = type;
          return this.errFlags;
        }
      }
      if (this.state === MIME_HDR_PRIMARY && this.cb.headEnd) await this.cb.headEnd();
      if (isText) {
        if (text.length === 0) {
          this.bodyOffset = 0;
          if (this.ctype === CT_MESSAGE) {
            if (this.stype === ST_RFC822 || this.stype === ST_GLOBAL) {
              if (this.flags & MIME_OPT_DISABLE_MIME) this.setState(MIME_STATE_BODY);
              else this.setState(MIME_HDR_NESTED, CT_TEXT, ST_PLAIN);
            } else this.setState(MIME_STATE_BODY);
          } else if (this.ctype === CT_MULTIPART) {
            this.setState(MIME_STATE_BODY, CT_OTHER, ST_OTHER);
          } else {
            this.setState(MIME_STATE_BODY);
          }
        } else {
          if (this.state === MIME_HDR_PRIMARY) await this.bodyOut(Rec.NORM, '');
          this.setState(MIME_STATE_BODY);
        }
      } else {
        this.setState(MIME_STATE_BODY);
      }
    }
    // Body state.
    if (isText) {
      if (
        this.stack.length > 0 &&
        this.prevType !== Rec.CONT &&
        text.length > 2 &&
        text[0] === '-' &&
        text[1] === '-'
      ) {
        for (let k = 0; k < this.stack.length; k++) {
          const sp = this.stack[k]!;
          if (text.length >= 2 + sp.boundary.length && text.startsWith(sp.boundary, 2)) {
            this.stack.splice(0, k);
            if (text.length >= 4 + sp.boundary.length && text.startsWith('--', 2 + sp.boundary.length)) {
              this.stack.shift();
              this.setState(MIME_STATE_BODY, CT_OTHER, ST_OTHER);
            } else {
              this.setState(MIME_HDR_MULTIPART, sp.defCtype, sp.defStype);
            }
            break;
          }
        }
      }
      await this.bodyOut(type, text);
    } else if (this.cb.bodyEnd) {
      await this.cb.bodyEnd();
    }
    this.prevType = type;
    return this.errFlags;
  }
}
