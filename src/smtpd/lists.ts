/**
 * smtpd/lists.ts: Postfix "match lists" (match_list.c, match_ops.c) as used
 * by mynetworks, relay_domains, mydestination, virtual_*_domains,
 * smtpd_authorized_xclient_hosts, smtpd_forbidden_commands and friends.
 *
 * A list is patterns separated by commas/whitespace; "!" negates; "/file"
 * reads more patterns from the file; "type:table" is a lookup table opened
 * through src/maps (lazily, on first use). Three matchers:
 * - string:   exact, case-insensitive (string_list)
 * - hostname: exact or parent domain (domain_list; "parent" style per
 *             parent_domain_matches_subdomains, else ".domain" form)
 * - namadr:   hostname against the name, then address/CIDR against the
 *             address (namadr_list)
 * A failed table lookup makes match() throw ListError (list->error != 0),
 * after the warning "pname: type:name: table lookup problem".
 */
import { readFileSync } from 'node:fs';
import { openMapSpec } from '../maps/registry.js';
import { DictError, type LookupTable } from '../maps/types.js';
import { asciiLower } from './text.js';

export type MatchKind = 'string' | 'hostname' | 'namadr';

export class ListError extends Error {
  constructor(
    readonly kind: 'retry' | 'config',
    message: string,
  ) {
    super(message);
  }
}

interface Pattern {
  negate: boolean;
  /** casefolded pattern text, or a table spec */
  text: string;
  table?: string;
}

/** mystrtokq(): split on delimiters, keeping {...} groups together. */
export function splitQuoted(s: string, delim = ', \t\r\n'): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && delim.includes(s[i])) i++;
    if (i >= s.length) break;
    let level = 0;
    let tok = '';
    while (i < s.length) {
      const c = s[i];
      if (c === '{') level++;
      else if (c === '}' && level > 0) level--;
      else if (level === 0 && delim.includes(c)) break;
      tok += c;
      i++;
    }
    out.push(tok);
  }
  return out;
}

const isDictionary = (p: string): boolean => /^[^/!{][^:]*:/.test(p) && !p.startsWith('[');

export interface MatchListOptions {
  kind: MatchKind;
  /** MATCH_FLAG_PARENT: "example.com" also matches its subdomains. */
  parent?: boolean;
  /** Warning sink (msg_warn). */
  warn?: (text: string) => void;
  /** Map opening for type:table patterns (tests inject; default src/maps). */
  openTable?: (spec: string) => Promise<LookupTable>;
}

export class MatchList {
  private readonly patterns: Pattern[] = [];
  private readonly tables = new Map<string, Promise<LookupTable>>();

  constructor(
    readonly pname: string,
    value: string,
    private readonly opts: MatchListOptions,
  ) {
    this.parse(value, true);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  private parse(value: string, initMatch: boolean): void {
    const items = splitQuoted(value);
    for (let n = 0; n < items.length; n++) {
      const start = items[n];
      if (start[0] === '#') {
        this.opts.warn?.(`${this.pname}: comment at end of line is not supported: ${items.slice(n).join(' ')}`);
        break;
      }
      let match = initMatch;
      let item = start;
      while (item[0] === '!') {
        match = !match;
        item = item.slice(1);
      }
      if (item === '') throw new ListError('config', `${this.pname}: no pattern after '!'`);
      if (item[0] === '/') {
        let text: string;
        try {
          text = readFileSync(item, 'latin1');
        } catch (err) {
          this.patterns.push({ negate: !match, text: `nofile:${item}`, table: `!nofile:${item}:${(err as Error).message}` });
          continue;
        }
        for (const line of text.split('\n')) if (line[0] !== '#') this.parse(line, match);
      } else if (isDictionary(item)) {
        this.patterns.push({ negate: !match, text: item, table: item });
      } else {
        this.patterns.push({ negate: !match, text: asciiLower(item) });
      }
    }
  }

  private table(spec: string): Promise<LookupTable> {
    let t = this.tables.get(spec);
    if (!t) {
      t = this.opts.openTable ? this.opts.openTable(spec) : openMapSpec(spec, { mode: 'read', dictFlags: 0 });
      t.catch(() => undefined);
      this.tables.set(spec, t);
    }
    return t;
  }

  private async lookup(spec: string, key: string): Promise<boolean> {
    if (spec.startsWith('!nofile:')) {
      throw new ListError('retry', `${this.pname}: nofile:${spec.slice(8)}: table lookup problem`);
    }
    try {
      const t = await this.table(spec);
      return (await t.lookup(key)) !== undefined;
    } catch (err) {
      const fallback = inlineRegexpFallback(spec, key);
      if (fallback !== undefined) return fallback;
      const kind = err instanceof DictError ? err.kind : 'retry';
      const colon = spec.indexOf(':');
      const text = `${this.pname}: ${spec.slice(0, colon)}:${spec.slice(colon + 1)}: table lookup problem`;
      this.opts.warn?.(text);
      throw new ListError(kind, text);
    }
  }

  private async matchString(str: string, p: Pattern): Promise<boolean> {
    if (p.table) return this.lookup(p.table, str);
    return str === p.text;
  }

  private async matchHostname(name: string, p: Pattern): Promise<boolean> {
    if (p.table) {
      // Exact, then parent domains (fixed-key tables only; assume so).
      for (let entry = name; entry !== ''; ) {
        if (await this.lookup(p.table, entry)) return true;
        const dot = entry.indexOf('.', 1);
        if (dot < 0) break;
        entry = this.opts.parent ? entry.slice(dot + 1) : entry.slice(dot);
      }
      return false;
    }
    const pat = p.text;
    if (name === pat) return true;
    if (this.opts.parent) {
      const pd = name.length - pat.length;
      return pd > 0 && name[pd - 1] === '.' && name.slice(pd) === pat;
    }
    if (pat[0] === '.') {
      const pd = name.length - pat.length;
      return pd > 0 && name.slice(pd) === pat;
    }
    return false;
  }

  private async matchHostaddr(addr: string, p: Pattern): Promise<boolean> {
    if (!/^[0-9.a-fA-F:]*$/.test(addr)) return false;
    if (p.table) return this.lookup(p.table, addr);
    const pat = p.text;
    if (pat[0] !== '[') {
      if (addr === pat) return true;
    } else if (pat === `[${addr}]`) {
      return true;
    }
    if (addr.includes(':') !== pat.includes(':')) return false;
    if (!/[:/]/.test(pat)) return false;
    if (/^[0-9.]*$/.test(pat)) return false;
    if (!/^[0-9.a-fA-F:[\]/]*$/.test(pat)) return false;
    const cidr = parseCidr(pat);
    if (!cidr) {
      const text = `${this.pname}: bad net/mask pattern: "${pat}"`;
      this.opts.warn?.(text);
      throw new ListError('retry', text);
    }
    return cidrMatch(cidr, addr);
  }

  /**
   * match_list_match(): the first pattern that matches decides (negated
   * patterns give false). For 'namadr' pass (name, addr).
   */
  async match(...args: string[]): Promise<boolean> {
    const folded = args.map(asciiLower);
    for (const p of this.patterns) {
      for (let i = 0; i < folded.length; i++) {
        let hit: boolean;
        if (this.opts.kind === 'string') hit = await this.matchString(folded[i], p);
        else if (this.opts.kind === 'hostname' || i === 0) hit = await this.matchHostname(folded[i], p);
        else hit = await this.matchHostaddr(folded[i], p);
        if (hit) return !p.negate;
      }
    }
    return false;
  }
}

// --- CIDR (cidr_match.c) ---

interface Cidr {
  v6: boolean;
  net: bigint;
  mask: bigint;
}

export function parseIp(addr: string): { v6: boolean; value: bigint } | undefined {
  if (!addr.includes(':')) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
    if (!m) return undefined;
    let v = 0n;
    for (let i = 1; i <= 4; i++) {
      const b = Number(m[i]);
      if (b > 255) return undefined;
      v = (v << 8n) | BigInt(b);
    }
    return { v6: false, value: v };
  }
  let text = addr;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIp(text.slice(lastColon + 1));
    if (!v4 || v4.v6) return undefined;
    const hi = Number((v4.value >> 16n) & 0xffffn).toString(16);
    const lo = Number(v4.value & 0xffffn).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const tail: bigint[] = [];
  const parts = text.split('::');
  if (parts.length > 2) return undefined;
  const hex = (s: string) => (s === '' ? [] : s.split(':'));
  const left = hex(parts[0]);
  const right = parts.length === 2 ? hex(parts[1]) : [];
  const groups = left.length + right.length + tail.length;
  if (parts.length === 1 && groups !== 8) return undefined;
  if (parts.length === 2 && groups > 7) return undefined;
  const all: bigint[] = [];
  for (const g of left) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    all.push(BigInt(`0x${g}`));
  }
  for (let i = 0; i < 8 - groups; i++) all.push(0n);
  for (const g of right) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    all.push(BigInt(`0x${g}`));
  }
  all.push(...tail);
  let v = 0n;
  for (const g of all) v = (v << 16n) | g;
  return { v6: true, value: v };
}

function parseCidr(pattern: string): Cidr | undefined {
  let p = pattern;
  let len: number | undefined;
  const slash = p.indexOf('/');
  if (slash >= 0) {
    if (!/^\d+$/.test(p.slice(slash + 1))) return undefined;
    len = Number(p.slice(slash + 1));
    p = p.slice(0, slash);
  }
  if (p[0] === '[' && p[p.length - 1] === ']') p = p.slice(1, -1);
  const ip = parseIp(p);
  if (!ip) return undefined;
  const bits = ip.v6 ? 128 : 32;
  if (len === undefined) len = bits;
  if (len > bits) return undefined;
  const all = (1n << BigInt(bits)) - 1n;
  const mask = len === 0 ? 0n : (all << BigInt(bits - len)) & all;
  return { v6: ip.v6, net: ip.value & mask, mask };
}

function cidrMatch(c: Cidr, addr: string): boolean {
  const ip = parseIp(addr);
  if (!ip || ip.v6 !== c.v6) return false;
  return (ip.value & c.mask) === c.net;
}

/**
 * Until src/maps has a regexp driver: the inline form
 * `regexp:{{/pattern/flags result}, ...}` that smtpd_forbidden_commands uses
 * by default. undefined when the spec is not of that form.
 */
function inlineRegexpFallback(spec: string, key: string): boolean | undefined {
  const m = /^(?:regexp|pcre):\{(.*)\}$/s.exec(spec);
  if (!m) return undefined;
  for (let rule of splitQuoted(m[1])) {
    if (rule[0] === '{' && rule[rule.length - 1] === '}') rule = rule.slice(1, -1).trim();
    const r = /^\/(.*)\/([a-zA-Z]*)(?:\s+(.*))?$/s.exec(rule);
    if (!r) continue;
    // Postfix regexp tables are case-insensitive unless the 'i' flag turns that off.
    let re: RegExp;
    try {
      re = new RegExp(r[1], r[2].includes('i') ? 's' : 'is');
    } catch {
      continue;
    }
    if (re.test(key)) return true;
  }
  return false;
}
