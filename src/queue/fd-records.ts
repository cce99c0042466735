/**
 * queue/fd-records.ts: rec_get_raw() on a file descriptor, reading only as
 * much as each record needs (postdrop must not wait for EOF: its client
 * keeps the pipe open to read the final status). Errors use record.c's
 * words.
 */
import { readSync } from 'node:fs';
import { REC_EOF, REC_ERROR } from './record.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class FdRecordReader {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    readonly path = 'stdin',
  ) {}

  /** Make at least `n` unread bytes available; false at EOF. */
  private fill(n: number): boolean {
    while (this.buf.length - this.pos < n) {
      if (this.eof) return false;
      const chunk = Buffer.alloc(Math.max(65536, n));
      let got: number;
      try {
        got = readSync(this.fd, chunk, 0, chunk.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 5);
          continue;
        }
        if (code === 'EOF') got = 0;
        else throw err;
      }
      if (got === 0) {
        this.eof = true;
        return false;
      }
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, got)]);
      this.pos = 0;
    }
    return true;
  }

  /** One record; `maxSize` > 0 limits the data length. */
  next(maxSize = 0): { type: number; data: Buffer; error?: string } {
    if (!this.fill(1)) return { type: REC_EOF, data: Buffer.alloc(0) };
    const type = this.buf[this.pos++]!;
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift >= 32) return { type: REC_ERROR, data: Buffer.alloc(0), error: `too many length bits, record type ${type}` };
      if (!this.fill(1)) {
        return { type: REC_ERROR, data: Buffer.alloc(0), error: `unexpected EOF reading length, record type ${type}` };
      }
      const b = this.buf[this.pos++]!;
      len = (len | ((b & 0x7f) << shift)) | 0;
      if ((b & 0x80) === 0) break;
    }
    if (len < 0 || (maxSize > 0 && len > maxSize)) {
      // Skip the data, as record.c does.
      let rest = Math.max(0, len);
      while (rest > 0 && this.fill(1)) {
        const take = Math.min(rest, this.buf.length - this.pos);
        this.pos += take;
        rest -= take;
      }
      return { type: REC_ERROR, data: Buffer.alloc(0), error: `illegal length ${len}, record type ${type}` };
    }
    if (!this.fill(len)) {
      return {
        type: REC_ERROR,
        data: Buffer.alloc(0),
        error: `unexpected EOF in data, record type ${type} length ${len}`,
      };
    }
    const data = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return { type, data };
  }
}
