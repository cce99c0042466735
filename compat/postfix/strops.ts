/**
 * postfix/strops.ts: the small string routines Postfix's config readers share
 * (util/split_nameval.c, mystrtok.c mystrtokq, extpar.c, trimblanks.c), so
 * main.cf, master.cf and postconf's table scans split text one way.
 */

/** C isspace() in the "C" locale. */
export function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

/** Strip leading and trailing isspace() characters. */
export function trimBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/** split_nameval(): "name = value" with blanks trimmed, or the error text. */
export function splitNameValue(text: string): [string, string] | string {
  let p = 0;
  const n = text.length;
  while (p < n && isSpace(text[p])) p++;
  if (p === n || text[p] === '=') return 'missing attribute name';
  const nameStart = p;
  while (p < n && !isSpace(text[p]) && text[p] !== '=') p++;
  const nameEnd = p;
  while (p < n && isSpace(text[p])) p++;
  if (text[p] !== '=') return "missing '=' after attribute name";
  return [text.slice(nameStart, nameEnd), trimBlanks(text.slice(p + 1))];
}

/** strcmp() order. Config text is read as latin1 (one char per byte), so code units are bytes. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** PCF_MASTER_BLANKS / CHARS_SPACE. */
export const BLANKS = ' \t\r\n';
/** CHARS_COMMA_SP. */
export const COMMA_BLANKS = ', \t\r\n';

/** mystrtokq() over a whole string: split on `delim`, keeping `{...}` groups whole (braces included). */
export function splitQuoted(s: string, delim = BLANKS): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  for (;;) {
    while (i < n && delim.includes(s[i]!)) i++;
    if (i >= n) return out;
    const start = i;
    let level = 0;
    for (; i < n; i++) {
      const ch = s[i]!;
      if (ch === '{') level++;
      else if (level > 0 && ch === '}') level--;
      else if (level === 0 && delim.includes(ch)) break;
    }
    out.push(s.slice(start, i));
    if (i < n) i++;
  }
}

/** balpar(): length of a balanced `{...}` prefix, 0 if unbalanced. */
function balancedLength(s: string): number {
  if (s[0] !== '{') return 0;
  let level = 1;
  for (let i = 1; i < s.length; i++) {
    const ch = s[i];
    if (ch === '}') {
      if (--level === 0) return i + 1;
    } else if (ch === '{') level++;
  }
  return 0;
}

/**
 * extpar(): the text inside one level of `{}` and the error, if any.
 * `strip` is EXTPAR_FLAG_STRIP (trim blanks inside the braces).
 */
export function extractBraces(s: string, strip = true): { text: string; err?: string } {
  const fin = (t: string) => (strip ? trimBlanks(t) : t);
  if (s[0] !== '{') return { text: fin(s), err: `no '{' at start of text in "${s}"` };
  const len = balancedLength(s);
  if (len === 0) return { text: fin(s.slice(1)), err: `missing '}' in "${s}"` };
  const inner = fin(s.slice(1, len - 1));
  if (len < s.length) return { text: inner, err: `syntax error after '}' in "${s}"` };
  return { text: inner };
}
