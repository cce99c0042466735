/**
 * storage/passwd.ts: getpwnam() for mail_uid/mail_gid given as names
 * (reads /etc/passwd and /etc/group; NSS modules are not consulted).
 */
import { readFileSync } from 'node:fs';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function getpwnam(name: string): PasswdEntry | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 7) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' };
    }
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 3) return { name, uid: -1, gid: Number(f[2]), home: '' };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** getpwuid() */
export function getpwuid(uid: number): PasswdEntry | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 7 && Number(f[2]) === uid) return { name: f[0] ?? '', uid, gid: Number(f[3]), home: f[5] ?? '' };
    }
  } catch {
    return undefined;
  }
  return undefined;
}
