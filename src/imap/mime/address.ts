/**
 * imap/mime/address.ts: address-list parsing for ENVELOPE (RFC 5322 §3.4,
 * RFC 3501 §7.4.2), as Dovecot's lib-mail does it with "fill missing":
 * a missing local part becomes MISSING_MAILBOX, a missing domain
 * MISSING_DOMAIN, a broken <...> SYNTAX_ERROR, a broken route
 * INVALID_ROUTE; a group is a start marker (mailbox = group name) and an
 * end marker (all NIL). A comment after a bare addr-spec is its name.
 */
import { NUL_REPLACEMENT, Rfc822Parser } from './rfc822.js';

export interface Address {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
  invalid?: boolean;
}

/** Upper bound on addresses kept per header (Dovecot keeps all; this bounds memory). */
export const MAX_ADDRESSES = 10_000;

class AddressParser {
  readonly p: Rfc822Parser;
  readonly list: Address[] = [];
  addr: Address = blank();

  constructor(data: string) {
    this.p = new Rfc822Parser(data, true);
    this.p.nulReplacement = NUL_REPLACEMENT;
  }

  push(): void {
    if (this.list.length < MAX_ADDRESSES) this.list.push(this.addr);
    this.addr = blank();
  }

  localPart(): number {
    const s = { s: '' };
    const p = this.p;
    let ret: number;
    if (p.cur() === 0x22) ret = p.quotedString(s);
    else ret = this.nonStrictDotAtom(s);
    if (ret < 0) return -1;
    this.addr.mailbox = s.s;
    return ret;
  }

  nonStrictDotAtom(s: { s: string }): number {
    const p = this.p;
    let ret = -1;
    do {
      while (p.cur() === 0x2e) {
        s.s += '.';
        p.pos++;
        if (p.atEnd) return 0;
        ret = 1;
      }
      if (p.cur() === 0x40) break;
      ret = p.atom(s);
    } while (ret > 0 && p.cur() === 0x2e);
    return ret;
  }

  domain(): number {
    const s = { s: '' };
    const ret = this.p.domain(s);
    if (ret < 0) return -1;
    this.addr.domain = s.s;
    return ret;
  }

  domainList(): number {
    const p = this.p;
    let s = '';
    for (;;) {
      if (p.atEnd) return 0;
      if (p.cur() !== 0x40) break;
      if (s.length > 0) s += ',';
      s += '@';
      const o = { s: '' };
      const ret = p.domain(o);
      s += o.s;
      if (ret <= 0) return ret;
      while (p.skipLwsp() > 0 && p.cur() === 0x2c) p.pos++;
    }
    this.addr.route = s;
    return 1;
  }

  angleAddr(): number {
    const p = this.p;
    p.pos++;
    if (p.skipLwsp() <= 0) return -1;
    if (p.cur() === 0x40) {
      if (this.domainList() > 0 && p.cur() === 0x3a) p.pos++;
      else {
        this.addr.route = 'INVALID_ROUTE';
        if (p.atEnd) return -1;
      }
      if (p.skipLwsp() <= 0) return -1;
    }
    if (p.cur() !== 0x3e) {
      if (this.localPart() <= 0) return -1;
      if (p.cur() === 0x40 && this.domain() <= 0) return -1;
    }
    if (p.cur() !== 0x3e) return -1;
    p.pos++;
    return p.skipLwsp();
  }

  nameAddr(): number {
    const p = this.p;
    const s = { s: '' };
    if (p.phrase(s) <= 0 || p.cur() !== 0x3c) return -1;
    this.addr.name = s.s === '' ? null : s.s;
    if (this.angleAddr() < 0) {
      this.addr.domain = 'SYNTAX_ERROR';
      this.addr.invalid = true;
    }
    return p.atEnd ? 0 : 1;
  }

  addrSpec(): number {
    const p = this.p;
    let ret2 = -2;
    p.lastComment = '';
    const quoted = p.cur() === 0x22;
    let ret = this.localPart();
    if (ret <= 0) this.addr.invalid = true;
    if (ret !== 0 && !p.atEnd && p.cur() === 0x40) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    if (p.lastComment !== null && p.lastComment.length > 0) this.addr.name = p.lastComment;
    else if (ret2 === -2) {
      // a lone word is a mailbox, but followed by more words it was a display name
      const s = { s: `${this.addr.mailbox ?? ''} ` };
      const origLen = s.s.length;
      p.phrase(s);
      if (s.s.length !== origLen) {
        this.addr.mailbox = null;
        this.addr.name = s.s;
      } else if (!quoted) this.addr.domain = '';
      this.addr.invalid = true;
      ret = -1;
    }
    return ret;
  }

  fixed(): void {
    if (this.addr.mailbox === null) {
      this.addr.mailbox = 'MISSING_MAILBOX';
      this.addr.invalid = true;
    }
    if (this.addr.domain === null || this.addr.domain === '') {
      this.addr.domain = 'MISSING_DOMAIN';
      this.addr.invalid = true;
    }
    this.push();
  }

  mailbox(): number {
    const p = this.p;
    const start = p.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      p.pos = start;
      this.addr = blank();
      ret = this.addrSpec();
      const a = this.addr;
      if (a.invalid && a.name === null && a.mailbox !== null && a.domain === null) {
        a.name = a.mailbox;
        a.mailbox = null;
      }
    }
    if (ret < 0) this.addr.invalid = true;
    this.fixed();
    return ret;
  }

  group(): number {
    const p = this.p;
    const s = { s: '' };
    if (p.phrase(s) <= 0 || p.cur() !== 0x3a) return -1;
    p.pos++;
    let ret = p.skipLwsp();
    if (ret <= 0) this.addr.invalid = true;
    this.addr.mailbox = s.s;
    this.push();
    if (ret > 0 && p.cur() !== 0x3b) {
      for (;;) {
        this.mailbox();
        if (p.atEnd || p.cur() !== 0x2c) break;
        p.pos++;
        if (p.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (p.atEnd || p.cur() !== 0x3b) ret = -1;
      else {
        p.pos++;
        ret = p.skipLwsp();
      }
    }
    if (ret < 0) this.addr.invalid = true;
    this.push();
    return ret === 0 ? 0 : 1;
  }

  address(): number {
    const p = this.p;
    const start = p.pos;
    const ret = this.group();
    if (ret >= 0) return ret;
    p.pos = start;
    this.addr = blank();
    return this.mailbox();
  }

  parseList(): void {
    const p = this.p;
    if (p.skipLwsp() <= 0) return;
    for (let n = 0; n < MAX_ADDRESSES; n++) {
      if (this.address() === 0) break;
      if (p.atEnd || p.cur() !== 0x2c) break;
      p.pos++;
      const ret = p.skipLwsp();
      if (ret <= 0) {
        if (ret < 0) this.fixed();
        break;
      }
    }
  }
}

function blank(): Address {
  return { name: null, route: null, mailbox: null, domain: null };
}

/** Parse an address header's full (unfolded or folded) value, a byte string. */
export function parseAddressList(value: string): Address[] {
  const ap = new AddressParser(value);
  ap.parseList();
  return ap.list;
}

