/**
 * smtpd/valid.ts: host name and address syntax checks, after Postfix's
 * valid_hostname.c, valid_mailhost_addr.c and valid_utf8_hostname.c.
 * Pure functions on byte strings; no DNS.
 */
import { domainToASCII } from 'node:url';
import { allAscii, isAlnum, isDigit } from './text.js';

export const VALID_HOSTNAME_LEN = 255;
export const VALID_LABEL_LEN = 63;

/** valid_hostname(): RFC 1035 syntax plus "_", not all-numeric. */
export function validHostname(name: string): boolean {
  if (name === '') return false;
  let labelLength = 0;
  let nonNumeric = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isAlnum(c) || c === 0x5f) {
      labelLength++;
      if (labelLength > VALID_LABEL_LEN) return false;
      if (!isDigit(c)) nonNumeric = true;
    } else if (c === 0x2e) {
      if (labelLength === 0 || i + 1 === name.length) return false;
      labelLength = 0;
    } else if (c === 0x2d) {
      nonNumeric = true;
      labelLength++;
      if (labelLength === 1 || i + 1 === name.length || name[i + 1] === '.') return false;
    } else {
      return false;
    }
  }
  if (!nonNumeric) return false;
  return name.length <= VALID_HOSTNAME_LEN;
}

/** valid_ipv4_hostaddr(). */
export function validIpv4(addr: string): boolean {
  let inByte = false;
  let byteCount = 0;
  let byteVal = 0;
  for (let i = 0; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (isDigit(c)) {
      if (!inByte) {
        inByte = true;
        byteVal = 0;
        byteCount++;
      }
      byteVal = byteVal * 10 + (c - 0x30);
      if (byteVal > 255) return false;
    } else if (c === 0x2e) {
      if (!inByte || i + 1 === addr.length) return false;
      if (byteCount === 1 && byteVal === 0 && /[^0.]/.test(addr)) return false;
      inByte = false;
    } else {
      return false;
    }
  }
  return byteCount === 4;
}

/** valid_ipv6_hostaddr(). */
export function validIpv6(addr: string): boolean {
  let nullField = 0;
  let field = 0;
  let len = 0;
  let i = 0;
  for (;;) {
    const ch = addr[i];
    if (ch === undefined) {
      if (field < 2) return false;
      if (len === 0 && nullField !== field - 1) return false;
      return true;
    }
    if (ch === '.') {
      if (field < 2 || field > 6) return false;
      return validIpv4(addr.slice(i - len));
    }
    if (ch === ':') {
      if (field === 0 && len === 0 && i + 1 < addr.length && isAlnum(addr.charCodeAt(i + 1))) return false;
      field++;
      if (field > 7) return false;
      i++;
      len = 0;
      if (addr[i] === ':') {
        if (nullField > 0) return false;
        nullField = field;
      }
      continue;
    }
    const m = /^[0-9a-fA-F]*/.exec(addr.slice(i))![0];
    len = m.length;
    if (len > 4 || len <= 0) return false;
    i += len;
  }
}

/** valid_hostaddr(): IPv4 or IPv6 numeric form. */
export function validHostaddr(addr: string): boolean {
  if (addr === '') return false;
  return addr.includes(':') ? validIpv6(addr) : validIpv4(addr);
}

/** valid_mailhost_addr(): IPv4, or "IPv6:" + IPv6; returns the bare address. */
export function validMailhostAddr(addr: string): string | undefined {
  if (addr.length >= 5 && addr.slice(0, 5).toLowerCase() === 'ipv6:') {
    const bare = addr.slice(5);
    return validIpv6(bare) ? bare : undefined;
  }
  return validIpv4(addr) ? addr : undefined;
}

/** valid_mailhost_literal(): "[" address "]". */
export function validMailhostLiteral(addr: string): boolean {
  if (addr[0] !== '[') return false;
  const last = addr.indexOf(']');
  if (last < 0 || last + 1 !== addr.length) return false;
  if (last - 1 >= 46) return false; // INET6_ADDRSTRLEN
  return validMailhostAddr(addr.slice(1, last)) !== undefined;
}

/** valid_utf8_hostname(): ASCII names per valid_hostname, UTF-8 names via IDNA when allowed. */
export function validUtf8Hostname(enableUtf8: boolean, name: string): boolean {
  if (name === '') return false;
  if (enableUtf8 && !allAscii(name)) {
    const ascii = domainToASCII(Buffer.from(name, 'latin1').toString('utf8'));
    return ascii !== '' && validHostname(ascii);
  }
  return validHostname(name);
}
