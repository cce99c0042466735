/**
 * maps/pattern/rhs-file.ts: DICT_FLAG_SRC_RHS_IS_FILE (postmap -F): a
 * rule's result names one or more files, and the result becomes the base64
 * of their contents (dict_file.c: files joined with a newline).
 */
import { readFileSync, statSync } from 'node:fs';
import { strerror } from '../../util/strerror.js';

export function rhsFileToBase64(pathnames: string): { value: string } | { error: string } {
  const names = pathnames.split(/[, \t\r\n]+/).filter((s) => s !== '');
  if (names.length === 0) return { error: `empty pathname list: >>${pathnames}<<'` };
  const chunks: Buffer[] = [];
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    try {
      statSync(name);
      chunks.push(readFileSync(name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { error: code === 'EISDIR' ? `read ${name}: ${strerror(err)}` : `open ${name}: ${strerror(err)}` };
    }
    if (k + 1 < names.length) chunks.push(Buffer.from('\n'));
  }
  return { value: Buffer.concat(chunks).toString('base64') };
}
