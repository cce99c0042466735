/**
 * queue/submit.ts: what local submission (sendmail, postdrop) needs to know
 * about the submitting user: the login name (username.c), the full name
 * ($NAME, else the GECOS field up to ',', ';' or '%', '&' -> capitalised
 * login; fullname.c), and whether authorized_submit_users permits the user
 * (user_acl.c: "static:..." permits everybody; otherwise a list of names,
 * "!name" excludes; users without a passwd entry are "unknown").
 */
import { readFileSync } from 'node:fs';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  dir: string;
}

/** getpwuid(). */
export function getpwuid(uid: number): PasswdEntry | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || Number(f[2]) !== uid) continue;
    return { name: f[0]!, uid, gid: Number(f[3]), gecos: f[4]!, dir: f[5]! };
  }
  return undefined;
}

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** username(): login name of the real uid, if any. */
export function username(uid = currentUid()): string | undefined {
  return getpwuid(uid)?.name;
}

/** fullname(). */
export function fullname(uid = currentUid()): string | undefined {
  const env = process.env.NAME;
  if (env !== undefined) return env;
  const pw = getpwuid(uid);
  if (!pw) return undefined;
  let out = '';
  for (const ch of pw.gecos) {
    if (ch === ',' || ch === ';' || ch === '%') break;
    if (ch === '&') {
      if (pw.name) out += pw.name[0]!.toUpperCase() + pw.name.slice(1);
    } else out += ch;
  }
  return out;
}

/**
 * check_user_acl_byuid(): undefined when permitted, else the user name
 * for "User NAME(UID) is not allowed to submit mail".
 */
export function checkUserAcl(acl: string, uid = currentUid()): string | undefined {
  if (acl.startsWith('static:')) return undefined;
  const name = username(uid) ?? 'unknown';
  for (const raw of acl.split(/[\s,]+/)) {
    if (raw === '') continue;
    const neg = raw.startsWith('!');
    const pat = neg ? raw.slice(1) : raw;
    if (pat.includes(':')) continue; // lookup tables in ACLs are not supported yet
    if (pat.toLowerCase() === name.toLowerCase()) return neg ? name : undefined;
  }
  return name;
}

/** getpwnam() (mail_owner's uid for pickup's requeued-mail test). */
export function getpwnam(name: string): PasswdEntry | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && f[0] === name) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4]!, dir: f[5]! };
    }
  }
  return undefined;
}
