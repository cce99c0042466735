/**
 * imap/search/subject.ts: the base subject of RFC 5256 §2.1, used by SORT
 * SUBJECT and the threading algorithms: encoded words decoded, whitespace
 * packed, "Re:", "Fwd:", "[blob]" leaders and "(fwd)" trailers removed,
 * "[Fwd: ...]" unwrapped; compared in Dovecot's titlecase form.
 */
import { decodeHeaderValue } from '../mime/decode.js';

/** Dovecot's comparison form: titlecase (here upper case) after Unicode decomposition. */
export function titlecase(s: string): string {
  return s.normalize('NFKD').toUpperCase().normalize('NFKD');
}

function removeBlob(s: string, i: number): number {
  if (s[i] !== '[') return -1;
  i++;
  while (i < s.length && s[i] !== '[' && s[i] !== ']') i++;
  if (s[i] !== ']') return -1;
  i++;
  if (s[i] === ' ') i++;
  return i;
}

/** Base subject of a raw Subject value (byte string); `replyOrForward` tells whether anything marked it so. */
export function baseSubject(raw: string): { subject: string; replyOrForward: boolean } {
  let s = titlecase(decodeHeaderValue(raw)).replace(/[ \t\r\n]+/g, ' ');
  let start = 0;
  let rf = false;
  for (;;) {
    // (2) trailers: spaces and "(FWD)"
    let end = s.length;
    for (;;) {
      if (end > start && s[end - 1] === ' ') end--;
      else if (end - 5 >= start && s.slice(end - 5, end) === '(FWD)') {
        rf = true;
        end -= 5;
      } else break;
    }
    s = s.slice(0, end);
    for (let found = true; found; ) {
      found = false;
      // (3) leader: one space, or blobs then re/fw/fwd [blob] ":"
      if (s[start] === ' ') {
        start++;
        found = true;
      }
      let i = start;
      let ok = true;
      while (s[i] === '[') {
        const n = removeBlob(s, i);
        if (n < 0) {
          ok = false;
          break;
        }
        i = n;
      }
      if (ok) {
        let j = -1;
        if (s.startsWith('RE', i)) j = i + 2;
        else if (s.startsWith('FWD', i)) j = i + 3;
        else if (s.startsWith('FW', i)) j = i + 2;
        if (j >= 0) {
          if (s[j] === ' ') j++;
          if (s[j] === '[') j = removeBlob(s, j);
          if (j >= 0 && s[j] === ':') {
            start = j + 1;
            rf = true;
            found = true;
          }
        }
      }
      // (4) a blob prefix, when something is left after it
      if (s[start] === '[') {
        const n = removeBlob(s, start);
        if (n >= 0 && n < s.length) {
          start = n;
          found = true;
        }
      }
    }
    // (6) "[FWD:" ... "]" wrapper
    if (s.startsWith('[FWD:', start) && s.length >= 1 && s[s.length - 1] === ']') {
      rf = true;
      s = s.slice(0, -1);
      start += 5;
      continue;
    }
    break;
  }
  return { subject: s.slice(start), replyOrForward: rf };
}
