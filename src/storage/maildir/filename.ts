/**
 * storage/maildir/filename.ts: Maildir file names as Dovecot writes and
 * reads them (maildir-filename.c, maildir-filename-flags.c).
 *
 *   <secs>.M<usecs>P<pid>.<host>[,S=<size>][,W=<vsize>][:2,<flags>]
 *
 * - The "base name" is everything before ':' (the uidlist key and, on
 *   Maildir, the message GUID).
 * - `S=` is the physical size (LF line ends), `W=` the RFC822 size (CRLF).
 * - Flags after ":2,": D Draft, F Flagged, R Replied, S Seen, T Trashed,
 *   kept in ASCII order; 'a'..'z' are keywords (indexes into
 *   dovecot-keywords); any other character (e.g. 'P' Passed) is unknown and
 *   is kept where it stands when flags change. Text after a second ','
 *   (another flag set) is kept as is.
 * - A file in new/ has no ":2," part.
 */
import { hostname } from 'node:os';

export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';

export const FLAG_CHARS: ReadonlyArray<readonly [string, SystemFlag]> = [
  ['D', '\\Draft'],
  ['F', '\\Flagged'],
  ['R', '\\Answered'],
  ['S', '\\Seen'],
  ['T', '\\Deleted'],
];
const CHAR_TO_FLAG = new Map<string, SystemFlag>(FLAG_CHARS.map(([c, f]) => [c, f]));
const FLAG_TO_CHAR = new Map<SystemFlag, string>(FLAG_CHARS.map(([c, f]) => [f, c]));

export const isSystemFlag = (f: string): f is SystemFlag => FLAG_TO_CHAR.has(f as SystemFlag);

/** hostname as my_hostname: '/' and ':' would break file names, Dovecot escapes them. */
export function maildirHostname(host = hostname()): string {
  return host.replace(/\//g, '\\057').replace(/:/g, '\\072');
}

let lastSec = 0;
let lastUsec = 0;

/** maildir_filename_generate(): unique within this process (secs+usecs, bumped on ties). */
export function generateBaseName(now = Date.now(), host = maildirHostname(), pid = process.pid): string {
  // Node gives milliseconds; use performance.now() for sub-millisecond spread
  let sec = Math.floor(now / 1000);
  let usec = (now % 1000) * 1000 + (Math.floor(performance.now() * 1000) % 1000);
  if (sec < lastSec || (sec === lastSec && usec <= lastUsec)) {
    sec = lastSec;
    usec = lastUsec + 1;
    if (usec === 1_000_000) {
      sec++;
      usec = 0;
    }
  }
  lastSec = sec;
  lastUsec = usec;
  return `${sec}.M${usec}P${pid}.${host}`;
}

/** The base name: everything before the first ':'. */
export function baseName(fname: string): string {
  const i = fname.indexOf(':');
  return i < 0 ? fname : fname.slice(0, i);
}

/** maildir_filename_get_size(): the value of ,S= or ,W= in the base part, or undefined. */
export function filenameSize(fname: string, type: 'S' | 'W'): number | undefined {
  const base = baseName(fname);
  const key = `,${type}=`;
  const i = base.indexOf(key);
  if (i < 0) return undefined;
  let j = i + 3;
  let n = 0;
  while (j < base.length && base.charCodeAt(j) >= 48 && base.charCodeAt(j) <= 57) {
    n = n * 10 + (base.charCodeAt(j) - 48);
    j++;
  }
  if (j < base.length && base[j] !== ',') return undefined;
  return n;
}

export interface ParsedFlags {
  /** System flags present. */
  flags: SystemFlag[];
  /** Keyword letters 'a'..'z' present, in file order. */
  keywordChars: string[];
  /** Has a ":2," info part at all (files in cur/ normally do). */
  hasInfo: boolean;
}

/** maildir_filename_flags_get(): flags and keyword letters from a file name. */
export function parseFlags(fname: string): ParsedFlags {
  const info = fname.lastIndexOf(':');
  const out: ParsedFlags = { flags: [], keywordChars: [], hasInfo: false };
  if (info < 0 || fname[info + 1] !== '2' || fname[info + 2] !== ',') return out;
  out.hasInfo = true;
  for (let i = info + 3; i < fname.length && fname[i] !== ','; i++) {
    const c = fname[i] as string;
    const f = CHAR_TO_FLAG.get(c);
    if (f) {
      if (!out.flags.includes(f)) out.flags.push(f);
    } else if (c >= 'a' && c <= 'z') {
      if (!out.keywordChars.includes(c)) out.keywordChars.push(c);
    }
  }
  return out;
}

/**
 * maildir_filename_flags_full_set(): the file name with the given flags and
 * keyword letters, keeping unknown flag characters in place.
 */
export function setFlags(fname: string, flags: Iterable<string>, keywordChars: Iterable<string> = []): string {
  let base = fname;
  let oldflags = '';
  const info = fname.lastIndexOf(':');
  if (info >= 0) {
    base = fname.slice(0, info);
    if (fname[info + 1] === '2' && fname[info + 2] === ',') oldflags = fname.slice(info + 3);
  }
  const want = new Set<string>();
  for (const f of flags) {
    const c = FLAG_TO_CHAR.get(f as SystemFlag);
    if (c) want.add(c);
  }
  let kw = [...new Set(keywordChars)].filter((c) => c >= 'a' && c <= 'z').sort();
  let out = `${base}:2,`;
  let p = 0;
  const known = (c: string | undefined) => c !== undefined && (CHAR_TO_FLAG.has(c) || (c >= 'a' && c <= 'z'));
  for (;;) {
    while (known(oldflags[p])) p++;
    const next = p >= oldflags.length || oldflags[p] === ',' ? 256 : (oldflags.charCodeAt(p) as number);
    for (const c of ['D', 'F', 'R', 'S', 'T']) {
      if (want.has(c) && next > c.charCodeAt(0)) {
        out += c;
        want.delete(c);
      }
    }
    if (kw.length > 0 && next > 'a'.charCodeAt(0)) {
      out += kw.join('');
      kw = [];
    }
    if (p >= oldflags.length || oldflags[p] === ',') break;
    out += oldflags[p];
    p++;
  }
  if (oldflags[p] === ',') out += oldflags.slice(p);
  return out;
}

/** maildir_filename_sort_cmp(): by the seconds, then the M<usecs>, then the base name. */
export function sortCompare(a: string, b: string): number {
  const sa = /^\d*/.exec(a)?.[0] ?? '';
  const sb = /^\d*/.exec(b)?.[0] ?? '';
  const na = sa === '' ? 0 : Number(sa);
  const nb = sb === '' ? 0 : Number(sb);
  if (na !== nb) return na - nb;
  const ua = /^\.[^.:]*?M(\d+)/.exec(a.slice(sa.length));
  const ub = /^\.[^.:]*?M(\d+)/.exec(b.slice(sb.length));
  if (ua && ub) {
    const d = Number(ua[1]) - Number(ub[1]);
    if (d !== 0) return d;
  }
  const ba = baseName(a.slice(sa.length));
  const bb = baseName(b.slice(sb.length));
  return ba < bb ? -1 : ba > bb ? 1 : 0;
}

/** Physical size (LF) and virtual size (CRLF) of message bytes after CRLF→LF conversion. */
export function sizesOf(lfData: Buffer): { size: number; vsize: number } {
  let lf = 0;
  for (let i = lfData.indexOf(10); i >= 0; i = lfData.indexOf(10, i + 1)) {
    if (i === 0 || lfData[i - 1] !== 13) lf++;
  }
  return { size: lfData.length, vsize: lfData.length + lf };
}

/** i_stream_create_lf(): CRLF → LF (a lone CR stays). */
export function toLf(data: Buffer): Buffer {
  if (data.indexOf(13) < 0) return data;
  const out = Buffer.allocUnsafe(data.length);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    if (c === 13 && data[i + 1] === 10) continue;
    out[o++] = c;
  }
  return out.subarray(0, o);
}
