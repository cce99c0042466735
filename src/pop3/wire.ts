/**
 * pop3/wire.ts: a stored message as RETR/TOP send it (RFC 1939 §3, §7;
 * pop3-commands.c fetch_callback): bare LF becomes CRLF, a '.' starting a
 * line is doubled, the output ends with CRLF; TOP n stops after the empty
 * line ending the header plus n body lines. pop3_client_workarounds:
 * outlook-no-nuls sends NUL as 0x80, oe-ns-eoh adds the missing empty line
 * when a message has no body.
 */

export interface WireOptions {
  /** TOP: body lines to send; undefined for RETR (everything). */
  bodyLines?: number;
  outlookNoNuls?: boolean;
  oeNsEoh?: boolean;
}

const CR = 13;
const LF = 10;
const DOT = 46;

/** The bytes to send between the +OK line and the terminating ".". */
export function pop3Wire(data: Buffer, opts: WireOptions = {}): Buffer {
  const out = Buffer.allocUnsafe(data.length * 2 + 4);
  let o = 0;
  // TOP counts the empty line ending the header too
  let bodyLines = opts.bodyLines === undefined ? Number.POSITIVE_INFINITY : opts.bodyLines + 1;
  let inBody = false;
  let start = true;
  let prev = 0;
  const nuls = opts.outlookNoNuls === true;
  for (let i = 0; i < data.length; i++) {
    let c = data[i] as number;
    if ((c === CR || c === LF) && !inBody && (start || prev === LF)) inBody = true;
    if (c === LF) {
      if (prev !== CR) out[o++] = CR;
      out[o++] = LF;
      prev = LF;
      start = false;
      if (inBody && --bodyLines === 0) break;
      continue;
    }
    // only a '.' after an LF is doubled: like fetch_callback, not one as the message's first byte
    if (c === DOT && prev === LF) out[o++] = DOT;
    if (c === 0 && nuls) c = 0x80;
    out[o++] = c;
    prev = c;
    start = false;
  }
  if (prev !== LF) {
    out[o++] = CR;
    out[o++] = LF;
  }
  if (!inBody && opts.oeNsEoh) {
    out[o++] = CR;
    out[o++] = LF;
  }
  return out.subarray(0, o);
}
