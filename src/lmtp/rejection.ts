/**
 * lmtp/rejection.ts: the rejection dovecot-lda sends when a delivery is
 * refused for good (over quota without -e): lib-lda/mail-send.c
 * mail_send_rejection, submitted through sendmail_path as
 * `<sendmail_path> -i -f <> -- <return address>` (lib-smtp smtp-submit.c).
 *
 *   Message-ID: <dovecot-<secs>-<usecs>-0@<hostname>>
 *   Date, From: <postmaster_address>, To: <return address>
 *   Content-Type: multipart/report; report-type=delivery-status;
 *   Subject: <rejection_subject>, Auto-Submitted: auto-replied (rejected)
 *   a text part (<rejection_reason>), a message/delivery-status part
 *   (Reporting-MTA, Final-Recipient, Action: failed, Status: 5.2.2) and
 *   the original headers (without Content-Type) as message/rfc822.
 *
 * No rejection goes out for Auto-Submitted mail or without a return
 * address; both are logged instead.
 */
import { spawn } from 'node:child_process';
import { hostname as systemHostname } from 'node:os';
import { varExpand, type VarTable } from '../../compat/dovecot/var-expand.js';
import { encodeAddress, type SmtpAddress } from './address.js';
import { messageDate } from './headers.js';

export interface RejectionInput {
  /** The original message (as received). */
  message: Buffer;
  recipient: SmtpAddress;
  returnAddress?: SmtpAddress;
  reason: string;
  hostname: string;
  postmasterAddress: string;
  rejectionSubject: string;
  rejectionReason: string;
  mailboxFull: boolean;
  sendmailPath: string;
  now?: Date;
  log?(level: 'info' | 'error', text: string): void;
}

/** The header block of a message (up to and including the empty line), LF line ends. */
function headerBlock(msg: Buffer): string {
  const text = msg.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  return head.replace(/\r\n/g, '\n');
}

/** First value of a header (unfolded), or undefined. */
export function firstHeader(msg: Buffer, name: string): string | undefined {
  const head = headerBlock(msg);
  const re = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\n[ \\t].*)*)`, 'im');
  const m = re.exec(head);
  return m ? (m[1] ?? '').replace(/\n[ \t]+/g, ' ').trim() : undefined;
}

/** Original headers minus Content-Type (header filter, NO_CR, body hidden). */
function filteredHeaders(msg: Buffer): string {
  const lines = headerBlock(msg).split('\n');
  const out: string[] = [];
  let skip = false;
  for (const l of lines) {
    if (/^[ \t]/.test(l)) {
      if (!skip) out.push(l);
      continue;
    }
    skip = /^content-type:/i.test(l);
    if (!skip) out.push(l);
  }
  return `${out.join('\n')}\n\n`;
}

let msgidCount = 0;

/** postmaster_address as message_address_write prints it: a bare address gets the name "Postmaster". */
function postmasterFrom(addr: string): string {
  const a = addr.trim();
  if (a.includes('<')) return a;
  return `Postmaster <${a}>`;
}

export function buildRejection(input: RejectionInput): { text: string; to: string } | undefined {
  const now = input.now ?? new Date();
  const subject = firstHeader(input.message, 'Subject') ?? '';
  const to = encodeAddress(input.recipient);
  const table: VarTable = [
    { key: 'n', long: 'crlf', value: '\r\n' },
    { key: 'r', long: 'reason', value: input.reason },
    { key: 's', long: 'subject', value: subject.length > 80 ? `${subject.slice(0, 77)}...` : subject },
    { key: 't', long: 'to', value: to },
  ];
  if (!input.returnAddress || (input.returnAddress.localpart === '' && input.returnAddress.domain === undefined)) return undefined;
  const ret = encodeAddress(input.returnAddress);
  const usec = now.getMilliseconds() * 1000;
  // Message-ID uses the system host name (mail_set->hostname), the boundary the hostname setting
  const msgid = `<dovecot-${Math.floor(now.getTime() / 1000)}-${usec}-${msgidCount++}@${systemHostname()}>`;
  const boundary = `${process.pid}/${input.hostname}`;
  let s = `Message-ID: ${msgid}\r\n`;
  s += `Date: ${messageDate(now)}\r\n`;
  s += `From: ${postmasterFrom(input.postmasterAddress)}\r\n`;
  s += `To: <${ret}>\r\n`;
  s += 'MIME-Version: 1.0\r\n';
  s += `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n`;
  s += `Subject: ${varExpand(input.rejectionSubject, table).value}\r\n`;
  s += 'Auto-Submitted: auto-replied (rejected)\r\n';
  s += 'Precedence: bulk\r\n';
  s += '\r\nThis is a MIME-encapsulated message\r\n\r\n';
  s += `--${boundary}\r\n`;
  s += 'Content-Type: text/plain; charset=utf-8\r\n';
  s += 'Content-Disposition: inline\r\n';
  s += 'Content-Transfer-Encoding: 8bit\r\n\r\n';
  s += `${varExpand(input.rejectionReason, table).value}\r\n`;
  s += `--${boundary}\r\nContent-Type: message/delivery-status\r\n\r\n`;
  s += `Reporting-MTA: dns; ${input.hostname}\r\n`;
  const orig = firstHeader(input.message, 'Original-Recipient');
  if (orig !== undefined) s += `Original-Recipient: rfc822; ${orig}\r\n`;
  s += `Final-Recipient: rfc822; ${to}\r\n`;
  s += 'Action: failed\r\n';
  s += `Status: ${input.mailboxFull ? '5.2.2' : '5.2.0'}\r\n`;
  s += '\r\n';
  s += `--${boundary}\r\nContent-Type: message/rfc822\r\n\r\n`;
  s += filteredHeaders(input.message);
  s += `\r\n\r\n--${boundary}--\r\n`;
  return { text: s, to: ret };
}

/**
 * mail_send_rejection(): 0 when handled (sent, or nothing to send), -1 on
 * a temporary failure (the LDA then exits EX_TEMPFAIL).
 */
export async function sendRejection(input: RejectionInput): Promise<0 | -1> {
  const origMsgid = firstHeader(input.message, 'Message-ID');
  const idText = origMsgid === undefined ? '' : origMsgid.length > 80 ? `${origMsgid.slice(0, 77)}...` : origMsgid;
  const auto = firstHeader(input.message, 'Auto-Submitted');
  if (auto !== undefined && auto.toLowerCase() !== 'no') {
    input.log?.('info', `msgid=${idText}: Auto-submitted message discarded: ${input.reason}`);
    return 0;
  }
  const built = buildRejection(input);
  if (!built) {
    input.log?.('info', `msgid=${idText}: Return-Path missing, rejection reason: ${input.reason}`);
    return 0;
  }
  const [bin, ...pre] = input.sendmailPath.split(' ');
  const args = [...pre, '-i', '-f', '<>', '--', built.to];
  const status = await new Promise<number | null>((resolve) => {
    const child = spawn(bin as string, args, { stdio: ['pipe', 'inherit', 'inherit'] });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code));
    child.stdin.on('error', () => {});
    child.stdin.end(built.text);
  });
  if (status !== 0) {
    if (status !== null && status > 0) input.log?.('info', `program exec:${bin} (${process.pid}): Terminated with non-zero exit code ${status}`);
    input.log?.('error', `msgid=${idText}: Temporarily failed to send rejection: Sendmail program returned error`);
    return -1;
  }
  return 0;
}
