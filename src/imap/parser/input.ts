/**
 * imap/parser/input.ts: the connection's bytes as IMAP needs them: lines
 * (with a length bound: a longer line is skipped to its LF without being
 * buffered), exact byte counts for literals, and a switch to a TLS stream
 * after STARTTLS. Counts bytes for imap_logout_format's in=/out=.
 */
import type { Duplex } from 'node:stream';

export const TOO_LONG = Symbol('line too long');

export class ImapInput {
  inBytes = 0;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  /** Discarding the rest of an over-long line. */
  private skipping = false;
  private onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };
  private onEnd = () => {
    this.closed = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
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

  /** Bytes already received and not consumed. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Wait until more input arrives (or EOF). */
  private more(): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = r;
    });
  }

  /** Resolve when any input is buffered or the stream ended (IDLE waits on this). */
  async waitInput(): Promise<void> {
    if (this.buf.length || this.closed) return;
    await this.more();
  }

  /**
   * The next line without CRLF (a lone LF also ends it). TOO_LONG when
   * `max` bytes came without an LF: the rest of that line is then skipped
   * as it arrives, never buffered. Undefined at EOF.
   */
  async readLine(max: number): Promise<Buffer | typeof TOO_LONG | undefined> {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (this.skipping) {
        if (nl >= 0) {
          this.consume(nl + 1);
          this.skipping = false;
          continue;
        }
        this.consume(this.buf.length);
      } else if (nl >= 0 && nl <= max) {
        let line = this.buf.subarray(0, nl);
        this.consume(nl + 1);
        if (line.length && line[line.length - 1] === 13) line = line.subarray(0, -1);
        return line;
      } else if (nl > max || this.buf.length > max) {
        this.skipping = true;
        return TOO_LONG;
      }
      if (this.closed) return undefined;
      await this.more();
    }
  }

  /** Skip input up to and including the next LF (after an error in the middle of a line). */
  skipLine(): void {
    const nl = this.buf.indexOf(10);
    if (nl >= 0) this.consume(nl + 1);
    else {
      this.consume(this.buf.length);
      this.skipping = true;
    }
  }

  /** Exactly `n` bytes (a literal's data), undefined at EOF. */
  async readBytes(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let need = n;
    for (;;) {
      if (this.buf.length) {
        const take = Math.min(need, this.buf.length);
        parts.push(this.buf.subarray(0, take));
        this.consume(take);
        need -= take;
      }
      if (need === 0) return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      if (this.closed) return undefined;
      await this.more();
    }
  }

  /** Read and drop `n` bytes. False at EOF. */
  async skipBytes(n: number): Promise<boolean> {
    let need = n;
    for (;;) {
      const take = Math.min(need, this.buf.length);
      this.consume(take);
      need -= take;
      if (need === 0) return true;
      if (this.closed) return false;
      await this.more();
    }
  }

  private consume(n: number): void {
    this.inBytes += n;
    this.buf = n >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(n);
  }
}
