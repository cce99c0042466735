/**
 * imap/util.ts: helpers the commands share: argument accessors with
 * Dovecot's error words, mail errors to tagged NO replies
 * (imap_get_error_string), INTERNALDATE formatting and parsing.
 */
import { MailError } from '../storage/errors.js';
import type { ImapArg } from './args.js';
import { BadCommand, TaggedReply } from './commands/types.js';

/** The text of an astring argument (NIL is the atom "NIL"). */
export function astringArg(a: ImapArg | undefined): string | undefined {
  if (!a) return undefined;
  if (a.type === 'atom') return a.value;
  if (a.type === 'string') return a.value.toString('utf8');
  if (a.type === 'nil') return 'NIL';
  return undefined;
}

export function astringBytes(a: ImapArg | undefined): Buffer | undefined {
  if (!a) return undefined;
  if (a.type === 'atom') return Buffer.from(a.value, 'latin1');
  if (a.type === 'string') return a.value;
  if (a.type === 'nil') return Buffer.from('NIL');
  return undefined;
}

export function atomArg(a: ImapArg | undefined): string | undefined {
  return a?.type === 'atom' ? a.value : undefined;
}

/** Exactly `n` astring arguments, or "Invalid arguments." as client_read_string_args says. */
export function stringArgs(args: ImapArg[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = astringArg(args[i]);
    if (args[i] === undefined) throw new BadCommand('Missing arguments.');
    if (s === undefined) throw new BadCommand('Invalid arguments.');
    out.push(s);
  }
  return out;
}

/** A MailError as the tagged NO Dovecot sends. */
export function mailErrorReply(e: unknown, opts: { nonexistent?: boolean } = {}): string {
  if (!(e instanceof MailError)) throw e;
  const text = e.message;
  let code: string | undefined;
  switch (e.kind) {
    case 'temp':
      code = 'SERVERBUG';
      break;
    case 'notpossible':
    case 'params':
      code = 'CANNOT';
      break;
    case 'perm':
      code = 'NOPERM';
      break;
    case 'noquota':
      code = 'OVERQUOTA';
      break;
    case 'notfound':
      if (opts.nonexistent) code = 'NONEXISTENT';
      break;
    case 'exists':
      code = 'ALREADYEXISTS';
      break;
    case 'expunged':
      code = 'EXPUNGEISSUED';
      break;
    case 'inuse':
      code = 'INUSE';
      break;
    case 'limit':
      code = 'LIMIT';
      break;
    case 'internal':
      code = 'SERVERBUG';
      break;
  }
  return code === undefined || text.startsWith('[') ? `NO ${text}` : `NO [${code}] ${text}`;
}

export function throwMailError(e: unknown, opts: { nonexistent?: boolean } = {}): never {
  throw new TaggedReply(mailErrorReply(e, opts));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** INTERNALDATE as "22-Nov-2026 16:57:04 +0000" (in the server's zone, as Dovecot formats it). */
export function formatInternalDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${p(d.getDate())}-${MONTHS[d.getMonth()]}-${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(a / 60))}${p(a % 60)}`;
}

/** date-time of RFC 3501 §9 ("22-Nov-2025 12:00:00 +0100", day may be " 2"); undefined when invalid. */
export function parseDateTime(s: string): Date | undefined {
  const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === (m[2] as string).toLowerCase());
  if (mon < 0) return undefined;
  const day = Number((m[1] as string).trim());
  const [h, mi, se] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (day < 1 || day > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  const off = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  return new Date(Date.UTC(Number(m[3]), mon, day, h, mi, se) - off * 60_000);
}

/** search date "1-Jan-2020" (RFC 3501 §9 date). */
export function parseDate(s: string): Date | undefined {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === (m[2] as string).toLowerCase());
  if (mon < 0) return undefined;
  return new Date(Number(m[3]), mon, Number(m[1]));
}
