/**
 * storage/subscriptions.ts: the `subscriptions` file
 * (lib-storage/list/subscription-file.c), version 2:
 *
 *   V\t2\n\n<name>\n<name>\n…
 *
 * Each name is the storage name with the storage's hierarchy separator
 * (Maildir++ '.', fs '/') written as TAB, every part tab-escaped
 * (\001 → \0011, TAB → \001t, CR → \001r, LF → \001n). Order is the order
 * of subscribing; a name is appended once. A file without the header is
 * version 1: plain names, one per line. Writes go through the dotlock
 * (`subscriptions.lock` holds the new file and is renamed over it).
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dotlockCreate } from './dotlock.js';
import { errnoCode } from './errors.js';
import { mkdirParents, type Perms } from './fs-util.js';

const HEADER = 'V\t2\n\n';

function tabEscape(s: string): string {
  return s.replace(/[\x01\t\r\n]/g, (c) => (c === '\x01' ? '\x011' : c === '\t' ? '\x01t' : c === '\r' ? '\x01r' : '\x01n'));
}
function tabUnescape(s: string): string {
  return s.replace(/\x01(.)/g, (_, c: string) => (c === '1' ? '\x01' : c === 't' ? '\t' : c === 'r' ? '\r' : c === 'n' ? '\n' : c));
}

/** Storage names (with `sep` as the hierarchy separator) listed in the file. */
export function parseSubscriptions(text: string, sep: string): string[] {
  let body = text;
  let v2 = false;
  if (text.startsWith(HEADER)) {
    v2 = true;
    body = text.slice(HEADER.length);
  }
  const out: string[] = [];
  for (const line of body.split('\n')) {
    if (line === '') continue;
    out.push(v2 ? line.split('\t').map(tabUnescape).join(sep) : line);
  }
  return out;
}

export function encodeSubscription(name: string, sep: string): string {
  if (name === '') return '';
  return name.split(sep).map(tabEscape).join('\t');
}

export async function readSubscriptions(path: string, sep: string): Promise<string[]> {
  try {
    return parseSubscriptions(await readFile(path, 'utf8'), sep);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

/** subsfile_set_subscribed(): returns true if the file changed. */
export async function setSubscribed(path: string, sep: string, storageName: string, on: boolean, perms: Perms, fsync = true): Promise<boolean> {
  const name = storageName.toUpperCase() === 'INBOX' ? 'INBOX' : storageName;
  let lock: Awaited<ReturnType<typeof dotlockCreate>>;
  try {
    lock = await dotlockCreate(path, { timeout: 120, staleTimeout: 30, perms });
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    await mkdirParents(dirname(path), perms);
    lock = await dotlockCreate(path, { timeout: 120, staleTimeout: 30, perms });
  }
  try {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    let version = 2;
    let body = '';
    if (text !== undefined) {
      if (text.startsWith(HEADER)) body = text.slice(HEADER.length);
      else {
        version = 1;
        body = text;
      }
    }
    const escaped = version >= 2 ? encodeSubscription(name, sep) : name;
    let out = version >= 2 ? HEADER : '';
    let found = false;
    let changed = false;
    const lines = body.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      if (line === escaped) {
        found = true;
        if (!on) {
          changed = true;
          continue;
        }
      }
      out += `${line}\n`;
    }
    if (on && !found) {
      out += `${escaped}\n`;
      changed = true;
    }
    if (!changed) return false;
    await lock.replace(out, fsync);
    return true;
  } finally {
    await lock.release();
  }
}
