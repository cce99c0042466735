/**
 * pop3/io.ts: the connection's byte stream as POP3 lines: latin1 lines
 * without CRLF, a length limit per line (the input buffer size of
 * pop3-login and pop3), byte counters for pop3_logout_format %i/%o, and a
 * switch to a TLS stream after STLS.
 */
import type { Duplex } from 'node:stream';

export const TOO_LONG = Symbol('line too long');

export class Pop3Io {
  inBytes = 0;
  outBytes = 0;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.wake?.();
  };
  private onEnd = () => {
    this.closed = true;
    this.wake?.();
  };

  constructor(public sock: Duplex) {
    this.attach(sock);
  }

  attach(sock: Duplex): void {
    this.sock = sock;
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
    sock.on('error', this.onEnd);
  }

  /** Stop reading the current stream (before wrapping it in TLS); buffered input is dropped. */
  detach(): Duplex {
    const s = this.sock;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onEnd);
    this.buf = Buffer.alloc(0);
    return s;
  }

  write(data: string | Buffer): void {
    if (this.closed || this.sock.destroyed) return;
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.outBytes += b.length;
    this.sock.write(b);
  }

  writeLine(text: string): void {
    this.write(`${text}\r\n`);
  }

  /** Is a whole line already buffered? */
  hasLine(): boolean {
    return this.buf.indexOf(10) >= 0;
  }

  /** The next line (CR before LF dropped), TOO_LONG when `max` bytes came without LF, undefined at EOF. */
  async nextLine(limit: number | ((head: Buffer) => number)): Promise<string | typeof TOO_LONG | undefined> {
    for (;;) {
      const nl = this.buf.indexOf(10);
      const max = typeof limit === 'number' ? limit : limit(this.buf);
      // the line and its LF must fit in the input buffer
      if ((nl < 0 ? this.buf.length : nl + 1) > max) return TOO_LONG;
      if (nl >= 0) {
        let line = this.buf.subarray(0, nl);
        this.buf = this.buf.subarray(nl + 1);
        this.inBytes += nl + 1;
        if (line.length && line[line.length - 1] === 13) line = line.subarray(0, -1);
        return line.toString('latin1');
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.end();
    this.wake?.();
  }
}
