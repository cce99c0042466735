/**
 * cleanup/extracted.ts: the third record group (cleanup_extracted.c): X,
 * then filter/redirect decisions from header_checks (L, >), the 8bit
 * encoding attribute, recipients the client extracted (sendmail -t, smtpd
 * BCC actions), always_bcc and header_checks BCC recipients, and E.
 */
import { inSet, Rec, REC_TYPE_EXT_RECIPIENT, REC_TYPE_EXTRACT, recAttrMap, splitAttr } from '../queue/record.js';
import { CleanupStat } from './types.js';
import { addrBcc, addrRecipient } from './addr.js';
import { dsnNotifyOk, isDigits } from './envelope.js';
import { type CleanupState, FLAG_END_SEEN, FLAG_INRCPT, FLAG_MASK_EXTRA, QMGR_MIXED_RCPT_OTHER } from './state.js';
import { CleanupFlag } from './types.js';

/** cleanup_extracted(): write X and process the first extracted record. */
export async function cleanupExtracted(state: CleanupState, type: number, data: string): Promise<void> {
  state.out(Rec.XTRA, '');
  state.action = extractedProcess;
  await extractedProcess(state, type, data);
}

async function extractedProcess(state: CleanupState, typeIn: number, bufIn: string): Promise<void> {
  let type = typeIn;
  let buf = bufIn;
  if (type === Rec.FLGS) {
    const extra = Number.parseInt(buf, 10) || 0;
    if (extra & ~FLAG_MASK_EXTRA) state.log.warn(`${state.queueId}: ignoring bad extra flags: 0x${extra.toString(16)}`);
    else state.flags |= extra;
    return;
  }
  if (type === Rec.DELAY) return;
  if (!inSet(REC_TYPE_EXTRACT, type)) {
    state.log.warn(`${state.queueId}: message rejected: unexpected record type ${type} in extracted envelope`);
    state.errs |= CleanupStat.BAD;
    return;
  }
  if (type === Rec.ATTR) {
    const nv = splitAttr(buf);
    if (typeof nv === 'string') {
      state.log.warn(`${state.queueId}: message rejected: malformed attribute: ${nv}: ${buf.slice(0, 100)}`);
      state.errs |= CleanupStat.BAD;
      return;
    }
    if (nv[1] === '') {
      state.log.warn(`${state.queueId}: spurious null attribute value for "${nv[0]}" -- ignored`);
      return;
    }
    const m = recAttrMap(nv[0]);
    if (m) {
      buf = nv[1];
      type = m;
    }
  }
  if ((state.flags & FLAG_INRCPT) === 0 && inSet(REC_TYPE_EXT_RECIPIENT, type)) {
    if (state.filter !== undefined) state.out(Rec.FILT, state.filter);
    if (state.redirect !== undefined) state.out(Rec.RDR, state.redirect);
    const enc = state.attrs.get('encoding');
    if (enc !== undefined) state.out(Rec.ATTR, `encoding=${enc}`);
    state.flags |= FLAG_INRCPT;
  }
  if (type === Rec.RCPT) {
    if (state.sender === undefined) {
      state.log.warn(`${state.queueId}: message rejected: envelope recipient precedes sender`);
      state.errs |= CleanupStat.BAD;
      return;
    }
    if (state.origRcpt === undefined) state.origRcpt = buf;
    await addrRecipient(state, buf);
    state.origRcpt = undefined;
    state.dsnOrcpt = undefined;
    state.dsnNotify = 0;
    return;
  }
  if (type === Rec.DONE || type === Rec.DRCP) {
    state.origRcpt = undefined;
    state.dsnOrcpt = undefined;
    state.dsnNotify = 0;
    return;
  }
  if (type === Rec.DSN_ORCPT) {
    if (state.dsnOrcpt !== undefined) {
      state.log.warn(`${state.queueId}: ignoring out-of-order DSN original recipient record <${state.dsnOrcpt.slice(0, 200)}>`);
    }
    state.dsnOrcpt = buf;
    return;
  }
  if (type === Rec.DSN_NOTIFY) {
    if (state.dsnNotify) {
      state.log.warn(`${state.queueId}: ignoring out-of-order DSN notify record <${state.dsnNotify}>`);
      state.dsnNotify = 0;
    }
    const v = isDigits(buf) ? Number.parseInt(buf, 10) : 0;
    if (v === 0 || !dsnNotifyOk(v)) state.log.warn(`${state.queueId}: ignoring malformed dsn notify record <${buf.slice(0, 200)}>`);
    else {
      state.dsnNotify = v;
      state.qmgrOpts |= v << 1;
    }
    return;
  }
  if (type === Rec.ORCP) {
    if (state.origRcpt !== undefined) {
      state.log.warn(`${state.queueId}: ignoring out-of-order original recipient record <${buf.slice(0, 200)}>`);
    }
    state.origRcpt = buf;
    return;
  }
  if (type === Rec.END) {
    state.flags &= ~FLAG_INRCPT;
    state.flags |= FLAG_END_SEEN;
    await extractedFinish(state);
    return;
  }
  if (state.flags & FLAG_INRCPT) state.qmgrOpts |= QMGR_MIXED_RCPT_OTHER;
  state.out(type, buf);
}

/** cleanup_extracted_finish(): always_bcc, header_checks BCC, then E. */
async function extractedFinish(state: CleanupState): Promise<void> {
  if (state.flags & CleanupFlag.BCC_OK && state.recip !== undefined && state.cfg.alwaysBcc !== '') {
    await addrBcc(state, state.cfg.alwaysBcc);
  }
  if (state.hbcRcpt) {
    if (state.outOk() && state.recip !== undefined) for (const r of state.hbcRcpt) await addrBcc(state, r);
    state.hbcRcpt = undefined;
  }
  state.out(Rec.END, '');
}
