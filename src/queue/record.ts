/**
 * queue/record.ts: Postfix's queue-file record format, byte for byte
 * (src/global/rec_type.h, record.c, rec_attr_map.c). Postern writes and
 * reads exactly these bytes, so a queue directory moves between Postfix and
 * Postern in both directions and the real postcat(1) reads Postern's files.
 *
 * THE FORMAT
 *
 * A queue file (and the maildrop file postdrop writes, and the stream a mail
 * source sends to cleanup) is a sequence of records:
 *
 *   +------+-----------------------+------------------+
 *   | type | length (1..n bytes)   | data (length B)  |
 *   +------+-----------------------+------------------+
 *
 * - type: one byte, an ASCII letter (table below).
 * - length: the data length in base 128, least significant group first;
 *   every byte but the last has bit 0x80 set (0 -> 00, 127 -> 7f,
 *   128 -> 80 01, 300 -> ac 02). Readers refuse lengths of more than
 *   32 bits ("too many length bits").
 * - data: raw bytes, no terminator, no escaping; may contain any byte.
 *
 * Records come in three segments, each opened by a marker record:
 *
 *   envelope   C T A... F S A... W  [A o / A n] O R ...   (REC_TYPE_ENVELOPE)
 *   M          start of content
 *   content    N / L (and w padding) lines               (REC_TYPE_CONTENT)
 *   X          start of extracted information
 *   extracted  A F > R O ... (filters, redirect, bcc)    (REC_TYPE_EXTRACT)
 *   E          end of file -- a file without it is incomplete
 *
 * The first record of a file cleanup writes is C (REC_TYPE_SIZE), six
 * fixed-width fields "%15ld %15ld %15ld %15ld %15ld %15ld" (95 data bytes,
 * so the record is always 97 bytes) written as zeros first and rewritten in
 * place when the file is done: content size (offset of X minus offset of the
 * first content record), offset of the first content record (right after M),
 * recipient count, qmgr flags, content length, SMTPUTF8 flags. W (warning
 * time, "%15ld") is likewise fixed-width so qmgr can rewrite it. T is
 * "sec usec" arrival time; "create_time=SECONDS" is an A record. A records
 * carry "name=value" attributes; the DSN ones (dsn_orig_rcpt, notify_flags,
 * envelope_id, ret_flags, create_time) map onto pseudo record types o n i < c
 * when cleanup and qmgr read them (rec_attr_map). N is a text line without
 * its newline; L is a piece of a line longer than line_length_limit, to be
 * continued by the next record. p (pointer) records with a "%15ld" offset
 * splice edits in (milters); an offset of 0 is a placeholder.
 *
 * A file is complete (mail_stream.c, mail_open_ok.c) when it was fchmod'ed
 * to 0700 (owner rwx; maildrop files 0744) after its final write and fsync:
 * while being written a queue file is 0600 (maildrop 0644), and every
 * reader also requires the E record at the end. A writer killed mid-file
 * leaves a 0600 file without E, which nobody takes for a message.
 */

/** Diagnostic results of the reader, not record types (REC_TYPE_EOF/ERROR). */
export const REC_EOF = -1;
export const REC_ERROR = -2;

/** Record type codes (rec_type.h). Values are the ASCII codes. */
export const Rec = {
  SIZE: 0x43, // 'C' first record, created by cleanup
  TIME: 0x54, // 'T' arrival time
  CTIME: 0x63, // 'c' create time (pseudo, from A create_time=)
  FULL: 0x46, // 'F' full name
  INSP: 0x49, // 'I' inspector transport
  FILT: 0x4c, // 'L' content filter (envelope)
  FROM: 0x53, // 'S' sender
  DONE: 0x44, // 'D' delivered recipient
  RCPT: 0x52, // 'R' recipient
  ORCP: 0x4f, // 'O' original recipient
  DRCP: 0x2f, // '/' canceled recipient
  WARN: 0x57, // 'W' warning message time
  ATTR: 0x41, // 'A' named attribute
  KILL: 0x4b, // 'K' killed record
  RDR: 0x3e, // '>' redirect target
  FLGS: 0x66, // 'f' cleanup processing flags (not stored)
  DELAY: 0x64, // 'd' cleanup delay (not stored)
  MESG: 0x4d, // 'M' start of content
  CONT: 0x4c, // 'L' unterminated text (content)
  NORM: 0x4e, // 'N' text line
  DTXT: 0x77, // 'w' padding
  XTRA: 0x58, // 'X' start of extracted records
  RRTO: 0x72, // 'r' return-receipt
  ERTO: 0x65, // 'e' errors-to
  PRIO: 0x50, // 'P' priority
  PTR: 0x70, // 'p' pointer
  VERP: 0x56, // 'V' VERP delimiters
  DSN_RET: 0x3c, // '<'
  DSN_ENVID: 0x69, // 'i'
  DSN_ORCPT: 0x6f, // 'o'
  DSN_NOTIFY: 0x6e, // 'n'
  MILT_COUNT: 0x6d, // 'm' (not stored)
  END: 0x45, // 'E' terminator
} as const;

/** Record types allowed per segment; the first one ends the segment. */
export const REC_TYPE_ENVELOPE = 'MCTcFILSDRO/WVA>K<ion';
export const REC_TYPE_CONTENT = 'XLNw';
export const REC_TYPE_EXTRACT = 'EDRO/PreAFIL>Kon';
/** What postdrop accepts from sendmail, per segment. */
export const REC_TYPE_POST_ENVELOPE = 'MFSRVAin';
export const REC_TYPE_POST_CONTENT = 'XLN';
export const REC_TYPE_POST_EXTRACT = 'EAR';
/** A "pure recipient" run at the end of the envelope / extracted segment. */
export const REC_TYPE_ENV_RECIPIENT = 'MDRO/Kon';
export const REC_TYPE_EXT_RECIPIENT = 'EDRO/Kon';

export function inSet(set: string, type: number): boolean {
  return type >= 0 && type < 256 && set.includes(String.fromCharCode(type));
}

/** rec_type_name(): the names postcat prints. */
const NAMES: ReadonlyArray<[number, string]> = [
  [REC_EOF, 'end-of-file'],
  [REC_ERROR, 'error'],
  [Rec.SIZE, 'message_size'],
  [Rec.TIME, 'message_arrival_time'],
  [Rec.CTIME, 'queue_file_create_time'],
  [Rec.FULL, 'sender_fullname'],
  [Rec.INSP, 'content_inspector'],
  [Rec.FILT, 'content_filter'],
  [Rec.FROM, 'sender'],
  [Rec.DONE, 'done_recipient'],
  [Rec.DRCP, 'canceled_recipient'],
  [Rec.RCPT, 'recipient'],
  [Rec.ORCP, 'original_recipient'],
  [Rec.WARN, 'warning_message_time'],
  [Rec.ATTR, 'named_attribute'],
  [Rec.PTR, 'pointer_record'],
  [Rec.KILL, 'killed_record'],
  [Rec.MESG, 'message_content'],
  [Rec.CONT, 'unterminated_text'],
  [Rec.NORM, 'regular_text'],
  [Rec.DTXT, 'padding'],
  [Rec.XTRA, 'extracted_info'],
  [Rec.RRTO, 'return_receipt'],
  [Rec.ERTO, 'errors_to'],
  [Rec.PRIO, 'priority'],
  [Rec.VERP, 'verp_delimiters'],
  [Rec.END, 'message_end'],
  [Rec.RDR, 'redirect_to'],
  [Rec.FLGS, 'flags'],
  [Rec.DSN_RET, 'dsn_return_flags'],
  [Rec.DSN_ENVID, 'dsn_envelope_id'],
  [Rec.DSN_ORCPT, 'dsn_original_recipient'],
  [Rec.DSN_NOTIFY, 'dsn_notify_flags'],
];

export function recTypeName(type: number): string {
  // First match wins, as in the C table ('L' is content_filter there).
  for (const [t, n] of NAMES) if (t === type) return n;
  return 'unknown_record_type';
}

/** Attribute names with a pseudo record type (rec_attr_map.c). */
export function recAttrMap(name: string): number {
  switch (name) {
    case 'dsn_orig_rcpt':
      return Rec.DSN_ORCPT;
    case 'notify_flags':
      return Rec.DSN_NOTIFY;
    case 'envelope_id':
      return Rec.DSN_ENVID;
    case 'ret_flags':
      return Rec.DSN_RET;
    case 'create_time':
      return Rec.CTIME;
    default:
      return 0;
  }
}

/** REC_TYPE_SIZE_FORMAT: six right-aligned %15ld fields. */
export function formatSize(fields: readonly number[]): string {
  return fields.map((n) => String(Math.trunc(n)).padStart(15, ' ')).join(' ');
}

/** REC_TYPE_WARN_FORMAT / REC_TYPE_PTR_FORMAT: one %15ld. */
export function format15(n: number): string {
  return String(Math.trunc(n)).padStart(15, ' ');
}

/** The bytes of one record; data is a byte string (latin1) or a Buffer. */
export function encodeRecord(type: number, data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const head: number[] = [type];
  let rest = body.length;
  do {
    let b = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) b |= 0x80;
    head.push(b);
  } while (rest !== 0);
  return Buffer.concat([Buffer.from(head), body]);
}

/** Encoded size of a record with `len` data bytes. */
export function recordSize(len: number): number {
  let n = 2;
  for (let rest = Math.floor(len / 128); rest !== 0; rest = Math.floor(rest / 128)) n++;
  return n + len;
}

export interface RawRecord {
  /** Record type, or REC_EOF / REC_ERROR. */
  type: number;
  /** Data as a byte string (latin1). */
  data: string;
  /** Offset of the type byte. */
  offset: number;
  /** Offset just past the record. */
  end: number;
  /** Warning text when type is REC_ERROR (record.c's words, without the path). */
  error?: string;
}

/**
 * rec_get_raw() on an in-memory file: the record at `offset`. `maxSize` > 0
 * limits the data length (the caller's line_length_limit).
 */
export function readRecord(buf: Buffer, offset: number, maxSize = 0): RawRecord {
  if (offset >= buf.length) return { type: REC_EOF, data: '', offset, end: offset };
  const type = buf[offset]!;
  let p = offset + 1;
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift >= 32) {
      return { type: REC_ERROR, data: '', offset, end: p, error: `too many length bits, record type ${type}` };
    }
    if (p >= buf.length) {
      return {
        type: REC_ERROR,
        data: '',
        offset,
        end: p,
        error: `unexpected EOF reading length, record type ${type}`,
      };
    }
    const b = buf[p++]!;
    // C: len |= (b & 0177) << shift in a signed 32-bit int.
    len = (len | ((b & 0x7f) << shift)) | 0;
    if ((b & 0x80) === 0) break;
  }
  if (len < 0 || (maxSize > 0 && len > maxSize)) {
    return {
      type: REC_ERROR,
      data: '',
      offset,
      end: Math.min(buf.length, p + Math.max(len, 0)),
      error: `illegal length ${len}, record type ${type}`,
    };
  }
  if (p + len > buf.length) {
    return {
      type: REC_ERROR,
      data: '',
      offset,
      end: buf.length,
      error: `unexpected EOF in data, record type ${type} length ${len}`,
    };
  }
  return { type, data: buf.toString('latin1', p, p + len), offset, end: p + len };
}

/** split_nameval() for A records: "name=value" with blanks trimmed. */
export function splitAttr(data: string): [string, string] | string {
  let p = 0;
  const n = data.length;
  const sp = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  while (p < n && sp(data[p])) p++;
  if (p === n || data[p] === '=') return 'missing attribute name';
  const start = p;
  while (p < n && !sp(data[p]) && data[p] !== '=') p++;
  const name = data.slice(start, p);
  while (p < n && sp(data[p])) p++;
  if (data[p] !== '=') return "missing '=' after attribute name";
  p++;
  let a = p;
  let b = n;
  while (a < b && sp(data[a])) a++;
  while (b > a && sp(data[b - 1])) b--;
  return [name, data.slice(a, b)];
}

/** A decoded SIZE record (fields a reader may be missing are 0). */
export interface SizeRecord {
  contentSize: number;
  dataOffset: number;
  rcptCount: number;
  qmgrFlags: number;
  contentLength: number;
  smtputf8: number;
}

export function parseSize(data: string): SizeRecord | undefined {
  const f = data.trim().split(/\s+/).map((x) => Number.parseInt(x, 10));
  if (f.length < 2 || f.some((x) => Number.isNaN(x))) return undefined;
  return {
    contentSize: f[0]!,
    dataOffset: f[1]!,
    rcptCount: f[2] ?? 0,
    qmgrFlags: f[3] ?? 0,
    contentLength: f[4] ?? 0,
    smtputf8: f[5] ?? 0,
  };
}
