/**
 * maps/cidr.ts: the cidr: lookup table (cidr_table(5); Postfix's dict_cidr.c
 * and cidr_match.c).
 *
 * One rule per logical line (pattern/source.ts), first match in file order:
 *   network/prefix  result       192.168.0.0/16, 2001:db8::/32
 *   [network]/prefix result      [2001:db8::]/32 (also [net/prefix])
 *   address         result       a bare address is a /32 or /128
 *   !pattern        result       matches addresses of the same family outside
 *   if [!]pattern ... endif      nestable; the block is skipped otherwise
 * The key must be a literal address as glibc's inet_pton() reads it (IPv6
 * when it contains ":"); anything else is not found. IPv4 and IPv6 rules are
 * separate families: "::ffff:1.2.3.4" is an IPv6 key and matches only IPv6
 * rules, as in Postfix (smtpd has already turned a mapped client address
 * into 1.2.3.4 before it asks). Bad rules are skipped with Postfix's
 * warning ("non-null host address bits in ..., perhaps you should use ...").
 */
import { warn } from '../log/msg.js';
import { maskAddr, ntop4, ntop6, pton4, pton6 } from './pattern/inet.js';
import { filesToBase64 } from './rhs-file.js';
import { isSpaceCode, logicalLines, readTableSource, trimTrailing } from './pattern/source.js';
import { requireReadOnly } from './driver-util.js';
import { DictError, DictFlag, type LookupTable, type OpenOptions } from './types.js';

interface Entry {
  op: 'match' | 'if' | 'endif';
  v6: boolean;
  net: Uint8Array;
  mask: Uint8Array;
  /** All bits significant (a bare address). */
  exact: boolean;
  match: boolean;
  value: string;
  lineno: number;
  /** For "if": index of the matching endif, or -1. */
  blockEnd: number;
}

const ALNUM = /^[A-Za-z0-9]$/;

/** atoi() of an all-digit string: strtol() saturates, then (int) wraps. */
function atoiDigits(s: string): number {
  let v = BigInt(s);
  const LONG_MAX = (1n << 63n) - 1n;
  if (v > LONG_MAX) v = LONG_MAX;
  return Number(BigInt.asIntN(32, v));
}

/** cidr_match_parse(): an Entry, or the reason it is bad. */
export function parseCidrPattern(pattern: string, match: boolean): { entry: Omit<Entry, 'op' | 'value' | 'lineno' | 'blockEnd'> } | { why: string } {
  let maskSearch: string;
  let maskInAddr = true; // the "/mask" is still part of addr
  let addr = pattern;
  if (addr.startsWith('[')) {
    addr = addr.slice(1);
    const close = addr.indexOf(']');
    if (close < 0) return { why: `missing ']' character after "[${addr}"` };
    const after = addr.slice(close + 1);
    addr = addr.slice(0, close);
    if (after.startsWith('/')) {
      maskSearch = after;
      maskInAddr = false;
    }
    else if (after !== '') return { why: `garbage after "[${addr}]"` };
    else maskSearch = addr;
  } else {
    maskSearch = addr;
  }
  const slash = maskSearch.indexOf('/');
  if (slash >= 0) {
    const mask = maskSearch.slice(slash + 1);
    if (maskInAddr) addr = addr.slice(0, slash);
    const v6 = addr.includes(':');
    const bits = v6 ? 128 : 32;
    let shift = 0;
    let net: Uint8Array | undefined;
    let parseError: string | undefined;
    if (!/^[0-9]+$/.test(mask)) parseError = 'bad mask value';
    else if ((shift = atoiDigits(mask)) > bits) parseError = 'bad mask length';
    else if (!(net = v6 ? pton6(addr) : pton4(addr))) parseError = 'bad network value';
    if (parseError !== undefined || !net) return { why: `${parseError} in "${addr}/${mask}"` };
    const bytes = bits / 8;
    const maskBytes = new Uint8Array(bytes);
    if (shift > 0) {
      maskBytes.fill(0xff);
      maskAddr(maskBytes, shift);
    }
    for (let i = 0; i < bytes; i++) {
      if (net[i]! & ~maskBytes[i]!) {
        maskAddr(net, Math.max(0, shift));
        const better = v6 ? ntop6(net) : ntop4(net);
        return { why: `non-null host address bits in "${addr}/${mask}", perhaps you should use "${better}/${shift}" instead` };
      }
    }
    return { entry: { v6, net, mask: maskBytes, exact: shift >= bits, match } };
  }
  const v6 = addr.includes(':');
  const net = v6 ? pton6(addr) : pton4(addr);
  if (!net) return { why: `bad address pattern: "${addr}"` };
  return { entry: { v6, net, mask: new Uint8Array(net.length).fill(0xff), exact: true, match } };
}

function entryMatches(e: Entry, a: Uint8Array): boolean {
  const n = e.net.length;
  if (e.exact) {
    for (let i = 0; i < n; i++) if (a[i] !== e.net[i]) return !e.match;
  } else {
    for (let i = 0; i < n; i++) if ((a[i]! & e.mask[i]!) !== e.net[i]) return !e.match;
  }
  return e.match;
}

/** A compiled cidr table. */
export class CidrTable implements LookupTable {
  flags: number;
  private constructor(
    readonly type: string,
    readonly name: string,
    flags: number,
    private readonly entries: Entry[],
  ) {
    this.flags = flags;
  }

  /** dict_cidr_open() over the table text (warnings go to msg.warn). */
  static fromText(name: string, text: string, path: string, dictFlags: number): CidrTable {
    const entries: Entry[] = [];
    const stack: number[] = [];
    for (const { text: line, lineno } of logicalLines(text, path)) {
      const got = parseRule(line, stack.length, dictFlags);
      if ('why' in got) {
        warn(`cidr map ${name}, line ${lineno}: ${got.why}: skipping this rule`);
        continue;
      }
      const e: Entry = { ...got.entry, lineno, blockEnd: -1 };
      if (e.op === 'if') stack.push(entries.length);
      else if (e.op === 'endif') entries[stack.pop()!]!.blockEnd = entries.length;
      entries.push(e);
    }
    while (stack.length > 0) {
      warn(`cidr map ${name}, line ${entries[stack.pop()!]!.lineno}: IF has no matching ENDIF`);
    }
    return new CidrTable('cidr', name, dictFlags | DictFlag.PATTERN, entries);
  }

  /** cidr_match_execute(). */
  lookupSync(key: string): string | undefined {
    const nul = key.indexOf('\0');
    if (nul >= 0) key = key.slice(0, nul);
    const v6 = key.includes(':');
    const addr = v6 ? pton6(key) : pton4(key);
    if (!addr) return undefined;
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.op === 'match') {
        if (e.v6 === v6 && entryMatches(e, addr)) return e.value;
      } else if (e.op === 'if') {
        if (e.v6 === v6 && entryMatches(e, addr)) continue;
        // An IF without a matching ENDIF has no end of block: not found.
        if (e.blockEnd < 0) return undefined;
        i = e.blockEnd;
      }
    }
    return undefined;
  }

  async lookup(key: string): Promise<string | undefined> {
    return this.lookupSync(key);
  }

  async close(): Promise<void> {}
}

/** dict_cidr_parse_rule(). */
function parseRule(line: string, nesting: number, dictFlags: number): { entry: Omit<Entry, 'lineno' | 'blockEnd'> } | { why: string } {
  let p = 0;
  let match = true;
  let value: string;
  let entry: Omit<Entry, 'lineno' | 'blockEnd' | 'value'>;
  const notAlnum = (i: number): boolean => i >= line.length || !ALNUM.test(line[i]!);
  if (/^if/i.test(line) && notAlnum(2)) {
    p = 2;
    for (;;) {
      if (line[p] === '!') match = !match;
      else if (p >= line.length || !isSpaceCode(line.charCodeAt(p))) break;
      p++;
    }
    if (p >= line.length) return { why: 'no address pattern' };
    const got = parseCidrPattern(trimTrailing(line.slice(p)), match);
    if ('why' in got) return got;
    entry = { ...got.entry, op: 'if' };
    value = '';
  } else if (/^endif/i.test(line) && notAlnum(5)) {
    p = 5;
    while (p < line.length && isSpaceCode(line.charCodeAt(p))) p++;
    if (p < line.length) return { why: 'garbage after ENDIF' };
    if (nesting === 0) return { why: 'ENDIF without IF' };
    entry = { op: 'endif', v6: false, net: new Uint8Array(0), mask: new Uint8Array(0), exact: true, match: true };
    value = '';
  } else {
    for (;;) {
      if (line[p] === '!') match = !match;
      else if (p >= line.length || !isSpaceCode(line.charCodeAt(p))) break;
      p++;
    }
    const start = p;
    while (p < line.length && !isSpaceCode(line.charCodeAt(p))) p++;
    const pattern = line.slice(start, p);
    while (p < line.length && isSpaceCode(line.charCodeAt(p))) p++;
    value = trimTrailing(line.slice(p));
    if (pattern === '') return { why: 'no address pattern' };
    const got = parseCidrPattern(pattern, match);
    if ('why' in got) return got;
    if (value === '') return { why: 'no lookup result' };
    entry = { ...got.entry, op: 'match' };
  }
  if (dictFlags & DictFlag.SRC_RHS_IS_FILE) {
    const got = filesToBase64(value);
    if ('err' in got) return { why: got.err };
    value = got.value;
  }
  return { entry: { ...entry, value } };
}

/** MapDriver.open for "cidr". */
export async function open(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  requireReadOnly(type, name, opts);
  const src = await readTableSource('cidr', name);
  if (src.isDirectory) throw new DictError('config', `cidr:${name}`, `cidr map ${name}: read error: Is a directory`);
  return CidrTable.fromText(name, src.text, src.path, opts.dictFlags);
}
