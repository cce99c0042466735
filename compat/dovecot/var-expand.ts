/**
 * compat/dovecot/var-expand.ts: Dovecot 2.3 %-variable expansion
 * (lib/var-expand.c behaviour): `%u`, `%{user}`, modifiers between the `%`
 * and the variable (`L U E X R H N M D T`), width/offset (`%3n`, `%1.2n`,
 * `%-2n`, `%05Hu`), built-in long keys (`pid uid gid hostname`), `%{env:X}`,
 * hash extensions (`%{sha256:user}`, `%{md5;rounds=2,salt=x,format=base64:user}`,
 * `%{pkcs5:user}`), `%{if;a;op;b;then;else}` and caller functions such as
 * auth's `%{passdb:field:default}`.
 *
 * Dovecot works on bytes: the template and every value are handled here as
 * UTF-8 bytes (latin1 "binary" strings inside) so `%3n` cuts at the same byte
 * and `%Ln` folds only ASCII, as t_str_lcase() does.
 *
 * The result carries Dovecot's return code: 1 = ok, 0 = an unknown variable
 * (its text becomes `UNSUPPORTED_VARIABLE_x`), -1 = an error (e.g. a bad `if`).
 */
import { createHash, pbkdf2Sync } from 'node:crypto';
import { hostname } from 'node:os';

/** One row of a variable table: a short key (one char) and/or a long key. */
export interface VarEntry {
  key?: string;
  long?: string;
  /** undefined/null expands to "" (a NULL value in Dovecot's tables). */
  value?: string | null;
}
export type VarTable = readonly VarEntry[];

/** A `%{name:data}` function supplied by the caller (auth: passdb, userdb). */
export type VarFunc = (data: string) => { value: string; ret?: 1 | 0 | -1; error?: string };

export interface ExpandResult {
  value: string;
  ret: 1 | 0 | -1;
  error?: string;
}

export interface ExpandOptions {
  funcs?: Record<string, VarFunc>;
  /** Environment for %{env:NAME} (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const toBin = (s: string): string => (/^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1'));
const fromBin = (s: string): string => (/^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'latin1').toString('utf8'));

/** Dovecot's str_hash (lib/hash.c). */
export function strHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    h = ((h << 4) + s.charCodeAt(i)) >>> 0;
    const g = (h & 0xf0000000) >>> 0;
    if (g !== 0) {
      h = (h ^ (g >>> 24)) >>> 0;
      h = (h ^ g) >>> 0;
    }
  }
  return h >>> 0;
}

/** str_escape: backslash before `"`, `'` and `\`. */
export function strEscape(s: string): string {
  return s.replace(/["'\\]/g, (c) => `\\${c}`);
}

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const asciiUpper = (s: string): string => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

interface Ctx {
  width: number;
  offset: number;
  zeroPadding: boolean;
}

type Modifier = (s: string, ctx: Ctx) => string;

const MODIFIERS: Record<string, Modifier> = {
  L: (s) => asciiLower(s),
  U: (s) => asciiUpper(s),
  E: (s) => strEscape(s),
  X: (s) => {
    // str_to_ullong: decimal digits only, else 0.
    if (!/^[0-9]+$/.test(s)) return '0';
    const n = BigInt(s);
    return n > 0xffffffffffffffffn ? '0' : n.toString(16);
  },
  R: (s) => s.split('').reverse().join(''),
  H: (s, ctx) => {
    let v = strHash(s);
    if (ctx.width !== 0) {
      v = Number(BigInt(v) % BigInt(ctx.width >>> 0 || ctx.width));
      ctx.width = 0;
    }
    let out = v.toString(16);
    while (out.length < ctx.offset) out = `0${out}`;
    ctx.offset = 0;
    return out;
  },
  N: (s, ctx) => {
    const d = createHash('md5').update(Buffer.from(s, 'latin1')).digest();
    let v = d.readBigUInt64BE(0);
    if (ctx.width !== 0) {
      v %= BigInt(ctx.width >>> 0 || ctx.width);
      ctx.width = 0;
    }
    let out = (v & 0xffffffffn).toString(16);
    while (out.length < ctx.offset) out = `0${out}`;
    ctx.offset = 0;
    return out;
  },
  M: (s) => createHash('md5').update(Buffer.from(s, 'latin1')).digest('hex'),
  D: (s) => s.replaceAll('.', ',dc='),
  T: (s) => s.replace(/[ \t\n\v\f\r]+$/, ''),
};
const MAX_MODIFIER_COUNT = 10;

/** Hash methods usable as %{name:field} (lib/hash-method.c hash_methods[]). */
const HASH_METHODS: Record<string, string> = {
  md4: 'md4',
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  'sha3-256': 'sha3-256',
  'sha3-512': 'sha3-512',
  size: 'size',
};

/** MD4 (RFC 1320): OpenSSL 3 keeps it in the legacy provider, which Node does not load. */
function md4(data: Buffer): Buffer {
  const st = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const padLen = (data.length % 64 < 56 ? 56 : 120) - (data.length % 64);
  const msg = Buffer.alloc(data.length + padLen + 8);
  data.copy(msg);
  msg[data.length] = 0x80;
  msg.writeUInt32LE((data.length * 8) >>> 0, msg.length - 8);
  msg.writeUInt32LE(Math.floor((data.length * 8) / 2 ** 32), msg.length - 4);
  const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
  for (let off = 0; off < msg.length; off += 64) {
    const x = Array.from({ length: 16 }, (_, i) => msg.readUInt32LE(off + i * 4));
    let [a, b, c, d] = st as [number, number, number, number];
    const f = (p: number, q: number, r: number) => (p & q) | (~p & r);
    const g = (p: number, q: number, r: number) => (p & q) | (p & r) | (q & r);
    const h = (p: number, q: number, r: number) => p ^ q ^ r;
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + f(b, c, d) + x[i]!) >>> 0, 3);
      d = rotl((d + f(a, b, c) + x[i + 1]!) >>> 0, 7);
      c = rotl((c + f(d, a, b) + x[i + 2]!) >>> 0, 11);
      b = rotl((b + f(c, d, a) + x[i + 3]!) >>> 0, 19);
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + g(b, c, d) + x[i]! + 0x5a827999) >>> 0, 3);
      d = rotl((d + g(a, b, c) + x[i + 4]! + 0x5a827999) >>> 0, 5);
      c = rotl((c + g(d, a, b) + x[i + 8]! + 0x5a827999) >>> 0, 9);
      b = rotl((b + g(c, d, a) + x[i + 12]! + 0x5a827999) >>> 0, 13);
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + h(b, c, d) + x[i]! + 0x6ed9eba1) >>> 0, 3);
      d = rotl((d + h(a, b, c) + x[i + 8]! + 0x6ed9eba1) >>> 0, 9);
      c = rotl((c + h(d, a, b) + x[i + 4]! + 0x6ed9eba1) >>> 0, 11);
      b = rotl((b + h(c, d, a) + x[i + 12]! + 0x6ed9eba1) >>> 0, 15);
    }
    st[0] = (st[0]! + a) >>> 0;
    st[1] = (st[1]! + b) >>> 0;
    st[2] = (st[2]! + c) >>> 0;
    st[3] = (st[3]! + d) >>> 0;
  }
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(st[i]!, i * 4);
  return out;
}

/** One digest of `data` with `method` (the "size" method gives the length as a big-endian uint64). */
function digest(method: string, data: Buffer): Buffer {
  if (method === 'md4') return md4(data);
  if (method === 'size') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(data.length));
    return b;
  }
  return createHash(method).update(data).digest();
}

class Expander {
  error: string | undefined;
  constructor(
    readonly table: VarTable,
    readonly opts: ExpandOptions,
  ) {}

  setError(e: string, overwrite = false): void {
    if (overwrite || this.error === undefined) this.error = e;
  }

  short(key: string): { value: string; ret: 1 | 0 } {
    for (const t of this.table) {
      if (t.key !== undefined && t.key === key) return { value: t.value ?? '', ret: 1 };
    }
    if (key === '%') return { value: '%', ret: 1 };
    this.setError(`Unknown variable '%${key}'`);
    return { value: `UNSUPPORTED_VARIABLE_${key}`, ret: 0 };
  }

  long(keyText: string): { value: string; ret: 1 | 0 | -1 } {
    for (const t of this.table) {
      if (t.long !== undefined && t.long === keyText) return { value: t.value ?? '', ret: 1 };
    }
    if (keyText === 'pid') return { value: String(process.pid), ret: 1 };
    if (keyText === 'uid') return { value: String(process.geteuid?.() ?? 0), ret: 1 };
    if (keyText === 'gid') return { value: String(process.getegid?.() ?? 0), ret: 1 };
    if (keyText === 'hostname') return { value: toBin(hostname()), ret: 1 };
    const colon = keyText.indexOf(':');
    const key = colon < 0 ? keyText : keyText.slice(0, colon);
    const data = colon < 0 ? '' : keyText.slice(colon + 1);
    const r = this.extension(key, data);
    return { value: r.value ?? '', ret: r.ret };
  }

  extension(key: string, data: string): { value?: string; ret: 1 | 0 | -1 } {
    const semi = key.indexOf(';');
    const base = (semi < 0 ? key : key.slice(0, semi)).toLowerCase();
    if (base === 'if' || base === 'pkcs5' || Object.hasOwn(HASH_METHODS, base)) {
      return base === 'if' ? this.ifExt(key, data) : this.hashExt(key, data);
    }
    if (key === 'env') {
      const v = (this.opts.env ?? process.env)[fromBin(data)];
      return { value: v === undefined ? '' : toBin(v), ret: 1 };
    }
    const f = this.opts.funcs?.[key];
    if (f) {
      const r = f(fromBin(data));
      if (r.error) this.setError(r.error);
      return { value: toBin(r.value), ret: r.ret ?? 1 };
    }
    this.setError(`Unknown variable '%${key}'`, true);
    return { value: `UNSUPPORTED_VARIABLE_${key}`, ret: 0 };
  }

  hashExt(key: string, field: string): { value?: string; ret: 1 | 0 | -1 } {
    const semi = key.indexOf(';');
    const algo = semi < 0 ? key : key.slice(0, semi);
    const args = semi < 0 ? [] : key.slice(semi + 1).split(',');
    const isPkcs5 = algo === 'pkcs5';
    const method = isPkcs5 ? 'sha256' : HASH_METHODS[algo];
    if (method === undefined) {
      // The extension name matched case-insensitively, but hash_method_lookup() is exact:
      // var_expand_hash() gives up without an error text.
      return { value: '', ret: 0 };
    }
    const fv = this.long(field);
    if (fv.ret < 1) return { value: fv.value, ret: fv.ret };
    let rounds = isPkcs5 ? 2048 : 1;
    let truncbits = 0;
    let salt = isPkcs5 ? field : '';
    let format: 'hex' | 'base64' = 'hex';
    const digestBytes = digest(method, Buffer.alloc(0)).length;
    for (const a of args) {
      const eq = a.indexOf('=');
      if (eq < 0) continue;
      const k = a.slice(0, eq);
      const v = a.slice(eq + 1);
      if (k === 'rounds') {
        if (!/^[0-9]+$/.test(v)) {
          this.setError(`Cannot parse hash arguments:'${v}' is not number for rounds`, true);
          return { ret: -1 };
        }
        rounds = Number(v);
        if (rounds < 1) {
          this.setError('Cannot parse hash arguments:rounds must be at least 1', true);
          return { ret: -1 };
        }
      } else if (k === 'truncate') {
        if (!/^[0-9]+$/.test(v)) {
          this.setError(`Cannot parse hash arguments:'${v}' is not number for truncbits`, true);
          return { ret: -1 };
        }
        truncbits = Math.min(Number(v), digestBytes * 8);
      } else if (k === 'salt') {
        const sub = new Expander(this.table, this.opts);
        const r = sub.expand(v);
        if (r.ret < 0) {
          this.setError(sub.error ?? '', true);
          return { ret: -1 };
        }
        salt = r.value;
        break;
      } else if (k === 'format') {
        if (v === 'hex' || v === 'hexuc') format = 'hex';
        else if (v === 'base64') format = 'base64';
        else {
          this.setError(`Cannot parse hash arguments:'${v}' is not supported format`, true);
          return { ret: -1 };
        }
      }
    }
    let out: Buffer;
    try {
      if (isPkcs5) {
        out = pbkdf2Sync(Buffer.from(fv.value, 'latin1'), Buffer.from(salt, 'latin1'), rounds, 336, 'sha256');
      } else {
        out = Buffer.from(fv.value, 'latin1');
        for (let i = 0; i < rounds; i++) out = digest(method, salt.length > 0 ? Buffer.concat([Buffer.from(salt, 'latin1'), out]) : out);
      }
    } catch (e) {
      this.setError(`Cannot hash: ${(e as Error).message}`, true);
      return { ret: -1 };
    }
    if (truncbits > 0) out = truncateRshiftBits(out, truncbits);
    return { value: format === 'hex' ? out.toString('hex') : out.toString('base64'), ret: 1 };
  }

  ifExt(key: string, field: string): { value?: string; ret: 1 | 0 | -1 } {
    const input = `${key}:${field}`;
    const p = input.indexOf(';');
    if (p < 0) {
      this.setError('if: missing parameter(s)', true);
      return { ret: -1 };
    }
    const params: string[] = [];
    let buf = '';
    let depth = 0;
    let escaped = false;
    let maybeVar = false;
    for (let i = p + 1; i < input.length; i++) {
      const c = input[i]!;
      if (c === '\\') {
        escaped = true;
        continue;
      } else if (escaped) {
        buf += c;
        escaped = false;
        continue;
      }
      if (c === '%') maybeVar = true;
      else if (maybeVar && c === '{') {
        depth++;
        maybeVar = false;
      } else if (depth > 0 && c === '}') depth--;
      else if (depth === 0 && c === ';') {
        params.push(buf);
        buf = '';
        continue;
      } else if (depth === 0 && c === ':') break;
      buf += c;
    }
    if (buf.length > 0) params.push(buf);
    if (params.length !== 5) {
      if (params.length === 4) params.push('');
      else {
        this.setError(`if: requires four or five parameters, got ${params.length}`, true);
        return { ret: -1 };
      }
    }
    const vals: string[] = [];
    for (const par of params) {
      const sub = new Expander(this.table, this.opts);
      const r = sub.expand(par);
      if (r.ret <= 0) {
        this.setError(sub.error ?? '', true);
        return { ret: r.ret };
      }
      vals.push(r.value);
    }
    const [lhs, op, rhs, yes, no] = vals as [string, string, string, string, string];
    const cmp = ifCompare(lhs, op, rhs);
    if (typeof cmp === 'string') {
      this.setError(cmp, true);
      return { ret: -1 };
    }
    return { value: cmp ? yes : no, ret: 1 };
  }

  /** var_expand_with_funcs() over a binary string. */
  expand(str: string): { value: string; ret: 1 | 0 | -1 } {
    let out = '';
    let finalRet: 1 | 0 | -1 = 1;
    const n = str.length;
    for (let i = 0; i < n; i++) {
      if (str[i] !== '%') {
        out += str[i];
        continue;
      }
      i++;
      const ctx: Ctx = { width: 0, offset: 0, zeroPadding: false };
      let sign = 1;
      if (str[i] === '-') {
        sign = -1;
        i++;
      }
      if (str[i] === '0') {
        ctx.zeroPadding = true;
        i++;
      }
      while (i < n && str[i]! >= '0' && str[i]! <= '9') {
        ctx.width = ctx.width * 10 + (str.charCodeAt(i) - 48);
        i++;
      }
      if (str[i] === '.') {
        ctx.offset = sign * ctx.width;
        sign = 1;
        ctx.width = 0;
        i++;
        ctx.zeroPadding = false;
        if (str[i] === '0') {
          ctx.zeroPadding = true;
          i++;
        }
        if (str[i] === '-') {
          sign = -1;
          i++;
        }
        while (i < n && str[i]! >= '0' && str[i]! <= '9') {
          ctx.width = ctx.width * 10 + (str.charCodeAt(i) - 48);
          i++;
        }
        ctx.width = sign * ctx.width;
      }
      const mods: Modifier[] = [];
      while (mods.length < MAX_MODIFIER_COUNT && i < n && Object.hasOwn(MODIFIERS, str[i]!)) {
        mods.push(MODIFIERS[str[i]!]!);
        i++;
      }
      if (i >= n) break;
      let r: { value: string; ret: 1 | 0 | -1 };
      if (str[i] === '{' && str.indexOf('}', i) >= 0) {
        let depth = 1;
        let escaped = false;
        let end = i;
        while (++end < n && depth > 0) {
          const c = str[end];
          if (!escaped && c === '\\') {
            escaped = true;
            continue;
          }
          if (escaped) {
            escaped = false;
            continue;
          }
          if (c === '{') depth++;
          if (c === '}') depth--;
        }
        if (depth === 0) end--;
        r = this.long(str.slice(i + 1, end));
        i = end;
      } else {
        r = this.short(str[i]!);
      }
      if (r.ret < finalRet) finalRet = r.ret;
      if (r.ret <= 0) {
        out += r.value;
        continue;
      }
      let v = r.value;
      for (const m of mods) v = m(v, ctx);
      if (ctx.offset < 0) {
        const fromEnd = -ctx.offset;
        if (v.length > fromEnd) v = v.slice(v.length - fromEnd);
      } else if (ctx.offset > 0) {
        v = v.slice(ctx.offset);
      }
      if (ctx.width === 0) out += v;
      else if (!ctx.zeroPadding) {
        let w = ctx.width;
        if (w < 0) w = v.length - -w;
        // str_append_max with a negative size_t is "no limit".
        out += w < 0 ? v : v.slice(0, w);
      } else {
        let w = ctx.width;
        while (v.length < w) {
          out += '0';
          w--;
        }
        out += v;
      }
    }
    return { value: out, ret: finalRet };
  }
}

function truncateRshiftBits(buf: Buffer, bits: number): Buffer {
  if (buf.length * 8 < bits) return buf;
  const bytes = Math.min(Math.ceil(bits / 8), buf.length);
  const out = Buffer.from(buf.subarray(0, bytes));
  const rem = bits % 8;
  if (rem > 0) {
    for (let i = bytes - 1; i > 0; i--) out[i] = ((out[i]! >> (8 - rem)) + ((out[i - 1]! & (0xff >> rem)) << rem)) & 0xff;
    out[0] = out[0]! >> (8 - rem);
  }
  return out;
}

/** wildcard_match(): `*` and `?` over the whole string. */
export function wildcardMatch(data: string, mask: string, icase = false): boolean {
  const re = new RegExp(`^${mask.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[\\s\\S]*').replaceAll('?', '[\\s\\S]')}$`, icase ? 'i' : '');
  return re.test(data);
}

function ifCompare(lhs: string, op: string, rhs: string): boolean | string {
  const num: Record<string, (a: bigint, b: bigint) => boolean> = {
    '==': (a, b) => a === b,
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
    '!=': (a, b) => a !== b,
  };
  const f = num[op];
  if (f) {
    const a = /^-?[0-9]+$/.test(lhs) ? BigInt(lhs) : undefined;
    if (a === undefined) return `if: ${lhs} (lhs) is not a number`;
    const b = /^-?[0-9]+$/.test(rhs) ? BigInt(rhs) : undefined;
    if (b === undefined) return `if: ${rhs} (rhs) is not a number`;
    return f(a, b);
  }
  const bl = Buffer.from(lhs, 'latin1');
  const br = Buffer.from(rhs, 'latin1');
  switch (op) {
    case 'eq':
      return bl.equals(br);
    case 'lt':
      return Buffer.compare(bl, br) < 0;
    case 'le':
      return Buffer.compare(bl, br) <= 0;
    case 'gt':
      return Buffer.compare(bl, br) > 0;
    case 'ge':
      return Buffer.compare(bl, br) >= 0;
    case 'ne':
      return !bl.equals(br);
    case '*':
      return wildcardMatch(lhs, rhs);
    case '!*':
      return !wildcardMatch(lhs, rhs);
    case '~':
    case '!~': {
      let re: RegExp;
      try {
        re = new RegExp(rhs);
      } catch (e) {
        return `if: regex failed: ${(e as Error).message}`;
      }
      return re.test(lhs) !== (op === '!~');
    }
    default:
      return `if: Unsupported comparator '${op}'`;
  }
}

/** Expand `template` with `table` (and caller functions); values are plain JS strings. */
export function varExpand(template: string, table: VarTable, opts: ExpandOptions = {}): ExpandResult {
  const bin = table.map((t) => ({ key: t.key, long: t.long, value: t.value == null ? t.value : toBin(t.value) }));
  const e = new Expander(bin, opts);
  const r = e.expand(toBin(template));
  const res: ExpandResult = { value: fromBin(r.value), ret: r.ret };
  if (e.error !== undefined) res.error = e.error;
  return res;
}

/**
 * Where the variable after a '%' sits (var_get_key_range): `idx` is the offset
 * of the key, `size` its length (0 when the string ends), `long` for %{...}.
 */
export function varGetKeyRange(str: string): { idx: number; size: number; long: boolean } {
  let i = 0;
  while (i < str.length && ((str[i]! >= '0' && str[i]! <= '9') || str[i] === '-')) i++;
  if (str[i] === '.') {
    i++;
    while (i < str.length && ((str[i]! >= '0' && str[i]! <= '9') || str[i] === '-')) i++;
  }
  while (i < str.length && Object.hasOwn(MODIFIERS, str[i]!)) i++;
  if (str[i] !== '{') return { idx: i, size: i < str.length ? 1 : 0, long: false };
  const idx = ++i;
  let depth = 1;
  let escaped = false;
  for (; i < str.length; i++) {
    if (!escaped && str[i] === '\\') {
      escaped = true;
      continue;
    }
    if (escaped) {
      escaped = false;
      continue;
    }
    if (str[i] === '{') depth++;
    if (str[i] === '}' && --depth === 0) break;
  }
  return { idx, size: i - idx, long: true };
}

/** The variable key after a '%': its character, or '{' for a long key (var_get_key). */
export function varGetKey(str: string): string {
  const r = varGetKeyRange(str);
  return r.long ? '{' : (str[r.idx] ?? '');
}

/** Does `str` use short key `key` or long key `longKey` (var_has_key)? */
export function varHasKey(str: string, key: string | undefined, longKey?: string): boolean {
  for (let i = 0; i < str.length; i++) {
    if (str[i] === '%' && i + 1 < str.length) {
      i++;
      const rest = str.slice(i);
      const c = varGetKey(rest);
      if (key !== undefined && c === key) return true;
      if (c === '{' && longKey !== undefined) {
        const start = rest.indexOf('{');
        const end = rest.indexOf('}', start + 1);
        if (end < 0) return false;
        if (rest.slice(start + 1, end) === longKey) return true;
        i += end;
      }
    }
  }
  return false;
}

/** What a mail process knows about its user (lib-storage mail_user_var_expand_table). */
export interface MailUserVars {
  username: string;
  service: string;
  home?: string;
  localIp?: string;
  remoteIp?: string;
  pid?: number;
  uid: number | string;
  gid: number | string;
  sessionId?: string;
  /** The login name when it differs (master user logins). */
  authUser?: string;
  /** The `hostname` setting (default: the system host name). */
  hostname?: string;
}

/** %u %n %d %s %h %l %r %p %i and the long names, as mail processes and `doveadm user -e` expand them. */
export function mailUserVarTable(u: MailUserVars): VarTable {
  const at = u.username.indexOf('@');
  const auth = u.authUser ?? u.username;
  const aat = auth.indexOf('@');
  return [
    { key: 'u', long: 'user', value: u.username },
    { key: 'n', long: 'username', value: at < 0 ? u.username : u.username.slice(0, at) },
    { key: 'd', long: 'domain', value: at < 0 ? undefined : u.username.slice(at + 1) },
    { key: 's', long: 'service', value: u.service },
    { key: 'h', long: 'home', value: u.home },
    { key: 'l', long: 'lip', value: u.localIp },
    { key: 'r', long: 'rip', value: u.remoteIp },
    { key: 'p', long: 'pid', value: String(u.pid ?? process.pid) },
    { key: 'i', long: 'uid', value: String(u.uid) },
    { long: 'gid', value: String(u.gid) },
    { long: 'session', value: u.sessionId },
    { long: 'auth_user', value: auth },
    { long: 'auth_username', value: aat < 0 ? auth : auth.slice(0, aat) },
    { long: 'auth_domain', value: aat < 0 ? undefined : auth.slice(aat + 1) },
    { long: 'hostname', value: u.hostname ?? hostname() },
    { long: 'local_ip', value: u.localIp },
    { long: 'remote_ip', value: u.remoteIp },
  ];
}
