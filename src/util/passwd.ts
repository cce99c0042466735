/**
 * util/passwd.ts: the one getpwnam/getpwuid/getgrnam of Postern, read
 * from /etc/passwd and /etc/group (NSS modules such as LDAP are not
 * consulted). Files are read as latin1 so any byte in a GECOS field comes
 * back unchanged. The first entry of a name wins, as with files in NSS.
 */
import { readFileSync } from 'node:fs';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  /** Home directory (pw_dir). */
  dir: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export const PASSWD_FILE = '/etc/passwd';
export const GROUP_FILE = '/etc/group';

function rows(path: string, minFields: number): string[][] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return [];
  }
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= minFields && f[0] !== '' && /^[0-9]+$/.test(f[2]!)) out.push(f);
  }
  return out;
}

const toPasswd = (f: string[]): PasswdEntry => ({
  name: f[0]!,
  uid: Number(f[2]),
  gid: Number(f[3]),
  gecos: f[4] ?? '',
  dir: f[5] ?? '',
  shell: f[6] ?? '',
});

export function getpwnam(name: string, path = PASSWD_FILE): PasswdEntry | undefined {
  const f = rows(path, 7).find((r) => r[0] === name);
  return f ? toPasswd(f) : undefined;
}

export function getpwuid(uid: number, path = PASSWD_FILE): PasswdEntry | undefined {
  const f = rows(path, 7).find((r) => Number(r[2]) === uid);
  return f ? toPasswd(f) : undefined;
}

export function getgrnam(name: string, path = GROUP_FILE): GroupEntry | undefined {
  const f = rows(path, 3).find((r) => r[0] === name);
  return f ? { name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') } : undefined;
}

const numeric = (s: string): number | undefined =>
  /^[0-9]+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined;

/** A numeric uid, or the uid of a user name; undefined when neither. */
export function lookupUid(s: string, path = PASSWD_FILE): number | undefined {
  return /^[0-9]+$/.test(s) ? numeric(s) : getpwnam(s, path)?.uid;
}

/** A numeric gid, or the gid of a group name; undefined when neither. */
export function lookupGid(s: string, path = GROUP_FILE): number | undefined {
  return /^[0-9]+$/.test(s) ? numeric(s) : getgrnam(s, path)?.gid;
}
