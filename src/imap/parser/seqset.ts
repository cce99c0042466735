/**
 * imap/parser/seqset.ts: sequence sets (RFC 3501 §9 sequence-set, RFC 5182
 * "$" for the saved search result) and their resolution against a
 * mailbox view: message sequence numbers or UIDs.
 */

/** A range, inclusive; `*` is stored as Infinity. */
export type SeqRange = readonly [number, number];
export type SeqSet = { saved: true } | { saved: false; ranges: SeqRange[] };

function seqNumber(s: string): number | undefined {
  if (s === '*') return Number.POSITIVE_INFINITY;
  if (!/^[1-9]\d{0,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** Parse a sequence set; undefined when invalid ("Invalid messageset"). */
export function parseSeqSet(s: string): SeqSet | undefined {
  if (s === '$') return { saved: true };
  if (s === '') return undefined;
  const ranges: SeqRange[] = [];
  for (const part of s.split(',')) {
    const colon = part.indexOf(':');
    if (colon < 0) {
      const n = seqNumber(part);
      if (n === undefined) return undefined;
      ranges.push([n, n]);
    } else {
      const a = seqNumber(part.slice(0, colon));
      const b = seqNumber(part.slice(colon + 1));
      if (a === undefined || b === undefined) return undefined;
      ranges.push(a <= b ? [a, b] : [b, a]);
    }
  }
  return { saved: false, ranges };
}

/**
 * Sequence numbers (1-based, ascending, unique) a set names in a mailbox of
 * `count` messages; undefined when a number is beyond `count` (Dovecot:
 * "Invalid messageset").
 */
export function resolveSeqs(ranges: readonly SeqRange[], count: number): number[] | undefined {
  const seen = new Uint8Array(count + 1);
  for (const [a0, b0] of ranges) {
    const a = a0 === Number.POSITIVE_INFINITY ? count : a0;
    const b = b0 === Number.POSITIVE_INFINITY ? count : b0;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (hi > count || lo < 1) return undefined;
    for (let i = lo; i <= hi; i++) seen[i] = 1;
  }
  const out: number[] = [];
  for (let i = 1; i <= count; i++) if (seen[i]) out.push(i);
  return out;
}

/**
 * Sequence numbers of the messages whose UIDs a set names; `uids` is the
 * view's UID list in sequence order. `*` is the highest UID, so "99:*"
 * names the last message even when 99 is above it (RFC 3501 §6.4.8).
 */
export function resolveUids(ranges: readonly SeqRange[], uids: readonly number[]): number[] {
  const max = uids.length ? (uids[uids.length - 1] as number) : 0;
  const norm = ranges.map(([a0, b0]) => {
    const a = a0 === Number.POSITIVE_INFINITY ? max : a0;
    const b = b0 === Number.POSITIVE_INFINITY ? max : b0;
    return [Math.min(a, b), Math.max(a, b)] as const;
  });
  const out: number[] = [];
  uids.forEach((uid, i) => {
    for (const [lo, hi] of norm) {
      if (uid >= lo && uid <= hi) {
        out.push(i + 1);
        return;
      }
    }
  });
  return out;
}

/** A compact sequence set text for a list of numbers ("1:3,5"), in the given order's sorted form. */
export function formatSeqSet(nums: readonly number[], sort = true): string {
  const a = sort ? [...nums].sort((x, y) => x - y) : [...nums];
  const parts: string[] = [];
  let i = 0;
  while (i < a.length) {
    let j = i;
    while (j + 1 < a.length && (a[j + 1] as number) === (a[j] as number) + 1) j++;
    parts.push(j === i ? String(a[i]) : `${a[i]}:${a[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
