/**
 * cleanup/envelope.ts: the first record group (cleanup_envelope.c). The
 * first record written is the placeholder SIZE record; then the client's
 * envelope records are checked and copied: T (first one wins, followed by
 * our own A create_time=), F, S (through addr.ts), A attributes (the DSN
 * ones become pseudo records; rewrite_context picks the header rewriting
 * context), W, V, and recipients (O, A dsn_orig_rcpt, A notify_flags, R).
 * Before the first recipient, the W (delay warning) record is added when
 * delay_warning_time is set. M switches to message content.
 */
import {
  format15,
  formatSize,
  inSet,
  Rec,
  REC_TYPE_ENV_RECIPIENT,
  REC_TYPE_ENVELOPE,
  recAttrMap,
  splitAttr,
} from '../queue/record.js';
import { CleanupStat } from './types.js';
import { addrRecipient, addrSender } from './addr.js';
import { cleanupMessage } from './message.js';
import { type CleanupState, FLAG_INRCPT, FLAG_MASK_EXTRA, FLAG_WARN_SEEN, QMGR_MIXED_RCPT_OTHER, SMTPUTF8_REQUESTED } from './state.js';

/** DSN_NOTIFY_OK(): NEVER alone, or any of SUCCESS/FAILURE/DELAY. */
export function dsnNotifyOk(v: number): boolean {
  return v === 1 || (v !== 0 && (v & 1) === 0 && (v & ~0xe) === 0);
}

/** DSN_RET_OK(): FULL (1) or HDRS (2). */
export function dsnRetOk(v: number): boolean {
  return v === 1 || v === 2;
}

export const isDigits = (s: string) => /^\d+$/.test(s);
export const isPrint = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** cleanup_envelope(): write the SIZE placeholder, then process the first record. */
export async function cleanupEnvelope(state: CleanupState, type: number, data: string): Promise<void> {
  state.out(Rec.SIZE, formatSize([0, 0, 0, 0, 0, 0]));
  state.action = envelopeProcess;
  await envelopeProcess(state, type, data);
}

function bad(state: CleanupState, text: string): void {
  state.log.warn(`${state.queueId}: message rejected: ${text}`);
  state.errs |= CleanupStat.BAD;
}

async function envelopeProcess(state: CleanupState, type: number, buf: string): Promise<void> {
  let mappedType = type;
  let mappedBuf = buf;
  let attrName = '';
  let attrValue = '';

  if (type === Rec.FLGS) {
    const extra = Number.parseInt(buf, 10) || 0;
    if (extra & ~FLAG_MASK_EXTRA) state.log.warn(`${state.queueId}: ignoring bad extra flags: 0x${extra.toString(16)}`);
    else state.flags |= extra;
    return;
  }
  if (type === Rec.MILT_COUNT || type === Rec.DELAY) return;
  if (type === Rec.ATTR) {
    const nv = splitAttr(buf);
    if (typeof nv === 'string') {
      bad(state, `malformed attribute: ${nv}: ${buf.slice(0, 100)}`);
      return;
    }
    [attrName, attrValue] = nv;
    if (attrValue === '') {
      state.log.warn(`${state.queueId}: spurious null attribute value for "${attrName}" -- ignored`);
      return;
    }
    const m = recAttrMap(attrName);
    if (m) {
      mappedType = m;
      mappedBuf = attrValue;
    }
  }
  if (!inSet(REC_TYPE_ENVELOPE, type)) {
    bad(state, `unexpected record type ${type} in envelope`);
    return;
  }
  if ((state.flags & FLAG_INRCPT) === 0 && inSet(REC_TYPE_ENV_RECIPIENT, type)) {
    if (state.sender === undefined) {
      bad(state, 'missing sender envelope record');
      return;
    }
    if (state.arrival.sec === 0) {
      bad(state, 'missing time envelope record');
      return;
    }
    if ((state.flags & FLAG_WARN_SEEN) === 0 && state.sender !== '' && state.cfg.delayWarnTime > 0) {
      state.out(Rec.WARN, format15(state.arrival.sec + state.cfg.delayWarnTime));
    }
    state.flags |= FLAG_INRCPT;
  }
  if (type === Rec.RCPT) {
    if (state.sender === undefined) {
      bad(state, 'envelope recipient precedes sender');
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
  if (mappedType === Rec.DSN_ORCPT) {
    if (state.dsnOrcpt !== undefined) {
      state.log.warn(`${state.queueId}: ignoring out-of-order DSN original recipient record <${state.dsnOrcpt.slice(0, 200)}>`);
    }
    state.dsnOrcpt = mappedBuf;
    return;
  }
  if (mappedType === Rec.DSN_NOTIFY) {
    if (state.dsnNotify) {
      state.log.warn(`${state.queueId}: ignoring out-of-order DSN notify record <${state.dsnNotify}>`);
      state.dsnNotify = 0;
    }
    const v = isDigits(mappedBuf) ? Number.parseInt(mappedBuf, 10) : 0;
    if (v === 0 || !dsnNotifyOk(v)) state.log.warn(`${state.queueId}: ignoring malformed DSN notify record <${buf.slice(0, 200)}>`);
    else {
      state.dsnNotify = v;
      state.qmgrOpts |= v << 1;
    }
    return;
  }
  if (type === Rec.ORCP) {
    if (state.origRcpt !== undefined) {
      state.log.warn(`${state.queueId}: ignoring out-of-order original recipient record <${state.origRcpt.slice(0, 200)}>`);
    }
    state.origRcpt = buf;
    return;
  }
  if (type === Rec.MESG) {
    state.action = cleanupMessage;
    state.flags &= ~FLAG_INRCPT;
    return;
  }
  if (state.flags & FLAG_INRCPT) state.qmgrOpts |= QMGR_MIXED_RCPT_OTHER;
  if (type === Rec.SIZE) {
    // Use our own SIZE record, except for the SMTPUTF8_REQUESTED flag (postsuper -r).
    const f = buf.trim().split(/\s+/);
    state.smtputf8 |= (Number.parseInt(f[5] ?? '0', 10) || 0) & SMTPUTF8_REQUESTED;
    return;
  }
  if (mappedType === Rec.CTIME) return;
  if (type === Rec.TIME) {
    if (state.arrival.sec === 0) {
      const m = /^\s*(\d+)\D*(\d*)/.exec(buf);
      state.arrival = { sec: m ? Number(m[1]) : 0, usec: m?.[2] ? Number(m[2]) : 0 };
      state.out(type, buf);
    }
    state.out(Rec.ATTR, `create_time=${Math.floor(Date.now() / 1000)}`);
    return;
  }
  if (type === Rec.FULL) {
    if (state.fullname === undefined) {
      state.fullname = buf;
      state.out(type, buf);
    }
    return;
  }
  if (type === Rec.FROM) {
    if (state.sender !== undefined) {
      bad(state, 'multiple envelope sender records');
      return;
    }
    await addrSender(state, buf);
    return;
  }
  if (mappedType === Rec.DSN_ENVID) {
    if (!isPrint(mappedBuf)) {
      bad(state, 'bad DSN envelope ID record');
      return;
    }
    state.dsnEnvid = mappedBuf;
    state.out(type, buf);
    return;
  }
  if (mappedType === Rec.DSN_RET) {
    const v = isDigits(mappedBuf) ? Number.parseInt(mappedBuf, 10) : 0;
    if (v === 0 || !dsnRetOk(v)) {
      bad(state, `bad DSN RET record <${buf.slice(0, 200)}>`);
      return;
    }
    state.dsnRet = v;
    state.out(type, buf);
    return;
  }
  if (type === Rec.WARN) {
    if ((state.flags & FLAG_WARN_SEEN) === 0) {
      state.flags |= FLAG_WARN_SEEN;
      state.out(type, buf);
    }
    return;
  }
  if (type === Rec.VERP) {
    if (state.verpDelims === undefined) {
      if (!state.sender) state.log.warn(`${state.queueId}: ignoring VERP request for null sender`);
      else if (buf.length !== 2) state.log.warn(`${state.queueId}: ignoring bad VERP request: "${buf.slice(0, 100)}"`);
      else {
        state.verpDelims = buf;
        state.out(type, buf);
      }
    }
    return;
  }
  if (type === Rec.ATTR) {
    if (state.attrs.size >= state.cfg.qattrCountLimit) {
      bad(state, `attribute count exceeds limit ${state.cfg.qattrCountLimit}`);
      return;
    }
    if (attrName === 'rewrite_context') {
      if (attrValue === 'local') state.hdrRewriteContext = 'local';
      else if (attrValue === 'remote') state.hdrRewriteContext = state.cfg.rewrite.remoteDomain ? 'remote' : undefined;
      else {
        bad(state, `bad rewriting context: ${attrValue.slice(0, 100)}`);
        return;
      }
    }
    if (attrName === 'trace_flags') {
      if (!isDigits(attrValue)) {
        bad(state, `bad TFLAG record <${buf.slice(0, 200)}>`);
        return;
      }
      if (state.tflags === 0) state.tflags = Number.parseInt(attrValue, 10) & 0xff00;
    }
    state.attrs.set(attrName, attrValue);
    state.out(type, buf);
    return;
  }
  state.out(type, buf);
}
