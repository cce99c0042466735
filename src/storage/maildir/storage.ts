/**
 * storage/maildir/storage.ts: one namespace's Maildir tree (Dovecot's
 * maildir storage + maildir++/fs mailbox list): listing, create, delete,
 * rename, subscriptions and opening folders, with Dovecot's error texts.
 *
 * On disk, as Dovecot 2.3 leaves it (reference mailstore-tree.txt):
 * a new folder gets cur/ new/ tmp/ (0700), an empty `maildirfolder` file
 * (Maildir++ only; the root gets one too when INBOX is created there) and a
 * header-only dovecot-uidlist with a fresh UIDVALIDITY from
 * `dovecot-uidvalidity`. Deleting moves the folder aside to
 * `..DOVECOT-TRASHED` (Maildir++) before removing it, so a crash never
 * leaves half a mailbox under its name.
 */
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, MailError, mailboxNotFound } from '../errors.js';
import { chownIfNeeded, createExclusive, mkdirParents, type Perms, statOrUndef } from '../fs-util.js';
import { guid128Hex } from '../guid.js';
import type { MailLocation } from '../location.js';
import {
  isInboxName,
  type NameRules,
  normalizeInbox,
  stripTrailingSeparator,
  verifyCreateName,
  verifyName,
  vnameToStorageName,
} from '../names.js';
import { readSubscriptions, setSubscribed as writeSubscribed } from '../subscriptions.js';
import type { Mailbox, MailboxInfo, MailStorage, OpenOptions } from '../types.js';
import { nextUidValidity } from '../uidvalidity.js';
import { MaildirLayout } from './layout.js';
import { type MaildirContext, MaildirMailbox } from './mailbox.js';
import { formatUidlist } from './uidlist-format.js';
import { UIDLIST_FILE } from './uidlist.js';

export interface MailboxSetting {
  name: string;
  auto: 'no' | 'create' | 'subscribe';
  specialUse: string;
}

export interface NamespaceSettings {
  name: string;
  prefix: string;
  separator: string;
  inbox: boolean;
  hidden: boolean;
  list: string;
  subscriptions: boolean;
  type: string;
  mailboxes: MailboxSetting[];
}

export interface MaildirStorageOptions {
  perms: Perms;
  fsync: boolean;
  lockTimeout: number;
  copyWithHardlinks: boolean;
  quotaCheck?(vname: string, size: number, postSession: boolean): Promise<void>;
  quotaUpdate?(bytes: number, count: number): Promise<void>;
}

const RESERVED = new Set(['cur', 'new', 'tmp']);

export class MaildirStorage implements MailStorage {
  readonly layout: MaildirLayout;
  readonly rules: NameRules;
  private autoDone = false;

  constructor(
    readonly loc: MailLocation,
    readonly ns: NamespaceSettings,
    private readonly opts: MaildirStorageOptions,
  ) {
    this.layout = new MaildirLayout(loc);
    const listSep = this.layout.listSep;
    this.rules = {
      nsSep: ns.separator || listSep,
      listSep,
      prefix: ns.prefix,
      inbox: ns.inbox,
      ...(this.layout.fs && !loc.dirName ? { reservedNames: RESERVED } : {}),
      ...(loc.utf8 ? { utf8: true } : {}),
      ...(loc.noFsValidation ? { noFsValidation: true } : {}),
    };
  }

  get separator(): string {
    return this.rules.nsSep;
  }
  get prefix(): string {
    return this.ns.prefix;
  }
  get inboxNamespace(): boolean {
    return this.ns.inbox;
  }

  /** The context a folder needs. */
  private context(): MaildirContext {
    const o = this.opts;
    return {
      perms: o.perms,
      fsync: o.fsync,
      lockTimeout: o.lockTimeout,
      copyWithHardlinks: o.copyWithHardlinks,
      nextUidValidity: () => nextUidValidity(this.layout.controlRoot, o.perms),
      ...(o.quotaCheck ? { quotaCheck: o.quotaCheck } : {}),
      ...(o.quotaUpdate ? { quotaUpdate: o.quotaUpdate } : {}),
      sameStore: (other: Mailbox): other is MaildirMailbox => other instanceof MaildirMailbox,
    };
  }

  private storageName(vname: string): string {
    return vnameToStorageName(vname, this.rules);
  }

  path(vname: string): string {
    return this.layout.mailboxPath(this.storageName(vname));
  }

  /** Storage name → vname, or undefined for names that do not decode. */
  private vnameOf(storageName: string): string | undefined {
    if (storageName === 'INBOX' && this.ns.inbox) return `${this.ns.prefix}INBOX`;
    const parts = this.layout.decode(storageName);
    if (!parts) return undefined;
    return this.ns.prefix + parts.join(this.rules.nsSep);
  }

  private async isSelectable(dir: string): Promise<boolean> {
    const st = await statOrUndef(join(dir, 'cur'));
    return !!st?.isDirectory();
  }

  async exists(vname: string): Promise<boolean> {
    const err = verifyName(vname, this.rules);
    if (err) return false;
    return this.isSelectable(this.path(vname));
  }

  /** Create auto=create|subscribe mailboxes once per storage object (as Dovecot does on first access). */
  private async ensureAutoMailboxes(): Promise<void> {
    if (this.autoDone) return;
    this.autoDone = true;
    for (const m of this.ns.mailboxes) {
      if (m.auto === 'no') continue;
      const vname = this.ns.prefix + m.name;
      if (verifyName(vname, this.rules)) continue;
      if (!(await this.exists(vname))) {
        try {
          await this.createInternal(vname);
        } catch (e) {
          if (!(e instanceof MailError && e.kind === 'exists')) throw e;
        }
        if (m.auto === 'subscribe') await this.setSubscribed(vname, true);
      }
    }
  }

  async list(pattern = '*'): Promise<MailboxInfo[]> {
    await this.ensureAutoMailboxes();
    const boxes = new Map<string, { selectable: boolean; exists: boolean }>();
    if (this.ns.inbox) {
      const inbox = `${this.ns.prefix}INBOX`;
      boxes.set(inbox, { selectable: true, exists: true });
    }
    for (const f of await this.layout.folders()) {
      if (this.ns.inbox && f.storageName === 'INBOX') continue;
      const v = this.vnameOf(f.storageName);
      if (v === undefined) continue;
      boxes.set(v, { selectable: f.selectable, exists: true });
    }
    // parents that exist only through their children
    const sep = this.rules.nsSep;
    for (const v of [...boxes.keys()]) {
      const rest = v.slice(this.ns.prefix.length);
      const parts = rest.split(sep);
      for (let i = 1; i < parts.length; i++) {
        const p = this.ns.prefix + parts.slice(0, i).join(sep);
        if (!boxes.has(p)) boxes.set(p, { selectable: false, exists: false });
      }
    }
    const special = new Map(this.ns.mailboxes.map((m) => [this.ns.prefix + m.name, m.specialUse]));
    const names = [...boxes.keys()].sort((a, b) => {
      const ia = isInboxName(a, this.rules);
      const ib = isInboxName(b, this.rules);
      if (ia !== ib) return ia ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    const re = listPatternRegExp(pattern, sep);
    const out: MailboxInfo[] = [];
    for (const n of names) {
      if (!re.test(n)) continue;
      const b = boxes.get(n) as { selectable: boolean; exists: boolean };
      const hasChildren = names.some((o) => o.startsWith(n + sep));
      const attributes: string[] = [];
      if (!b.exists) attributes.push('\\NonExistent');
      else if (!b.selectable) attributes.push('\\Noselect');
      attributes.push(hasChildren ? '\\HasChildren' : '\\HasNoChildren');
      const su = special.get(n);
      const info: MailboxInfo = { name: n, attributes };
      if (su) {
        info.specialUse = su;
        attributes.push(...su.split(/\s+/).filter(Boolean));
      }
      out.push(info);
    }
    return out;
  }

  async create(vnameIn: string): Promise<void> {
    const vname = stripTrailingSeparator(normalizeInbox(vnameIn, this.rules), this.rules.nsSep);
    const err = verifyCreateName(vname, this.rules);
    if (err) throw new MailError('params', err);
    await this.createInternal(vname);
  }

  private async createInternal(vname: string): Promise<void> {
    const storageName = this.storageName(vname);
    const dir = this.layout.mailboxPath(storageName);
    if (await this.isSelectable(dir)) throw new MailError('exists', 'Mailbox already exists');
    if (storageName !== 'INBOX' && this.ns.inbox) await this.ensureInboxDirs();
    await this.makeMailboxDirs(storageName, dir);
  }

  /**
   * Creating another mailbox of the INBOX namespace creates INBOX's cur/
   * new/ tmp/ too, as Dovecot does (without maildirfolder; LAYOUT=fs also
   * gets its header-only dovecot-uidlist).
   */
  private async ensureInboxDirs(): Promise<void> {
    const dir = this.layout.mailboxPath('INBOX');
    if (await this.isSelectable(dir)) return;
    const perms = this.opts.perms;
    await mkdirParents(dir, perms);
    await this.makeSubdirs(dir);
    if (this.layout.fs) {
      const control = this.layout.controlPath('INBOX');
      if (!(await statOrUndef(join(control, UIDLIST_FILE)))) {
        const uv = await nextUidValidity(this.layout.controlRoot, perms);
        const text = formatUidlist({ version: 3, uidValidity: uv, nextUid: 1, guid: guid128Hex(), extra: [] }, []);
        await createExclusive(join(control, UIDLIST_FILE), text, perms).catch(() => false);
      }
    }
  }

  /** cur/ new/ tmp/ of an existing mailbox directory. */
  private async makeSubdirs(dir: string): Promise<void> {
    const perms = this.opts.perms;
    for (const sub of ['cur', 'new', 'tmp']) {
      try {
        await mkdir(join(dir, sub), { mode: perms.dirMode });
        await chownIfNeeded(join(dir, sub), perms);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
  }

  /** cur/new/tmp (+ maildirfolder, + header-only uidlist). */
  private async makeMailboxDirs(storageName: string, dir: string): Promise<void> {
    const perms = this.opts.perms;
    const isInbox = storageName === 'INBOX';
    if (this.layout.fs || isInbox) await mkdirParents(dir, perms);
    else {
      await mkdirParents(this.layout.root, perms);
      try {
        await mkdir(dir, { mode: perms.dirMode });
        await chownIfNeeded(dir, perms);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
    for (const sub of ['cur', 'new', 'tmp']) {
      try {
        await mkdir(join(dir, sub), { mode: perms.dirMode });
        await chownIfNeeded(join(dir, sub), perms);
      } catch (e) {
        const c = errnoCode(e);
        if (c === 'EEXIST') continue;
        if (c === 'ENOTDIR') throw new MailError('internal', `mkdir(${join(dir, sub)}) failed: Not a directory`);
        throw e;
      }
    }
    if (!this.layout.fs) await createExclusive(join(dir, 'maildirfolder'), '', perms).catch(() => false);
    const control = this.layout.controlPath(storageName);
    if (control !== dir) await mkdirParents(control, perms);
    if (!(await statOrUndef(join(control, UIDLIST_FILE)))) {
      const uv = await nextUidValidity(this.layout.controlRoot, perms);
      const text = formatUidlist({ version: 3, uidValidity: uv, nextUid: 1, guid: guid128Hex(), extra: [] }, []);
      await createExclusive(join(control, UIDLIST_FILE), text, perms).catch(() => false);
    }
  }

  async delete(vnameIn: string): Promise<void> {
    const vname = normalizeInbox(vnameIn, this.rules);
    if (isInboxName(vname, this.rules)) throw new MailError('notpossible', "INBOX can't be deleted.");
    const err = verifyName(vname, this.rules);
    if (err) throw new MailError('params', err);
    const storageName = this.storageName(vname);
    const dir = this.layout.mailboxPath(storageName);
    const st = await statOrUndef(dir);
    const selectable = await this.isSelectable(dir);
    if (!st || (!selectable && !this.layout.fs)) throw new MailError('notfound', mailboxNotFound(vname));
    // account the mails leaving the quota
    if (selectable && this.opts.quotaUpdate) {
      let bytes = 0;
      let count = 0;
      for (const sub of ['new', 'cur']) {
        for (const n of await readdir(join(dir, sub)).catch(() => [] as string[])) {
          if (n[0] === '.') continue;
          const m = /,S=(\d+)/.exec(n);
          bytes += m ? Number(m[1]) : ((await statOrUndef(join(dir, sub, n)))?.size ?? 0);
          count++;
        }
      }
      if (count) await this.opts.quotaUpdate(-bytes, -count).catch(() => {});
    }
    if (this.layout.fs) {
      const children = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !RESERVED.has(e.name));
      if (!selectable) {
        if (children.length === 0) {
          await rmdir(dir).catch(() => {});
          return;
        }
        throw new MailError('notfound', mailboxNotFound(vname));
      }
      // remove the mailbox's own files, keep children (it becomes \Noselect)
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !RESERVED.has(e.name)) continue;
        await rm(join(dir, e.name), { recursive: true, force: true });
      }
      if (children.length === 0) await rmdir(dir).catch(() => {});
      return;
    }
    const trash = join(this.layout.root, '..DOVECOT-TRASHED');
    await rm(trash, { recursive: true, force: true });
    await rename(dir, trash);
    await rm(trash, { recursive: true, force: true });
    const control = this.layout.controlPath(storageName);
    if (control !== dir) await rm(control, { recursive: true, force: true });
  }

  async rename(fromIn: string, toIn: string): Promise<void> {
    const from = normalizeInbox(fromIn, this.rules);
    const to = stripTrailingSeparator(normalizeInbox(toIn, this.rules), this.rules.nsSep);
    let err = verifyName(from, this.rules);
    if (err) throw new MailError('params', err);
    err = verifyCreateName(to, this.rules);
    if (err) throw new MailError('params', err);
    if (isInboxName(from, this.rules)) throw new MailError('notpossible', "Renaming INBOX isn't supported.");
    if (isInboxName(to, this.rules)) throw new MailError('exists', 'Target mailbox already exists');
    const fromStorage = this.storageName(from);
    const toStorage = this.storageName(to);
    const fromDir = this.layout.mailboxPath(fromStorage);
    const toDir = this.layout.mailboxPath(toStorage);
    if (!(await statOrUndef(fromDir))) throw new MailError('notfound', mailboxNotFound(from));
    if (await statOrUndef(toDir)) throw new MailError('exists', 'Target mailbox already exists');
    if (to.startsWith(from + this.rules.nsSep)) throw new MailError('notpossible', "Can't rename mailbox under its own child.");
    if (this.layout.fs) {
      await mkdirParents(join(toDir, '..'), this.opts.perms);
      await rename(fromDir, toDir);
      return;
    }
    // Maildir++: the folder and every child (.from.x → .to.x)
    const moves: Array<[string, string]> = [[fromDir, toDir]];
    for (const f of await this.layout.folders()) {
      if (f.storageName.startsWith(`${fromStorage}.`)) {
        const rest = f.storageName.slice(fromStorage.length);
        moves.push([this.layout.mailboxPath(f.storageName), this.layout.mailboxPath(toStorage + rest)]);
      }
    }
    for (const [, d] of moves) if (await statOrUndef(d)) throw new MailError('exists', 'Target mailbox already exists');
    for (const [s, d] of moves) await rename(s, d);
  }

  async subscriptions(): Promise<string[]> {
    const names = await readSubscriptions(this.layout.subscriptionsPath, this.layout.listSep);
    const out: string[] = [];
    for (const n of names) {
      const v = n === 'INBOX' ? (this.ns.inbox ? `${this.ns.prefix}INBOX` : undefined) : this.vnameOf(n);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  async setSubscribed(vnameIn: string, on: boolean): Promise<void> {
    const vname = normalizeInbox(vnameIn, this.rules);
    const err = verifyName(vname, this.rules);
    if (err) throw new MailError('params', err);
    await writeSubscribed(this.layout.subscriptionsPath, this.layout.listSep, this.storageName(vname), on, this.opts.perms, this.opts.fsync);
  }

  async open(vnameIn: string, opts: OpenOptions = {}): Promise<Mailbox> {
    return this.openMaildir(vnameIn, opts);
  }

  async openMaildir(vnameIn: string, opts: OpenOptions = {}): Promise<MaildirMailbox> {
    const vname = normalizeInbox(vnameIn, this.rules);
    const err = verifyName(vname, this.rules);
    if (err) throw new MailError('params', err);
    // an auto=create|subscribe mailbox comes into being when it is opened
    // (or listed); deliveries into other mailboxes do not create it
    const auto = this.ns.mailboxes.find((m) => m.auto !== 'no' && this.ns.prefix + m.name === vname);
    if (auto && !(await this.exists(vname))) {
      try {
        await this.createInternal(vname);
      } catch (e) {
        if (!(e instanceof MailError && e.kind === 'exists')) throw e;
      }
      if (auto.auto === 'subscribe') await this.setSubscribed(vname, true);
    }
    const storageName = this.storageName(vname);
    const dir = this.layout.mailboxPath(storageName);
    if (!(await this.isSelectable(dir))) {
      if (storageName === 'INBOX' && this.ns.inbox) {
        // maildir_mailbox_open: an existing root only gets its missing
        // subdirectories; a missing one is created as a new mailbox
        if (await statOrUndef(dir)) await this.ensureInboxDirs();
        else await this.makeMailboxDirs('INBOX', dir);
      } else if (!this.layout.fs && (await statOrUndef(dir))) {
        // Maildir++: a folder directory without cur/new/tmp gets them
        await this.makeSubdirs(dir);
      } else if (opts.autoCreate && !opts.readOnly) {
        const cerr = verifyCreateName(vname, this.rules);
        if (cerr) throw new MailError('params', cerr);
        try {
          await this.createInternal(vname);
        } catch (e) {
          if (!(e instanceof MailError && e.kind === 'exists')) throw e;
        }
        if (opts.autoSubscribe) await this.setSubscribed(vname, true);
      } else {
        // Dovecot's list index lives in the root, which the lookup creates
        if (!this.layout.fs) await mkdirParents(this.layout.root, this.opts.perms);
        throw new MailError('notfound', mailboxNotFound(vname));
      }
    }
    const box = new MaildirMailbox(vname, dir, this.layout.controlPath(storageName), this.context(), opts.readOnly ?? false);
    if (!opts.noSync) await box.sync();
    return box;
  }

  /** Every selectable mailbox directory (for quota recalculation). */
  async mailboxDirs(): Promise<string[]> {
    const out: string[] = [];
    if (this.ns.inbox) out.push(this.layout.mailboxPath('INBOX'));
    for (const f of await this.layout.folders()) if (f.selectable && f.storageName !== 'INBOX') out.push(this.layout.mailboxPath(f.storageName));
    return out;
  }
}

/** An IMAP LIST pattern as a RegExp: '*' matches anything, '%' anything but the separator. */
export function listPatternRegExp(pattern: string, sep: string): RegExp {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '%') re += `[^${sep.replace(/[\\\]^-]/g, '\\$&')}]*`;
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  // INBOX matches case-insensitively
  return new RegExp(`^${re}$`, /^inbox/i.test(pattern) ? 'i' : '');
}

