/**
 * delivery/dsn-util.ts: RFC 3463 status codes in delivery texts
 * (global/dsn_util.c dsn_valid, dsn_split; mbox_open.c mbox_dsn).
 */

/** dsn_valid(): length of a leading "d.ddd.ddd" status (first digit 2, 4 or 5), else 0. */
export function dsnValid(text: string): number {
  const m = /^[245]\.(\d{1,3})\.(\d{1,3})(?=$|[ \t\n\r\v\f])/.exec(text);
  return m ? m[0].length : 0;
}

/** dsn_split(): an optional leading status code, else `def`; then the text. */
export function dsnSplit(def: string, text: string): { status: string; text: string } {
  let cp = text.replace(/^[ \t\n\r\v\f]+/, '');
  let status: string;
  const len = dsnValid(cp);
  if (len > 0) {
    status = cp.slice(0, len);
    cp = cp.slice(len + 1);
  } else {
    status = def.slice(0, dsnValid(def));
  }
  return { status, text: cp.replace(/^[ \t\n\r\v\f]+/, '') };
}

/** mbox_dsn(): the status for a file-system error code. */
export function mboxDsn(code: string | undefined, def: string): string {
  if (code === 'EAGAIN' || code === 'ESTALE') return '4.2.0';
  if (code === 'ENOSPC') return '4.3.0';
  if (code === 'EDQUOT' || code === 'EFBIG') return '5.2.2';
  return def;
}
