/**
 * smtpd/commands/index.ts: the command table (smtpd.c smtpd_cmd_table), in
 * Postfix's order, which is also the order of the per-command counters in
 * the "disconnect from" log line.
 *
 * Flags: LIMIT counts toward smtpd_junk_command_limit; PRE_TLS is allowed
 * before STARTTLS when TLS is enforced; LAST must end a pipelined group
 * (RFC 2920 §3.1), so input waiting after it is improper pipelining.
 */
import type { SmtpdSession } from '../session.js';
import type { SmtpToken } from '../syntax.js';
import { starttlsCmd } from '../tls.js';
import { bdatCmd, dataCmd } from './data.js';
import { ehloCmd, heloCmd } from './hello.js';
import { mailCmd, rcptCmd } from './mail.js';
import { authCmd, etrnCmd, noopCmd, quitCmd, rsetCmd, vrfyCmd } from './misc.js';
import { xclientCmd, xforwardCmd } from './xclient.js';

export const FLAG_LIMIT = 1 << 0;
export const FLAG_PRE_TLS = 1 << 1;
export const FLAG_LAST = 1 << 2;

export type CommandAction = (s: SmtpdSession, argv: SmtpToken[]) => Promise<number>;

export interface SmtpdCommand {
  name: string;
  action: CommandAction;
  flags: number;
}

export const COMMANDS: readonly SmtpdCommand[] = [
  { name: 'HELO', action: heloCmd, flags: FLAG_LIMIT | FLAG_PRE_TLS | FLAG_LAST },
  { name: 'EHLO', action: ehloCmd, flags: FLAG_LIMIT | FLAG_PRE_TLS | FLAG_LAST },
  { name: 'XCLIENT', action: xclientCmd, flags: FLAG_PRE_TLS },
  { name: 'XFORWARD', action: xforwardCmd, flags: 0 },
  { name: 'STARTTLS', action: starttlsCmd, flags: FLAG_PRE_TLS },
  { name: 'AUTH', action: authCmd, flags: 0 },
  { name: 'MAIL', action: mailCmd, flags: 0 },
  { name: 'RCPT', action: rcptCmd, flags: 0 },
  { name: 'DATA', action: dataCmd, flags: FLAG_LAST },
  { name: 'BDAT', action: bdatCmd, flags: 0 },
  { name: 'RSET', action: rsetCmd, flags: FLAG_LIMIT },
  { name: 'NOOP', action: noopCmd, flags: FLAG_LIMIT | FLAG_PRE_TLS | FLAG_LAST },
  { name: 'VRFY', action: vrfyCmd, flags: FLAG_LIMIT | FLAG_LAST },
  { name: 'ETRN', action: etrnCmd, flags: FLAG_LIMIT },
  { name: 'QUIT', action: quitCmd, flags: FLAG_PRE_TLS },
];
