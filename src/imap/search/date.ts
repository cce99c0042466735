/**
 * imap/search/date.ts: the Date: header as a point in time (RFC 5322 §3.3,
 * with the obsolete zone names of §4.3), for SORT DATE and threading;
 * null when it cannot be read (callers then use the arrival time).
 */
const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const ZONES: Record<string, number> = { UT: 0, GMT: 0, Z: 0, EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420 };

/** Seconds since the epoch (UTC), or null. */
export function parseMessageDate(value: string): number | null {
  const m = /^\s*(?:[A-Za-z]+\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Za-z]+)?/.exec(
    value.replace(/\([^)]*\)/g, ' '),
  );
  if (!m) return null;
  const mon = MONTHS[m[2]!.toLowerCase()];
  if (mon === undefined) return null;
  let y = Number(m[3]);
  if (m[3]!.length === 2) y += y < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) y += 1900;
  let offset = 0;
  const z = m[7];
  if (z !== undefined) {
    if (z[0] === '+' || z[0] === '-') {
      const n = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5));
      offset = z[0] === '-' ? -n : n;
    } else offset = ZONES[z.toUpperCase()] ?? 0;
  }
  const t = Date.UTC(y, mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) / 1000 - offset * 60;
  return Number.isFinite(t) ? t : null;
}
