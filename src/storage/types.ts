/**
 * storage/types.ts: the one mailbox interface every driver implements and
 * every protocol (LMTP, LDA, IMAP, POP3, doveadm) uses. Dovecot's
 * lib-storage split, in TypeScript:
 *
 *   MailUser      one user's mail: namespaces, quota, settings (user.ts)
 *   MailStorage   one namespace's mailbox tree: list/create/delete/rename,
 *                 subscriptions, open
 *   Mailbox       one open mailbox: sync, status, append, copy, read,
 *                 flags, expunge, change notification
 *
 * Names given to MailStorage are vnames: UTF-8, with the namespace prefix
 * and separator ("Projects/2025"). Flags are IMAP names: system flags
 * start with '\' (\Seen \Answered \Flagged \Deleted \Draft), anything else
 * is a keyword. Message bytes are as stored (LF line ends on Maildir);
 * `vsize` is the CRLF size IMAP and POP3 report.
 */
import type { Readable } from 'node:stream';

export interface MailboxInfo {
  /** vname, UTF-8 (namespace prefix included). */
  name: string;
  /** IMAP LIST attributes: \Noselect \NonExistent \HasChildren \HasNoChildren \Subscribed, special-use. */
  attributes: string[];
  /** special_use of the mailbox block, e.g. "\Sent". */
  specialUse?: string;
}

export interface MessageRecord {
  uid: number;
  /** System flags and keywords. \Recent is never stored. */
  flags: string[];
  /** Physical size (as stored). */
  size: number;
  /** RFC822 size with CRLF line ends (IMAP RFC822.SIZE, POP3 LIST). */
  vsize: number;
  /** INTERNALDATE (the file's mtime on Maildir). */
  internalDate: Date;
  /** Message GUID (Maildir: the base file name unless a G record says otherwise). */
  guid: string;
  /** Modification sequence of the last change seen by this process. */
  modseq: number;
  /** POP3 UIDL override from the uidlist (P), and POP3 order (O). */
  pop3Uidl?: string;
  pop3Order?: number;
  /** Is the message in new/ (not yet seen by any IMAP session: \Recent candidates). */
  isNew?: boolean;
}

export interface MailboxStatus {
  messages: number;
  recent: number;
  unseen: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
  /** Mailbox GUID (hex). */
  guid: string;
  /** Sum of physical / virtual sizes. */
  size: number;
  vsize: number;
  /** Sequence number of the first unseen message, 0 if none. */
  firstUnseenSeq: number;
}

export interface AppendOptions {
  flags?: string[];
  /** INTERNALDATE; default now. */
  internalDate?: Date;
  /** Envelope sender (mbox From_ line). */
  envelopeFrom?: string;
  /** Keep this GUID (Maildir: as the base file name when free, else as a G record). */
  guid?: string;
  /** LDA/LMTP save (quota_grace applies, MAILBOX_FLAG_POST_SESSION). */
  postSession?: boolean;
}

export interface AppendResult {
  uid: number;
  uidValidity: number;
  guid: string;
  /** Where the message now is (Maildir: path of the file), for hard-link copies. */
  storagePath?: string;
}

export interface SyncOptions {
  /** Move new/ mails to cur/ (what an IMAP SELECT does). */
  moveNew?: boolean;
}

export interface SyncChanges {
  added: number[];
  expunged: number[];
  flagsChanged: number[];
}

export type FlagMode = 'add' | 'remove' | 'replace';

export interface Mailbox {
  /** vname */
  readonly name: string;
  readonly readOnly: boolean;
  /** Re-read the mailbox from disk (new files, outside flag changes, expunges). */
  sync(opts?: SyncOptions): Promise<SyncChanges>;
  /** Messages as of the last sync, in UID order. */
  messages(): readonly MessageRecord[];
  /** Look a message up by UID (as of the last sync). */
  get(uid: number): MessageRecord | undefined;
  status(): Promise<MailboxStatus>;
  uidValidity(): number;
  /** Keywords defined in this mailbox (PERMANENTFLAGS / FLAGS). */
  keywords(): string[];
  /** Save a new message (CRLF is converted to LF on Maildir). */
  append(data: Buffer | AsyncIterable<Buffer>, opts?: AppendOptions): Promise<AppendResult>;
  /** Copy messages into `dest` (hard links where possible). Map of source UID → dest UID. */
  copyTo(uids: number[], dest: Mailbox): Promise<Map<number, number>>;
  /** The message bytes as stored. Throws MailError('expunged') if gone. */
  read(uid: number): Promise<Buffer>;
  /** A stream of the message bytes, with its size. */
  open(uid: number): Promise<{ stream: Readable; size: number }>;
  /** Change flags of messages; returns the updated records (expunged ones are skipped). */
  setFlags(uids: number[], mode: FlagMode, flags: string[]): Promise<MessageRecord[]>;
  /** Remove messages: the given UIDs, or every message flagged \Deleted. Returns the UIDs removed. */
  expunge(uids?: number[]): Promise<number[]>;
  /** Called when the mailbox may have changed (our own writes or an outside writer); returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface OpenOptions {
  readOnly?: boolean;
  /** Create the mailbox if it does not exist (lda_mailbox_autocreate). */
  autoCreate?: boolean;
  /** Subscribe it when auto-created (lda_mailbox_autosubscribe). */
  autoSubscribe?: boolean;
  /** Skip the initial sync (the caller only appends: LMTP/LDA delivery). */
  noSync?: boolean;
}

export interface MailStorage {
  /** Namespace separator used in vnames. */
  readonly separator: string;
  readonly prefix: string;
  readonly inboxNamespace: boolean;
  /** Every mailbox (and \Noselect parent), INBOX first. `pattern` is an IMAP LIST pattern (* and %). */
  list(pattern?: string): Promise<MailboxInfo[]>;
  exists(name: string): Promise<boolean>;
  create(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  subscriptions(): Promise<string[]>;
  setSubscribed(name: string, subscribed: boolean): Promise<void>;
  open(name: string, opts?: OpenOptions): Promise<Mailbox>;
  /** Filesystem path of a mailbox (doveadm mailbox path). */
  path(name: string): string;
}
