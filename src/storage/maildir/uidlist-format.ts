/**
 * storage/maildir/uidlist-format.ts: the `dovecot-uidlist` file, parsed and
 * written byte for byte as Dovecot 2.3 does (maildir-uidlist.c).
 *
 * Version 3 (what Dovecot writes):
 *   3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex>[ <other header ext>…]\n
 *   <uid>[ <K><value>…] :<base filename>\n            (one per message, UIDs ascending)
 * Record extension keys are one upper-case letter: S physical size and
 * W virtual size (only when not in the file name), P POP3 UIDL, O POP3
 * order, G message GUID (default: the base file name). Unknown upper-case
 * keys are kept; anything else is "Invalid extension record" and dropped.
 * Version 1 (old Dovecot, still read): "1 <uidvalidity> <nextuid>" and
 * "<uid> <filename>" records.
 *
 * New messages are appended without rewriting the header, so `N` can be
 * stale: the next UID is max(N, last uid + 1). Expunged messages keep
 * their line until the file is recreated.
 */

export interface UidlistHeader {
  version: number;
  uidValidity: number;
  /** The N value as written (may be stale). */
  nextUid: number;
  /** Mailbox GUID (hex) when present. */
  guid?: string;
  /** Other header extensions, kept verbatim ("P%08Xu%08Xv" and the like). */
  extra: string[];
}

export interface UidlistRecord {
  uid: number;
  /** Extension fields in file order: [key letter, value]. */
  ext: Array<[string, string]>;
  /** Base file name (no ":2,…"). */
  base: string;
}

export interface UidlistParse {
  header?: UidlistHeader;
  records: UidlistRecord[];
  /** Corruption messages (Dovecot's wording); the file should be recreated. */
  problems: string[];
  /** Number of record lines read (for the 75% compress rule). */
  lines: number;
  /** Bytes of complete lines read (an incomplete last line is ignored). */
  bytes: number;
}

/** Parse a dovecot-uidlist's text. Never throws; problems say what was wrong. */
export function parseUidlist(text: string): UidlistParse {
  const out: UidlistParse = { records: [], problems: [], lines: 0, bytes: 0 };
  // an incomplete last line (a writer in progress) is not read
  const end = text.lastIndexOf('\n');
  if (end < 0) return out;
  out.bytes = end + 1;
  const lines = text.slice(0, end).split('\n');
  const first = lines[0] ?? '';
  const version = first.charCodeAt(0) - 48;
  if (!(version >= 0 && version <= 9) || first[1] !== ' ') {
    out.problems.push('Corrupted header (invalid version number)');
    return out;
  }
  const hdr: UidlistHeader = { version, uidValidity: 0, nextUid: 0, extra: [] };
  const rest = first.slice(2);
  if (version === 1) {
    const m = /^(\d+) (\d+)/.exec(rest);
    if (!m) {
      out.problems.push('Corrupted header (version 1)');
      return out;
    }
    hdr.uidValidity = Number(m[1]);
    hdr.nextUid = Number(m[2]);
  } else if (version === 3) {
    for (const tok of rest.split(' ')) {
      if (tok === '') continue;
      const key = tok[0];
      const value = tok.slice(1);
      if (key === 'V') {
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          out.problems.push(`Invalid mailbox UID_VALIDITY: ${value}`);
          return out;
        }
        hdr.uidValidity = Number(value);
      } else if (key === 'N') {
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          out.problems.push(`Invalid mailbox NEXT_UID: ${value}`);
          return out;
        }
        hdr.nextUid = Number(value);
      } else if (key === 'G') {
        if (!/^[0-9a-fA-F]{32}$/.test(value)) {
          out.problems.push(`Invalid mailbox GUID: ${value}`);
          return out;
        }
        hdr.guid = value.toLowerCase();
      } else {
        hdr.extra.push(tok);
      }
    }
  } else {
    out.problems.push(`Unsupported version ${version}`);
    return out;
  }
  if (hdr.uidValidity === 0 || hdr.nextUid === 0) {
    out.problems.push(`Broken header (uidvalidity = ${hdr.uidValidity}, next_uid=${hdr.nextUid})`);
    return out;
  }
  out.header = hdr;
  let prev = 0;
  const seen = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const m = /^(\d+)/.exec(line);
    const uid = m ? Number(m[1]) : 0;
    if (!m || uid === 0 || line[m[1]!.length] !== ' ') {
      out.problems.push(`Invalid data: ${m ? line.slice(m[1]!.length) : line}`);
      break;
    }
    if (uid <= prev) {
      out.problems.push(`UIDs not ordered (${uid} >= ${prev})`);
      break;
    }
    if (uid >= 0xffffffff) {
      out.problems.push(`UID too high (${uid})`);
      break;
    }
    prev = uid;
    let p = m[1]!.length;
    while (line[p] === ' ') p++;
    const rec: UidlistRecord = { uid, ext: [], base: '' };
    if (version === 3) {
      while (p < line.length && line[p] !== ':') {
        const start = p;
        while (p < line.length && line[p] !== ' ') p++;
        const field = line.slice(start, p);
        const k = field[0] as string;
        if (k >= 'A' && k <= 'Z') rec.ext.push([k, field.slice(1)]);
        else out.problems.push(`Invalid extension record, removing: ${field}`);
        while (line[p] === ' ') p++;
      }
      if (line[p] === ':') p++;
      if (p >= line.length) {
        out.problems.push(`Invalid extended fields: ${line.slice(p)}`);
        break;
      }
    }
    const name = line.slice(p);
    if (name.includes('/')) {
      out.problems.push(`Broken filename at line ${i + 1}: ${name}`);
      break;
    }
    rec.base = name.includes(':') ? name.slice(0, name.indexOf(':')) : name;
    const dup = seen.get(rec.base);
    if (dup !== undefined) {
      // "Duplicate file entry": the later UID wins, the file gets recreated
      out.problems.push(`Duplicate file entry at line ${i + 1}: ${rec.base} (uid ${out.records[dup]!.uid} -> ${uid})`);
      out.records.splice(dup, 1);
      for (const [b, idx] of seen) if (idx > dup) seen.set(b, idx - 1);
    }
    seen.set(rec.base, out.records.length);
    out.records.push(rec);
    out.lines++;
  }
  return out;
}

/** The next UID a reader must use: max(N, last uid + 1). */
export function effectiveNextUid(p: Pick<UidlistParse, 'header' | 'records'>): number {
  const last = p.records.length ? (p.records[p.records.length - 1] as UidlistRecord).uid : 0;
  return Math.max(p.header?.nextUid ?? 1, last + 1);
}

export function formatRecord(r: UidlistRecord): string {
  let s = String(r.uid);
  for (const [k, v] of r.ext) s += ` ${k}${v}`;
  return `${s} :${r.base}\n`;
}

export function formatHeader(h: UidlistHeader): string {
  let s = `3 V${h.uidValidity} N${h.nextUid} G${h.guid ?? ''}`;
  if (h.extra.length) s += ` ${h.extra.join(' ')}`;
  return `${s}\n`;
}

/** A whole version-3 file (maildir_uidlist_write_fd from offset 0). */
export function formatUidlist(h: UidlistHeader, records: UidlistRecord[]): string {
  let s = formatHeader(h);
  for (const r of records) s += formatRecord(r);
  return s;
}

/** A record extension's value, or undefined. */
export function recordExt(r: UidlistRecord, key: string): string | undefined {
  for (const [k, v] of r.ext) if (k === key) return v;
  return undefined;
}
