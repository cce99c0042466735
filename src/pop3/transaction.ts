/**
 * pop3/transaction.ts: the TRANSACTION and UPDATE states (RFC 1939 §5, §6;
 * pop3-client.c, pop3-commands.c) on the user's INBOX: STAT, LIST, RETR,
 * TOP, DELE, NOOP, RSET, UIDL, LAST (pop3_enable_last), CAPA, QUIT. DELE
 * only marks; QUIT expunges (or adds pop3_deleted_flag, pop3_delete_type)
 * and sets \Seen on RETRed messages unless pop3_no_flag_updates. Messages
 * carrying pop3_deleted_flag are hidden; a POP3 order (uidlist O) sorts.
 */
import { basename } from 'node:path';
import { varExpand, varHasKey } from '../../compat/dovecot/var-expand.js';
import type { MailUser } from '../storage/user.js';
import type { Mailbox, MessageRecord } from '../storage/types.js';
import { MailError } from '../storage/errors.js';
import type { Pop3Io } from './io.js';
import type { Pop3Settings } from './settings.js';
import { messageUidl, renameDuplicates, uidlKeymask, xUidlHeader } from './uidl.js';
import { pop3Wire } from './wire.js';
import { crc32 } from './crc32.js';

const CLIENT_MAX_BAD_COMMANDS = 20;

interface Msg {
  rec: MessageRecord;
  size: number;
}

export class Pop3Transaction {
  private box!: Mailbox;
  private msgs: Msg[] = [];
  private deleted: boolean[] = [];
  private anyDeleted = false;
  private deletedCount = 0;
  private deletedSize = 0;
  private seen: boolean[] | undefined;
  private seenChanges = 0;
  private totalSize = 0;
  private uidValidity = 0;
  private uidls: string[] | undefined;
  private readonly keymask: number;
  private readonly saveUidls: boolean;
  private lastSeenMsn = 0;
  private lowestRetrMsn = 0;
  private highestExpungedFetch = -1;
  private bad = 0;
  private quitSeen = false;
  private deleteSuccess = false;
  private topCount = 0;
  private topBytes = 0;
  private retrCount = 0;
  private retrBytes = 0;
  disconnected = false;

  constructor(
    private readonly io: Pop3Io,
    private readonly set: Pop3Settings,
    readonly user: MailUser,
    private readonly logInfo: (text: string) => void,
    private readonly logError: (text: string) => void,
  ) {
    this.keymask = uidlKeymask(set.uidlFormat);
    this.saveUidls = varHasKey(set.logoutFormat, 'u', 'uidl_change') || set.uidlDuplicates !== 'allow';
  }

  /** Open INBOX and read the message list (client_init_mailbox). Throws MailError. */
  async init(): Promise<void> {
    if (this.keymask === 0) throw new MailError('internal', 'Invalid pop3_uidl_format');
    this.box = await this.user.inbox.open('INBOX');
    await this.box.sync({ moveNew: !this.set.noFlagUpdates });
    this.uidValidity = this.box.uidValidity();
    let recs = [...this.box.messages()];
    if (this.set.deletedFlag !== '') recs = recs.filter((r) => !r.flags.includes(this.set.deletedFlag));
    // MAIL_SORT_POP3_ORDER: messages without an order come last, in UID order
    const ord = (r: MessageRecord) => r.pop3Order ?? 0xffffffff;
    recs.sort((a, b) => ord(a) - ord(b) || a.uid - b.uid);
    this.msgs = recs.map((rec) => ({ rec, size: rec.vsize }));
    this.deleted = new Array(this.msgs.length).fill(false);
    this.totalSize = 0;
    this.msgs.forEach((m, i) => {
      this.totalSize += m.size;
      if (m.rec.flags.includes('\\Seen')) this.lastSeenMsn = i + 1;
    });
    if (!this.set.noFlagUpdates && this.msgs.length > 0) this.seen = new Array(this.msgs.length).fill(false);
  }

  get messageCount(): number {
    return this.msgs.length;
  }

  /** One command line. Returns false when the session is over. */
  async command(line: string): Promise<boolean> {
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = (sp < 0 ? '' : line.slice(sp + 1)).replace(/^ +/, '');
    let ret: number;
    if (name === '') {
      this.io.writeLine('-ERR Unknown command.');
      ret = -1;
    } else ret = await this.execute(name, args);
    if (this.disconnected) return false;
    if (ret >= 0) this.bad = 0;
    else if (++this.bad > CLIENT_MAX_BAD_COMMANDS) {
      this.io.writeLine('-ERR Too many bad commands.');
      this.disconnect('Too many bad commands.');
      return false;
    }
    return true;
  }

  private async execute(name: string, args: string): Promise<number> {
    switch (name) {
      case 'CAPA':
        this.io.write('+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n.\r\n');
        return 1;
      case 'DELE':
        return this.dele(args);
      case 'LIST':
        return this.list(args);
      case 'LAST':
        if (!this.set.enableLast) break;
        this.io.writeLine(`+OK ${this.lastSeenMsn}`);
        return 1;
      case 'NOOP':
        this.io.writeLine('+OK');
        return 1;
      case 'QUIT':
        return this.quit();
      case 'RETR':
        return this.retr(args);
      case 'RSET':
        return this.rset();
      case 'STAT':
        this.io.writeLine(`+OK ${this.msgs.length - this.deletedCount} ${this.totalSize - this.deletedSize}`);
        return 1;
      case 'TOP':
        return this.top(args);
      case 'UIDL':
        return this.uidl(args);
      default:
        break;
    }
    this.io.writeLine(`-ERR Unknown command: ${name}`);
    return -1;
  }

  /** get_msgnum: the 0-based message index and the rest of the arguments, or undefined after an -ERR. */
  private msgnum(args: string, thenSpace: boolean): { num: number; rest: string } | undefined {
    if (!/^[0-9]/.test(args)) {
      this.io.writeLine(`-ERR Invalid message number: ${args}`);
      return undefined;
    }
    const m = /^[0-9]+/.exec(args) as RegExpExecArray;
    const digits = m[0];
    let rest = args.slice(digits.length);
    const num = Number(digits);
    if (num > 0xffffffff) {
      this.io.writeLine(`-ERR Message number too large: ${rest}`);
      return undefined;
    }
    if (rest[0] !== (thenSpace ? ' ' : undefined)) {
      this.io.writeLine(`-ERR Noise after message number: ${rest}`);
      return undefined;
    }
    if (num === 0 || num > this.msgs.length) {
      this.io.writeLine(`-ERR There's no message ${num}.`);
      return undefined;
    }
    if (this.deleted[num - 1]) {
      this.io.writeLine('-ERR Message is deleted.');
      return undefined;
    }
    rest = rest.replace(/^ +/, '');
    return { num: num - 1, rest };
  }

  private dele(args: string): number {
    const m = this.msgnum(args, false);
    if (!m) return -1;
    this.anyDeleted = true;
    this.deleted[m.num] = true;
    this.deletedCount++;
    this.deletedSize += (this.msgs[m.num] as Msg).size;
    this.io.writeLine('+OK Marked to be deleted.');
    return 1;
  }

  private list(args: string): number {
    if (args === '') {
      const parts: string[] = [`+OK ${this.msgs.length - this.deletedCount} messages:\r\n`];
      this.msgs.forEach((m, i) => {
        if (!this.deleted[i]) parts.push(`${i + 1} ${m.size}\r\n`);
      });
      parts.push('.\r\n');
      this.io.write(parts.join(''));
      return 1;
    }
    const m = this.msgnum(args, false);
    if (!m) return -1;
    this.io.writeLine(`+OK ${m.num + 1} ${(this.msgs[m.num] as Msg).size}`);
    return 1;
  }

  private async retr(args: string): Promise<number> {
    const m = this.msgnum(args, false);
    if (!m) return -1;
    const msn = m.num + 1;
    if (this.lowestRetrMsn > msn || this.lowestRetrMsn === 0) this.lowestRetrMsn = msn;
    if (this.lastSeenMsn < msn) this.lastSeenMsn = msn;
    this.retrCount++;
    return this.fetch(m.num, undefined);
  }

  private async top(args: string): Promise<number> {
    const m = this.msgnum(args, true);
    if (!m) return -1;
    const a = m.rest;
    if (!/^[0-9]/.test(a)) {
      this.io.writeLine(`-ERR Invalid size: ${a}`);
      return -1;
    }
    const digits = (/^[0-9]+/.exec(a) as RegExpExecArray)[0];
    const rest = a.slice(digits.length);
    if (BigInt(digits) > 0xffffffffffffffffn) {
      this.io.writeLine(`-ERR Size too large: ${rest}`);
      return -1;
    }
    if (rest !== '') {
      this.io.writeLine(`-ERR Noise after size: ${rest}`);
      return -1;
    }
    this.topCount++;
    return this.fetch(m.num, Number(digits));
  }

  private async fetch(num: number, bodyLines: number | undefined): Promise<number> {
    const msg = this.msgs[num] as Msg;
    let data: Buffer;
    try {
      data = await this.box.read(msg.rec.uid);
    } catch {
      this.io.writeLine(`-ERR Message ${num + 1} expunged.`);
      if (num <= this.highestExpungedFetch) return -1;
      this.highestExpungedFetch = num;
      return 1;
    }
    if (bodyLines === undefined && this.seen && !msg.rec.flags.includes('\\Seen') && !this.seen[num]) {
      this.seen[num] = true;
      this.seenChanges++;
    }
    const before = this.io.outBytes;
    this.io.write(bodyLines === undefined ? `+OK ${msg.size} octets\r\n` : '+OK\r\n');
    this.io.write(
      pop3Wire(data, {
        ...(bodyLines !== undefined ? { bodyLines } : {}),
        outlookNoNuls: this.set.workarounds.outlookNoNuls,
        oeNsEoh: this.set.workarounds.oeNsEoh,
      }),
    );
    const n = this.io.outBytes - before;
    if (bodyLines === undefined) this.retrBytes += n;
    else this.topBytes += n;
    this.io.write('.\r\n');
    return 1;
  }

  private async rset(): Promise<number> {
    this.lastSeenMsn = 0;
    if (this.anyDeleted) {
      this.anyDeleted = false;
      this.deleted.fill(false);
      this.deletedCount = 0;
      this.deletedSize = 0;
    }
    if (this.seenChanges > 0 && this.seen) {
      this.seen.fill(false);
      this.seenChanges = 0;
    }
    if (this.set.enableLast && this.msgs.length > 0) {
      // RFC 1460: RSET forgets what was read
      await this.box.setFlags(
        this.msgs.map((m) => m.rec.uid),
        'remove',
        ['\\Seen'],
      );
    }
    this.io.writeLine('+OK');
    return 1;
  }

  /** The UIDLs of every message, computed once (client_uidls_save). Undefined after a logged error. */
  private async allUidls(): Promise<string[] | undefined> {
    if (this.uidls) return this.uidls;
    const out: string[] = [];
    for (const m of this.msgs) {
      const u = await this.uidlOf(m);
      if (u === undefined) return undefined;
      out.push(u);
    }
    this.uidls = this.set.uidlDuplicates === 'rename' ? renameDuplicates(out) : out;
    return this.uidls;
  }

  private async uidlOf(m: Msg): Promise<string | undefined> {
    const path = (this.box as Mailbox & { filePath?(uid: number): string | undefined }).filePath?.(m.rec.uid);
    const base = path ? basename(path).split(':')[0] as string : m.rec.guid;
    let xuidl: string | undefined;
    if (this.set.reuseXuidl && m.rec.pop3Uidl === undefined) {
      try {
        xuidl = xUidlHeader(await this.box.read(m.rec.uid));
      } catch {
        xuidl = undefined;
      }
    }
    const r = messageUidl(this.set.uidlFormat, this.keymask, this.set.reuseXuidl, {
      rec: m.rec,
      uidValidity: this.uidValidity,
      baseName: base,
      ...(xuidl !== undefined ? { xuidl } : {}),
    });
    if (r.error !== undefined || r.uidl === undefined) {
      this.logError(r.error ?? 'UIDL failed');
      return undefined;
    }
    return r.uidl;
  }

  private async uidl(args: string): Promise<number> {
    if (args === '') {
      this.io.writeLine('+OK');
      let uidls: string[] | undefined;
      if (this.saveUidls || this.uidls) uidls = await this.allUidls();
      const parts: string[] = [];
      for (let i = 0; i < this.msgs.length; i++) {
        if (this.deleted[i]) continue;
        const u = uidls ? uidls[i] : await this.uidlOf(this.msgs[i] as Msg);
        if (u === undefined) {
          this.io.write(parts.join(''));
          this.disconnect('POP3 UIDLs couldn\'t be listed');
          return 1;
        }
        parts.push(`${i + 1} ${u}\r\n`);
      }
      parts.push('.\r\n');
      this.io.write(parts.join(''));
      return 1;
    }
    const m = this.msgnum(args, false);
    if (!m) return -1;
    const u = this.saveUidls || this.uidls ? (await this.allUidls())?.[m.num] : await this.uidlOf(this.msgs[m.num] as Msg);
    if (u === undefined) {
      this.disconnect('POP3 UIDLs couldn\'t be listed');
      return 1;
    }
    this.io.writeLine(`+OK ${m.num + 1} ${u}`);
    return 1;
  }

  /** client_update_mails: expunge (or flag) DELEted messages after QUIT, \Seen for RETRed ones. */
  private async updateMails(): Promise<void> {
    if (this.box.readOnly) return;
    const del: number[] = [];
    const seen: number[] = [];
    const expunging = this.anyDeleted && this.quitSeen;
    for (let i = 0; i < this.msgs.length; i++) {
      const uid = (this.msgs[i] as Msg).rec.uid;
      if (expunging && this.deleted[i]) del.push(uid);
      else if (this.seen?.[i]) seen.push(uid);
    }
    if (del.length) {
      if (this.set.deleteType === 'flag') await this.box.setFlags(del, 'add', [this.set.deletedFlag]);
      else await this.box.expunge(del);
    }
    if (seen.length) await this.box.setFlags(seen, 'add', ['\\Seen']);
    this.seenChanges = 0;
  }

  private async quit(): Promise<number> {
    this.quitSeen = true;
    try {
      if (this.anyDeleted || this.seen) await this.updateMails();
      this.deleteSuccess = true;
    } catch (e) {
      const err = e as MailError;
      this.io.writeLine(`-ERR ${err.kind === 'temp' || err.kind === 'inuse' || err.kind === 'noquota' ? '[SYS/TEMP]' : '[SYS/PERM]'} ${err.message}`);
      this.disconnect('Storage error during logout.');
      return 1;
    }
    this.io.writeLine(this.anyDeleted ? '+OK Logging out, messages deleted.' : '+OK Logging out.');
    this.disconnect('Logged out');
    return 1;
  }

  /** client_disconnect: log once, close the connection. */
  disconnect(reason: string): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.logInfo(`Disconnected: ${reason} ${this.stats()}`);
    this.io.end();
  }

  /**
   * The connection went away without QUIT (client_destroy). The real pop3
   * records \Seen for RETRed messages in its index only; Maildir file names
   * change at the next sync that writes, so nothing is written here either.
   */
  async destroy(reason: string): Promise<void> {
    if (!this.disconnected) {
      this.disconnected = true;
      this.logInfo(`Disconnected: ${reason} ${this.stats()}`);
    }
    await this.box?.close();
  }

  async close(): Promise<void> {
    await this.box?.close();
  }

  private uidlChange(): string {
    if (!this.uidls) return '';
    const old = this.lowestRetrMsn > 0 ? this.lowestRetrMsn - 1 : this.msgs.length;
    let oldHash = 0;
    for (let i = 0; i < old; i++) oldHash ^= crc32(this.uidls[i] as string);
    let newHash = 0;
    for (let i = 0; i < this.msgs.length; i++) if (!this.deleted[i]) newHash ^= crc32(this.uidls[i] as string);
    oldHash >>>= 0;
    newHash >>>= 0;
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const newCount = this.msgs.length - this.deletedCount;
    if (oldHash === newHash && old === newCount) return `${old}/${hex(oldHash)}`;
    return `${old}/${hex(oldHash)} -> ${newCount}/${hex(newHash)}`;
  }

  /** pop3_logout_format expanded (client_stats). */
  stats(): string {
    const u = this.user;
    const at = u.username.indexOf('@');
    return varExpand(this.set.logoutFormat, [
      { key: 'p', long: 'top_bytes', value: String(this.topBytes) },
      { key: 't', long: 'top_count', value: String(this.topCount) },
      { key: 'b', long: 'retr_bytes', value: String(this.retrBytes) },
      { key: 'r', long: 'retr_count', value: String(this.retrCount) },
      { key: 'd', long: 'deleted_count', value: this.deleteSuccess ? String(this.deletedCount) : '0' },
      { key: 'm', long: 'message_count', value: String(this.msgs.length) },
      { key: 's', long: 'message_bytes', value: String(this.totalSize) },
      { key: 'i', long: 'input', value: String(this.io.inBytes) },
      { key: 'o', long: 'output', value: String(this.io.outBytes) },
      { key: 'u', long: 'uidl_change', value: varHasKey(this.set.logoutFormat, 'o', 'uidl_change') ? this.uidlChange() : '' },
      { long: 'deleted_bytes', value: this.deleteSuccess ? String(this.deletedSize) : '0' },
      { long: 'user', value: u.username },
      { long: 'username', value: at < 0 ? u.username : u.username.slice(0, at) },
      { long: 'domain', value: at < 0 ? '' : u.username.slice(at + 1) },
      { long: 'home', value: u.home ?? '' },
    ]).value;
  }
}
