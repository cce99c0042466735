/**
 * maps/pattern/inet.ts: inet_pton(3) and inet_ntop(3) exactly as glibc has
 * them (resolv/inet_pton.c, resolv/inet_ntop.c), for cidr: tables.
 *
 * glibc is strict: IPv4 is exactly four decimal parts, no leading zeros
 * ("01" is refused), each at most 255; IPv6 hex groups have at most four
 * digits, "::" appears once, a dotted IPv4 tail is allowed, and there are no
 * zone ids or brackets. Anything else is "not an address".
 */

/** inet_pton(AF_INET, ...): 4 bytes, or undefined. */
export function pton4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let sawDigit = false;
  let octets = 0;
  let tp = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 0x30 && ch <= 0x39) {
      const v = out[tp]! * 10 + (ch - 0x30);
      if (sawDigit && out[tp] === 0) return undefined;
      if (v > 255) return undefined;
      out[tp] = v;
      if (!sawDigit) {
        if (++octets > 4) return undefined;
        sawDigit = true;
      }
    } else if (ch === 0x2e && sawDigit) {
      if (octets === 4) return undefined;
      tp++;
      out[tp] = 0;
      sawDigit = false;
    } else return undefined;
  }
  if (octets < 4) return undefined;
  return out;
}

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return -1;
}

/** inet_pton(AF_INET6, ...): 16 bytes, or undefined. */
export function pton6(s: string): Uint8Array | undefined {
  const tmp = new Uint8Array(16);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  const end = s.length;
  if (end === 0) return undefined;
  if (s[0] === ':') {
    i++;
    if (i === end || s[i] !== ':') return undefined;
  }
  let curtok = i;
  let xdigits = 0;
  let val = 0;
  while (i < end) {
    const ch = s.charCodeAt(i++);
    const digit = hexValue(ch);
    if (digit >= 0) {
      if (xdigits === 4) return undefined;
      val = (val << 4) | digit;
      if (val > 0xffff) return undefined;
      xdigits++;
      continue;
    }
    if (ch === 0x3a) {
      curtok = i;
      if (xdigits === 0) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      } else if (i === end) return undefined;
      if (tp + 2 > 16) return undefined;
      tmp[tp++] = (val >> 8) & 0xff;
      tmp[tp++] = val & 0xff;
      xdigits = 0;
      val = 0;
      continue;
    }
    if (ch === 0x2e && tp + 4 <= 16) {
      const v4 = pton4(s.slice(curtok));
      if (v4) {
        tmp.set(v4, tp);
        tp += 4;
        xdigits = 0;
        break;
      }
    }
    return undefined;
  }
  if (xdigits > 0) {
    if (tp + 2 > 16) return undefined;
    tmp[tp++] = (val >> 8) & 0xff;
    tmp[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined;
    const n = tp - colonp;
    const moved = tmp.slice(colonp, tp);
    tmp.fill(0, colonp, 16);
    tmp.set(moved, 16 - n);
    tp = 16;
  }
  if (tp !== 16) return undefined;
  return tmp;
}

export function ntop4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** inet_ntop(AF_INET6, ...): longest run (>= 2) of zero words becomes "::". */
export function ntop6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (cur.base === -1) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += ntop4(b, 12);
      return out;
    }
    out += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

/** mask_addr(3): clear every bit after the first `bits`. */
export function maskAddr(b: Uint8Array, bits: number): void {
  for (let i = 0; i < b.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    b[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
}
