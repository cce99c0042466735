/**
 * delivery/mail-copy.ts: mail_copy(3), the bytes a local-style delivery
 * writes (global/mail_copy.c):
 *
 *   From sender  Mon Nov 23 19:08:57 2026      (MAIL_COPY_FROM; MAILER-DAEMON for <>)
 *   Return-Path: <sender>                      (MAIL_COPY_RETURN_PATH)
 *   X-Original-To: orig                        (MAIL_COPY_ORIG_RCPT, when known)
 *   Delivered-To: recipient                    (MAIL_COPY_DELIVERED)
 *   content lines, ">From " quoted (QUOTE), "." doubled (DOT)
 *   a newline after an unterminated last line, a blank line (BLANK)
 *
 * Addresses are written in quoted RFC 822 form. Lines end in `eol`.
 */
import { quote822Local } from '../maps/address.js';
import { asctime } from '../queue/dates.js';
import { Rec } from '../queue/record.js';
import type { MessageContent } from './types.js';

export const MailCopy = {
  QUOTE: 1 << 0,
  TOFILE: 1 << 1,
  FROM: 1 << 2,
  DELIVERED: 1 << 3,
  RETURN_PATH: 1 << 4,
  DOT: 1 << 5,
  BLANK: 1 << 6,
  ORIG_RCPT: 1 << 7,
} as const;
export const MAIL_COPY_MBOX =
  MailCopy.FROM | MailCopy.QUOTE | MailCopy.TOFILE | MailCopy.DELIVERED | MailCopy.RETURN_PATH | MailCopy.BLANK | MailCopy.ORIG_RCPT;
export const MAIL_COPY_MAILDIR = MailCopy.TOFILE | MailCopy.RETURN_PATH | MailCopy.DELIVERED | MailCopy.ORIG_RCPT;

export interface CopyAttrs {
  sender: string;
  origRcpt: string;
  delivered: string;
  /** enable_original_recipient. */
  enableOrcpt?: boolean;
  /** Seconds for the From_ line (default: now). */
  nowSec?: number;
}

/** The delivered bytes as a list of latin1 byte-string chunks. */
export function mailCopyChunks(content: MessageContent, flags: number, attrs: CopyAttrs, eol = '\n'): string[] {
  const out: string[] = [];
  if (flags & (MailCopy.FROM | MailCopy.RETURN_PATH)) {
    const q = quote822Local(attrs.sender);
    if (flags & MailCopy.FROM) {
      const when = asctime(attrs.nowSec ?? Math.floor(Date.now() / 1000)).slice(0, 24);
      out.push(`From ${attrs.sender === '' ? 'MAILER-DAEMON' : q}  ${when}${eol}`);
    }
    if (flags & MailCopy.RETURN_PATH) out.push(`Return-Path: <${attrs.sender !== '' ? q : ''}>${eol}`);
  }
  if (flags & MailCopy.ORIG_RCPT && (attrs.enableOrcpt ?? true) && attrs.origRcpt !== '') {
    out.push(`X-Original-To: ${quote822Local(attrs.origRcpt)}${eol}`);
  }
  if (flags & MailCopy.DELIVERED) out.push(`Delivered-To: ${quote822Local(attrs.delivered)}${eol}`);
  let prev: number = Rec.NORM;
  for (const [type, data] of content.records()) {
    if (prev === Rec.NORM) {
      if (flags & MailCopy.QUOTE && data.startsWith('From ')) out.push('>');
      if (flags & MailCopy.DOT && data[0] === '.') out.push('.');
    }
    out.push(data);
    if (type === Rec.NORM) out.push(eol);
    prev = type;
  }
  if (prev !== Rec.NORM) out.push(eol);
  if (flags & MailCopy.BLANK) out.push(eol);
  return out;
}

/** mailCopyChunks() as one Buffer. */
export function mailCopyBuffer(content: MessageContent, flags: number, attrs: CopyAttrs, eol = '\n'): Buffer {
  return Buffer.from(mailCopyChunks(content, flags, attrs, eol).join(''), 'latin1');
}
