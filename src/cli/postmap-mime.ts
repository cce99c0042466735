/**
 * cli/postmap-mime.ts: the message reader behind `postmap -b/-h/-m -q -`
 * (postmap.c with global/mime_state.c): turns a message on stdin into
 * lookup keys, one per logical header (continuation lines joined with
 * "\n", "Name : v" normalised to "Name: v") and one per body line.
 *
 * Without -m the message has one header block and a body. With -m the
 * MIME structure is followed as mime_state does: multipart boundaries
 * (lines that start with "--boundary", the boundary line itself is body
 * text), part headers, and message/rfc822 content with its own headers.
 * A line that is neither a header nor blank ends a header block; at the
 * end of the primary headers a blank line is reported as body text first.
 */

export interface MimeKeyOptions {
  /** Follow MIME structure (-m); otherwise MIME_OPT_DISABLE_MIME. */
  mime: boolean;
  /** Header callback (-h), or undefined. */
  header?: (text: string) => void;
  /** Body callback (-b), or undefined. */
  body?: (text: string) => void;
  /** Stop after the primary headers (postmap -h without -b/-m). */
  stopAfterPrimary: boolean;
}

enum State {
  PRIMARY,
  MULTIPART,
  NESTED,
  BODY,
}
enum Ctype {
  TEXT,
  MESSAGE,
  MULTIPART,
  OTHER,
}

interface Boundary {
  text: string;
  defCtype: Ctype;
  defRfc822: boolean;
}

/** header_size_limit and mime_boundary_length_limit defaults. */
const HEADER_LIMIT = 102400;
const BOUNDARY_LIMIT = 2048;
const MAX_DEPTH = 20;

/** is_header_buf(): length of the header name, or 0. */
export function headerNameLength(s: string): number {
  let state = 0; // 0 init, 1 in name, 2 space after name
  let len = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) return state !== 0 ? len : 0;
    if (c === 32 || c === 9) {
      if (state === 1) state = 2;
      if (state === 2) continue;
      return 0;
    }
    if (c === 0 || c > 126 || c < 32 || c === 127) return 0;
    if (state === 0) state = 1;
    if (state === 1) {
      len++;
      continue;
    }
    return 0;
  }
  return 0;
}

/** Split "a; b=c; d" at ';' outside quotes. */
function params(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      cur += ch;
      if (ch === '\\' && i + 1 < text.length) cur += text[++i];
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
      cur += ch;
    } else if (ch === ';') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (!t.startsWith('"')) return t.split(/[\s()<>@,;:\\"/[\]?=]/)[0] ?? '';
  let out = '';
  for (let i = 1; i < t.length; i++) {
    const ch = t[i]!;
    if (ch === '\\' && i + 1 < t.length) out += t[++i];
    else if (ch === '"') break;
    else out += ch;
  }
  return out;
}

/** Feed a whole message (byte string) through the reader. */
export function mimeKeys(message: string, o: MimeKeyOptions): void {
  const lines = message.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  // Mutable parser state (an object: closures below update it).
  const st = { state: State.PRIMARY as State, ctype: Ctype.TEXT as Ctype, rfc822: false };
  const stack: Boundary[] = [];
  let pending = '';
  let done = false;

  const contentType = (value: string) => {
    const parts = params(value);
    const [type = '', sub = ''] = (parts[0] ?? '').split('/').map((s) => s.trim().toLowerCase());
    if (type === 'text') {
      st.ctype = Ctype.TEXT;
    } else if (type === 'message') {
      st.ctype = Ctype.MESSAGE;
      st.rfc822 = sub === 'rfc822' || sub === 'global';
    } else if (type === 'multipart') {
      st.ctype = Ctype.MULTIPART;
      const digest = sub === 'digest';
      for (const p of parts.slice(1)) {
        const eq = p.indexOf('=');
        if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
        if (stack.length > MAX_DEPTH) continue;
        const b = unquote(p.slice(eq + 1)).slice(0, BOUNDARY_LIMIT);
        stack.unshift({ text: b, defCtype: digest ? Ctype.MESSAGE : Ctype.TEXT, defRfc822: digest });
      }
    } else st.ctype = Ctype.OTHER;
  };

  const flushHeader = () => {
    if (pending === '') return;
    if (o.mime) {
      const colon = pending.indexOf(':');
      const name = pending.slice(0, colon).toLowerCase();
      if (name === 'content-type') contentType(pending.slice(colon + 1));
    }
    o.header?.(pending);
    pending = '';
  };

  const body = (text: string) => {
    if (stack.length > 0 && text.length > 2 && text.startsWith('--')) {
      for (let i = 0; i < stack.length; i++) {
        const sp = stack[i]!;
        if (text.length >= 2 + sp.text.length && text.startsWith(sp.text, 2)) {
          stack.splice(0, i);
          if (text.startsWith('--', 2 + sp.text.length)) {
            stack.shift();
            st.state = State.BODY;
            st.ctype = Ctype.OTHER;
          } else {
            st.state = State.MULTIPART;
            st.ctype = sp.defCtype;
            st.rfc822 = sp.defRfc822;
          }
          break;
        }
      }
    }
    o.body?.(text);
  };

  for (const text of lines) {
    if (done) break;
    if (st.state !== State.BODY) {
      if (pending !== '' && (text.startsWith(' ') || text.startsWith('\t'))) {
        if (pending.length < HEADER_LIMIT) pending += `\n${text}`;
        continue;
      }
      flushHeader();
      const hl = headerNameLength(text);
      if (hl > 0) {
        let rest = hl;
        while (rest < text.length && (text[rest] === ' ' || text[rest] === '\t')) rest++;
        pending = text.slice(0, hl) + text.slice(rest);
        continue;
      }
      // End of a header block.
      const wasPrimary = st.state === State.PRIMARY;
      if (wasPrimary && o.stopAfterPrimary) done = true;
      if (text.length === 0) {
        if (o.mime && st.ctype === Ctype.MESSAGE && st.rfc822) {
          st.state = State.NESTED;
          st.ctype = Ctype.TEXT;
        } else if (o.mime && st.ctype === Ctype.MULTIPART) {
          st.state = State.BODY;
          st.ctype = Ctype.OTHER;
        } else st.state = State.BODY;
      } else {
        if (wasPrimary) o.body?.('');
        st.state = State.BODY;
      }
      body(text);
      continue;
    }
    body(text);
  }
  if (!done) flushHeader();
}
