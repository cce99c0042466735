/**
 * imap/mime/rfc822.ts: the RFC 5322 §3.2 lexical tokens (CFWS, atom,
 * dot-atom, quoted-string, phrase, domain) and RFC 2045 §5.1 Content-Type
 * with RFC 2231 parameter continuations, tolerant the way Dovecot's
 * lib-mail is: broken input yields what could be read, never an exception.
 *
 * Works on byte strings (char code = byte); NUL inside quoted strings,
 * comments and domain literals becomes U+FFFD in UTF-8 as Dovecot does.
 */

export const NUL_REPLACEMENT = '\xef\xbf\xbd';

/** atext (RFC 5322 §3.2.3) plus 8-bit bytes; 2 = also a MIME token char, 1 = atext only, 4 = MIME tspecial in atext. */
const ATEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (c >= 0x80 || /[A-Za-z0-9]/.test(ch)) ATEXT[c] = 2;
  else if ("!#$%&'*+-^_`{|}~".includes(ch)) ATEXT[c] = 1;
  else if ('/=?'.includes(ch)) ATEXT[c] = 4;
}

export function isAtext(c: number): boolean {
  return ATEXT[c]! !== 0;
}
function isTokenChar(c: number): boolean {
  return (ATEXT[c]! & 3) !== 0;
}

export class Rfc822Parser {
  pos = 0;
  readonly end: number;
  /** The text of the last comment skipped, when tracked (addresses use it as a display name). */
  lastComment: string | null;
  nulReplacement: string | null = null;

  constructor(
    readonly data: string,
    trackComments = false,
  ) {
    this.end = data.length;
    this.lastComment = trackComments ? '' : null;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }
  cur(): number {
    return this.pos < this.end ? this.data.charCodeAt(this.pos) : -1;
  }

  /**
   * Read a comment, quoted string or domain literal starting at the current
   * opening character, appending its text to `out` (when given) with folding
   * line breaks removed, NULs replaced (when nulReplacement is set) and
   * quoted-pairs undone (a domain literal keeps its backslashes and brackets).
   * Returns -1 when unterminated (or "[" inside a literal); after a comment 1
   * if data follows, else 0; otherwise skipLwsp()'s result.
   */
  private delimited(kind: 'comment' | 'quoted' | 'literal', out: { s: string } | null): number {
    const d = this.data;
    const isComment = kind === 'comment';
    const isLiteral = kind === 'literal';
    const closer = isComment ? 0x29 : isLiteral ? 0x5d : 0x22;
    let level = 1;
    let start = isLiteral ? this.pos : this.pos + 1;
    for (this.pos++; this.pos < this.end; this.pos++) {
      const c = d.charCodeAt(this.pos);
      if (c === 0) {
        if (out !== null && this.nulReplacement !== null) {
          out.s += d.slice(start, this.pos) + this.nulReplacement;
          start = this.pos + 1;
        }
      } else if (c === 10) {
        if (out === null) continue;
        let e = this.pos;
        if (e > start && d.charCodeAt(e - 1) === 13) e--;
        out.s += d.slice(start, e);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        const n = d.charCodeAt(this.pos);
        if (n === 13 || n === 10 || n === 0) {
          // not a quoted-pair (obs-qp): the CR/LF/NUL is read again as itself
          if (isLiteral && out !== null) {
            out.s += d.slice(start, this.pos);
            start = this.pos;
          }
          this.pos--;
          continue;
        }
        if (!isLiteral) {
          if (out !== null) out.s += d.slice(start, this.pos - 1);
          start = this.pos;
        }
      } else if (isComment && c === 0x28) level++;
      else if (isLiteral && c === 0x5b) return -1;
      else if (c === closer && (!isComment || --level === 0)) {
        if (out !== null) out.s += d.slice(start, isLiteral ? this.pos + 1 : this.pos);
        this.pos++;
        if (isComment) return this.pos < this.end ? 1 : 0;
        return this.skipLwsp();
      }
    }
    return -1;
  }

  /** Skip a (nested) comment, keeping its text in lastComment when tracked; 1 more data, 0 end, -1 unterminated. */
  skipComment(): number {
    const out = this.lastComment !== null ? { s: '' } : null;
    const ret = this.delimited('comment', out);
    if (out !== null) this.lastComment = out.s;
    return ret;
  }

  /** Skip whitespace and comments; 1 more data, 0 end, -1 broken comment. */
  skipLwsp(): number {
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 13 || c === 10) {
        this.pos++;
        continue;
      }
      if (c !== 0x28) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.pos < this.end ? 1 : 0;
  }

  /** An atom appended to out.s; -1 none, else skipLwsp's result. */
  atom(out: { s: string }): number {
    if (this.pos >= this.end || !isAtext(this.cur())) return -1;
    const start = this.pos++;
    while (this.pos < this.end && isAtext(this.data.charCodeAt(this.pos))) this.pos++;
    out.s += this.data.slice(start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  dotAtom(out: { s: string }): number {
    if (this.pos >= this.end || !isAtext(this.cur())) return -1;
    let start = this.pos++;
    for (;;) {
      while (this.pos < this.end && isAtext(this.data.charCodeAt(this.pos))) this.pos++;
      if (this.pos >= this.end) break;
      if (start === this.pos) return -1;
      out.s += this.data.slice(start, this.pos);
      const ret = this.skipLwsp();
      if (ret <= 0) return ret;
      if (this.cur() !== 0x2e) return 1;
      this.pos++;
      out.s += '.';
      if (this.skipLwsp() <= 0) return -1;
      start = this.pos;
    }
    out.s += this.data.slice(start, this.pos);
    return 0;
  }

  /** A MIME token (RFC 2045 §5.1), possibly empty; dots allowed. */
  mimeToken(out: { s: string }): number {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (isTokenChar(c) || c === 0x2e) this.pos++;
      else {
        out.s += this.data.slice(start, this.pos);
        return this.skipLwsp();
      }
    }
    out.s += this.data.slice(start, this.pos);
    return 0;
  }

  quotedString(out: { s: string }): number {
    return this.delimited('quoted', out);
  }

  private atomOrDot(out: { s: string }): number {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.data.charCodeAt(this.pos);
      if (isAtext(c) || c === 0x2e) this.pos++;
      else {
        out.s += this.data.slice(start, this.pos);
        return this.skipLwsp();
      }
    }
    out.s += this.data.slice(start, this.pos);
    return 0;
  }

  /** phrase = 1*word / obs-phrase; words joined with one space. */
  phrase(out: { s: string }): number {
    if (this.pos >= this.end) return 0;
    if (this.cur() === 0x2e) return -1;
    for (;;) {
      const ret = this.cur() === 0x22 ? this.quotedString(out) : this.atomOrDot(out);
      if (ret <= 0) return ret;
      const c = this.cur();
      if (!isAtext(c) && c !== 0x22 && c !== 0x2e) break;
      out.s += ' ';
    }
    return this.skipLwsp();
  }

  private domainLiteral(out: { s: string }): number {
    return this.delimited('literal', out);
  }

  /** "@" domain; the caller stands on the "@". */
  domain(out: { s: string }): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.cur() === 0x5b ? this.domainLiteral(out) : this.dotAtom(out);
  }

  /** type "/" subtype appended to out.s; -1 when broken (what was read may stay, as in Dovecot). */
  contentType(out: { s: string }): number {
    const before = out.s;
    if (this.skipLwsp() <= 0) return -1;
    if (this.mimeToken(out) <= 0 || out.s.length === before.length) return -1;
    if (this.cur() !== 0x2f) {
      out.s = before;
      return -1;
    }
    this.pos++;
    if (this.skipLwsp() <= 0) {
      out.s = before;
      return -1;
    }
    out.s += '/';
    const at = out.s.length;
    const ret = this.mimeToken(out);
    if (ret < 0 || out.s.length === at || (this.pos !== this.end && this.cur() !== 0x3b)) {
      out.s = before;
      return -1;
    }
    return ret;
  }

  /** One ";" attribute "=" value; 0 at end, -1 broken, 1 got one. */
  contentParam(): { ret: number; key: string | null; value: string } {
    if (this.pos >= this.end) return { ret: 0, key: null, value: '' };
    if (this.cur() !== 0x3b) return { ret: -1, key: null, value: '' };
    this.pos++;
    if (this.skipLwsp() <= 0) return { ret: -1, key: null, value: '' };
    const key = { s: '' };
    if (this.mimeToken(key) <= 0) return { ret: -1, key: null, value: '' };
    if (this.cur() !== 0x3d) return { ret: -1, key: null, value: '' };
    this.pos++;
    const value = { s: '' };
    let ret = this.skipLwsp();
    if (ret <= 0) {
      // broken or no value
    } else if (this.cur() === 0x22) {
      ret = this.quotedString(value);
    } else if (this.cur() === 0x3d) {
      // broken input such as name==?utf-8?b?...?=
      while (this.pos < this.end) {
        const c = this.data.charCodeAt(this.pos);
        if (c === 0x3b || c === 32 || c === 9 || c === 13 || c === 10) break;
        value.s += this.data[this.pos];
        this.pos++;
      }
    } else {
      ret = this.mimeToken(value);
    }
    return { ret: ret < 0 ? -1 : 1, key: key.s, value: value.s };
  }
}

function escapePercent(s: string): string {
  return s.replace(/%/g, '%25');
}

/**
 * The parameters after a Content-Type or Content-Disposition value, RFC 2231
 * continuations (name*0, name*1*) merged in index order; `broken` when some
 * parameter could not be read (reading continues past it).
 */
export function parseParams(p: Rfc822Parser): { params: [string, string][]; broken: boolean } {
  const result: [string, string][] = [];
  const ext: { key: string; value: string; idx: number; extended: boolean }[] = [];
  let broken = false;
  const savedNul = p.nulReplacement;
  p.nulReplacement = NUL_REPLACEMENT;
  for (;;) {
    const r = p.contentParam();
    if (r.ret === 0) break;
    if (r.ret < 0) {
      broken = true;
      if (p.pos >= p.end) break;
      p.pos++;
      continue;
    }
    const key = r.key!;
    const star = key.indexOf('*');
    let plain = true;
    if (star >= 0) {
      let i = star;
      let idx = 0;
      if (i + 1 < key.length) {
        i++;
        while (i < key.length && key[i]! >= '0' && key[i]! <= '9') {
          idx = (idx * 10 + key.charCodeAt(i) - 48) >>> 0;
          i++;
        }
      }
      let extended = false;
      if (key[i] === '*') {
        extended = true;
        i++;
      }
      if (i >= key.length) {
        plain = false;
        ext.push({ key: key.slice(0, star), value: r.value, idx, extended });
      }
    }
    if (plain) result.push([key, r.value]);
  }
  p.nulReplacement = savedNul;
  if (ext.length > 0) {
    ext.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.idx - b.idx));
    for (let i = 0; i < ext.length; ) {
      let j = i;
      let ok = true;
      let haveExtended = false;
      let nextIdx = 0;
      for (; j < ext.length; j++) {
        if (ext[i]!.key.toLowerCase() !== ext[j]!.key.toLowerCase()) break;
        if (ext[j]!.idx !== nextIdx) ok = false;
        if (ext[j]!.extended) haveExtended = true;
        nextIdx++;
      }
      if (!ok) {
        for (let k = i; k < j; k++) {
          const e = ext[k]!;
          result.push([`${e.key}*${e.idx}${e.extended ? '*' : ''}`, e.value]);
        }
      } else {
        let v = !ext[i]!.extended && haveExtended ? "''" : '';
        for (let k = i; k < j; k++) {
          const e = ext[k]!;
          v += !e.extended && haveExtended ? escapePercent(e.value) : e.value;
        }
        result.push([haveExtended ? `${ext[i]!.key}*` : ext[i]!.key, v]);
      }
      i = j;
    }
  }
  return { params: result, broken };
}
