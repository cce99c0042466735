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
import { type MimePart, fieldValue } from './parser.js';
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
    return ENTITIES[e.toLowerCase()] ?? m;
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

/** The preview text (a JS string; the caller quotes it) of a parsed message. */
export function snippet(raw: Buffer, root: MimePart, maxChars = SNIPPET_MAX_CHARS): string {
  const b = new SnippetBuilder(maxChars);
  const parts: MimePart[] = [];
  leaves(root, parts);
  for (const part of parts) {
    if (b.snippet.length > 0 || b.quoted.length > 0) break;
    const info = contentInfo(raw, part);
    // a digest's message/rfc822 part has no Content-Type: Dovecot reads it as text
    if (part.multipart || (part.rfc822 && info.type !== null)) continue;
    const html = info.type === 'text/html';
    if (info.type !== null && !html && !info.type.startsWith('text/')) continue;
    let text = partText(raw, part, info.charset, info.cte);
    if (html) text = htmlToText(text);
    if (!b.feed(text)) break;
    if (part.rfc822) break;
  }
  return b.result();
}
