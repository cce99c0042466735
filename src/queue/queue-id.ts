/**
 * queue/queue-id.ts: queue IDs as Postfix makes them (mail_queue.h MQID_*,
 * file_id.c, safe_ultostr.c).
 *
 * A queue file is named after the time it was created and its inode number,
 * so the file system guarantees uniqueness:
 *
 * - short form (enable_long_queue_ids = no): "%05X" of the microseconds,
 *   then "%lX" of the inode: 91A4820C6BF (usec 0x91A48, inode 0x20C6BF).
 * - long form (yes): the seconds in base 52 (at least 6 digits), the
 *   microseconds in base 52 (exactly 4), 'z', the inode in base 51:
 *   4jXb3m3nq8zJ99b. The alphabet has no vowels and base 51 leaves out 'z',
 *   so the last 'z' separates time and inode.
 */

const SAFE_CHARS = '0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz';

/** safe_ultostr(): `value` in `base` (2..52), left-padded with '0' to `pad`. */
export function safeUltostr(value: number | bigint, base: number, pad: number): string {
  let v = BigInt(value);
  const b = BigInt(base);
  let out = '';
  while (v !== 0n) {
    out = SAFE_CHARS[Number(v % b)] + out;
    v /= b;
  }
  return out.padStart(pad, '0');
}

/** safe_strtoul(): the value of a safe-alphabet string, or undefined when malformed. */
export function safeStrtoul(text: string, base: number): number | undefined {
  if (text === '') return undefined;
  let sum = 0;
  for (const ch of text) {
    const v = SAFE_CHARS.indexOf(ch);
    if (v < 0 || v >= base) return undefined;
    sum = sum * base + v;
  }
  return sum;
}

export const MQID_LG_SEC_PAD = 6;
export const MQID_LG_USEC_PAD = 4;
export const MQID_LG_INUM_SEP = 'z';
export const MQID_SH_USEC_PAD = 5;

/** The queue ID for a file created at (sec, usec) with inode `ino`. */
export function makeQueueId(sec: number, usec: number, ino: number | bigint, long: boolean): string {
  if (long) {
    return `${safeUltostr(sec, 52, MQID_LG_SEC_PAD)}${safeUltostr(usec, 52, MQID_LG_USEC_PAD)}${MQID_LG_INUM_SEP}${safeUltostr(ino, 51, 0)}`;
  }
  return `${usec.toString(16).toUpperCase().padStart(MQID_SH_USEC_PAD, '0')}${BigInt(ino).toString(16).toUpperCase()}`;
}

/** MQID_FIND_LG_INUM_SEPARATOR: index of the 'z' of a long ID, or -1. */
export function longIdSeparator(id: string): number {
  const z = id.lastIndexOf(MQID_LG_INUM_SEP);
  return z >= MQID_LG_SEC_PAD + MQID_LG_USEC_PAD ? z : -1;
}

/**
 * The 5 upper-case hex digits of the microseconds, as mail_queue_dir()
 * hashes long IDs (MQID_LG_GET_HEX_USEC; a bad value counts as 0).
 */
export function hexUsecOfLongId(id: string, z: number): string {
  const usec = safeStrtoul(id.slice(z - MQID_LG_USEC_PAD, z), 52) ?? 0;
  return usec.toString(16).toUpperCase().padStart(MQID_SH_USEC_PAD, '0');
}

/** mail_queue_id_ok(): 1..255 characters, alphanumerics and '_' only. */
export function queueIdOk(id: string): boolean {
  return id.length > 0 && id.length <= 255 && /^[A-Za-z0-9_]+$/.test(id);
}

/** mail_queue_name_ok(): 1..100 alphanumerics. */
export function queueNameOk(name: string): boolean {
  return name.length > 0 && name.length <= 100 && /^[A-Za-z0-9]+$/.test(name);
}

/** The inode number a queue ID encodes (MQID_GET_INUM), or undefined. */
export function inodeOfQueueId(id: string): number | undefined {
  const z = longIdSeparator(id);
  if (z >= 0) return safeStrtoul(id.slice(z + 1), 51);
  const hex = id.slice(MQID_SH_USEC_PAD);
  return /^[0-9A-Fa-f]+$/.test(hex) ? Number.parseInt(hex, 16) : undefined;
}
