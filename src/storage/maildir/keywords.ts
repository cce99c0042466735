/**
 * storage/maildir/keywords.ts: `dovecot-keywords`, the per-folder map from
 * keyword letters in file names ('a' = 0 … 'z' = 25) to keyword names
 * (maildir-keywords.c):
 *
 *   0 $Label1\n
 *   1 Work\n
 *
 * Lines without a space, bad indexes (≥ 26), empty or repeated names are
 * skipped when read. The file is replaced through its dotlock
 * (`dovecot-keywords.lock` holds the new content and is renamed over it),
 * and its mtime must grow with every write, because readers cache it by
 * mtime.
 */
import { readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { dotlockCreate } from '../dotlock.js';
import { errnoCode, MailError } from '../errors.js';
import type { Perms } from '../fs-util.js';

export const KEYWORDS_FILE = 'dovecot-keywords';
export const MAX_KEYWORDS = 26;

/** Parse the file: index → name (sparse). */
export function parseKeywords(text: string): Array<string | undefined> {
  const list: Array<string | undefined> = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const idxText = line.slice(0, sp);
    const name = line.slice(sp + 1);
    if (!/^\d+$/.test(idxText)) continue;
    const idx = Number(idxText);
    if (idx >= MAX_KEYWORDS || name === '' || seen.has(name)) continue;
    seen.add(name);
    list[idx] = name;
  }
  return list;
}

export function formatKeywords(list: ReadonlyArray<string | undefined>): string {
  let s = '';
  list.forEach((name, i) => {
    if (name !== undefined) s += `${i} ${name}\n`;
  });
  return s;
}

export const keywordChar = (idx: number): string => String.fromCharCode(97 + idx);
export const charIndex = (c: string): number => c.charCodeAt(0) - 97;

/** One folder's keyword table, re-read when the file's mtime changes. */
export class MaildirKeywords {
  private list: Array<string | undefined> = [];
  private mtimeMs = -1;

  constructor(
    readonly dir: string,
    private readonly perms: Perms,
    private readonly fsync = true,
  ) {}

  get path(): string {
    return join(this.dir, KEYWORDS_FILE);
  }

  /** Re-read the file if it changed. */
  async refresh(): Promise<void> {
    let st: import('node:fs').Stats;
    try {
      st = await stat(this.path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      this.list = [];
      this.mtimeMs = -1;
      return;
    }
    if (st.mtimeMs === this.mtimeMs) return;
    this.list = parseKeywords(await readFile(this.path, 'utf8'));
    this.mtimeMs = st.mtimeMs;
  }

  /** Name of a letter, or undefined when the letter is not defined. */
  nameOf(c: string): string | undefined {
    return this.list[charIndex(c)];
  }

  names(): string[] {
    return this.list.filter((n): n is string => n !== undefined);
  }

  /** Letter of a keyword, or undefined when it has none yet. */
  charOf(name: string): string | undefined {
    const i = this.list.indexOf(name);
    return i < 0 ? undefined : keywordChar(i);
  }

  /**
   * Letters for these keywords, adding missing ones to the file (under its
   * lock). Throws MailError('limit') when all 26 letters are taken.
   */
  async charsFor(names: Iterable<string>): Promise<string[]> {
    const want = [...new Set(names)];
    await this.refresh();
    if (want.every((n) => this.list.includes(n))) return want.map((n) => this.charOf(n) as string);
    const lock = await dotlockCreate(this.path, { timeout: 122, staleTimeout: 120, perms: this.perms });
    try {
      this.mtimeMs = -1;
      await this.refresh();
      let changed = false;
      for (const n of want) {
        if (this.list.includes(n)) continue;
        let free = -1;
        for (let i = 0; i < MAX_KEYWORDS; i++) {
          if (this.list[i] === undefined) {
            free = i;
            break;
          }
        }
        if (free < 0) throw new MailError('limit', 'Too many keywords', `${this.path}: all ${MAX_KEYWORDS} keyword letters used`);
        this.list[free] = n;
        changed = true;
      }
      if (changed) {
        const before = this.mtimeMs;
        await lock.replace(formatKeywords(this.list), this.fsync);
        // the mtime must grow on every write (readers cache by mtime)
        const st = await stat(this.path);
        if (before >= 0 && Math.floor(st.mtimeMs / 1000) <= Math.floor(before / 1000)) {
          const t = new Date((Math.floor(before / 1000) + 1) * 1000);
          await utimes(this.path, new Date(), t);
        }
        this.mtimeMs = (await stat(this.path)).mtimeMs;
      }
    } finally {
      await lock.release();
    }
    return want.map((n) => this.charOf(n) as string);
  }
}
