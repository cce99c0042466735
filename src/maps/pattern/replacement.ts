/**
 * maps/pattern/replacement.ts: the result text of a regexp or pcre rule,
 * with `$1`..`$n`, `${n}`, `$(n)` and `$$` as Postfix's mac_parse(3) reads
 * them (regexp_table(5), pcre_table(5)).
 *
 * The text is split once at open into literal pieces and capture numbers,
 * with Postfix's warnings for bad references ("$1a" is the macro "1a", so
 * not a number; "$" alone is an empty macro name). At lookup an unset or
 * empty capture contributes nothing.
 */
import { warn } from '../../log/msg.js';

/** A literal piece, or the number of a capture group. */
export type Piece = string | number;

export interface Replacement {
  /** Largest $number used (0: the text is a constant). */
  maxSub: number;
  /** maxSub as C's (int) would print it (atoi() wraps). */
  maxSubPrint: number;
  pieces: Piece[];
  /** The constant result when maxSub is 0 ($$ already turned into $). */
  literal: string;
}

const isNameChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);

/** atoi() of an all-digit string: strtol() saturates, then (int) wraps. */
function atoiDigits(s: string): number {
  let v = BigInt(s);
  const LONG_MAX = (1n << 63n) - 1n;
  if (v > LONG_MAX) v = LONG_MAX;
  return Number(BigInt.asIntN(32, v));
}

/**
 * mac_parse() with the prescan callback of dict_regexp.c / dict_pcre.c.
 * Returns undefined (after the warnings) when the text is unusable; the
 * caller then warns "bad replacement syntax: skipping this rule".
 */
export function parseReplacement(value: string, kind: 'regexp' | 'pcre', map: string, lineno: number): Replacement | undefined {
  const pieces: Piece[] = [];
  let error = false;
  let maxSub = 0; // as size_t
  let maxSubPrint = 0;
  let buf = '';
  let i = 0;
  const where = `${kind} map ${map}, line ${lineno}`;
  const onName = (name: string): void => {
    if (!/^[0-9]+$/.test(name)) {
      warn(`${where}: non-numeric replacement index "${name}"`);
      error = true;
      return;
    }
    const n = atoiDigits(name);
    if (n === 0) {
      warn(`${where}: ${kind === 'regexp' ? 'out-of-range' : 'out of range'} replacement index "${name}"`);
      error = true;
      return;
    }
    const unsigned = n < 0 ? n + 2 ** 64 : n;
    if (unsigned > maxSub) {
      maxSub = unsigned;
      maxSubPrint = n;
    }
    pieces.push(unsigned);
  };
  while (i < value.length) {
    const c = value[i]!;
    if (c !== '$') {
      buf += c;
      i++;
      continue;
    }
    if (value[i + 1] === '$') {
      buf += '$';
      i += 2;
      continue;
    }
    if (buf.length > 0) {
      pieces.push(buf);
      buf = '';
    }
    i++;
    let name: string;
    const open = value[i];
    if (open === '(' || open === '{') {
      const close = open === '(' ? ')' : '}';
      let level = 1;
      let ep = i + 1;
      let truncated = false;
      for (; level > 0; ep++) {
        if (ep >= value.length) {
          warn(`truncated macro reference: "${value}"`);
          truncated = true;
          break;
        }
        if (value[ep] === open) level++;
        if (value[ep] === close) level--;
      }
      if (truncated) {
        error = true;
        break;
      }
      name = value.slice(i + 1, ep - 1);
      i = ep;
    } else {
      let ep = i;
      while (ep < value.length && isNameChar(value[ep]!)) ep++;
      name = value.slice(i, ep);
      i = ep;
    }
    if (name.length === 0) {
      warn(`empty macro name: "${value}"`);
      error = true;
      break;
    }
    onName(name);
  }
  if (buf.length > 0 && !error) pieces.push(buf);
  if (error) return undefined;
  const literal = maxSub === 0 ? pieces.join('') : '';
  return { maxSub, maxSubPrint, pieces, literal };
}

/** Expand the pieces with the captures of one match (undefined: unset). */
export function expandReplacement(r: Replacement, group: (n: number) => string | undefined): string {
  if (r.maxSub === 0) return r.literal;
  let out = '';
  for (const p of r.pieces) {
    if (typeof p === 'string') out += p;
    else out += group(p) ?? '';
  }
  return out;
}
