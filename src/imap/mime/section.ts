/**
 * imap/mime/section.ts: BODY[section]<partial> (RFC 3501 §6.4.5) and
 * BINARY[section] / BINARY.SIZE (RFC 3516) content, as Dovecot's
 * imap-msgpart serves it: bytes with CRLF line ends, NUL sent as 0x80
 * (except in decoded BINARY data), a section that does not exist is empty.
 */
import { type Cte, classifyCte, decodeBase64, decodeQp, toCrlf } from './decode.js';
import { type MimePart, fieldValue } from './parser.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  /** Part numbers, [] for the whole message. */
  part: number[];
  text?: SectionText;
  /** Field names for HEADER.FIELDS[.NOT]. */
  fields?: string[];
  /** <offset.length> of RFC 3501 §6.4.5; length undefined = to the end. */
  partial?: { offset: number; length?: number };
}

/**
 * The part a section number names: numbers index a multipart's children,
 * 1 names a single part itself, and numbers after a message/rfc822 part go
 * into its encapsulated message. Null when there is no such part.
 */
export function findPart(root: MimePart, path: readonly number[]): MimePart | null {
  let part: MimePart | null = root;
  for (let i = 0; i < path.length && part !== null; i++) {
    const num = path[i]!;
    const more = i + 1 < path.length;
    if (part.multipart) part = num >= 1 ? (part.children[num - 1] ?? null) : null;
    else if (num !== 1 || (more && !part.rfc822)) part = null;
    if (part?.rfc822 && more) part = part.children[0] ?? null;
  }
  return part;
}

function nulTo80(b: Buffer): Buffer {
  if (b.indexOf(0) < 0) return b;
  const c = Buffer.from(b);
  for (let i = c.indexOf(0); i >= 0; i = c.indexOf(0, i + 1)) c[i] = 0x80;
  return c;
}

function applyPartial(b: Buffer, partial: SectionSpec['partial']): Buffer {
  if (!partial) return b;
  if (partial.offset >= b.length) return Buffer.alloc(0);
  const end = partial.length === undefined ? b.length : Math.min(b.length, partial.offset + partial.length);
  return b.subarray(partial.offset, end);
}

/** The header block of `part`, or only the fields named (or all but those named). */
export function headerBytes(raw: Buffer, part: MimePart, fields?: readonly string[], not = false): Buffer {
  if (fields === undefined) return raw.subarray(part.start, part.bodyStart);
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const chunks: Buffer[] = [];
  for (const f of part.headers) {
    if (wanted.has(f.lower) !== not) {
      chunks.push(raw.subarray(f.start, f.end));
      if (raw[f.end - 1] !== 10) chunks.push(Buffer.from('\n'));
    }
  }
  chunks.push(Buffer.from('\n'));
  return Buffer.concat(chunks);
}

/** BODY[section] content: CRLF line ends, NULs as 0x80, the partial range applied. */
export function fetchSection(raw: Buffer, root: MimePart, spec: SectionSpec): Buffer {
  let part: MimePart | null = spec.part.length === 0 ? root : findPart(root, spec.part);
  let data: Buffer;
  const text = spec.text;
  if (part === null) data = Buffer.alloc(0);
  else if (spec.part.length === 0 && text === undefined) data = raw.subarray(root.start, root.end);
  else if (text === undefined) data = raw.subarray(part.bodyStart, part.end);
  else if (text === 'MIME') data = spec.part.length === 0 ? Buffer.alloc(0) : raw.subarray(part.start, part.bodyStart);
  else {
    if (spec.part.length > 0) part = part.rfc822 ? (part.children[0] ?? null) : null;
    if (part === null) data = Buffer.alloc(0);
    else if (text === 'TEXT') data = raw.subarray(part.bodyStart, part.end);
    else if (text === 'HEADER') data = headerBytes(raw, part);
    else data = headerBytes(raw, part, spec.fields ?? [], text === 'HEADER.FIELDS.NOT');
  }
  return applyPartial(nulTo80(toCrlf(data)), spec.partial);
}

/** A BINARY fetch failure with Dovecot's tagged NO text. */
export class BinaryError extends Error {
  constructor(
    readonly code: 'UNKNOWN-CTE' | 'PARSE',
    text: string,
  ) {
    super(text);
  }
  /** The tagged response text after the tag: `NO [CODE] text`. */
  get response(): string {
    return `NO [${this.code}] ${this.message}`;
  }
}

/** The transfer encoding Dovecot uses for BINARY: the last Content-Transfer-Encoding field of the part. */
function partCte(raw: Buffer, part: MimePart): Cte {
  let cte: Cte = '78bit';
  for (const f of part.headers) if (f.lower === 'content-transfer-encoding') cte = classifyCte(fieldValue(raw, f));
  return cte;
}

const CTE_BINARY = Buffer.from('Content-Transfer-Encoding: binary\r\n');

interface BinaryState {
  copyFrom: number;
  /** Some part's transfer encoding was undone (Dovecot then sends a literal8). */
  converted: boolean;
}

function addBinaryPart(raw: Buffer, part: MimePart, includeHeader: boolean, out: Buffer[], state: BinaryState): void {
  const cte = partCte(raw, part);
  if (cte === 'unknown') throw new BinaryError('UNKNOWN-CTE', 'Unknown Content-Transfer-Encoding.');
  const converted = cte === 'qp' || cte === 'base64';
  if (includeHeader && converted) {
    out.push(toCrlf(raw.subarray(state.copyFrom, part.start)));
    const kept = headerBytes(raw, part, ['content-transfer-encoding'], true);
    // the replacement field goes just before the blank line ending the header
    out.push(toCrlf(kept.subarray(0, kept.length - 1)), CTE_BINARY, Buffer.from('\r\n'));
  } else if (includeHeader) {
    out.push(toCrlf(raw.subarray(state.copyFrom, part.bodyStart)));
  }
  state.copyFrom = part.bodyStart;
  if (part.children.length > 0) {
    for (const child of part.children) addBinaryPart(raw, child, true, out, state);
    out.push(toCrlf(raw.subarray(state.copyFrom, part.end)));
    state.copyFrom = part.end;
    return;
  }
  state.copyFrom = part.end;
  if (part.end === part.bodyStart) return;
  const body = raw.subarray(part.bodyStart, part.end);
  if (cte === 'base64' || cte === 'qp') {
    const r = cte === 'base64' ? decodeBase64(body) : decodeQp(body);
    state.converted = true;
    if (r.error) throw new BinaryError('PARSE', 'Invalid data in MIME part');
    // (Dovecot's text has no final dot; its timing suffix ends the line with one)
    out.push(r.data);
  } else out.push(toCrlf(body));
}

export interface BinaryContent {
  data: Buffer;
  /** Send as literal8 (~{n}): some transfer encoding was undone, or the data holds NUL. */
  literal8: boolean;
}

/**
 * BINARY[section] content (RFC 3516 §4.2): the part's body with its transfer
 * encoding undone; for [] the whole message, every part decoded and its
 * Content-Transfer-Encoding field changed to binary. HEADER/MIME sections
 * are served as in BODY[]. Throws BinaryError for an unknown encoding or
 * undecodable data.
 */
export function fetchBinaryContent(raw: Buffer, root: MimePart, spec: SectionSpec): BinaryContent {
  if (spec.text !== undefined && spec.text !== 'TEXT') return { data: fetchSection(raw, root, spec), literal8: false };
  let part: MimePart | null = spec.part.length === 0 ? root : findPart(root, spec.part);
  if (part !== null && spec.text === 'TEXT' && spec.part.length > 0) part = part.rfc822 ? (part.children[0] ?? null) : null;
  if (part === null) return { data: Buffer.alloc(0), literal8: false };
  const out: Buffer[] = [];
  const includeHeader = spec.part.length === 0 && spec.text === undefined;
  const state: BinaryState = { copyFrom: part.start, converted: false };
  addBinaryPart(raw, part, includeHeader, out, state);
  const data = applyPartial(Buffer.concat(out), spec.partial);
  return { data, literal8: state.converted || data.includes(0) };
}

/** fetchBinaryContent's data only. */
export function fetchBinary(raw: Buffer, root: MimePart, spec: SectionSpec): Buffer {
  return fetchBinaryContent(raw, root, spec).data;
}

/**
 * BINARY.SIZE[section]: the length of the decoded content. Dovecot sizes
 * the whole message's decoded parts at once, so an unknown transfer
 * encoding or undecodable data in any part makes every BINARY.SIZE fail
 * (BinaryError: UNKNOWN-CTE before PARSE).
 */
export function binarySize(raw: Buffer, root: MimePart, part: number[]): number {
  if (part.length > 0 && findPart(root, part) === null) return 0;
  checkAllCtes(raw, root);
  const whole = fetchBinaryContent(raw, root, { part: [] });
  return part.length === 0 ? whole.data.length : fetchBinaryContent(raw, root, { part }).data.length;
}

function checkAllCtes(raw: Buffer, part: MimePart): void {
  if (partCte(raw, part) === 'unknown') throw new BinaryError('UNKNOWN-CTE', 'Unknown Content-Transfer-Encoding.');
  for (const c of part.children) checkAllCtes(raw, c);
}
