/**
 * cleanup/message.ts: the message content (cleanup_message.c).
 *
 * Content records go through the MIME walker (mime.ts). Each header:
 * - counts toward the hop count when it is Received: (hopcount_limit ->
 *   "message rejected: hopcount exceeded", CLEANUP_STAT_HOPS);
 * - is matched against header_checks / mime_header_checks /
 *   nested_header_checks (actions in act.ts);
 * - is dropped when message_drop_headers names it (Bcc:, Return-Path: ...);
 * - Message-Id: is logged ("ID: message-id=<...>");
 * - sender/recipient address headers are rewritten to standard form when
 *   the header rewriting context allows (local submission, or a client in
 *   local_header_rewrite_clients as decided by smtpd's rewrite_context).
 * At the end of the primary headers, missing Message-Id:, Date:, From: (and
 * the undisclosed_recipients_header) are added when rewriting is allowed or
 * always_add_missing_headers = yes; a message without any Received: header
 * is refused as an internal protocol error (smtpd and pickup always add
 * one). Body lines go through body_checks and are copied.
 */
import { Rec } from '../queue/record.js';
import { mailDate } from '../queue/dates.js';
import { CleanupFlag, CleanupStat } from './types.js';
import { HDR, HDR_OPT_DROP, HDR_OPT_MIME, HDR_OPT_RECIP, HDR_OPT_RR, HDR_OPT_SENDER, type HeaderOpts, headerOptsFind, isHeader } from './header-opts.js';
import {
  MIME_ERR_TRUNC_HEADER,
  MIME_HDR_MULTIPART,
  MIME_HDR_PRIMARY,
  MIME_OPT_DISABLE_MIME,
  MIME_OPT_REPORT_NESTING,
  MimeState,
  mimeError,
  mimeErrorDetail,
} from './mime.js';
import { ACT_DROP, cleanupAct } from './act.js';
import { cleanupExtracted } from './extracted.js';
import type { CleanupState } from './state.js';
import {
  externalize,
  grep,
  parse,
  quote822Local,
  scan,
  STR_DEFL,
  STR_HEAD,
  STR_NONE,
  subAppend,
  Tok,
  TOK_ADDR,
  TOK_QSTRING,
  unquote822Local,
} from './tok822.js';
import { rewriteAddrNode } from './rewrite.js';
import { CANON_HDR_FROM, CANON_HDR_RCPT, canonClassMask, map11, propagates } from './addr.js';
import { DictError } from '../maps/types.js';
import type { TextMaps } from './maps.js';

const LEX_822_SPECIALS = '()<>@,;:\\".[]';

/** cleanup_fold_header(): join rewritten address lines up to 70 columns. */
function foldHeader(state: CleanupState, header: string): void {
  const lines = header.split('\n');
  let out = lines[0]!;
  let lineStart = 0;
  for (let k = 1; k < lines.length; k++) {
    // Length from the start of the current output line to the end of this piece.
    const candidate = `${out} ${lines[k]}`;
    if (candidate.length - lineStart < 70) out = candidate;
    else {
      out = `${out}\n${lines[k]}`;
      lineStart = out.length - lines[k]!.length;
    }
  }
  state.outHeader(out);
}

/** cleanup_map11_tree(): canonical mapping of one header address node. */
async function map11Tree(state: CleanupState, node: Tok, which: 'send' | 'rcpt' | 'comm'): Promise<boolean> {
  const maps = which === 'send' ? state.maps.sendCanon : which === 'rcpt' ? state.maps.rcptCanon : state.maps.commCanon;
  if (!maps) return false;
  const before = externalize(node.head, STR_DEFL);
  const after = quote822Local(await map11(state, unquote822Local(before), maps, propagates(state, 'canonical')));
  const { head } = scan(after);
  node.head = null;
  node.tail = null;
  if (head) subAppend(node, head);
  return after !== before;
}

/** cleanup_rewrite_sender / cleanup_rewrite_recip. */
async function rewriteAddrHeader(state: CleanupState, opts: HeaderOpts, header: string, sender: boolean): Promise<void> {
  const tree = parse(header.slice(opts.name.length + 1), state.cfg.tokenLimit);
  let did = false;
  const comm = canonClassMask(state.cfg.canonClasses, 0xf);
  const send = canonClassMask(state.cfg.senderCanonClasses, CANON_HDR_FROM);
  const rcpt = canonClassMask(state.cfg.recipientCanonClasses, CANON_HDR_RCPT);
  const bit = sender ? CANON_HDR_FROM : CANON_HDR_RCPT;
  for (const node of grep(tree, TOK_ADDR)) {
    if (state.hdrRewriteContext && rewriteAddrNode(state.cfg.rewrite, state.hdrRewriteContext, node)) did = true;
    if (state.flags & CleanupFlag.MAP_OK) {
      if (sender && send & bit && (await map11Tree(state, node, 'send'))) did = true;
      if (!sender && rcpt & bit && (await map11Tree(state, node, 'rcpt'))) did = true;
      if (comm & bit && (await map11Tree(state, node, 'comm'))) did = true;
    }
  }
  let text = header;
  if (did) text = `${opts.name}: ${externalize(tree, STR_HEAD)}`;
  if ((opts.flags & HDR_OPT_DROP) === 0) {
    if (did) foldHeader(state, text);
    else state.outHeader(text);
  }
}

function checksFor(state: CleanupState, cls: number): { maps?: TextMaps; name: string } {
  if (cls === MIME_HDR_PRIMARY) return { maps: state.maps.headerChecks, name: 'header_checks' };
  if (cls === MIME_HDR_MULTIPART) return { maps: state.maps.mimeHeaderChecks, name: 'mime_header_checks' };
  return { maps: state.maps.nestedHeaderChecks, name: 'nested_header_checks' };
}

/** cleanup_header_callback(). */
async function headerCallback(state: CleanupState, headerClassIn: number, optsIn: HeaderOpts | undefined, headerIn: string): Promise<void> {
  let headerClass = headerClassIn;
  let opts = optsIn;
  let header = headerIn;
  if (opts && opts.flags & HDR_OPT_MIME) headerClass = MIME_HDR_MULTIPART;
  if (opts && opts.type === HDR.RECEIVED) state.hopCount += 1;
  if (state.flags & CleanupFlag.FILTER) {
    const { maps, name } = checksFor(state, headerClass);
    if (maps) {
      let value: string | undefined;
      try {
        value = await maps.find(header);
      } catch (err) {
        if (!(err instanceof DictError)) throw err;
        state.log.warn(`${state.queueId}: ${maps.title} map lookup problem -- message not accepted, try again later`);
        state.errs |= CleanupStat.WRITE;
      }
      if (value !== undefined) {
        const result = cleanupAct(state, 'header', header, value, name);
        if (result === ACT_DROP) return;
        if (result !== header) {
          header = result;
          opts = headerOptsFind(header, state.cfg.dropHeaders);
        }
      }
    }
  }
  if (!opts) {
    state.outHeader(header);
    return;
  }
  let hdrval = header.slice(opts.name.length + 1);
  hdrval = hdrval.replace(/^[ \t\r\n\v\f]+/, '');
  if (state.cfg.detect8bitEncHeader && opts.type === HDR.CONTENT_TRANSFER_ENCODING) {
    const v = hdrval.toLowerCase();
    if (v === '8bit' || v === 'binary') state.attrs.set('encoding', '8bit');
  }
  if (headerClass !== MIME_HDR_PRIMARY) {
    state.outHeader(header);
    return;
  }
  state.headersSeen |= 2 ** opts.type;
  if (opts.type === HDR.MESSAGE_ID) state.log.info(`${state.queueId}: message-id=${hdrval}`);
  if (opts.type === HDR.RESENT_MESSAGE_ID) state.log.info(`${state.queueId}: resent-message-id=${hdrval}`);
  if (opts.type === HDR.RECEIVED) {
    if (state.hopCount >= state.cfg.hopcountLimit) {
      state.log.warn(`${state.queueId}: message rejected: hopcount exceeded`);
      state.errs |= CleanupStat.HOPS;
    }
    if (state.hopCount === 1) state.autoHdrs.push(header);
  }
  if (state.outOk()) {
    if (opts.flags & HDR_OPT_RR) state.resent = 'Resent-';
    if (opts.flags & HDR_OPT_SENDER && state.hdrRewriteContext) await rewriteAddrHeader(state, opts, header, true);
    else if (opts.flags & HDR_OPT_RECIP && state.hdrRewriteContext) await rewriteAddrHeader(state, opts, header, false);
    else if ((opts.flags & HDR_OPT_DROP) === 0) state.outHeader(header);
  }
}

const seen = (state: CleanupState, type: number) => (state.headersSeen & 2 ** type) !== 0;

/** cleanup_header_done_callback(): add missing headers. */
function headerDone(state: CleanupState): void {
  if (!state.outOk()) return;
  if (state.hopCount < 1) {
    state.log.warn(`${state.queueId}: message rejected: no Received: header`);
    state.errs |= CleanupStat.BAD;
    return;
  }
  const add = state.hdrRewriteContext !== undefined || state.cfg.alwaysAddHeaders;
  const resent = state.resent !== '';
  const idType = resent ? HDR.RESENT_MESSAGE_ID : HDR.MESSAGE_ID;
  if (add && !seen(state, idType)) {
    let id: string;
    if (state.cfg.longQueueIds) id = `${state.queueId}@${state.cfg.myhostname}`;
    else {
      const d = new Date(state.writer.ctime.sec * 1000);
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      const stamp = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
      id = `${stamp}.${state.queueId}@${state.cfg.myhostname}`;
    }
    state.out(Rec.NORM, `${state.resent}Message-Id: <${id}>`);
    state.log.info(`${state.queueId}: ${resent ? 'resent-' : ''}message-id=<${id}>`);
    state.headersSeen |= 2 ** idType;
  }
  if (!seen(state, HDR.MESSAGE_ID)) state.log.info(`${state.queueId}: message-id=<>`);
  if (add && !seen(state, resent ? HDR.RESENT_DATE : HDR.DATE)) {
    state.out(Rec.NORM, `${state.resent}Date: ${mailDate(state.arrival.sec)}`);
  }
  if (add && !seen(state, resent ? HDR.RESENT_FROM : HDR.FROM)) {
    const sender = state.sender ?? '';
    const addr = quote822Local(sender !== '' ? sender : 'MAILER-DAEMON');
    let line: string;
    const full = state.fullname?.replace(/[\r\n]/g, ' ');
    if (sender !== '' && full) {
      if (!state.cfg.hfromObsolete) {
        let phrase: string;
        if ([...full].every((c) => !`%!${LEX_822_SPECIALS}`.includes(c))) {
          phrase = externalize(scan(full, state.cfg.tokenLimit).head, STR_NONE);
        } else {
          phrase = externalize(new Tok(TOK_QSTRING, full), STR_NONE);
        }
        line = `${state.resent}From: ${phrase === '' ? '' : `${phrase} `}<${addr}>`;
      } else {
        const c = parse(`(${full})`);
        line = `${state.resent}From: ${addr} ${externalize(c, STR_NONE)}`;
      }
    } else {
      line = `${state.resent}From: ${addr}`;
    }
    state.out(Rec.NORM, line);
  }
  const visible = 2 ** HDR.TO | 2 ** HDR.RESENT_TO | 2 ** HDR.CC | 2 ** HDR.RESENT_CC;
  if (add && (state.headersSeen & visible) === 0 && state.cfg.rcptWitheld !== '') {
    if (!isHeader(state.cfg.rcptWitheld)) {
      state.log.warn(`bad undisclosed_recipients_header header text "${state.cfg.rcptWitheld}" -- need "headername: headervalue"`);
    } else state.out(Rec.NORM, state.cfg.rcptWitheld);
  }
}

/** cleanup_body_callback(). */
async function bodyCallback(state: CleanupState, type: number, buf: string, offset: number): Promise<void> {
  if (!state.outOk()) return;
  const maps = state.maps.bodyChecks;
  if (state.flags & CleanupFlag.FILTER && maps && (state.cfg.bodyCheckLen === 0 || offset < state.cfg.bodyCheckLen)) {
    let value: string | undefined;
    try {
      value = await maps.find(buf);
    } catch (err) {
      if (!(err instanceof DictError)) throw err;
      state.log.warn(`${state.queueId}: ${maps.title} map lookup problem -- message not accepted, try again later`);
      state.errs |= CleanupStat.WRITE;
    }
    if (value !== undefined) {
      const result = cleanupAct(state, 'body', buf, value, 'body_checks');
      if (result === ACT_DROP) return;
      if (result !== buf) {
        state.out(type, result);
        return;
      }
    }
  }
  state.out(type, buf);
}

/** cleanup_message(): start of the content segment. */
export async function cleanupMessage(state: CleanupState, type: number, data: string): Promise<void> {
  state.out(Rec.MESG, '');
  state.dataOffset = state.tell();
  let opts = 0;
  if (state.cfg.disableMime) opts |= MIME_OPT_DISABLE_MIME;
  else if (state.flags & CleanupFlag.FILTER) {
    if (state.maps.headerChecks || state.maps.mimeHeaderChecks || state.maps.nestedHeaderChecks) {
      opts |= MIME_OPT_REPORT_NESTING;
    }
  }
  state.mime = new MimeState(
    opts,
    { headerLimit: state.cfg.headerLimit, maxDepth: state.cfg.mimeMaxDepth, boundLimit: state.cfg.mimeBoundLen },
    {
      head: (cls, o, h) => headerCallback(state, cls, o, h),
      headEnd: () => headerDone(state),
      body: (t, text, off) => bodyCallback(state, t, text, off),
      error: (code, text) => {
        if ((code & ~MIME_ERR_TRUNC_HEADER) !== 0) {
          const origin = state.attrs.get('log_message_origin') ?? 'unknown';
          state.log.info(
            `${state.queueId}: reject: mime-error ${mimeError(code)}: ${text.slice(0, 100)} from ${origin}; from=<${state.sender ?? ''}> to=<${state.recip ?? 'unknown'}>`,
          );
        }
      },
    },
    state.cfg.dropHeaders,
  );
  state.action = headerBody;
  await headerBody(state, type, data);
}

function filterChars(state: CleanupState, buf: string): string | undefined {
  let text = buf;
  if (state.cfg.maskStrayCrLf) text = text.replace(/[\r\n]/g, ' ');
  if (state.flags & CleanupFlag.FILTER && state.cfg.rejectChars !== '') {
    for (const c of text) {
      if (state.cfg.rejectChars.includes(c)) {
        cleanupAct(state, 'content', text, 'REJECT disallowed character', 'character reject');
        return undefined;
      }
    }
  }
  if (state.flags & CleanupFlag.FILTER && state.cfg.stripChars !== '') {
    let out = '';
    for (const c of text) if (!state.cfg.stripChars.includes(c)) out += c;
    text = out;
  }
  return text;
}

/** cleanup_message_headerbody(). */
async function headerBody(state: CleanupState, type: number, buf: string): Promise<void> {
  const text = filterChars(state, buf);
  if (text === undefined) return;
  const mime = state.mime!;
  if (type === Rec.NORM || type === Rec.CONT) {
    state.mimeErrs = await mime.update(type, text);
    return;
  }
  if (type === Rec.XTRA) {
    state.mimeErrs = await mime.update(type, text);
    state.mimeErrs &= ~MIME_ERR_TRUNC_HEADER;
    if (state.mimeErrs && state.reason === undefined) {
      state.errs |= CleanupStat.CONT;
      const d = mimeErrorDetail(state.mimeErrs);
      state.reason = `${d.dsn} ${d.text}`;
    }
    state.mime = undefined;
    state.xtraOffset = state.tell();
    state.contLength = state.xtraOffset - state.dataOffset;
    state.action = cleanupExtracted;
    return;
  }
  state.log.warn(`cleanup_message_headerbody: message rejected: unexpected record type ${type} in message content`);
  state.errs |= CleanupStat.BAD;
}
