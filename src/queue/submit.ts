/**
 * queue/submit.ts: what local submission (sendmail, postdrop) needs to know
 * about the submitting user: the login name (username.c), the full name
 * ($NAME, else the GECOS field up to ',', ';' or '%', '&' -> capitalised
 * login; fullname.c), and whether authorized_submit_users permits the user
 * (user_acl.c: "static:..." permits everybody; otherwise a list of names,
 * "!name" excludes; users without a passwd entry are "unknown").
 */
import { getpwuid } from '../util/passwd.js';

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
