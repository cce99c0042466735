/**
 * cleanup/act.ts: header_checks / body_checks actions (cleanup_act() in
 * cleanup_message.c; header_checks(5)). The action word is matched without
 * case; the rest of the result is the optional text.
 *
 *   REJECT [text]   CONT (5xx) or DEFER (4xx text); reason "5.7.1 text"
 *   WARN/INFO text  log only           FILTER transport:dest
 *   PASS            stop checks        DISCARD  drop the message, say "250"
 *   HOLD            hold queue         PREPEND text   add a header/body line first
 *   REPLACE text    replace the line   REDIRECT user@dom
 *   BCC user@dom    extra recipient    STRIP / IGNORE  delete the line
 *   DUNNO / OK      nothing
 * Log line: "ID: ACTION: header|body TEXT from ORIGIN; from=<s> to=<r>
 * proto=P helo=<h>: optional text".
 */
import { Rec } from '../queue/record.js';
import { CleanupFlag, CleanupStat } from './types.js';
import { isHeader } from './header-opts.js';
import { type CleanupState, FLAG_FILTER_ALL } from './state.js';

/** The line is deleted (STRIP, IGNORE). */
export const ACT_DROP: unique symbol = Symbol('drop');

/** dsn_prepend(): keep a leading "d.d.d " status, else prepend the default. */
export function dsnPrepend(def: string, text: string): string {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/.exec(text);
  if (m) return text;
  return `${def} ${text}`;
}

function actLog(state: CleanupState, action: string, cls: string, content: string, text: string | undefined): void {
  const origin = state.attrs.get('log_message_origin') ?? 'unknown';
  let line = `${state.queueId}: ${action}: ${cls} ${content.slice(0, 200)} from ${origin};`;
  if (state.sender !== undefined) line += ` from=<${state.sender}>`;
  if (state.recip !== undefined) line += ` to=<${state.recip}>`;
  const proto = state.attrs.get('log_protocol_name');
  if (proto !== undefined) line += ` proto=${proto}`;
  const helo = state.attrs.get('log_helo_name');
  if (helo !== undefined) line += ` helo=<${helo}>`;
  if (text) line += `: ${text}`;
  state.log.info(line);
}

/** cleanup_act(): returns the (possibly replaced) line, or DROP. */
export function cleanupAct(
  state: CleanupState,
  context: 'header' | 'body' | 'content',
  buf: string,
  value: string,
  mapClass: string,
): string | typeof ACT_DROP {
  const cmdLen = value.search(/[ \t]/) < 0 ? value.length : value.search(/[ \t]/);
  const cmd = value.slice(0, cmdLen).toUpperCase();
  const text = value.slice(cmdLen).replace(/^[ \t\n\r\v\f]+/, '');
  switch (cmd) {
    case 'REJECT': {
      if (text !== '') {
        state.reason = dsnPrepend('5.7.1', text);
        if (state.reason[0] !== '4' && state.reason[0] !== '5') {
          state.log.warn(`bad DSN action in ${text} -- need 4.x.x or 5.x.x`);
          state.reason = `4${state.reason.slice(1)}`;
        }
      } else {
        state.reason = '5.7.1 message content rejected';
      }
      state.errs |= state.reason[0] === '4' ? CleanupStat.DEFER : CleanupStat.CONT;
      state.flags &= ~FLAG_FILTER_ALL;
      actLog(state, 'reject', context, buf, state.reason);
      return buf;
    }
    case 'WARN':
      actLog(state, 'warning', context, buf, text);
      return buf;
    case 'INFO':
      actLog(state, 'info', context, buf, text);
      return buf;
    case 'FILTER':
      if (text === '') state.log.warn(`missing FILTER command argument in ${mapClass} map`);
      else if (!text.includes(':')) state.log.warn(`bad FILTER command ${text} in ${mapClass} -- need transport:destination`);
      else {
        state.filter = text;
        actLog(state, 'filter', context, buf, text);
      }
      return buf;
    case 'PASS':
      actLog(state, 'pass', context, buf, text);
      state.flags &= ~FLAG_FILTER_ALL;
      return buf;
    case 'DISCARD':
      actLog(state, 'discard', context, buf, text);
      state.flags |= CleanupFlag.DISCARD;
      state.flags &= ~FLAG_FILTER_ALL;
      return buf;
    case 'HOLD':
      if ((state.flags & (CleanupFlag.HOLD | CleanupFlag.DISCARD)) === 0) {
        actLog(state, 'hold', context, buf, text);
        state.flags |= CleanupFlag.HOLD;
      }
      return buf;
    case 'PREPEND':
      if (text === '') state.log.warn(`PREPEND action without text in ${mapClass} map`);
      else if (context === 'header') {
        if (!isHeader(text)) {
          state.log.warn(`bad PREPEND header text "${text}" in ${mapClass} map -- need "headername: headervalue"`);
        } else {
          actLog(state, 'prepend', context, buf, text);
          state.outHeader(text);
        }
      } else {
        actLog(state, 'prepend', context, buf, text);
        state.out(Rec.NORM, text);
      }
      return buf;
    case 'REPLACE':
      if (text === '') {
        state.log.warn(`REPLACE action without text in ${mapClass} map`);
        return buf;
      }
      if (context === 'header' && !isHeader(text)) {
        state.log.warn(`bad REPLACE header text "${text}" in ${mapClass} map -- need "headername: headervalue"`);
        return buf;
      }
      actLog(state, 'replace', context, buf, text);
      return text;
    case 'REDIRECT':
      if (!text.includes('@')) state.log.warn(`bad REDIRECT target "${text}" in ${mapClass} map -- need user@domain`);
      else {
        state.redirect = text;
        actLog(state, 'redirect', context, buf, text);
        state.flags &= ~FLAG_FILTER_ALL;
      }
      return buf;
    case 'BCC':
      if (!text.includes('@')) state.log.warn(`bad BCC address "${text}" in ${mapClass} map -- need user@domain`);
      else {
        (state.hbcRcpt ??= []).push(text);
        actLog(state, 'bcc', context, buf, text);
      }
      return buf;
    case 'STRIP':
      actLog(state, 'strip', context, buf, text);
      return ACT_DROP;
    case 'IGNORE':
      return ACT_DROP;
    case 'DUNNO':
    case 'OK':
      return buf;
    default:
      state.log.warn(`unknown command in ${mapClass} map: ${value}`);
      return buf;
  }
}
