/**
 * imap/parser/mailbox-name.ts: mailbox names on the wire (RFC 3501 §5.1.3
 * modified UTF-7; RFC 6855 UTF-8 once UTF8=ACCEPT is enabled) to the
 * storage's UTF-8 vnames and back. "INBOX" in any case is INBOX.
 */
import { mutf7ToUtf8, utf8ToMutf7 } from '../../storage/mutf7.js';

/** Wire name (bytes of an astring) → vname; undefined when not valid mUTF-7 ("NO Mailbox name is not valid mUTF-7"). */
export function decodeMailboxName(wire: Buffer | string, utf8: boolean): string | undefined {
  const s = typeof wire === 'string' ? wire : utf8 ? wire.toString('utf8') : wire.toString('latin1');
  let name: string | undefined;
  if (utf8) name = s;
  else {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return undefined;
    name = mutf7ToUtf8(s);
  }
  if (name === undefined) return undefined;
  if (/^inbox$/i.test(name)) return 'INBOX';
  const m = /^inbox(\/.*)$/i.exec(name);
  if (m) return `INBOX${m[1]}`;
  return name;
}

/** vname → wire form (mUTF-7 unless UTF8=ACCEPT is on). */
export function encodeMailboxName(vname: string, utf8: boolean): string {
  return utf8 ? vname : utf8ToMutf7(vname);
}
