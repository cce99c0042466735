/**
 * cli/doveadm/core/askpass.ts: lib/askpass.c. On a terminal: print the
 * prompt on stderr, read a line from /dev/tty with echo off, then print a
 * newline. Otherwise: no prompt, read stdin byte by byte up to '\n' or '\r'
 * (or EOF). The bytes are returned as read, NULs included (callers treat
 * the result as a C string).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { flushStdout } from '../../../util/out.js';
import { logFatal } from './log.js';
import { strerror } from '../../../util/strerror.js';

function readLine(fd: number): Buffer {
  const out: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, one, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      break;
    }
    if (n <= 0 || one[0] === 0x0a || one[0] === 0x0d) break;
    out.push(one[0]!);
  }
  return Buffer.from(out);
}

export function askpass(prompt: string): Buffer {
  if (!isatty(0)) return readLine(0);
  flushStdout();
  writeSync(2, prompt);
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r');
  } catch (e) {
    logFatal(`open(/dev/tty) failed: ${strerror(e)}`);
  }
  const stty = (arg: string) => spawnSync('stty', [arg], { stdio: [fd, 'ignore', 'ignore'] });
  stty('-echo');
  try {
    return readLine(fd);
  } finally {
    stty('echo');
    writeSync(2, '\n');
    closeSync(fd);
  }
}
