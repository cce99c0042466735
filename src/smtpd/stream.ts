/**
 * smtpd/stream.ts: SMTP line I/O on a socket with Postfix's smtp_stream(3)
 * semantics (global/smtp_stream.c, util/vstring_vstream.c):
 *
 * - getLine(bound) reads up to `bound` bytes through LF. A CR at the bound
 *   is completed with the following LF. CRLF is stripped; with bare-LF
 *   detection on, a bare LF is remembered (gotBareLf) and only the LF is
 *   stripped, otherwise LF and any CRs before it are stripped.
 * - with SKIP, input beyond the bound is discarded through the next LF.
 * - EOF anywhere in a read (even after a partial line) raises
 *   SmtpIoError('eof'); a read that waits longer than the timeout raises
 *   SmtpIoError('time').
 * - output is buffered and written when the next read has to wait
 *   (VSTREAM's "flush before read"), on flush(), or on close.
 *
 * Memory: input is consumed as it is parsed; a line never holds more than
 * `bound` bytes, BDAT payloads are read in pieces.
 */
import type { Duplex } from 'node:stream';

export type SmtpIoKind = 'eof' | 'time';

export class SmtpIoError extends Error {
  constructor(readonly kind: SmtpIoKind) {
    super(kind === 'eof' ? 'lost connection' : 'timeout');
  }
}

export const GET_SKIP = 1;

/** Pause the socket when this much unparsed input is buffered. */
const HIGH_WATER = 1 << 20;

export interface GetResult {
  /** The line without its terminator (latin1 byte string). */
  line: string;
  /** Last byte read: 10 when the line was complete, else the byte at the bound. */
  last: number;
}

export class SmtpStream {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private eof = false;
  private readError = false;
  private waiter: (() => void) | undefined;
  private out: string[] = [];
  private writeFailed = false;
  /** Seconds allowed for each read that has to wait. */
  timeout: number;
  /** smtp_detect_bare_lf: non-zero enables bare-LF detection. */
  detectBareLf = 0;
  /** smtp_got_bare_lf: set by the last getLine() when it ended in a bare LF. */
  gotBareLf = 0;
  /** Time (ms) of the last I/O, for the 10-second flush rule. */
  lastIo = Date.now();
  private onData = (chunk: Buffer) => {
    this.lastIo = Date.now();
    if (this.off >= this.buf.length) {
      this.buf = chunk;
      this.off = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.off), chunk]);
      this.off = 0;
    }
    // Bounded memory: stop reading while much input waits to be parsed.
    if (this.pending() > HIGH_WATER) this.socket.pause();
    this.wake();
  };
  private onEnd = () => {
    this.eof = true;
    this.wake();
  };
  private onError = () => {
    this.readError = true;
    this.writeFailed = true;
    this.wake();
  };

  /**
   * `attached` = false leaves the socket alone until reattach() (TLS
   * wrapper mode: the first bytes belong to the TLS handshake).
   */
  constructor(
    public socket: Duplex,
    timeoutSeconds: number,
    attached = true,
  ) {
    this.timeout = timeoutSeconds;
    if (attached) this.attach(socket);
  }

  private attach(socket: Duplex): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Stop reading from the current socket (before STARTTLS wraps it); pending input is discarded. */
  detach(): Duplex {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
    this.buf = Buffer.alloc(0);
    this.off = 0;
    return s;
  }

  /** Continue on a new socket (the TLS layer over the old one). */
  reattach(socket: Duplex): void {
    this.eof = false;
    this.readError = false;
    this.attach(socket);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Bytes received but not yet consumed. */
  pending(): number {
    return this.buf.length - this.off;
  }

  /** Up to max pending bytes, unconsumed (for "improper pipelining" logging). */
  peek(max: number): string {
    return this.buf.subarray(this.off, this.off + max).toString('latin1');
  }

  get atEof(): boolean {
    return this.eof || this.readError;
  }

  /** Wait until more input, EOF, or timeout. Flushes pending output first. */
  private async fill(): Promise<void> {
    this.flush();
    if (this.eof || this.readError) throw new SmtpIoError('eof');
    this.socket.resume();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new SmtpIoError('time'));
      }, this.timeout * 1000);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (this.pending() === 0 && (this.eof || this.readError)) throw new SmtpIoError('eof');
  }

  /** One byte, waiting for it (smtp_fgetc). */
  async getc(): Promise<number> {
    while (this.pending() === 0) await this.fill();
    return this.buf[this.off++];
  }

  /** smtp_get(): one line, bounded; see the file header. */
  async getLine(bound: number, flags = 0): Promise<GetResult> {
    this.gotBareLf = 0;
    const parts: Buffer[] = [];
    let got = 0;
    let last = -1;
    while (got < bound) {
      if (this.pending() === 0) await this.fill();
      const avail = this.buf.subarray(this.off, this.off + (bound - got));
      const nl = avail.indexOf(10);
      const take = nl >= 0 ? nl + 1 : avail.length;
      parts.push(avail.subarray(0, take));
      got += take;
      this.off += take;
      last = avail[take - 1];
      if (nl >= 0) break;
    }
    let data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    if (last === 13) {
      // Stopped in the middle of CRLF: look at the next byte.
      const next = await this.getc();
      if (next === 10) {
        data = Buffer.concat([data, Buffer.from([10])]);
        last = 10;
      } else {
        this.off--;
      }
    }
    let end = data.length;
    if (last === 10) {
      end--;
      if (this.detectBareLf) {
        if (end === 0 || data[end - 1] !== 13) this.gotBareLf = this.detectBareLf;
        else end--;
      } else {
        while (end > 0 && data[end - 1] === 13) end--;
      }
    } else if (flags & GET_SKIP) {
      for (;;) {
        if (this.pending() === 0) await this.fill();
        const nl = this.buf.indexOf(10, this.off);
        if (nl >= 0) {
          this.off = nl + 1;
          break;
        }
        this.off = this.buf.length;
      }
    }
    this.lastIo = Date.now();
    return { line: data.toString('latin1', 0, end), last };
  }

  /** Exactly n bytes (BDAT payload), delivered in pieces of at most `piece` bytes. */
  async *readBytes(n: number, piece = 65536): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending() === 0) await this.fill();
      const take = Math.min(left, this.pending(), piece);
      const chunk = Buffer.from(this.buf.subarray(this.off, this.off + take));
      this.off += take;
      left -= take;
      yield chunk;
    }
  }

  /** Queue one reply line (CRLF added). */
  writeLine(text: string): void {
    this.out.push(text, '\r\n');
  }

  /** Write queued output to the socket. */
  flush(): void {
    if (this.out.length === 0) return;
    const data = Buffer.from(this.out.join(''), 'latin1');
    this.out = [];
    this.lastIo = Date.now();
    if (this.writeFailed || this.socket.destroyed || !this.socket.writable) {
      this.writeFailed = true;
      return;
    }
    this.socket.write(data);
  }

  /** True once a write could not be done (peer gone). */
  get writeError(): boolean {
    return this.writeFailed || this.socket.destroyed;
  }

  /** Flush and close the connection. */
  close(): void {
    try {
      this.flush();
    } catch {
      /* peer gone */
    }
    const s = this.socket;
    s.end();
    // Do not linger on a client that does not read.
    setTimeout(() => s.destroy(), 10_000).unref();
  }
}
