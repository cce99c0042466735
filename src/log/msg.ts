/**
 * log/msg.ts: Postfix's msg(3) for command-line tools: "prog: warning: text"
 * and "prog: fatal: text" on stderr, as msg_vstream does. Daemon logging to
 * maillog_file or syslog lives in log/maillog.ts.
 */
import { writeSync } from 'node:fs';
import { flushStdout, outputEncoding } from '../util/out.js';

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

/** msg_output(): extra receivers of every message (the mail log, see log/client.ts). */
export type MsgLevel = 'info' | 'warning' | 'error' | 'fatal' | 'panic';
export type MsgOutput = (level: MsgLevel, text: string) => void;
const outputs: MsgOutput[] = [];
let stderrEnabled = true;

/** Add a receiver; it gets the text without the "prog: level: " prefix. */
export function addMsgOutput(fn: MsgOutput): void {
  if (!outputs.includes(fn)) outputs.push(fn);
}
export function removeMsgOutput(fn: MsgOutput): void {
  const at = outputs.indexOf(fn);
  if (at >= 0) outputs.splice(at, 1);
}
/**
 * Turn the stderr copy on or off: postfix(1) and postlog(1) write to stderr
 * only when it is a terminal (msg_vstream_init under isatty()).
 */
export function setMsgStderr(on: boolean): void {
  stderrEnabled = on;
}

function emit(level: MsgLevel, raw: string): void {
  // msg_vprintf() passes every message through printable(text, '?').
  const text = raw.replace(/[\x00-\x1f\x7f]/g, '?');
  if (stderrEnabled) emitStderr(level === 'info' ? `${progname}: ${text}` : `${progname}: ${level}: ${text}`);
  for (const fn of outputs) fn(level, text);
}

function emitStderr(line: string): void {
  // Postfix flushes stdout before a warning (vstream_fflush in msg_vstream),
  // so stdout and stderr interleave as they would from the real tool.
  flushStdout();
  writeSync(2, Buffer.from(line + '\n', outputEncoding()));
}

export function info(text: string): void {
  emit('info', text);
}
/** msg_printf(): a message at any level that never exits (postlog -p fatal). */
export function msgPrintf(level: MsgLevel, text: string): void {
  emit(level, text);
}
export function warn(text: string): void {
  emit('warning', text);
}
export function error(text: string): void {
  emit('error', text);
}
/** Thrown instead of FatalExit inside trapFatal(): the message was not printed. */
export class TrappedFatal extends Error {}

let trapDepth = 0;

/**
 * Run fn with fatal() turned into a TrappedFatal that carries the text
 * unprinted, so a long-running process (the master on reload) can report a
 * bad configuration file in Postfix's words and keep running.
 */
export function trapFatal<T>(fn: () => T): { ok: true; value: T } | { ok: false; text: string } {
  trapDepth++;
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof TrappedFatal) return { ok: false, text: err.message };
    throw err;
  } finally {
    trapDepth--;
  }
}

/** Print "prog: fatal: text" and exit 1 (via FatalExit so callers can clean up). */
export function fatal(text: string, status = 1): never {
  if (trapDepth > 0) throw new TrappedFatal(text.replace(/[\x00-\x1f\x7f]/g, '?'));
  emit('fatal', text);
  throw new FatalExit(status);
}
export function panic(text: string): never {
  emit('panic', text);
  throw new FatalExit(2);
}
