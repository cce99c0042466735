/**
 * imap/selected.ts: the selected mailbox as one session sees it: the
 * sequence → UID map, the flags last sent, the \Recent set, and the
 * untagged updates (EXPUNGE, EXISTS, RECENT, FETCH FLAGS, FLAGS) that bring
 * the client up to date after the mailbox changed (imap-sync.c). Expunges
 * are announced highest sequence first so earlier numbers stay valid.
 */
import type { Mailbox, MessageRecord } from '../storage/types.js';
import type { ImapOutput } from './output.js';

const SYSTEM_ORDER = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
export const SYSTEM_FLAGS = new Set(SYSTEM_ORDER.map((f) => f.toLowerCase()));

export class SelectedMailbox {
  uids: number[] = [];
  private flags = new Map<number, string>();
  recent = new Set<number>();
  keywordsSent: string[] = [];
  /** Expunges already announced while a command ran (MOVE/EXPUNGE send their own). */
  constructor(
    readonly box: Mailbox,
    readonly readOnly: boolean,
    readonly vname: string,
  ) {}

  get count(): number {
    return this.uids.length;
  }

  uidOf(seq: number): number {
    return this.uids[seq - 1] as number;
  }

  seqOf(uid: number): number {
    // binary search: uids ascend
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid] as number;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  record(uid: number): MessageRecord | undefined {
    return this.box.get(uid);
  }

  /** The FLAGS list as Dovecot orders it: system flags, \Recent, then keywords in mailbox order. */
  flagList(rec: MessageRecord): string {
    const have = new Set(rec.flags);
    const out: string[] = [];
    for (const f of SYSTEM_ORDER) if (have.has(f)) out.push(f);
    if (this.recent.has(rec.uid)) out.push('\\Recent');
    const kws = this.box.keywords();
    for (const k of kws) if (have.has(k)) out.push(k);
    for (const f of rec.flags) if (!f.startsWith('\\') && !kws.includes(f)) out.push(f);
    return `(${out.join(' ')})`;
  }

  /** Remember what the client now knows of a message's flags. */
  noteFlags(rec: MessageRecord): void {
    this.flags.set(rec.uid, this.flagList(rec));
  }

  flagsLine(): string {
    return `* FLAGS (${[...SYSTEM_ORDER, ...this.box.keywords()].join(' ')})`;
  }

  permanentFlagsLine(): string {
    if (this.readOnly) return '* OK [PERMANENTFLAGS ()] Read-only mailbox.';
    return `* OK [PERMANENTFLAGS (${[...SYSTEM_ORDER, ...this.box.keywords(), '\\*'].join(' ')})] Flags permitted.`;
  }

  /** FLAGS and PERMANENTFLAGS again when keywords were added since they were last sent. */
  announceKeywords(out: ImapOutput): void {
    const kws = this.box.keywords();
    if (kws.length !== this.keywordsSent.length || kws.some((k, i) => k !== this.keywordsSent[i])) {
      this.keywordsSent = [...kws];
      out.line(this.flagsLine());
      out.line(this.permanentFlagsLine());
    }
  }

  /** First view after SELECT: every message is known, new ones are \Recent. */
  initView(): void {
    const recs = this.box.messages();
    this.uids = recs.map((r) => r.uid);
    for (const r of recs) {
      if (r.isNew) this.recent.add(r.uid);
    }
    for (const r of recs) this.noteFlags(r);
    this.keywordsSent = [...this.box.keywords()];
  }

  /** Re-read the mailbox; new/ files become ours (\Recent) unless read-only. */
  async sync(): Promise<void> {
    await this.box.sync();
    const fresh = this.box.messages().filter((r) => r.isNew && !this.flags.has(r.uid));
    for (const r of fresh) this.recent.add(r.uid);
    if (fresh.length && !this.readOnly) await this.box.sync({ moveNew: true });
  }

  /**
   * Send the changes since the client's view: EXPUNGE, FLAGS/PERMANENTFLAGS
   * when keywords were added, FETCH FLAGS, EXISTS and RECENT. `expunges`
   * false holds expunges back (FETCH, STORE, SEARCH must not renumber).
   */
  announce(out: ImapOutput, opts: { expunges: boolean; condstore: boolean; uidCmd?: boolean }): void {
    const recs = this.box.messages();
    const now = new Map<number, MessageRecord>();
    for (const r of recs) now.set(r.uid, r);
    let recentChanged = false;
    // Dovecot's order: keyword list, flag changes (old sequence numbers), expunges, then EXISTS/RECENT
    this.announceKeywords(out);
    this.uids.forEach((uid, i) => {
      const r = now.get(uid);
      if (!r) return;
      const fl = this.flagList(r);
      if (this.flags.get(uid) !== fl) {
        this.flags.set(uid, fl);
        const modseq = opts.condstore ? ` MODSEQ (${r.modseq})` : '';
        out.line(`* ${i + 1} FETCH (${opts.uidCmd ? `UID ${uid} ` : ''}FLAGS ${fl}${modseq})`);
      }
    });
    if (opts.expunges) {
      for (let i = this.uids.length - 1; i >= 0; i--) {
        const uid = this.uids[i] as number;
        if (now.has(uid)) continue;
        out.line(`* ${i + 1} EXPUNGE`);
        this.uids.splice(i, 1);
        this.flags.delete(uid);
        if (this.recent.delete(uid)) recentChanged = true;
      }
    }
    const max = this.uids.length ? (this.uids[this.uids.length - 1] as number) : 0;
    const added = recs.filter((r) => r.uid > max);
    if (added.length) {
      for (const r of added) {
        this.uids.push(r.uid);
        this.noteFlags(r);
      }
      out.line(`* ${this.uids.length} EXISTS`);
      recentChanged = true;
    }
    if (recentChanged) out.line(`* ${this.recent.size} RECENT`);
  }
}
