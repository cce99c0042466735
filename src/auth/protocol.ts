/**
 * auth/protocol.ts: the line format shared by Dovecot's auth protocols
 * (auth-client, auth-master, auth-userdb): TAB-separated fields ending in LF,
 * values escaped with \001 (lib/strescape.c str_append_tabescaped):
 *   \001 -> \0011   TAB -> \001t   CR -> \001r   LF -> \001n   (NUL -> \0010)
 * and Dovecot's strict base64 decoder for resp=/CONT data.
 */

/** Escape a value for a TAB-separated protocol line. */
export function tabEscape(s: string): string {
  if (!/[\x00\x01\t\r\n]/.test(s)) return s;
  return s.replace(/[\x00\x01\t\r\n]/g, (c) => `\x01${({ '\x00': '0', '\x01': '1', '\t': 't', '\r': 'r', '\n': 'n' } as Record<string, string>)[c]}`);
}

/** Undo tabEscape (str_tabunescape): unknown escapes give the escaped char, a trailing \001 is dropped. */
export function tabUnescape(s: string): string {
  if (!s.includes('\x01')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\x01') {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === undefined) break;
    out += ({ '0': '\x00', '1': '\x01', t: '\t', r: '\r', n: '\n' } as Record<string, string>)[n] ?? n;
    i++;
  }
  return out;
}

/** t_strsplit_tabescaped: split on TAB and unescape every field. */
export function splitTabEscaped(line: string): string[] {
  return line.split('\t').map(tabUnescape);
}

/** "key=value" -> [key, value]; a bare "key" -> [key, '']. */
export function splitKeyValue(field: string): [string, string] {
  const eq = field.indexOf('=');
  return eq < 0 ? [field, ''] : [field.slice(0, eq), field.slice(eq + 1)];
}

/** Dovecot's str_to_uint: decimal digits only, no sign, fits in 32 bits. */
export function parseUint(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0xffffffff ? undefined : n;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VAL = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_VAL[B64.charCodeAt(i)] = i;

/**
 * base64 as lib/base64.c base64_decode(): whitespace (SP, TAB, CR, LF) is
 * skipped, any other non-alphabet character is an error, padding must be
 * complete ("xx==", "xxx=") and nothing but whitespace may follow it.
 */
export function base64DecodeStrict(s: string): Buffer | undefined {
  const out: number[] = [];
  let sub = 0;
  let acc = 0;
  let i = 0;
  const isWs = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  for (; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const v = code < 256 ? B64_VAL[code]! : -1;
    if (v < 0) {
      if (isWs(s[i])) continue;
      break;
    }
    switch (sub) {
      case 0:
        acc = v;
        break;
      case 1:
        out.push(((acc << 2) | (v >> 4)) & 0xff);
        acc = v;
        break;
      case 2:
        out.push(((acc << 4) & 0xff) | (v >> 2));
        acc = v;
        break;
      default:
        out.push(((acc << 6) & 0xc0) | v);
        break;
    }
    sub = (sub + 1) % 4;
  }
  if (i < s.length) {
    // Padding: "==" after two chars, "=" after three.
    if (sub < 2) return undefined;
    if (sub === 2) {
      if (s[i] !== '=') return undefined;
      i++;
      while (i < s.length && isWs(s[i])) i++;
      if (i === s.length) return undefined;
    }
    if (s[i] !== '=') return undefined;
    i++;
    while (i < s.length && isWs(s[i])) i++;
    if (i < s.length) return undefined;
    sub = 0;
  }
  return sub === 0 ? Buffer.from(out) : undefined;
}

/**
 * Splits a byte stream into LF-terminated lines with a maximum length
 * (istream max_buffer_size): `overflow` is set once a line grows past `max`.
 */
export class LineReader {
  private buf = '';
  overflow = false;
  constructor(readonly max: number) {}
  push(chunk: Buffer): string[] {
    this.buf += chunk.toString('latin1');
    const lines: string[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      if (nl > this.max) {
        this.overflow = true;
        return lines;
      }
      let line = this.buf.slice(0, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      lines.push(line);
      this.buf = this.buf.slice(nl + 1);
    }
    if (this.buf.length >= this.max) this.overflow = true;
    return lines;
  }
}

/** Latin1 "binary" line text -> UTF-8 JS string (protocol values are UTF-8 bytes). */
export const utf8 = (bin: string): string => (/^[\x00-\x7f]*$/.test(bin) ? bin : Buffer.from(bin, 'latin1').toString('utf8'));
/** UTF-8 JS string -> latin1 "binary" text for the wire. */
export const bin = (s: string): string => (/^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1'));
