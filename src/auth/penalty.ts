/**
 * auth/penalty.ts: the brute-force penalty per remote IP (auth-penalty.c and
 * anvil's penalty.c, kept in-process). Each failed login from an IP raises
 * its penalty by one (to at most 4) unless the same user+password failed
 * there recently; a new request from that IP waits 2 * 2^penalty seconds
 * (at most 15) before it is processed. A penalty decays as time passes and
 * is forgotten 29 s after its last change. IPv6 addresses are grouped by /48.
 */
const INIT_SECS = 2;
const MAX_SECS = 15;
const MAX_PENALTY = 4;
const EXPIRE_SECS = INIT_SECS + 4 + 8 + MAX_SECS;
const CHECKSUM_SLOTS = 10;

interface Rec {
  penalty: number;
  lastPenalty: number;
  lastUpdate: number;
  checksums: number[];
}

export function penaltyToSecs(penalty: number): number {
  let secs = INIT_SECS;
  for (let i = 0; i < penalty; i++) secs *= 2;
  return Math.min(secs , MAX_SECS);
}

/** The penalty identity of a remote IP ('' when unknown). */
export function penaltyIdent(remoteIp: string | undefined): string {
  if (remoteIp === undefined) return '';
  if (!remoteIp.includes(':')) return remoteIp;
  // Keep the first 48 bits of an IPv6 address.
  const [h, t] = remoteIp.split('::') as [string, string | undefined];
  const hs = h ? h.split(':') : [];
  const ts = t ? t.split(':') : [];
  const words = remoteIp.includes('::') ? [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts] : hs;
  const keep = words.slice(0, 3).map((w) => Number.parseInt(w || '0', 16).toString(16));
  return `${keep.join(':')}::`;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** crc32 continued over more data (crc32_str_more). */
export function crc32(data: Buffer, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)) >>> 0;
  return (c ^ 0xffffffff) >>> 0;
}

export class Penalty {
  private recs = new Map<string, Rec>();
  now: () => number = () => Math.floor(Date.now() / 1000);

  private expire(): void {
    const limit = this.now() - EXPIRE_SECS;
    for (const [k, r] of this.recs) if (r.lastPenalty + r.lastUpdate <= limit) this.recs.delete(k);
  }

  /** The current penalty of `ident`, decayed by the time since the last one (auth_penalty_lookup). */
  get(ident: string): number {
    this.expire();
    const rec = this.recs.get(ident);
    if (!rec) return 0;
    let penalty = rec.penalty;
    let last = rec.lastPenalty;
    const now = this.now();
    if (last > now) last = now;
    let drop = MAX_PENALTY;
    while (penalty > 0) {
      if (now - last < penaltyToSecs(drop)) break;
      drop--;
      penalty--;
    }
    return penalty;
  }

  /** Set the penalty of `ident` to `value` (0 resets); `checksum` identifies user+password. */
  update(ident: string, checksum: number, value: number): void {
    if (value > MAX_PENALTY) value = MAX_PENALTY;
    if (value === 0) checksum = 0;
    const now = this.now();
    let rec = this.recs.get(ident);
    if (!rec) {
      rec = { penalty: 0, lastPenalty: 0, lastUpdate: 0, checksums: [] };
      this.recs.set(ident, rec);
    }
    if (checksum === 0) {
      rec.penalty = value;
      rec.lastPenalty = now;
    } else {
      const i = rec.checksums.indexOf(checksum);
      if (i >= 0) {
        rec.checksums.splice(i, 1);
        rec.checksums.unshift(checksum);
        rec.penalty = value - 1;
      } else {
        rec.checksums.unshift(checksum);
        if (rec.checksums.length > CHECKSUM_SLOTS) rec.checksums.pop();
        rec.penalty = value;
        rec.lastPenalty = now;
      }
    }
    rec.lastUpdate = now - rec.lastPenalty;
  }
}
