/**
 * util/out.ts: buffered stdout for command-line tools. Tools print many short
 * lines (postconf -d prints a thousand); one synchronous write at the end is
 * faster than a write per line and never loses output on process.exit.
 */
import { writeSync } from 'node:fs';

const chunks: string[] = [];
let size = 0;
let encoding: BufferEncoding = 'utf8';

/**
 * Postfix tools are byte-oriented: a tool that reads its input as latin1
 * (one char per byte) sets 'latin1' here so bytes come out unchanged.
 */
export function setOutputEncoding(enc: BufferEncoding): void {
  encoding = enc;
}
export function outputEncoding(): BufferEncoding {
  return encoding;
}

export function out(text: string): void {
  chunks.push(text);
  size += text.length;
  if (size > 1 << 20) flushStdout();
}

export function outLine(line: string): void {
  out(line + '\n');
}

export function flushStdout(): void {
  if (chunks.length === 0) return;
  const buf = Buffer.from(chunks.join(''), encoding);
  chunks.length = 0;
  size = 0;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw err;
    }
  }
}
