/**
 * queue/dates.ts: the two date formats queue files and their tools use, in
 * local time (the TZ environment, like the C library):
 * - asctime(localtime(t)): "Sun Nov 22 16:54:08 2026\n" (postcat, postqueue);
 * - mail_date(t) (global/mail_date.c): "Mon, 23 Nov 2026 19:08:57 +0000 (UTC)"
 *   for Date: and Received: headers: strftime "%a, %e %b %Y %H:%M:%S ",
 *   the UTC offset "%+03d%02d", then " (%Z)".
 * %Z (the zone abbreviation) comes from the zone's TZif file, as glibc
 * takes it, with Intl's short name as the fallback.
 */
import { readFileSync } from 'node:fs';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** asctime(localtime(sec)), including the trailing newline. */
export function asctime(sec: number): string {
  const d = new Date(sec * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}\n`;
}

/** mail_date(): RFC 2822 date in local time with the zone name. */
export function mailDate(sec: number): string {
  const d = new Date(sec * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${DAYS[d.getDay()]}, ${String(d.getDate()).padStart(2, ' ')} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)} (${zoneAbbrev(sec)})`;
}

interface TzInfo {
  times: number[];
  idx: number[];
  types: Array<{ off: number; abbr: string }>;
}

let tzCache: { key: string; info: TzInfo | undefined } | undefined;

function loadTz(): TzInfo | undefined {
  const tz = process.env.TZ;
  const key = tz ?? '';
  if (tzCache?.key === key) return tzCache.info;
  let info: TzInfo | undefined;
  try {
    let path = '/etc/localtime';
    if (tz !== undefined && tz !== '') {
      const name = tz.startsWith(':') ? tz.slice(1) : tz;
      path = name.startsWith('/') ? name : `/usr/share/zoneinfo/${name}`;
    }
    info = parseTzif(readFileSync(path));
  } catch {
    info = undefined;
  }
  tzCache = { key, info };
  return info;
}

/** The version-1 data block of a TZif file (enough for abbreviations). */
function parseTzif(b: Buffer): TzInfo | undefined {
  if (b.toString('latin1', 0, 4) !== 'TZif') return undefined;
  const isutcnt = b.readUInt32BE(20);
  const isstdcnt = b.readUInt32BE(24);
  const leapcnt = b.readUInt32BE(28);
  const timecnt = b.readUInt32BE(32);
  const typecnt = b.readUInt32BE(36);
  const charcnt = b.readUInt32BE(40);
  let p = 44;
  const times: number[] = [];
  for (let i = 0; i < timecnt; i++) times.push(b.readInt32BE(p + i * 4));
  p += timecnt * 4;
  const idx: number[] = [];
  for (let i = 0; i < timecnt; i++) idx.push(b[p + i]!);
  p += timecnt;
  const raw: Array<{ off: number; ai: number }> = [];
  for (let i = 0; i < typecnt; i++) raw.push({ off: b.readInt32BE(p + i * 6), ai: b[p + i * 6 + 5]! });
  p += typecnt * 6;
  const chars = b.toString('latin1', p, p + charcnt);
  void isutcnt;
  void isstdcnt;
  void leapcnt;
  const types = raw.map((t) => ({ off: t.off, abbr: chars.slice(t.ai, chars.indexOf('\0', t.ai) >>> 0) }));
  return { times, idx, types };
}

/** strftime("%Z") for the local zone at `sec`. */
export function zoneAbbrev(sec: number): string {
  const d = new Date(sec * 1000);
  const off = -d.getTimezoneOffset() * 60;
  const info = loadTz();
  if (info && info.types.length > 0) {
    let t: { off: number; abbr: string } | undefined;
    if (info.times.length > 0 && sec >= info.times[0]!) {
      let i = info.times.length - 1;
      while (i > 0 && info.times[i]! > sec) i--;
      t = info.types[info.idx[i]!];
    }
    // Past the v1 table (or before it), pick a type with the right offset.
    if (!t || t.off !== off) t = info.types.find((x) => x.off === off) ?? t;
    if (t?.abbr) return t.abbr;
  }
  const tz = process.env.TZ;
  if (tz === undefined || tz === '' || tz === 'UTC' || tz === 'UTC0' || tz === 'GMT') {
    if (off === 0) return tz === 'GMT' ? 'GMT' : 'UTC';
  }
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(d)
      .find((x) => x.type === 'timeZoneName');
    if (part) return part.value;
  } catch {
    /* no Intl data */
  }
  return 'UTC';
}
