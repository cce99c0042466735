/**
 * maps/rhs-file.ts: DICT_FLAG_SRC_RHS_IS_FILE support, as Postfix's
 * util/dict_file.c: a table value names one or more files (separated by
 * commas or blanks) whose contents, joined with newlines, are stored and
 * returned base64-encoded (postmap -F, tls_server_sni_maps).
 */
import { readFileSync } from 'node:fs';
import { strerror } from '../util/strerror.js';

/** dict_file_to_b64(): the base64 of the named files, or the error text. */
export function filesToBase64(pathnames: string): { value: string } | { err: string } {
  // argv_split(pathnames, CHARS_COMMA_SP)
  const names = pathnames.split(/[, \t\r\n]+/).filter((n) => n !== '');
  if (names.length === 0) return { err: `empty pathname list: >>${pathnames}<<'` };
  const parts: Buffer[] = [];
  for (const [i, name] of names.entries()) {
    try {
      parts.push(readFileSync(Buffer.from(name, 'latin1')));
    } catch (e) {
      return { err: `${(e as NodeJS.ErrnoException).syscall === 'read' ? 'read' : 'open'} ${name}: ${strerror(e)}` };
    }
    if (i < names.length - 1) parts.push(Buffer.from('\n'));
  }
  return { value: Buffer.concat(parts).toString('base64') };
}
