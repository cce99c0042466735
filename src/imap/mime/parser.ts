/**
 * imap/mime/parser.ts: one linear pass over a message builds its MIME tree
 * (RFC 2045, RFC 2046 §5.1 multipart, §5.2.1 message/rfc822) with the
 * tolerance rules of Dovecot 2.3's lib-mail message-parser:
 *
 * - a part is MIME when it has MIME-Version or Content-Type, or lives inside
 *   a multipart; otherwise its Content-* headers are ignored (text/plain);
 * - a boundary line only has to start with "--" + boundary; the newest
 *   boundary of the enclosing multiparts wins, the longest on a tie; the
 *   [CR]LF before a boundary line belongs to the boundary, not the part;
 * - a boundary line met inside a part's header ends that header;
 * - a part without Content-Type inside multipart/digest is message/rfc822;
 * - at most 100 nested parts and 10000 parts in all; past that a multipart
 *   or message/rfc822 part is left unparsed (BODYSTRUCTURE then calls it
 *   application/octet-stream); boundaries are cut to 80 characters.
 *
 * Offsets point into the raw bytes as stored (LF or CRLF line ends). Sizes
 * that IMAP reports (RFC822.SIZE, BODYSTRUCTURE octets) are "virtual":
 * counted as if every bare LF were CRLF.
 */
import { NUL_REPLACEMENT, Rfc822Parser, parseParams } from './rfc822.js';

export const MAX_NESTED_PARTS = 100;
export const MAX_TOTAL_PARTS = 10_000;
const BOUNDARY_MAX_LEN = 80;
const BOUNDARY_END_MAX_LEN = BOUNDARY_MAX_LEN + 4;
const HEADER_NAME_MAX_LEN = 1000;
/** Header fields kept per part; later ones still count for sizes but are not indexed. */
export const MAX_HEADER_FIELDS = 10_000;

export interface HeaderField {
  /** Name as written, '' for a line without a colon (or a name over 1000 bytes). */
  name: string;
  lower: string;
  /** Offset of the field's first byte. */
  start: number;
  /** Offset of the value (after the colon and leading blanks). */
  valueStart: number;
  /** Offset after the field's last line, its newline included. */
  end: number;
}

export interface Sizes {
  /** Bytes as stored. */
  physical: number;
  /** Bytes with every bare LF counted as CRLF. */
  virtual: number;
  /** Number of LFs. */
  lines: number;
}

export interface MimePart {
  parent: MimePart | null;
  /** Header block is [start, bodyStart), body is [bodyStart, end). */
  start: number;
  bodyStart: number;
  end: number;
  headers: HeaderField[];
  isMime: boolean;
  multipart: boolean;
  digest: boolean;
  rfc822: boolean;
  text: boolean;
  /** A multipart or message/rfc822 part left unparsed because of the part limits. */
  overflow: boolean;
  /** Parsed Content-* data (all null unless the part is MIME). Byte strings. */
  contentType: string | null;
  contentSubtype: string | null;
  params: [string, string][];
  encoding: string | null;
  id: string | null;
  description: string | null;
  md5: string | null;
  disposition: string | null;
  dispositionParams: [string, string][] | null;
  language: string[] | null;
  location: string | null;
  /** Child parts of a multipart, or the one encapsulated message of message/rfc822. */
  children: MimePart[];
  /** Values computed on first use (sizes, envelope); not part of the parse result. */
  cache: { header?: Sizes; body?: Sizes; envelope?: unknown };
}

interface Boundary {
  text: string;
  part: MimePart;
}

interface Hit {
  boundary: Boundary;
  /** Offset of the "--" of the boundary line. */
  lineStart: number;
  /** Where the part that the boundary ends stops (before the [CR]LF). */
  partEnd: number;
  epilogue: boolean;
}

/** The body of a header field as Dovecot's full_value: leading blanks skipped, CRs before LF dropped, lines joined by LF. */
export function fieldValue(raw: Buffer, f: HeaderField): string {
  let s = raw.toString('latin1', f.valueStart, f.end);
  if (s.endsWith('\n')) s = s.slice(0, s.endsWith('\r\n') ? -2 : -1);
  return s.indexOf('\r\n') >= 0 ? s.replace(/\r\n/g, '\n') : s;
}

function newPart(parent: MimePart | null, start: number): MimePart {
  return {
    parent,
    start,
    bodyStart: start,
    end: start,
    headers: [],
    isMime: false,
    multipart: false,
    digest: false,
    rfc822: false,
    text: false,
    overflow: false,
    contentType: null,
    contentSubtype: null,
    params: [],
    encoding: null,
    id: null,
    description: null,
    md5: null,
    disposition: null,
    dispositionParams: null,
    language: null,
    location: null,
    children: [],
    cache: {},
  };
}

const DASH_LINE = Buffer.from('\n--', 'latin1');

class Parser {
  private boundaries: Boundary[] = [];
  private totalParts = 1;

  constructor(private readonly raw: Buffer) {}

  parse(): MimePart {
    const root = newPart(null, 0);
    this.parsePart(root, 0);
    return root;
  }

  /** Is the line at `at` a boundary line of an enclosing multipart? */
  private boundaryAt(at: number, regionStart: number, own: MimePart | null): Hit | null {
    const raw = this.raw;
    const size = raw.length - at;
    if (size < 2 || raw[at] !== 0x2d || raw[at + 1] !== 0x2d || this.boundaries.length === 0) return null;
    if (this.totalParts >= MAX_TOTAL_PARTS) return null;
    const data = at + 2;
    const lf = raw.indexOf(10, data);
    let findSize: number;
    let trailingDashes = false;
    if (lf >= 0) {
      findSize = lf - data;
      if (findSize > 0 && raw[data + findSize - 1] === 13) findSize--;
      if (findSize > 2 && raw[data + findSize - 1] === 0x2d && raw[data + findSize - 2] === 0x2d) trailingDashes = true;
    } else findSize = Math.min(raw.length - data, BOUNDARY_END_MAX_LEN);
    let best: Boundary | null = null;
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const b = this.boundaries[i]!;
      const len = b.text.length;
      if (len > findSize || (best !== null && best.text.length >= len)) continue;
      if (raw.toString('latin1', data, data + len) !== b.text) continue;
      best = b;
      if (len === findSize || (len === findSize - 2 && trailingDashes)) break;
    }
    if (best === null || best.part === own) return null;
    const len = best.text.length;
    const epilogue = raw.length - data >= len + 2 && raw[data + len] === 0x2d && raw[data + len + 1] === 0x2d;
    let partEnd = at;
    if (at > regionStart) {
      partEnd = at - 1;
      if (partEnd > regionStart && raw[partEnd - 1] === 13) partEnd--;
    }
    return { boundary: best, lineStart: at, partEnd, epilogue };
  }

  /** Scan body lines from `from` for the next boundary line; null at end of data. */
  private scanToBoundary(from: number): Hit | null {
    if (this.boundaries.length === 0) return null;
    const raw = this.raw;
    const first = this.boundaryAt(from, from, null);
    if (first) return first;
    let pos = from;
    for (;;) {
      const nl = raw.indexOf(DASH_LINE, pos);
      if (nl < 0) return null;
      const hit = this.boundaryAt(nl + 1, from, null);
      if (hit) return hit;
      pos = nl + 1;
    }
  }

  /** Parse a part starting at `start`; returns the boundary hit that ended it, or null at end of data. */
  private parsePart(part: MimePart, depth: number): Hit | null {
    const hit = this.parseHeader(part);
    if (hit) {
      part.bodyStart = part.end = hit.partEnd;
      this.finishHeader(part, depth, false);
      return hit;
    }
    const pushed = this.finishHeader(part, depth, true);
    return this.parseBody(part, depth, pushed);
  }

  private parseHeader(part: MimePart): Hit | null {
    const raw = this.raw;
    const n = raw.length;
    let pos = part.start;
    let last: HeaderField | null = null;
    let seenContentType = false;
    while (pos < n) {
      const c = raw[pos]!;
      if (c === 10 || (c === 13 && raw[pos + 1] === 10)) {
        // blank line: end of header
        part.bodyStart = pos + (c === 10 ? 1 : 2);
        return null;
      }
      if (c === 0x2d) {
        const hit = this.boundaryAt(pos, part.start, part);
        if (hit) return hit;
      }
      const lf = raw.indexOf(10, pos);
      const lineEnd = lf < 0 ? n : lf + 1;
      if ((c === 32 || c === 9) && last !== null) {
        last.end = lineEnd;
      } else {
        let colon = -1;
        const stop = lf < 0 ? n : lf;
        for (let i = pos; i < stop; i++) {
          if (raw[i] === 0x3a) {
            colon = i;
            break;
          }
        }
        let name = '';
        let valueStart = pos;
        if (colon >= 0) {
          let nameEnd = colon;
          while (nameEnd > pos && (raw[nameEnd - 1] === 32 || raw[nameEnd - 1] === 9)) nameEnd--;
          if (nameEnd - pos <= HEADER_NAME_MAX_LEN) {
            name = raw.toString('latin1', pos, nameEnd);
            valueStart = colon + 1;
            let lineValueEnd = stop;
            if (lineValueEnd > valueStart && raw[lineValueEnd - 1] === 13 && lf >= 0) lineValueEnd--;
            let v = valueStart;
            while (v < lineValueEnd && (raw[v] === 32 || raw[v] === 9)) v++;
            if (v === lineValueEnd && lineValueEnd > valueStart) v = valueStart + 1;
            valueStart = v;
          }
        }
        const field: HeaderField = { name, lower: name.toLowerCase(), start: pos, valueStart, end: lineEnd };
        if (part.headers.length < MAX_HEADER_FIELDS) part.headers.push(field);
        last = field;
        if (field.lower === 'mime-version') part.isMime = true;
        else if (field.lower === 'content-type') {
          part.isMime = true;
          if (!seenContentType) {
            seenContentType = true;
            (part as PartScratch).ctField = field;
          }
        }
      }
      pos = lineEnd;
    }
    part.bodyStart = n;
    return null;
  }

  /** Decide the part's kind at the end of its header; returns whether a boundary was pushed. */
  private finishHeader(part: MimePart, depth: number, atBlankLine: boolean): boolean {
    const scratch = part as PartScratch;
    const ctField = scratch.ctField;
    delete scratch.ctField;
    let boundary: string | null = null;
    if (ctField) {
      const p = new Rfc822Parser(fieldValue(this.raw, ctField));
      p.skipLwsp();
      const out = { s: '' };
      const ret = p.contentType(out);
      const ct = out.s.toLowerCase();
      if (ct === 'message/rfc822') part.rfc822 = true;
      else if (ct.startsWith('text') && (ct.length === 4 || ct[4] === '/')) part.text = true;
      else if (ct.startsWith('multipart/')) {
        part.multipart = true;
        if (ct.slice(10) === 'digest') part.digest = true;
      }
      if (ret >= 0 && part.multipart) {
        for (const [k, v] of parseParams(p).params) {
          if (k.toLowerCase() === 'boundary') {
            boundary = v.slice(0, BOUNDARY_MAX_LEN);
            break;
          }
        }
      }
    }
    let pushed = false;
    if (atBlankLine && boundary !== null && part.isMime) {
      if (depth + 1 < MAX_NESTED_PARTS) {
        this.boundaries.push({ text: boundary, part });
        pushed = true;
      } else {
        part.overflow = true;
        part.multipart = false;
      }
    }
    if (!part.isMime) {
      part.rfc822 = part.text = part.multipart = part.digest = part.overflow = false;
    }
    if (!ctField || !part.isMime) {
      if (part.parent?.digest) part.rfc822 = true;
      else part.text = true;
    }
    this.parseContentHeaders(part);
    return pushed;
  }

  private parseBody(part: MimePart, depth: number, pushed: boolean): Hit | null {
    const raw = this.raw;
    if (pushed) {
      let hit = this.scanToBoundary(part.bodyStart);
      for (;;) {
        if (hit === null) {
          part.end = raw.length;
          this.popBoundaryOf(part);
          return null;
        }
        if (hit.boundary.part !== part) {
          part.end = hit.partEnd;
          this.popBoundaryOf(part);
          return hit;
        }
        // our own boundary: drop newer boundaries, and ours too after the closing one
        const idx = this.boundaries.indexOf(hit.boundary);
        this.boundaries.length = hit.epilogue ? idx : idx + 1;
        const lf = raw.indexOf(10, hit.lineStart);
        const next = lf < 0 ? raw.length : lf + 1;
        if (hit.epilogue) {
          hit = this.scanToBoundary(next);
          continue;
        }
        if (next >= raw.length && lf < 0) {
          // boundary line at end of data without a newline: no part follows
          hit = null;
          continue;
        }
        const child = newPart(part, next);
        child.isMime = true;
        part.children.push(child);
        this.totalParts++;
        hit = this.parsePart(child, depth + 1);
      }
    }
    if (part.rfc822) {
      if (depth + 1 < MAX_NESTED_PARTS && this.totalParts < MAX_TOTAL_PARTS) {
        const child = newPart(part, part.bodyStart);
        part.children.push(child);
        this.totalParts++;
        const hit = this.parsePart(child, depth + 1);
        part.end = child.end;
        return hit;
      }
      part.overflow = true;
      part.rfc822 = false;
    }
    const hit = this.scanToBoundary(part.bodyStart);
    part.end = hit ? hit.partEnd : raw.length;
    return hit;
  }

  private popBoundaryOf(part: MimePart): void {
    const idx = this.boundaries.findIndex((b) => b.part === part);
    if (idx >= 0) this.boundaries.length = idx;
  }

  /** Content-* fields (RFC 2045 §§5-8, RFC 2183, RFC 3066, RFC 2557, RFC 1864), first of each kind. */
  private parseContentHeaders(part: MimePart): void {
    if (!part.isMime) return;
    for (const f of part.headers) {
      if (!f.lower.startsWith('content-')) continue;
      const kind = f.lower.slice(8);
      switch (kind) {
        case 'id':
          if (part.id === null) part.id = headerString(fieldValue(this.raw, f));
          break;
        case 'md5':
          if (part.md5 === null) part.md5 = headerString(fieldValue(this.raw, f));
          break;
        case 'description':
          if (part.description === null) part.description = headerString(fieldValue(this.raw, f));
          break;
        case 'location':
          if (part.location === null) part.location = headerString(fieldValue(this.raw, f));
          break;
        case 'type':
          if (part.contentType === null) parseContentType(part, fieldValue(this.raw, f));
          break;
        case 'transfer-encoding':
          if (part.encoding === null) {
            const p = new Rfc822Parser(fieldValue(this.raw, f));
            p.skipLwsp();
            const out = { s: '' };
            if (p.mimeToken(out) >= 0 && p.skipLwsp() === 0 && out.s.length > 0) part.encoding = out.s;
          }
          break;
        case 'disposition':
          // Dovecot re-reads a later Content-Disposition while no parameters were found
          if (part.dispositionParams === null) {
            const p = new Rfc822Parser(fieldValue(this.raw, f));
            p.skipLwsp();
            const out = { s: '' };
            if (p.mimeToken(out) < 0) break;
            part.disposition = out.s;
            const params = parseParams(p).params;
            if (params.length > 0) part.dispositionParams = params;
          }
          break;
        case 'language':
          if (part.language === null) {
            const p = new Rfc822Parser(fieldValue(this.raw, f));
            const langs: string[] = [];
            p.skipLwsp();
            for (;;) {
              const out = { s: '' };
              if (p.atom(out) < 0) break;
              langs.push(out.s);
              if (p.atEnd || p.cur() !== 0x2c) break;
              p.pos++;
              p.skipLwsp();
            }
            if (langs.length > 0) part.language = langs;
          }
          break;
      }
    }
  }
}

interface PartScratch extends MimePart {
  ctField?: HeaderField;
}

/** A header value kept as a string: NULs become U+FFFD (UTF-8 bytes). */
export function headerString(v: string): string {
  return v.indexOf('\0') < 0 ? v : v.replace(/\0/g, NUL_REPLACEMENT);
}

function parseContentType(part: MimePart, value: string): void {
  const p = new Rfc822Parser(value);
  p.skipLwsp();
  const out = { s: '' };
  const ret = p.contentType(out);
  const slash = out.s.indexOf('/');
  if (slash >= 0) {
    part.contentType = out.s.slice(0, slash);
    part.contentSubtype = out.s.slice(slash + 1);
  } else {
    part.contentType = out.s;
    part.contentSubtype = '';
  }
  if (ret < 0) return;
  part.params = parseParams(p).params;
}

/** Parse a message into its MIME tree. Linear in the message size. */
export function parseMessage(raw: Buffer): MimePart {
  return new Parser(raw).parse();
}

/** Physical, virtual (CRLF) size and line count of raw[start, end). */
export function rangeSizes(raw: Buffer, start: number, end: number): Sizes {
  let lines = 0;
  let bare = 0;
  let pos = raw.indexOf(10, start);
  while (pos >= 0 && pos < end) {
    lines++;
    if (pos === start || raw[pos - 1] !== 13) bare++;
    pos = raw.indexOf(10, pos + 1);
  }
  return { physical: end - start, virtual: end - start + bare, lines };
}

export function headerSizes(raw: Buffer, part: MimePart): Sizes {
  if (part.cache.header === undefined) part.cache.header = rangeSizes(raw, part.start, part.bodyStart);
  return part.cache.header;
}
export function bodySizes(raw: Buffer, part: MimePart): Sizes {
  if (part.cache.body === undefined) part.cache.body = rangeSizes(raw, part.bodyStart, part.end);
  return part.cache.body;
}

/** Header fields of a part whose lowercase name is `lower`, in order. */
export function fieldsNamed(part: MimePart, lower: string): HeaderField[] {
  return part.headers.filter((f) => f.lower === lower);
}
