/**
 * auth/unix-users.ts: user and group names to ids (getpwnam/getgrnam as
 * userdb_parse_uid/gid use them), read from /etc/passwd and /etc/group.
 */
import { readFileSync } from 'node:fs';

function readDb(path: string): Map<string, number> {
  const m = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^[0-9]+$/.test(f[2]!) && !m.has(f[0])) m.set(f[0], Number(f[2]));
  }
  return m;
}

/** Numeric uid, or the uid of a user name; undefined when neither. */
export function lookupUid(s: string, passwdPath = '/etc/passwd'): number | undefined {
  if (/^[0-9]+$/.test(s)) return Number(s) <= 0xffffffff ? Number(s) : undefined;
  return readDb(passwdPath).get(s);
}

/** Numeric gid, or the gid of a group name. */
export function lookupGid(s: string, groupPath = '/etc/group'): number | undefined {
  if (/^[0-9]+$/.test(s)) return Number(s) <= 0xffffffff ? Number(s) : undefined;
  return readDb(groupPath).get(s);
}
