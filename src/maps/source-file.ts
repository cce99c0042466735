/**
 * maps/source-file.ts: the postmap(1) / postalias(1) source-file reader,
 * shared by postmap, postalias, postmap -i and texthash:.
 *
 * Logical lines follow readllines(3): comment lines (first non-blank char
 * '#') and blank lines are dropped; a line that starts with whitespace (or
 * any line following a dropped one, when it starts with whitespace)
 * continues the previous logical line, joined without the newline; a
 * logical line that would start with whitespace is reported and skipped.
 * Line numbers are those of a logical line's first physical line.
 *
 * postmap records (postmap.c, dict_thash.c): the key ends at the first
 * whitespace outside double quotes ('\' escapes the next char), quotes stay
 * in the key; the value is the rest with leading and trailing whitespace
 * removed. Everything is bytes: a NUL byte ends the line as in C.
 */
import { validUtf8 } from './casefold.js';

/** ISSPACE() in the C locale: space, \t \n \v \f \r. */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * One logical line: bytes [start, end) of buf (the source buffer, or a
 * fresh buffer when physical lines were joined), first line number.
 */
export type LineSink = (buf: Buffer, start: number, end: number, lineno: number) => void;

/**
 * readllines() over a whole file. warnWs gets the "logical line must not
 * start with whitespace" text (without the program prefix).
 */
export function scanLogicalLines(buf: Buffer, path: string, sink: LineSink, warnWs: (text: string) => void): void {
  const n = buf.length;
  let pos = 0;
  let lineno = 0;
  // Pieces of the logical line being collected.
  let first = -1;
  let firstEnd = -1;
  let firstLine = 0;
  let extra: Array<[number, number]> | undefined;
  const emit = () => {
    if (first < 0) return;
    let out: Buffer;
    let s: number;
    let e: number;
    if (extra === undefined) {
      out = buf;
      s = first;
      e = firstEnd;
    } else {
      let len = firstEnd - first;
      for (const [a, b] of extra) len += b - a;
      out = Buffer.allocUnsafe(len);
      let o = buf.copy(out, 0, first, firstEnd);
      for (const [a, b] of extra) o += buf.copy(out, o, a, b);
      s = 0;
      e = len;
    }
    const startLine = firstLine;
    first = -1;
    extra = undefined;
    if (isSpace(out[s]!)) {
      // readllines: continuing text without preceding text.
      const text = lineText(out, s, e);
      warnWs(`${path}: logical line must not start with whitespace: "${text.slice(0, 30)}${text.length > 30 ? '...' : ''}"`);
      return;
    }
    sink(out, s, e, startLine);
  };
  while (pos < n) {
    let nl = buf.indexOf(10, pos);
    const hasNl = nl >= 0;
    if (!hasNl) nl = n;
    lineno++;
    const start = pos;
    pos = hasNl ? nl + 1 : n;
    let i = start;
    while (i < nl && isSpace(buf[i]!)) i++;
    const ignored = i === nl || buf[i] === 35;
    if (!ignored) {
      const continues = isSpace(buf[start]!);
      if (first >= 0 && continues) {
        if (extra === undefined) extra = [];
        extra.push([start, nl]);
      } else {
        emit();
        first = start;
        firstEnd = nl;
        firstLine = lineno;
      }
    }
    // A line that does not start with whitespace or '#' ends the logical line.
    if (pos < n) {
      const next = buf[pos]!;
      if (next !== 35 && !isSpace(next)) emit();
    }
  }
  emit();
}

/** Where C's string ends: the first NUL in [start, end), else end. */
export function cEnd(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === 0) return i;
  return end;
}

/** The text of a line as C sees it: up to the first NUL, as a byte string. */
export function lineText(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, cEnd(buf, start, end));
}

/** The UTF-8 check postmap/postalias apply to a whole logical line. */
export function lineIsBadUtf8(buf: Buffer, start: number, end: number): boolean {
  // allascii(STR(line)) looks up to the first NUL; valid_utf8_string at all of it.
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0) return false;
    if (c >= 0x80) return !validUtf8(buf, start, end);
  }
  return false;
}

/** Outcome of splitting one logical line into key and value. */
export enum Split {
  OK = 0,
  UNBALANCED = 1,
  FORMAT = 2,
}

/** Result fields of splitKeyValue (reused to avoid allocation). */
export const split = { keyEnd: 0, valueStart: 0, valueEnd: 0, end: 0 };

/**
 * Split a logical line postmap-style. On OK, split.keyEnd/valueStart/
 * valueEnd give the parts (key starts at start). split.end is where C's
 * string ends (first NUL).
 */
export function splitKeyValue(buf: Buffer, start: number, end: number): Split {
  end = cEnd(buf, start, end);
  split.end = end;
  let i = start;
  let inQuotes = false;
  while (i < end) {
    const c = buf[i]!;
    if (c === 92) {
      i++;
      if (i >= end) break;
    } else if (c === 32 || (c >= 9 && c <= 13)) {
      if (!inQuotes) break;
    } else if (c === 34) inQuotes = !inQuotes;
    i++;
  }
  if (inQuotes) return Split.UNBALANCED;
  const keyEnd = i;
  if (i < end) i++;
  while (i < end && isSpace(buf[i]!)) i++;
  let ve = end;
  while (ve > i && isSpace(buf[ve - 1]!)) ve--;
  split.keyEnd = keyEnd;
  split.valueStart = i;
  split.valueEnd = ve;
  if (keyEnd === start || ve === i) return Split.FORMAT;
  return Split.OK;
}

/** One postmap-style record, as byte strings. */
export interface SourceRecord {
  key: string;
  value: string;
  lineno: number;
}

export interface ReadRecordsOptions {
  /** Path as the user gave it ("t", "stdin"): used in warnings. */
  path: string;
  /** util_utf8_enable and UTF-8 checks active for the table. */
  utf8Check: boolean;
  /** texthash: "expected format ... -- ignoring this line". */
  texthash?: boolean;
  /** Warning sink: (lineno, text); text has no program prefix. */
  warn: (lineno: number, text: string) => void;
}

/**
 * Read postmap-style records from a buffer, reporting malformed lines the
 * way postmap (or texthash) does and skipping them.
 */
export function readRecords(buf: Buffer, opts: ReadRecordsOptions, onRecord: (r: SourceRecord) => void): void {
  const { path } = opts;
  scanLogicalLines(
    buf,
    path,
    (line, s, e, lineno) => {
      if (opts.utf8Check && lineIsBadUtf8(line, s, e)) {
        opts.warn(lineno, `${path}, line ${lineno}: non-UTF-8 input "${lineText(line, s, e)}" -- ignoring this line`);
        return;
      }
      const r = splitKeyValue(line, s, e);
      if (r === Split.UNBALANCED) {
        opts.warn(
          lineno,
          `${path}, line ${lineno}: unbalanced '"' in '${lineText(line, s, e)}' -- ignoring this line`,
        );
        return;
      }
      if (r === Split.FORMAT) {
        opts.warn(
          lineno,
          `${path}, line ${lineno}: expected format: key whitespace value${opts.texthash ? ' -- ignoring this line' : ''}`,
        );
        return;
      }
      if (line[split.keyEnd - 1] === 58) {
        opts.warn(lineno, `${path}, line ${lineno}: record is in "key: value" format; is this an alias file?`);
      }
      onRecord({
        key: line.toString('latin1', s, split.keyEnd),
        value: line.toString('latin1', split.valueStart, split.valueEnd),
        lineno,
      });
    },
    (text) => opts.warn(0, text),
  );
}
