/**
 * cleanup/addr.ts: envelope address processing (cleanup_addr.c,
 * cleanup_out_recipient.c, cleanup_map11.c, cleanup_map1n.c):
 *
 * sender:    rewrite to standard form (local context); MAILER-DAEMON@$myorigin
 *            becomes the null sender; sender_canonical_maps then
 *            canonical_maps; S record; sender_bcc_maps.
 * recipient: rewrite (empty -> $empty_address_recipient);
 *            recipient_canonical_maps then canonical_maps; a DSN original
 *            recipient "rfc822;ADDR" when the client sent none;
 *            virtual_alias_maps expansion (recursive, one-to-many, with
 *            virtual_alias_recursion_limit, _expansion_limit and
 *            _address_length_limit); duplicates dropped; then
 *            [A notify_flags] [A dsn_orig_rcpt] O R per resulting address;
 *            recipient_bcc_maps.
 */
import { DictError } from '../maps/types.js';
import { Rec } from '../queue/record.js';
import { CleanupFlag, CleanupStat } from './types.js';
import { rewriteInternal } from './rewrite.js';
import type { AddrMaps } from './maps.js';
import { type CleanupState, SMTPUTF8_REQUESTED, SMTPUTF8_SENDER } from './state.js';

export const CANON_ENV_FROM = 1 << 0;
export const CANON_ENV_RCPT = 1 << 1;
export const CANON_HDR_FROM = 1 << 2;
export const CANON_HDR_RCPT = 1 << 3;

/** canonical_classes and friends: names to CANON_* bits. */
export function canonClassMask(value: string, allowed: number): number {
  const names: Record<string, number> = {
    envelope_sender: CANON_ENV_FROM,
    envelope_recipient: CANON_ENV_RCPT,
    header_sender: CANON_HDR_FROM,
    header_recipient: CANON_HDR_RCPT,
  };
  let mask = 0;
  for (const w of value.split(/[\s,]+/)) {
    if (w === '') continue;
    const bit = names[w.toLowerCase()];
    if (bit !== undefined && bit & allowed) mask |= bit;
  }
  return mask;
}

/** propagate_unmatched_extensions: does `cls` (canonical, virtual) propagate? */
export function propagates(state: CleanupState, cls: string): boolean {
  return state.cfg.propagateExt
    .toLowerCase()
    .split(/[\s,]+/)
    .includes(cls);
}

const isUtf8NonAscii = (s: string) => /[\x80-\xff]/.test(s) && Buffer.from(s, 'latin1').toString('utf8').indexOf('\ufffd') < 0;

function lookupProblem(state: CleanupState, maps: AddrMaps, addr?: string): void {
  state.log.warn(
    addr === undefined
      ? `${state.queueId}: ${maps.title} map lookup problem -- message not accepted, try again later`
      : `${state.queueId}: ${maps.title} map lookup problem for ${addr} -- message not accepted, try again later`,
  );
  state.errs |= CleanupStat.WRITE;
}

/** cleanup_map11_internal(): one-to-one mapping, up to 10 levels. */
export async function map11(state: CleanupState, addr: string, maps: AddrMaps, propagate: boolean): Promise<string> {
  let cur = addr;
  for (let count = 0; count < 10; count++) {
    let res: string[] | undefined;
    try {
      res = await maps.map(cur, propagate);
    } catch (err) {
      if (!(err instanceof DictError)) throw err;
      lookupProblem(state, maps, cur);
      return cur;
    }
    if (res === undefined) return cur;
    if (res.length > 1) state.log.warn(`${state.queueId}: multi-valued ${maps.title} entry for ${cur}`);
    const prev = cur;
    cur = res[0]!;
    if (prev.toLowerCase() === cur.toLowerCase()) return cur;
  }
  state.log.warn(`${state.queueId}: unreasonable ${maps.title} map nesting for ${cur} -- message not accepted, try again later`);
  return cur;
}

/** cleanup_map1n_internal(): virtual alias expansion. */
async function map1n(state: CleanupState, addr: string, maps: AddrMaps, propagate: boolean): Promise<string[]> {
  const argv = [addr];
  const beenHere = new Set<string>();
  const fail = (why: string): string[] => {
    state.log.warn(why);
    state.errs |= CleanupStat.DEFER;
    state.reason = '4.6.0 Alias expansion error';
    return [addr];
  };
  for (let arg = 0; arg < argv.length; arg++) {
    if (argv.length > state.cfg.virtExpanLimit) {
      return fail(
        `${state.queueId}: unreasonable ${maps.title} map expansion size for ${addr} -- message not accepted, try again later`,
      );
    }
    for (let count = 0; ; count++) {
      if (beenHere.has(argv[arg]!.toLowerCase())) break;
      if (count >= state.cfg.virtRecurLimit) {
        return fail(
          `${state.queueId}: unreasonable ${maps.title} map nesting for ${addr} -- message not accepted, try again later`,
        );
      }
      let lookup: string[] | undefined;
      try {
        lookup = await maps.map(argv[arg]!, propagate);
      } catch (err) {
        if (!(err instanceof DictError)) throw err;
        state.log.warn(`${state.queueId}: ${maps.title} map lookup problem for ${addr} -- message not accepted, try again later`);
        state.errs |= CleanupStat.WRITE;
        state.reason = '4.6.0 Alias expansion error';
        return [addr];
      }
      if (lookup === undefined) break;
      const lhs = argv[arg]!;
      for (let i = 0; i < lookup.length; i++) {
        const v = lookup[i]!;
        if (v.length > state.cfg.virtAddrLenLimit) {
          return fail(
            `${state.queueId}: unreasonable ${maps.title} result ${v.slice(0, 300)}... -- message not accepted, try again later`,
          );
        }
        if (i === 0) argv[arg] = v;
        else argv.push(v);
        if (lhs.toLowerCase() === v.toLowerCase()) beenHere.add(lhs.toLowerCase());
      }
    }
  }
  return argv;
}

function canonFlags(state: CleanupState): { send: number; rcpt: number; comm: number } {
  return {
    comm: canonClassMask(state.cfg.canonClasses, 0xf),
    send: canonClassMask(state.cfg.senderCanonClasses, CANON_ENV_FROM | CANON_HDR_FROM),
    rcpt: canonClassMask(state.cfg.recipientCanonClasses, CANON_ENV_RCPT | CANON_HDR_RCPT),
  };
}

/** cleanup_out_recipient(): duplicate elimination and virtual expansion. */
async function outRecipient(
  state: CleanupState,
  dsnOrcptIn: string | undefined,
  dsnNotifyIn: number,
  orcpt: string,
  recip: string,
): Promise<void> {
  const dsnOrcpt = dsnOrcptIn ?? '';
  let dsnNotify = dsnNotifyIn;
  const emit = (r: string) => {
    const key = (state.cfg.enableOrigRcpt ? `${dsnOrcpt}\n${dsnNotify}\n${orcpt}\n${r}` : r).toLowerCase();
    if (state.dups.has(key)) return;
    state.dups.add(key);
    if (dsnNotify) state.out(Rec.ATTR, `notify_flags=${dsnNotify}`);
    if (dsnOrcpt !== '') state.out(Rec.ATTR, `dsn_orig_rcpt=${dsnOrcpt}`);
    state.out(Rec.ORCP, orcpt);
    state.out(Rec.RCPT, r);
    state.rcptCount++;
  };
  const virt = state.maps.virtAlias;
  if ((state.flags & CleanupFlag.MAP_OK) === 0 || !virt) {
    emit(recip);
    return;
  }
  const argv = await map1n(state, recip, virt, propagates(state, 'virtual'));
  // DSN SUCCESS for an expanded alias is reported as "expanded" by the
  // trace log in Postfix; without a trace service the NOTIFY is adjusted
  // the same way.
  if (dsnNotify & 2 /* SUCCESS */ && (argv.length > 1 || argv[0] !== recip)) {
    dsnNotify = dsnNotify === 2 ? 1 /* NEVER */ : dsnNotify & ~2;
  }
  for (const r of argv) emit(r);
}

async function bccLookup(state: CleanupState, maps: AddrMaps | undefined, addr: string): Promise<void> {
  if ((state.flags & CleanupFlag.BCC_OK) === 0 || addr === '' || !maps) return;
  let bcc: string | undefined;
  try {
    bcc = await maps.find(addr);
  } catch (err) {
    if (!(err instanceof DictError)) throw err;
    lookupProblem(state, maps);
    return;
  }
  if (bcc !== undefined) await addrBcc(state, bcc);
}

function detectUtf8(state: CleanupState, addr: string, sender: boolean): void {
  if (state.cfg.smtputf8Enable && addr !== '' && isUtf8NonAscii(addr)) {
    if (sender) state.smtputf8 |= SMTPUTF8_SENDER;
    if (state.flags & CleanupFlag.AUTOUTF8) state.smtputf8 |= SMTPUTF8_REQUESTED;
  }
}

/** cleanup_addr_sender(). */
export async function addrSender(state: CleanupState, buf: string): Promise<void> {
  let clean = rewriteInternal(state.cfg.rewrite, 'local', buf);
  if (clean.toLowerCase().startsWith('mailer-daemon@')) {
    const md = rewriteInternal(state.cfg.rewrite, 'local', 'MAILER-DAEMON');
    if (clean.toLowerCase() === md.toLowerCase()) clean = '';
  }
  if (state.flags & CleanupFlag.MAP_OK) {
    const f = canonFlags(state);
    const prop = propagates(state, 'canonical');
    if (state.maps.sendCanon && f.send & CANON_ENV_FROM) clean = await map11(state, clean, state.maps.sendCanon, prop);
    if (state.maps.commCanon && f.comm & CANON_ENV_FROM) clean = await map11(state, clean, state.maps.commCanon, prop);
  }
  detectUtf8(state, clean, true);
  state.out(Rec.FROM, clean);
  state.sender = clean;
  await bccLookup(state, state.maps.sendBcc, clean);
}

/** cleanup_addr_recipient(). */
export async function addrRecipient(state: CleanupState, buf: string): Promise<void> {
  let clean = rewriteInternal(state.cfg.rewrite, 'local', buf !== '' ? buf : state.cfg.emptyAddressRecipient);
  if (state.flags & CleanupFlag.MAP_OK) {
    const f = canonFlags(state);
    const prop = propagates(state, 'canonical');
    if (state.maps.rcptCanon && f.rcpt & CANON_ENV_RCPT) clean = await map11(state, clean, state.maps.rcptCanon, prop);
    if (state.maps.commCanon && f.comm & CANON_ENV_RCPT) clean = await map11(state, clean, state.maps.commCanon, prop);
  }
  detectUtf8(state, clean, false);
  if (state.dsnOrcpt === undefined && clean !== '') {
    const utf8 = /[\x80-\xff]/.test(clean) && state.smtputf8 & SMTPUTF8_REQUESTED;
    state.dsnOrcpt = `${utf8 ? 'utf-8' : 'rfc822'};${clean}`;
  }
  await outRecipient(state, state.dsnOrcpt, state.dsnNotify, state.origRcpt ?? '', clean);
  state.recip = clean;
  await bccLookup(state, state.maps.rcptBcc, clean);
}

/** cleanup_addr_bcc(): an automatic BCC recipient (NOTIFY=NEVER). */
export async function addrBcc(state: CleanupState, bcc: string): Promise<void> {
  const clean = await bccClean(state, bcc);
  await outRecipient(state, undefined, 1 /* DSN_NOTIFY_NEVER */, clean, clean);
}

/** A BCC-style recipient rewritten to its internal canonical form. */
async function bccClean(state: CleanupState, bcc: string): Promise<string> {
  let clean = rewriteInternal(state.cfg.rewrite, 'local', bcc);
  if (state.flags & CleanupFlag.MAP_OK) {
    const f = canonFlags(state);
    const prop = propagates(state, 'canonical');
    if (state.maps.rcptCanon && f.rcpt & CANON_ENV_RCPT) clean = await map11(state, clean, state.maps.rcptCanon, prop);
    if (state.maps.commCanon && f.comm & CANON_ENV_RCPT) clean = await map11(state, clean, state.maps.commCanon, prop);
  }
  detectUtf8(state, clean, false);
  return clean;
}

/** cleanup_addr_bcc_dsn(): a recipient added by a mail filter, with its own ORCPT/NOTIFY. */
export async function addrBccDsn(state: CleanupState, bcc: string, orcpt: string | undefined, notify: number): Promise<void> {
  await outRecipient(state, orcpt, notify, bcc, await bccClean(state, bcc));
}
