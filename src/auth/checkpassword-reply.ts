/**
 * auth/checkpassword-reply.ts: the program a checkpassword script runs on
 * success (Dovecot's checkpassword-reply.c): writes the user's fields to
 * fd 4 as `user=U \t userdb_home=H \t <EXTRA vars> \t userdb_uid= \t
 * userdb_gid=` (TAB-escaped) and exits 0 for an authentication, 2 for a
 * lookup (AUTHORIZED=2), 111 on error.
 */
import { writeSync } from 'node:fs';
import { tabEscape } from './protocol.js';

function main(): number {
  const env = process.env;
  const origUidEnv = env.ORIG_UID;
  const origUid = origUidEnv !== undefined && /^[0-9]+$/.test(origUidEnv) ? Number(origUidEnv) : -1;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (env.INSECURE_SETUID === undefined && (origUid === -1 || origUid !== uid) && uid === (process.geteuid?.() ?? uid) && gid === (process.getegid?.() ?? gid)) {
    if (origUidEnv === undefined) {
      process.stderr.write(
        "Error: checkpassword: ORIG_UID environment was dropped by checkpassword. Can't verify if we're safe to run. See http://wiki2.dovecot.org/AuthDatabase/CheckPassword#Security\n",
      );
    } else {
      process.stderr.write("Error: checkpassword: The checkpassword couldn't be run securely. See http://wiki2.dovecot.org/AuthDatabase/CheckPassword#Security\n");
    }
    return 111;
  }
  let out = '';
  const user = env.USER;
  if (user !== undefined) {
    if (user.includes('\t')) {
      process.stderr.write('Error: checkpassword: USER contains TAB\n');
      return 1;
    }
    out += `user=${tabEscape(user)}\t`;
  }
  const home = env.HOME;
  if (home !== undefined) {
    if (home.includes('\t')) {
      process.stderr.write('Error: checkpassword: HOME contains TAB\n');
      return 1;
    }
    out += `userdb_home=${tabEscape(home)}\t`;
  }
  let uidFound = false;
  let gidFound = false;
  for (const name of (env.EXTRA ?? '').split(' ')) {
    if (name === '' || env[name] === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'userdb_uid') uidFound = true;
    else if (key === 'userdb_gid') gidFound = true;
    out += `${tabEscape(key)}=${tabEscape(env[name]!)}\t`;
  }
  if (!uidFound) out += `userdb_uid=${uid}\t`;
  if (!gidFound) out += `userdb_gid=${gid}\t`;
  try {
    writeSync(4, out);
  } catch (e) {
    process.stderr.write(`Error: checkpassword: write_full() failed: ${(e as Error).message}\n`);
    return 111;
  }
  const authorized = env.AUTHORIZED;
  if (authorized === undefined) return 0;
  if (authorized === '2') return 2;
  process.stderr.write("Error: checkpassword: Script doesn't support passdb/userdb lookup\n");
  return 111;
}

process.exitCode = main();
