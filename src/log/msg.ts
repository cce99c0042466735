/**
 * log/msg.ts: Postfix's msg(3) for command-line tools: "prog: warning: text"
 * and "prog: fatal: text" on stderr, as msg_vstream does. Daemon logging to
 * maillog_file or syslog lives in log/maillog.ts.
 */
import { writeSync } from 'node:fs';

/** Thrown by fatal(); the CLI entry turns it into the exit status. */
export class FatalExit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

let progname = 'postfix';
let verbose = 0;

export function setProgname(name: string): void {
  progname = name;
}
export function getProgname(): string {
  return progname;
}
export function setVerbose(level: number): void {
  verbose = level;
}
export function msgVerbose(): number {
  return verbose;
}

function emit(line: string): void {
  writeSync(2, line + '\n');
}

export function info(text: string): void {
  emit(`${progname}: ${text}`);
}
export function warn(text: string): void {
  emit(`${progname}: warning: ${text}`);
}
export function error(text: string): void {
  emit(`${progname}: error: ${text}`);
}
/** Print "prog: fatal: text" and exit 1 (via FatalExit so callers can clean up). */
export function fatal(text: string, status = 1): never {
  emit(`${progname}: fatal: ${text}`);
  throw new FatalExit(status);
}
export function panic(text: string): never {
  emit(`${progname}: panic: ${text}`);
  throw new FatalExit(2);
}
