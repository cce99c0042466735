/**
 * smtpd/peer.ts: who is the client (smtpd_peer.c): printable address and
 * port, IPv4-mapped IPv6 turned into IPv4, "IPv6:" form for headers, and
 * the host name from a reverse lookup that must resolve back to the same
 * address (else "unknown", with Postfix's warning).
 */
import { lookup, lookupService } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SmtpdState } from './state.js';
import { validHostname } from './valid.js';

export const PEER_CODE_OK = 2;
export const PEER_CODE_TEMP = 4;
export const PEER_CODE_PERM = 5;
export const PEER_CODE_FORGED = 6;

export interface PeerEndpoints {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
}

const TEMP_CODES = new Set(['EAI_AGAIN', 'EAI_MEMORY', 'EAI_SYSTEM', 'ETIMEOUT', 'ESERVFAIL']);

/** Fill in client/server address, port and (optionally verified) name. */
export async function lookupPeer(
  state: SmtpdState,
  ep: PeerEndpoints,
  opts: { ipv4: boolean; peernameLookup: boolean; warn: (t: string) => void; info: (t: string) => void },
): Promise<void> {
  let addr = ep.remoteAddress ?? '';
  if (!isIP(addr)) {
    // Not an Internet socket (unix domain): Postfix uses localhost[127.0.0.1].
    state.name = state.reverseName = 'localhost';
    state.addr = state.rfcAddr = '127.0.0.1';
    state.port = 'unknown';
    state.nameStatus = state.reverseNameStatus = PEER_CODE_OK;
    state.addrFamily = 1;
    state.buildNamaddr();
    return;
  }
  state.port = String(ep.remotePort ?? 'unknown');
  if (isIP(addr) === 6 && opts.ipv4 && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(addr)) addr = addr.slice(addr.lastIndexOf(':') + 1);
  const v6 = isIP(addr) === 6;
  state.addr = addr;
  state.rfcAddr = v6 ? `IPv6:${addr}` : addr;
  state.addrFamily = v6 ? 10 : 2;
  state.destAddr = ep.localAddress ?? 'unknown';
  state.destPort = String(ep.localPort ?? 'unknown');

  if (!opts.peernameLookup) {
    state.name = state.reverseName = 'unknown';
    state.nameStatus = state.reverseNameStatus = PEER_CODE_PERM;
  } else {
    let host: string | undefined;
    try {
      host = (await lookupService(addr, 0)).hostname;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      state.name = state.reverseName = 'unknown';
      state.nameStatus = state.reverseNameStatus = TEMP_CODES.has(code) ? PEER_CODE_TEMP : PEER_CODE_PERM;
    }
    // sockaddr_to_hostname() refuses numeric or malformed names.
    if (host !== undefined && (isIP(host) || !validHostname(host))) {
      host = undefined;
      state.name = state.reverseName = 'unknown';
      state.nameStatus = state.reverseNameStatus = PEER_CODE_PERM;
    }
    if (host !== undefined) {
      state.name = state.reverseName = host;
      state.nameStatus = state.reverseNameStatus = PEER_CODE_OK;
      try {
        const res = await lookup(host, { all: true, family: v6 ? 6 : 4 });
        if (!res.some((r) => sameAddress(r.address, addr))) {
          opts.warn(`hostname ${host} does not resolve to address ${addr}`);
          state.name = 'unknown';
          state.nameStatus = PEER_CODE_FORGED;
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const why = code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution';
        opts.warn(`hostname ${host} does not resolve to address ${addr}: ${why}`);
        state.name = 'unknown';
        state.nameStatus = TEMP_CODES.has(code) ? PEER_CODE_TEMP : PEER_CODE_FORGED;
      }
    }
  }
  state.buildNamaddr();
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
