/**
 * pop3/uidl.ts: the UIDL of a message (pop3-commands.c pop3_get_uid):
 * the storage's own POP3 UIDL first (Maildir: the dovecot-uidlist P
 * record; an empty P means the base file name), then X-UIDL: when
 * pop3_reuse_xuidl, else pop3_uidl_format with %v UIDVALIDITY, %u UID,
 * %m header MD5, %f file name (storage id), %g GUID. pop3_uidl_duplicates
 * = rename appends -2, -3… to repeats.
 */
import { varExpand, varGetKey } from '../../compat/dovecot/var-expand.js';
import type { MessageRecord } from '../storage/types.js';

export const UIDL_UID = 1;
export const UIDL_MD5 = 2;
export const UIDL_FILE_NAME = 4;
export const UIDL_GUID = 8;

export const UIDL_UIDVALIDITY = 16;

/**
 * Which message properties a format needs (parse_uidl_keymask: short keys
 * only, so %{uid} alone counts as nothing); 0 = invalid, the real pop3
 * process dies with "Invalid pop3_uidl_format".
 */
export function uidlKeymask(format: string): number {
  let mask = 0;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%' || i + 1 >= format.length) continue;
    i++;
    const k = varGetKey(format.slice(i));
    if (k === 'v') mask |= UIDL_UIDVALIDITY;
    else if (k === 'u') mask |= UIDL_UID;
    else if (k === 'm') mask |= UIDL_MD5;
    else if (k === 'f') mask |= UIDL_FILE_NAME;
    else if (k === 'g') mask |= UIDL_GUID;
  }
  return mask;
}

export interface UidlInput {
  rec: MessageRecord;
  uidValidity: number;
  /** Maildir base file name (storage id). */
  baseName: string;
  /** The first X-UIDL header value, when pop3_reuse_xuidl asks for it. */
  xuidl?: string;
}

export interface UidlResult {
  uidl?: string;
  /** Came from the storage (P record): never re-saved. */
  permanent: boolean;
  /** Logged by the real pop3 before it disconnects ("POP3 UIDLs couldn't be listed"). */
  error?: string;
}

export function messageUidl(format: string, keymask: number, reuseXuidl: boolean, m: UidlInput): UidlResult {
  const p = m.rec.pop3Uidl;
  if (p !== undefined) {
    return { uidl: p === '' ? m.baseName : p, permanent: true };
  }
  if (reuseXuidl && m.xuidl !== undefined && m.xuidl !== '') return { uidl: m.xuidl, permanent: false };
  if ((keymask & UIDL_MD5) !== 0) {
    // the header MD5 is kept only by mbox (and the pop3-migration plugin)
    return { permanent: false, error: 'UIDL: Header MD5 not found (pop3_uidl_format=%m not supported by storage?)' };
  }
  const r = varExpand(format, [
    { key: 'v', long: 'uidvalidity', value: String(m.uidValidity) },
    { key: 'u', long: 'uid', value: (keymask & UIDL_UID) !== 0 ? String(m.rec.uid) : '' },
    { key: 'm', long: 'md5', value: null },
    { key: 'f', long: 'filename', value: (keymask & UIDL_FILE_NAME) !== 0 ? m.baseName : null },
    { key: 'g', long: 'guid', value: (keymask & UIDL_GUID) !== 0 ? m.rec.guid : null },
  ]);
  if (r.ret <= 0) return { permanent: false, error: `UIDL: Failed to expand pop3_uidl_format=${format}: ${r.error ?? ''}` };
  return { uidl: r.value, permanent: false };
}

/** pop3_uidl_duplicates = rename: "x", "x-2", "x-3"… for repeats, in message order. */
export function renameDuplicates(uidls: string[]): string[] {
  const seen = new Map<string, number>();
  return uidls.map((u) => {
    let cur = u;
    for (;;) {
      const n = seen.get(cur);
      if (n === undefined) break;
      seen.set(cur, n + 1);
      cur = `${cur}-${n + 1}`;
    }
    seen.set(cur, 1);
    return cur;
  });
}

/** The first X-UIDL: header of a message (unfolded, trimmed), if any. */
export function xUidlHeader(data: Buffer): string | undefined {
  const end = data.indexOf('\n\n');
  const head = data.subarray(0, end < 0 ? data.length : end + 1).toString('latin1');
  const m = /(?:^|\n)X-UIDL:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)/i.exec(head);
  return m ? (m[1] as string).replace(/\r?\n/g, '').replace(/\r$/, '').trim() : undefined;
}
