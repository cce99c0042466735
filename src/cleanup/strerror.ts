/**
 * cleanup/strerror.ts: cleanup status bits to SMTP code, DSN and text
 * (global/cleanup_strerror.c), for smtpd replies and sendmail/pickup
 * diagnostics. Kept free of imports so command-line tools load it cheaply.
 */
import { CleanupStat } from './types.js';

const STAT_MAP: ReadonlyArray<[number, number, string, string]> = [
  [CleanupStat.DEFER, 451, '4.7.1', 'service unavailable'],
  [CleanupStat.PROXY, 451, '4.3.0', 'queue file write error'],
  [CleanupStat.BAD, 451, '4.3.0', 'internal protocol error'],
  [CleanupStat.RCPT, 550, '5.1.0', 'no recipients specified'],
  [CleanupStat.HOPS, 554, '5.4.0', 'too many hops'],
  [CleanupStat.SIZE, 552, '5.3.4', 'message file too big'],
  [CleanupStat.CONT, 550, '5.7.1', 'message content rejected'],
  [CleanupStat.WRITE, 451, '4.3.0', 'queue file write error'],
  [CleanupStat.NOPERM, 550, '5.7.1', 'service denied'],
  [CleanupStat.BARE_LF, 521, '5.5.2', 'bare <LF> received'],
];

/** cleanup_stat_detail(): SMTP code, DSN and text for a status mask. */
export function cleanupStatDetail(status: number): { smtp: number; dsn: string; text: string } {
  for (const [bit, smtp, dsn, text] of STAT_MAP) if (status & bit) return { smtp, dsn, text };
  return { smtp: 250, dsn: '2.0.0', text: 'Success' };
}

/** cleanup_strerror(): the text for the most important status bit. */
export function cleanupStrerror(status: number): string {
  return cleanupStatDetail(status).text;
}
