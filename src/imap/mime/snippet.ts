/**
 * imap/mime/snippet.ts: the preview text of SNIPPET=FUZZY / PREVIEW=FUZZY
 * (RFC 8970), following the rules of Dovecot 2.3's message snippet:
 * the first text/* part with content is used (text/html turned to plain
 * text), transfer encoding and charset undone, whitespace runs become one
 * space, lines starting with ">" are quoted text that is only used when
 * nothing else is found (then shown as ">" + text), at most `maxChars`
 * characters (200 in IMAP).
 */
import { decodeBase64, decodeCharset, decodeQp } from './decode.js';
import { type MimePart, fieldValue, parseMessage } from './parser.js';
import { Rfc822Parser, parseParams } from './rfc822.js';

export const SNIPPET_MAX_CHARS = 200;

function contentInfo(raw: Buffer, part: MimePart): { type: string | null; charset: string | null; cte: string | null } {
  let type: string | null = null;
  let charset: string | null = null;
  let cte: string | null = null;
  for (const f of part.headers) {
    if (f.lower === 'content-type' && type === null) {
      const p = new Rfc822Parser(fieldValue(raw, f));
      p.skipLwsp();
      const out = { s: '' };
      const ret = p.contentType(out);
      type = out.s.toLowerCase();
      if (ret >= 0) {
        for (const [k, v] of parseParams(p).params) if (k.toLowerCase() === 'charset') charset = v;
      }
    } else if (f.lower === 'content-transfer-encoding') {
      cte = fieldValue(raw, f).trim().toLowerCase();
    }
  }
  return { type: type === '' ? null : type, charset, cte };
}

/** Decoded text of a leaf part, as a JS string. */
export function partText(raw: Buffer, part: MimePart, charset: string | null, cte: string | null): string {
  let body = raw.subarray(part.bodyStart, part.end);
  if (cte === 'base64') body = decodeBase64(body).data;
  else if (cte === 'quoted-printable') body = decodeQp(body).data;
  const cs = charset === null || charset.toLowerCase() === 'us-ascii' ? 'utf-8' : charset;
  return decodeCharset(body, cs);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** A rough HTML to text conversion: tags dropped, script/style/head content skipped, entities decoded. */
export function htmlToText(html: string): string {
  const noSkip = html.replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ').replace(/<!--[\s\S]*?-->/g, '');
  const noTags = noSkip.replace(/<\/?(p|br|div|tr|li|h[1-6]|blockquote)\b[^>]*>/gi, '\n').replace(/<[^>]*>/g, '');
  return noTags.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    const name = e.toLowerCase();
    return Object.hasOwn(ENTITIES, name) ? ENTITIES[name]! : m;
  });
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

class SnippetBuilder {
  snippet = '';
  quoted = '';
  left: number;
  quotedLeft: number;
  state: 'newline' | 'normal' | 'quoted' = 'newline';
  addSpace = false;

  constructor(max: number) {
    this.left = max;
    this.quotedLeft = max - 1;
  }

  /** Feed text; false once the snippet is full. */
  feed(text: string): boolean {
    for (const ch of text) {
      if (this.state === 'newline') {
        if (ch === '>') {
          this.state = 'quoted';
          continue;
        }
        this.state = 'normal';
      }
      this.add(ch, this.state === 'quoted');
      if (this.left === 0) return false;
    }
    return true;
  }

  private add(ch: string, quoted: boolean): void {
    if (ch === '\ufeff' || ch === '\0') return;
    const have = quoted ? this.quoted : this.snippet;
    if (isSpace(ch)) {
      if (have.length > 0) this.addSpace = true;
      if (ch === '\n') this.state = 'newline';
      return;
    }
    let left = quoted ? this.quotedLeft : this.left;
    if (left === 0) return;
    left--;
    let add = '';
    if (this.addSpace) {
      if (left === 0) {
        this.setLeft(quoted, left);
        return;
      }
      add = ' ';
      this.addSpace = false;
      left--;
    }
    this.setLeft(quoted, left);
    if (quoted) this.quoted += add + ch;
    else this.snippet += add + ch;
  }

  private setLeft(quoted: boolean, left: number): void {
    if (quoted) this.quotedLeft = left;
    else this.left = left;
  }

  result(): string {
    if (this.snippet.length > 0) return this.snippet.replace(/^[ \t\n\r\v\f]+/, '');
    if (this.quoted.length > 0) return '>' + this.quoted.replace(/^[ \t\n\r\v\f]+/, '');
    return '';
  }
}

function leaves(part: MimePart, out: MimePart[]): void {
  out.push(part);
  for (const c of part.children) leaves(c, out);
}

/**
 * The part Dovecot takes the preview from: the message itself when its
 * Content-Type is text/* or absent; in multipart/alternative the first
 * text/plain child, else text/html, else another text/*; in other multiparts
 * the first child that has one; nothing for any other type.
 */
export function firstTextPart(part: MimePart): MimePart | null {
  const type = part.contentType?.toLowerCase() ?? null;
  if (type === null || type === 'text') return part;
  if (type !== 'multipart') return null;
  if (part.contentSubtype?.toLowerCase() === 'alternative') {
    let html: MimePart | null = null;
    let text: MimePart | null = null;
    for (const c of part.children) {
      const t = c.contentType?.toLowerCase() ?? null;
      if (t !== null && t !== 'text') continue;
      const sub = c.contentSubtype?.toLowerCase() ?? null;
      if (sub === null || sub === 'plain') return c;
      if (sub === 'html') html = c;
      else text = c;
    }
    return html ?? text;
  }
  for (const c of part.children) {
    const found = firstTextPart(c);
    if (found) return found;
  }
  return null;
}

/**
 * The preview text (a JS string; the caller quotes it) of a parsed message:
 * the part chosen by firstTextPart, read on its own as a message.
 */
export function snippet(raw: Buffer, root: MimePart, maxChars = SNIPPET_MAX_CHARS): string {
  const part = firstTextPart(root);
  if (part === null) return '';
  const sub = raw.subarray(part.start, part.end);
  return partSnippet(sub, parseMessage(sub), maxChars);
}

function partSnippet(raw: Buffer, root: MimePart, maxChars: number): string {
  const b = new SnippetBuilder(maxChars);
  const parts: MimePart[] = [];
  leaves(root, parts);
  for (const part of parts) {
    if (b.snippet.length > 0 || b.quoted.length > 0) break;
    if (part.multipart || part.rfc822) continue;
    const info = contentInfo(raw, part);
    const html = info.type === 'text/html';
    if (info.type !== null && !html && !info.type.startsWith('text/')) continue;
    let text = partText(raw, part, info.charset, info.cte);
    if (html) text = htmlToText(text);
    if (!b.feed(text)) break;
  }
  return b.result();
}
