/**
 * db/libpq-text.ts: error texts in the words of libpq (PostgreSQL 15's
 * PQerrorMessage / PQresultErrorMessage), so warnings that Postfix and
 * Dovecot build around them read the same from Postern. node-postgres
 * reports the same facts as separate fields; these functions put them back
 * together.
 *
 *   server error:  "ERROR:  msg\nLINE 1: query\n        ^\nDETAIL:  d\nHINT:  h\n"
 *   connect error: "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the server running..."
 */
import { isIP } from 'node:net';

/** Fields of a server ErrorResponse (node-postgres DatabaseError has these). */
export interface PgServerErrorFields {
  severity?: string | undefined;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
  position?: string | undefined;
  context?: string | undefined;
  internalQuery?: string | undefined;
  internalPosition?: string | undefined;
}

/** glibc strerror() for the socket errors a client meets. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EPIPE: 'Broken pipe',
  ENOTSOCK: 'Socket operation on non-socket',
  ECONNABORTED: 'Software caused connection abort',
};

export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code && ERRNO_TEXT[e.code]) || e?.message || String(err);
}

/**
 * reportErrorPosition() of libpq: "LINE n: text" and a caret under the
 * character at 1-based `position` of `query`, with long lines cut to about
 * 60 columns around it.
 */
export function errorPositionText(query: string, position: number): string {
  const DISPLAY_SIZE = 60;
  const MIN_RIGHT_CUT = 10;
  const loc = position - 1;
  if (loc < 0) return '';
  // One column per character; tabs show as spaces.
  const chars = [...query].map((c) => (c === '\t' ? ' ' : c));
  let lineNo = 1;
  let ibeg = 0;
  let iend = -1;
  let cno = 0;
  for (; cno < chars.length; cno++) {
    const ch = chars[cno];
    if (ch === '\r' || ch === '\n') {
      if (cno < loc) {
        // Each \r or \n ends a line, except \n right after \r.
        if (ch === '\r' || cno === 0 || chars[cno - 1] !== '\r') lineNo++;
        ibeg = cno + 1;
      } else {
        iend = cno;
        break;
      }
    }
  }
  if (iend < 0) iend = cno;
  if (loc > cno) return '';
  let begCut = false;
  let endCut = false;
  if (iend - ibeg > DISPLAY_SIZE) {
    if (ibeg + DISPLAY_SIZE >= loc + MIN_RIGHT_CUT) {
      iend = ibeg + DISPLAY_SIZE;
      endCut = true;
    } else {
      if (loc + MIN_RIGHT_CUT < iend) {
        iend = loc + MIN_RIGHT_CUT;
        endCut = true;
      }
      if (iend - ibeg > DISPLAY_SIZE) {
        ibeg = iend - DISPLAY_SIZE;
        begCut = true;
      }
    }
  }
  const prefix = `LINE ${lineNo}: ${begCut ? '...' : ''}`;
  let text = `${prefix}${chars.slice(ibeg, iend).join('')}${endCut ? '...' : ''}\n`;
  text += `${' '.repeat(prefix.length + loc - ibeg)}^\n`;
  return text;
}

/** PQresultErrorMessage() for a server error on `query` (default verbosity). */
export function serverErrorText(e: PgServerErrorFields, query?: string): string {
  let text = `${e.severity ?? 'ERROR'}:  ${e.message}`;
  let cursor = '';
  if (e.position !== undefined) {
    if (query !== undefined) cursor = errorPositionText(query, Number.parseInt(e.position, 10));
    else text += ` at character ${e.position}`;
  } else if (e.internalPosition !== undefined) {
    if (e.internalQuery !== undefined) cursor = errorPositionText(e.internalQuery, Number.parseInt(e.internalPosition, 10));
    else text += ` at character ${e.internalPosition}`;
  }
  text += `\n${cursor}`;
  if (e.detail) text += `DETAIL:  ${e.detail}\n`;
  if (e.hint) text += `HINT:  ${e.hint}\n`;
  if (e.internalQuery) text += `QUERY:  ${e.internalQuery}\n`;
  if (e.context) text += `CONTEXT:  ${e.context}\n`;
  return text;
}

/** How libpq names the server in "connection to server ... failed:". */
export function serverLabel(host: string, port: number, address?: string): string {
  if (host.startsWith('/')) return `connection to server on socket "${host}/.s.PGSQL.${port}"`;
  if (isIP(host) || address === undefined || address === host) return `connection to server at "${host}", port ${port}`;
  return `connection to server at "${host}" (${address}), port ${port}`;
}

/**
 * PQerrorMessage() after a failed connection attempt: a server FATAL during
 * startup, a socket error (with libpq's hint lines) or a timeout.
 */
export function connectErrorText(host: string, port: number, err: unknown): string {
  const e = err as NodeJS.ErrnoException & Partial<PgServerErrorFields> & { address?: string };
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN')
    return `could not translate host name "${host}" to address: ${e.code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}\n`;
  const label = serverLabel(host, port, e?.address);
  if (e?.severity !== undefined && typeof e.message === 'string')
    return `${label} failed: ${serverErrorText({ ...e, message: e.message } as PgServerErrorFields)}`;
  if (e?.message === 'timeout expired') return `${label} failed: timeout expired\n`;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOENT') {
    const hint = host.startsWith('/')
      ? '\tIs the server running locally and accepting connections on that socket?\n'
      : '\tIs the server running on that host and accepting TCP/IP connections?\n';
    return `${label} failed: ${errnoText(e)}\n${hint}`;
  }
  if (e?.message === 'Connection terminated unexpectedly')
    return `${label} failed: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n`;
  return `${label} failed: ${errnoText(e)}\n`;
}

/** PQerrorMessage() when the connection breaks during a query. */
export function lostConnectionText(err: unknown): string {
  const e = err as Partial<PgServerErrorFields>;
  const lost = 'server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n';
  if (e?.severity !== undefined && typeof e.message === 'string')
    return serverErrorText(e as PgServerErrorFields) + lost;
  return lost;
}
