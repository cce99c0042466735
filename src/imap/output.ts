/**
 * imap/output.ts: writing responses: raw bytes with an output byte count
 * (imap_logout_format's out=), tagged lines with Dovecot's command timing
 * suffix (imap-client.c client_cmd_append_timing_stats: the final '.' of
 * the text is replaced by " (<cmd> + <wait> secs).").
 */
import type { Duplex } from 'node:stream';

export class ImapOutput {
  outBytes = 0;
  private pending: Buffer[] = [];
  private corked = false;

  constructor(public sock: Duplex) {}

  write(data: string | Buffer): void {
    if (this.sock.destroyed || this.sock.writableEnded) return;
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.outBytes += b.length;
    if (this.corked) this.pending.push(b);
    else this.sock.write(b);
  }

  line(text: string): void {
    this.write(`${text}\r\n`);
  }

  /** Collect writes until uncork() (one socket write per command). */
  cork(): void {
    this.corked = true;
  }

  uncork(): void {
    this.corked = false;
    if (this.pending.length === 0) return;
    const b = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    if (!this.sock.destroyed && !this.sock.writableEnded) this.sock.write(b);
  }

  end(): void {
    this.uncork();
    if (!this.sock.destroyed && !this.sock.writableEnded) this.sock.end();
  }
}

/** " (0.001 + 0.000 secs)." appended to a tagged reply text as Dovecot does after login. */
export function withTiming(text: string, runMs: number, waitMs = 0): string {
  const t = text.endsWith('.') ? text.slice(0, -1) : text;
  const ms = (n: number) => {
    const v = Math.max(0, Math.ceil(n));
    return `${Math.floor(v / 1000)}.${String(v % 1000).padStart(3, '0')}`;
  };
  return `${t} (${ms(Math.max(1, runMs))} + ${ms(waitMs)} secs).`;
}
