/**
 * cli/doveadm/core/log.ts: doveadm's messages on stderr. Before the log is
 * set up (global option errors) lines carry the program name, as
 * "doveadm: Fatal: Unknown print formatter: bogus"; afterwards they are
 * "Fatal: text", "Error: text", "Warning: text", "Info: text" and
 * "Debug: text" (lib/failures.c with an empty log prefix).
 *
 * Exit codes (sysexits.h): i_fatal() exits 75 (EX_TEMPFAIL, doveadm's
 * failure_exit_callback), usage errors 64 (EX_USAGE), config errors 89.
 */
import { writeSync } from 'node:fs';
import { FatalExit } from '../../../log/msg.js';
import { flushStdout } from '../../../util/out.js';

export const EX_USAGE = 64;
export const EX_DATAERR = 65;
export const EX_NOUSER = 67;
export const EX_NOHOST = 68;
export const EX_TEMPFAIL = 75;
export const EX_NOPERM = 77;
export const EX_CONFIG = 78;
/** FATAL_DEFAULT: what main() returns on a bad global option, and doveconf's fatal status. */
export const FATAL_DEFAULT = 89;

let logReady = false;

/** master_service_init_log(): from here on, messages lose the "doveadm: " prefix. */
export function setLogReady(ready = true): void {
  logReady = ready;
}

/** One raw line on stderr (stdout flushed first so the two interleave as in C). */
export function stderrLine(line: string | Buffer): void {
  flushStdout();
  writeSync(2, typeof line === 'string' ? Buffer.from(`${line}\n`, 'utf8') : Buffer.concat([line, Buffer.from('\n')]));
}

function emit(level: string, text: string): void {
  stderrLine(logReady ? `${level}: ${text}` : `doveadm: ${level}: ${text}`);
}

export function logError(text: string): void {
  emit('Error', text);
}
export function logWarning(text: string): void {
  emit('Warning', text);
}
export function logInfo(text: string): void {
  emit('Info', text);
}

let debugOn = false;
export function setDebug(on: boolean): void {
  debugOn = on;
}
export function logDebug(text: string): void {
  if (debugOn) emit('Debug', text);
}

/** i_fatal(): print and exit 75 (or `status`). */
export function logFatal(text: string, status = EX_TEMPFAIL): never {
  emit('Fatal', text);
  throw new FatalExit(status);
}

/** lib_exit(status) without a message. */
export function exitWith(status: number): never {
  throw new FatalExit(status);
}
