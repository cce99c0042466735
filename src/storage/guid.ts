/**
 * storage/guid.ts: Dovecot's 128-bit GUIDs (lib/guid.c guid_128_generate):
 * bytes 0-3 the nanoseconds and 4-7 the seconds of the creation time (little
 * endian, a counter within one process), 8-11 the pid, 12-15 the last four
 * bytes of SHA-1(hostname). Mailbox GUIDs in dovecot-uidlist (`G…`) and LMTP
 * session ids (the same 16 bytes in base64 without padding) use it.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

let lastSec = 0;
let lastNsec = 0;
let tail: Buffer | undefined;

function staticTail(): Buffer {
  if (!tail) {
    tail = Buffer.alloc(8);
    tail.writeUInt32LE(process.pid >>> 0, 0);
    const h = createHash('sha1').update(hostname()).digest();
    h.copy(tail, 4, h.length - 4);
  }
  return tail;
}

/** A new GUID (16 bytes). */
export function guid128(now = Date.now()): Buffer {
  const sec = Math.floor(now / 1000);
  const nsec = (now % 1000) * 1_000_000;
  if (sec > lastSec || (sec === lastSec && nsec > lastNsec)) {
    lastSec = sec;
    lastNsec = nsec;
  } else if (lastNsec < 999_999_999) {
    lastNsec++;
  } else {
    lastSec++;
    lastNsec = 0;
  }
  const g = Buffer.alloc(16);
  g.writeUInt32LE(lastNsec >>> 0, 0);
  g.writeUInt32LE(lastSec >>> 0, 4);
  staticTail().copy(g, 8);
  return g;
}

/** guid_128_to_string: 32 lower-case hex digits. */
export const guid128Hex = (g: Buffer = guid128()): string => g.toString('hex');

/** A session id as Dovecot prints it: base64 of a GUID without the "==" padding. */
export const sessionId = (g: Buffer = guid128()): string => g.toString('base64').replace(/=+$/, '');
