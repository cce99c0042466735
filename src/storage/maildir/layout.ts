/**
 * storage/maildir/layout.ts: where each mailbox of a Maildir store lives.
 *
 * LAYOUT=maildir++ (default): INBOX is the root itself (or INBOX=),
 *   "A/B" is `<root>/.A.B` (hierarchy '.' on disk, names in mUTF-7).
 * LAYOUT=fs: INBOX is the root (or INBOX=), "A/B" is `<root>/A/B`; a
 *   directory without cur/ is only a parent (\Noselect).
 * CONTROL= moves dovecot-uidlist/-keywords/subscriptions elsewhere (same
 *   sub-path under the control root); INDEX= is where Dovecot keeps its
 *   binary indexes (Postern reads none of them).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailLocation } from '../location.js';
import { mutf7ToUtf8 } from '../mutf7.js';

export interface FolderEntry {
  /** Storage name (list separator, on-disk encoding). */
  storageName: string;
  /** Has cur/ (a real mailbox) or only children. */
  selectable: boolean;
}

export class MaildirLayout {
  readonly listSep: string;
  readonly fs: boolean;

  constructor(readonly loc: MailLocation) {
    this.fs = loc.layout === 'fs';
    this.listSep = this.fs ? '/' : '.';
  }

  get root(): string {
    return this.loc.root;
  }

  /** The control root (CONTROL= or the mail root). */
  get controlRoot(): string {
    return this.loc.control ?? this.loc.root;
  }

  get subscriptionsPath(): string {
    return join(this.controlRoot, this.loc.subscriptions ?? 'subscriptions');
  }

  /** Mailbox directory (with cur/new/tmp) for a storage name ("INBOX" included). */
  mailboxPath(storageName: string): string {
    if (storageName === 'INBOX') return this.loc.inbox ?? this.loc.root;
    if (this.fs) {
      const p = join(this.loc.root, ...storageName.split('/'));
      return this.loc.dirName ? join(p, this.loc.dirName) : p;
    }
    return join(this.loc.root, `.${storageName}`);
  }

  /** Directory holding dovecot-uidlist and dovecot-keywords for a mailbox. */
  controlPath(storageName: string): string {
    if (this.loc.control === undefined) return this.mailboxPath(storageName);
    if (storageName === 'INBOX') return this.loc.control;
    if (this.fs) return join(this.loc.control, ...storageName.split('/'));
    return join(this.loc.control, `.${storageName}`);
  }

  /** Every folder on disk except INBOX (storage names), parents included for fs. */
  async folders(): Promise<FolderEntry[]> {
    return this.fs ? this.fsFolders() : this.maildirppFolders();
  }

  private async maildirppFolders(): Promise<FolderEntry[]> {
    let ents: import('node:fs').Dirent[];
    try {
      ents = await readdir(this.loc.root, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: FolderEntry[] = [];
    for (const e of ents) {
      const n = e.name;
      if (n[0] !== '.' || n === '.' || n === '..' || n.length < 2) continue;
      if (!e.isDirectory() && !e.isSymbolicLink()) continue;
      const storageName = n.slice(1);
      // names Dovecot would never produce (empty parts) are skipped
      if (storageName.split('.').some((p) => p === '')) continue;
      if (storageName.toUpperCase() === 'INBOX') continue;
      let selectable = false;
      try {
        selectable = (await stat(join(this.loc.root, n, 'cur'))).isDirectory();
      } catch {
        selectable = false;
      }
      out.push({ storageName, selectable });
    }
    return out;
  }

  private async fsFolders(): Promise<FolderEntry[]> {
    const out: FolderEntry[] = [];
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      if (depth > 64) return;
      let ents: import('node:fs').Dirent[];
      try {
        ents = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        const n = e.name;
        if (!e.isDirectory()) continue;
        if (n === 'cur' || n === 'new' || n === 'tmp' || n === '.' || n === '..') continue;
        if (this.loc.dirName && n === this.loc.dirName) continue;
        const storageName = prefix ? `${prefix}/${n}` : n;
        const boxDir = this.loc.dirName ? join(dir, n, this.loc.dirName) : join(dir, n);
        let selectable = false;
        try {
          selectable = (await stat(join(boxDir, 'cur'))).isDirectory();
        } catch {
          selectable = false;
        }
        out.push({ storageName, selectable });
        await walk(join(dir, n), storageName, depth + 1);
      }
    };
    await walk(this.loc.root, '', 0);
    return out;
  }

  /** Storage name → vname parts (decoded). undefined if the on-disk name is not valid mUTF-7. */
  decode(storageName: string): string[] | undefined {
    const parts = storageName.split(this.listSep);
    if (this.loc.utf8) return parts;
    const out: string[] = [];
    for (const p of parts) {
      const d = mutf7ToUtf8(p);
      if (d === undefined) return undefined;
      out.push(d);
    }
    return out;
  }
}
