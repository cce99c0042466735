/**
 * dnsbl/ip-match.ts: the reply filters of DNS list specifications,
 * `list.example=127.0.0.[2..11;20]` (Postfix ip_match(3)): four octet
 * fields, each a number or a bracketed set of numbers and ranges
 * separated by ';'. A listed reply matches when some A record matches.
 */

type Octet = Array<[number, number]>;

export class IpMatchError extends Error {}

/** Parse a pattern; throws IpMatchError with Postfix's words. */
export function parseIpMatch(pattern: string): Octet[] {
  // Brackets around the whole pattern are allowed: [127.0.0.[2..11]].
  if (pattern.startsWith('[')) {
    let level = 0;
    let end = -1;
    for (let i = 0; i < pattern.length; i++) {
      if (pattern[i] === '[') level++;
      else if (pattern[i] === ']' && --level === 0) {
        end = i;
        break;
      }
    }
    if (end < 0) throw new IpMatchError('missing "]" character');
    if (end === pattern.length - 1) pattern = pattern.slice(1, -1);
  }
  if (pattern === '') throw new IpMatchError('empty address pattern');
  const fields: Octet[] = [];
  let p = 0;
  const num = (): number => {
    const m = /^\d{1,3}/.exec(pattern.slice(p));
    if (!m) throw new IpMatchError(`in "${pattern}": numeric field expected at "${pattern.slice(p)}"`);
    const n = Number(m[0]);
    if (n > 255) throw new IpMatchError(`in "${pattern}": numeric field out of range: ${m[0]}`);
    p += m[0].length;
    return n;
  };
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (pattern[p] !== '.') throw new IpMatchError(`in "${pattern}": "." expected at "${pattern.slice(p)}"`);
      p++;
    }
    if (pattern[p] === '[') {
      p++;
      const ranges: Octet = [];
      for (;;) {
        const lo = num();
        let hi = lo;
        if (pattern.startsWith('..', p)) {
          p += 2;
          hi = num();
          if (hi < lo) throw new IpMatchError(`in "${pattern}": bad range ${lo}..${hi}`);
        }
        ranges.push([lo, hi]);
        if (pattern[p] === ';') {
          p++;
          continue;
        }
        if (pattern[p] !== ']') throw new IpMatchError(`in "${pattern}": "]" expected at "${pattern.slice(p)}"`);
        p++;
        break;
      }
      fields.push(ranges);
    } else {
      const n = num();
      fields.push([[n, n]]);
    }
  }
  if (p !== pattern.length) throw new IpMatchError(`in "${pattern}": unexpected text after pattern: "${pattern.slice(p)}"`);
  return fields;
}

export function ipMatches(fields: Octet[], address: string): boolean {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4) return false;
  return fields.every((ranges, i) => ranges.some(([lo, hi]) => parts[i]! >= lo && parts[i]! <= hi));
}
