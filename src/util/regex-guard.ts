/**
 * util/regex-guard.ts: no catastrophic backtracking from patterns admins
 * write (regexp:/pcre: tables, header_checks, body_checks) on input that
 * strangers send. Postfix's PCRE stops at a match limit; V8 can instead
 * switch a regular expression to its linear-time engine once it has
 * backtracked too much (--enable-experimental-regexp-engine-on-excessive-
 * backtracks, in Node 20's V8). Patterns the linear engine cannot run
 * (backreferences, lookaround) keep the backtracking engine. The flag must
 * be set before the patterns are compiled; it is process-wide.
 */
import { setFlagsFromString } from 'node:v8';

let enabled = false;

export function guardRegexBacktracking(): void {
  if (enabled) return;
  enabled = true;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}

guardRegexBacktracking();
