/**
 * smtpd/syntax.ts: SMTP command line parsing, no I/O and no policy
 * (smtpd_token.c and the syntax half of smtpd.c extract_addr()).
 *
 * Standards: RFC 5321 §4.1.1-4.1.2. Postfix is more liberal than the RFC:
 * "MAIL FROM: <a>" (space after the colon) works, <...> may nest and
 * contain quoted strings, and RFC 822 style junk around the address is
 * tolerated unless strict_rfc821_envelopes is set.
 * Security: untrusted input; the command line is already bounded by
 * line_length_limit.
 */
import { TOK_ADDR, tokInternalize, tokParse } from './tok822.js';

export const TOK_OTHER = 0;
export const TOK_ERROR = 1;

export interface SmtpToken {
  str: string;
  tok: number;
}

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/** smtp_quoted(): copy a <...> or "..." group, nesting as Postfix does. */
function quoted(s: string, i: number, tok: SmtpToken, start: string, last: string): number {
  const stack: string[] = [last];
  let wanted = last;
  tok.str += start;
  while (i < s.length) {
    const c = s[i++];
    tok.str += c;
    if (c === '\\') {
      if (i >= s.length) break;
      tok.str += s[i++];
    } else if (c === wanted) {
      if (stack.length === 1) return i;
      stack.pop();
      wanted = stack[stack.length - 1];
    } else if (c === '"') {
      stack.push((wanted = '"'));
    } else if (c === '<' && wanted === '>') {
      stack.push((wanted = '>'));
    }
  }
  tok.tok = TOK_ERROR;
  return i;
}

/** smtpd_token(): split a command line into words. A NUL ends the line, as in C. */
export function smtpTokenize(line: string): SmtpToken[] {
  const nul = line.indexOf('\0');
  const s = nul >= 0 ? line.slice(0, nul) : line;
  const out: SmtpToken[] = [];
  let i = 0;
  for (;;) {
    const tok: SmtpToken = { str: '', tok: TOK_OTHER };
    while (i < s.length) {
      const c = s[i++];
      if (isSpace(c)) {
        while (i < s.length && isSpace(s[i])) i++;
        if (tok.str.length > 0) break;
      } else if (c === '<') {
        i = quoted(s, i, tok, c, '>');
      } else if (c === '"') {
        i = quoted(s, i, tok, c, c);
      } else if (c === ':') {
        tok.str += c;
        const low = tok.str.toLowerCase();
        if ('to:'.startsWith(low) || 'from:'.startsWith(low)) break;
      } else {
        if (c === '\\') {
          tok.str += c;
          if (i >= s.length) break;
          tok.str += s[i++];
          continue;
        }
        tok.str += c;
      }
    }
    if (tok.str.length === 0) return out;
    out.push(tok);
  }
}

export interface ExtractedAddr {
  /** Internal (unquoted) form; '' for <>. */
  addr: string;
  /** True when Postfix logs "Illegal address syntax" and rejects. */
  syntaxError: boolean;
}

/**
 * The syntax part of extract_addr(): strip one level of <>, drop a source
 * route, parse with the RFC 822 parser, require exactly one address (and
 * no junk or missing <> under strict_rfc821_envelopes).
 */
export function extractAddrSyntax(raw: string, strictRfc821: boolean): ExtractedAddr {
  let text = raw;
  if (raw.length >= 1 && raw[0] === '<' && raw[raw.length - 1] === '>') text = raw.slice(1, raw.length - 1);
  if (text[0] === '@') {
    const colon = text.indexOf(':');
    if (colon >= 0) text = text.slice(colon + 1);
  }
  const tree = tokParse(text);
  let naddr = 0;
  let nonAddr = 0;
  let addrTok = null;
  for (let tp = tree; tp; tp = tp.next) {
    if (tp.type === TOK_ADDR) {
      addrTok = tp;
      naddr++;
    } else if (tp.type === 0x3c || tp.type === 0x3e) {
      /* ignore brackets */
    } else {
      nonAddr++;
    }
  }
  const syntaxError = naddr > 1 || (strictRfc821 && (nonAddr > 0 || raw[0] !== '<'));
  const addr = addrTok ? tokInternalize(addrTok.head) : '';
  return { addr, syntaxError };
}
