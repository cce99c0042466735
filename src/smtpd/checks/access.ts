/**
 * smtpd/checks/access.ts: the access-map restrictions of smtpd_check.c:
 * check_client_access, check_reverse_client_hostname_access (and its old
 * name check_reverse_client_access), check_helo_access,
 * check_sender_access, check_recipient_access, check_etrn_access, and the
 * action language of their values (check_table_result()): OK/RELAY/all
 * digits, REJECT, DEFER, DEFER_IF_PERMIT, DEFER_IF_REJECT, DUNNO, HOLD,
 * DISCARD, FILTER, REDIRECT, BCC, PREPEND, WARN, INFO, "nnn text", and a
 * restriction list (or restriction class name) as the value.
 *
 * See access(5). Tables are opened once per settings object with smtpd's
 * flags (DICT_FLAG_LOCK | DICT_FLAG_FOLD_FIX | DICT_FLAG_UTF8_REQUEST) and
 * surrogates, so a table that cannot be opened answers "retry" per lookup.
 */
import { CleanupFlag } from '../../cleanup/types.js';
import { findAccessAddress, findClient, findDomain, FULL, MapList, parentMatchesSubdomains } from '../../maps/query.js';
import { DictError, DictFlag } from '../../maps/types.js';
import { RESOLVE_FLAG_FAIL, RESOLVE_FLAG_ROUTED } from '../../rewrite/resolve.js';
import type { SmtpdSettings } from '../settings.js';
import { MailError } from '../state.js';
import { dsnValid, smtpdDsnFix } from './engine.js';
import { registerRestriction } from './registry.js';
import {
  type CheckContext,
  DUNNO,
  NAME_CLIENT,
  NAME_ETRN,
  NAME_HELO,
  NAME_RECIPIENT,
  NAME_REV_CLIENT,
  NAME_SENDER,
  OK,
} from './types.js';

/**
 * Side effects an access map leaves for the cleanup server: the
 * CLEANUP_FLAG_HOLD/DISCARD bits in state.savedFlags (sent as an "f"
 * record at DATA and at end of data), and state.savedFilter, savedRedirect,
 * savedBcc and prepend (see commands/data.ts).
 */
export const CLEANUP_FLAG_HOLD = CleanupFlag.HOLD;
export const CLEANUP_FLAG_DISCARD = CleanupFlag.DISCARD;

const tableCache = new WeakMap<SmtpdSettings, Map<string, Promise<MapList>>>();

function openTable(settings: SmtpdSettings, spec: string): Promise<MapList> {
  let byName = tableCache.get(settings);
  if (!byName) {
    byName = new Map();
    tableCache.set(settings, byName);
  }
  let maps = byName.get(spec);
  if (!maps) {
    maps = MapList.open(spec, spec, {
      mode: 'read',
      dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
      param: (n) => settings.cfg.get(n),
      progName: 'smtpd',
      surrogate: true,
    });
    byName.set(spec, maps);
  }
  return maps;
}

/** dsn_split(): a leading valid DSN in the text, or the default. */
function dsnSplit(def: string, text: string): { dsn: string; text: string } {
  const n = dsnValid(text);
  if (n === 0) return { dsn: def, text };
  return { dsn: text.slice(0, n), text: text.slice(n).replace(/^[\t-\r ]+/, '') };
}

function isHeader(text: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+[\t ]*:/.test(text);
}

/** can_delegate_action() / not_in_client_helo(). */
function canDelegate(ctx: CheckContext, table: string, action: string): boolean {
  if (ctx.replyClass === NAME_ETRN) {
    ctx.settings.warn(`access table ${table}: action ${action} is unavailable in smtpd_etrn_restrictions`);
    return false;
  }
  return notInClientHelo(ctx, table, action);
}

function notInClientHelo(ctx: CheckContext, table: string, action: string): boolean {
  if (ctx.state.sender === undefined) {
    ctx.settings.warn(
      `access table ${table}: with smtpd_delay_reject=no, action ${action} is always skipped in ${NAME_CLIENT} or ${NAME_HELO} restrictions`,
    );
    return false;
  }
  return true;
}

/** check_table_result(): act on one access-map value. */
export async function tableResult(ctx: CheckContext, table: string, value: string, datum: string): Promise<number> {
  const m = /^([^\t ]*)[\t ]*(.*)$/s.exec(value)!;
  const cmd = m[1].toUpperCase();
  const text = m[2];
  const { replyName, replyClass, settings, state } = ctx;
  const rejectCode = settings.cfg.int('access_map_reject_code');
  const deferCode = settings.cfg.int('access_map_defer_code');
  const withDsn = (def: string, code: number, fallback: string, how: 'reject' | 'dip' | 'dir') => {
    const d = dsnSplit(def, text);
    const msg = `<${replyName}>: ${replyClass} rejected: ${d.text !== '' ? d.text : fallback}`;
    const dsn = smtpdDsnFix(d.dsn, replyClass);
    if (how === 'dip') return ctx.deferIfPermit(MailError.POLICY, code, dsn, msg);
    if (how === 'dir') return ctx.deferIfReject(MailError.POLICY, code, dsn, msg);
    return ctx.reject(MailError.POLICY, code, dsn, msg);
  };
  switch (cmd) {
    case 'DUNNO':
      return DUNNO;
    case 'REJECT':
      return withDsn('5.7.1', rejectCode, 'Access denied', 'reject');
    case 'DEFER':
      return withDsn('4.7.1', deferCode, 'Access denied', 'reject');
    case 'INFO':
      ctx.logWhatsup('info', text);
      return DUNNO;
    case 'WARN':
      ctx.logWhatsup('warn', text);
      return DUNNO;
    case 'FILTER':
      if (!canDelegate(ctx, table, 'FILTER')) return DUNNO;
      if (text === '') settings.warn(`access table ${table} entry "${datum}" has FILTER entry without value`);
      else if (!text.includes(':')) settings.warn(`access table ${table} entry "${datum}" requires transport:destination`);
      else {
        ctx.logWhatsup('filter', `<${replyName}>: ${replyClass} triggers FILTER ${text}`);
        state.savedFilter = text;
      }
      return DUNNO;
    case 'HOLD':
      if (!canDelegate(ctx, table, 'HOLD') || state.savedFlags & CLEANUP_FLAG_HOLD) return DUNNO;
      ctx.logWhatsup('hold', `<${replyName}>: ${replyClass} ${text !== '' ? text : 'triggers HOLD action'}`);
      state.savedFlags |= CLEANUP_FLAG_HOLD;
      return DUNNO;
    case 'DISCARD':
      if (!canDelegate(ctx, table, 'DISCARD')) return DUNNO;
      ctx.logWhatsup('discard', `<${replyName}>: ${replyClass} ${text !== '' ? text : 'triggers DISCARD action'}`);
      state.savedFlags |= CLEANUP_FLAG_DISCARD;
      state.discard = true;
      return ctx.permit(m[1], replyClass, replyName, `from ${table}`);
    case 'REDIRECT':
    case 'BCC':
      if (!canDelegate(ctx, table, cmd)) return DUNNO;
      if (!text.includes('@')) settings.warn(`access table ${table} entry "${datum}" requires user@domain target`);
      else {
        ctx.logWhatsup(cmd.toLowerCase(), `<${replyName}>: ${replyClass} triggers ${cmd} ${text}`);
        if (cmd === 'REDIRECT') state.savedRedirect = text;
        else state.savedBcc.push(text);
      }
      return DUNNO;
    case 'DEFER_IF_PERMIT':
      return withDsn('4.7.1', deferCode, 'Service unavailable', 'dip');
    case 'DEFER_IF_REJECT':
      withDsn('4.7.1', deferCode, 'Service unavailable', 'dir');
      return DUNNO;
    case 'PREPEND':
      if (!notInClientHelo(ctx, table, 'PREPEND')) return DUNNO;
      if (state.where === 'END-OF-MESSAGE') {
        settings.warn(`access table ${table}: action PREPEND must be used before smtpd_end_of_data_restrictions`);
        return DUNNO;
      }
      if (text === '' || !isHeader(text)) settings.warn(`access table ${table} entry "${datum}" requires header: text`);
      else state.prepend.push(text);
      return DUNNO;
  }
  if (/^\d+$/.test(value)) return ctx.permit(m[1], replyClass, replyName, `from ${table}`);
  if (m[1].length === 3 && text !== '' && /^[45]\d\d$/.test(m[1])) {
    return withDsn(`${m[1][0]}.7.1`, Number(m[1]), 'Access denied', 'reject');
  }
  if (cmd === 'OK' || cmd === 'RELAY') return ctx.permit(m[1], replyClass, replyName, `from ${table}`);
  if (value.includes(':')) {
    settings.warn(`access table ${table} has entry with lookup table: ${value}`);
    settings.warn('do not specify lookup tables inside SMTPD access maps');
    settings.warn('define a restriction class and specify its name instead.');
    ctx.serverError();
  }
  if (state.recursion > 100) {
    settings.warn(`access table ${table} entry ${value} causes unreasonable recursion`);
    ctx.serverError();
  }
  const list = value.split(/[\t\n\r ,]+/).filter((w) => w !== '');
  if (list.length === 0) {
    settings.warn(`access table ${table} entry ${value} has empty value`);
    return OK;
  }
  return ctx.nested(list);
}

/** The map-error path: "451 4.3.5 Server configuration error" as a table value. */
async function lookupOr(ctx: CheckContext, table: string, datum: string, fn: () => Promise<string | undefined>) {
  let value: string | undefined;
  try {
    value = await fn();
  } catch (err) {
    if (!(err instanceof DictError)) throw err;
    value = '451 4.3.5 Server configuration error';
  }
  return value === undefined ? undefined : tableResult(ctx, table, value, datum);
}

/** is_map_command(): the next list word must be type:table. */
function tableArg(ctx: CheckContext): string {
  const table = ctx.takeArg();
  if (table === undefined || !table.includes(':')) {
    ctx.settings.warn(`restriction ${ctx.name.toLowerCase()}: bad argument "${table ?? ctx.name}": need maptype:mapname`);
    ctx.serverError();
  }
  return table;
}

function pdms(ctx: CheckContext): boolean {
  return parentMatchesSubdomains(ctx.settings.cfg.get('parent_domain_matches_subdomains'), 'smtpd_access_maps');
}

/** check_domain_access() for HELO and ETRN names. */
async function domainAccess(ctx: CheckContext, table: string, domain: string): Promise<number> {
  let name = domain;
  if (name.length > 1 && name.endsWith('.') && name[name.length - 2] !== '.') name = name.slice(0, -1);
  const r = await lookupOr(ctx, table, name, async () => findDomain(await openTable(ctx.settings, table), name.toLowerCase(), { parentMatchesSubdomains: pdms(ctx), flags: FULL }));
  return r ?? DUNNO;
}

async function clientAccess(ctx: CheckContext, reverse: boolean): Promise<number> {
  const table = tableArg(ctx);
  const st = ctx.state;
  const name = reverse ? st.reverseName : st.name;
  const replyName = reverse ? st.reverseName : st.namaddr;
  const sub: CheckContext = reverse ? { ...ctx, replyName, replyClass: NAME_REV_CLIENT } : ctx;
  const r = await lookupOr(sub, table, name, async () =>
    findClient(await openTable(ctx.settings, table), name.toLowerCase(), st.addr, { parentMatchesSubdomains: pdms(ctx), flags: FULL }),
  );
  return r ?? DUNNO;
}

/** check_mail_access(): sender/recipient addresses. */
async function mailAccess(ctx: CheckContext, table: string, addr: string): Promise<number> {
  const s = ctx.settings;
  const reply = await s.resolver.resolve(addr);
  if (reply.flags & RESOLVE_FLAG_FAIL) ctx.dictRetry(addr);
  if (!reply.recipient.includes('@')) {
    s.warn(`check_mail_access: no @domain in address: ${reply.recipient}`);
    return DUNNO;
  }
  const r = await lookupOr(ctx, table, reply.recipient, async () =>
    (
      await findAccessAddress(await openTable(s, table), reply.recipient, {
        parentMatchesSubdomains: pdms(ctx),
        recipientDelimiter: s.cfg.get('recipient_delimiter'),
        doubleBounceSender: s.cfg.get('double_bounce_sender'),
      })
    )?.value,
  );
  if (r === undefined) return DUNNO;
  const suspicious = !s.allowUntrustedRouting && reply.flags & RESOLVE_FLAG_ROUTED && ctx.replyClass === NAME_RECIPIENT;
  return r === OK && suspicious ? DUNNO : r;
}

export function registerAccessRestrictions(): void {
  registerRestriction('check_client_access', (ctx) => clientAccess(ctx, false));
  registerRestriction('check_reverse_client_hostname_access', (ctx) => clientAccess(ctx, true));
  registerRestriction('check_reverse_client_access', (ctx) => clientAccess(ctx, true));
  registerRestriction('check_helo_access', async (ctx) => {
    const table = tableArg(ctx);
    const helo = ctx.state.heloName;
    return helo === undefined ? DUNNO : domainAccess({ ...ctx, replyName: helo, replyClass: NAME_HELO }, table, helo);
  });
  registerRestriction('check_etrn_access', async (ctx) => {
    const table = tableArg(ctx);
    const etrn = ctx.state.etrnName;
    return etrn === undefined ? DUNNO : domainAccess({ ...ctx, replyName: etrn, replyClass: NAME_ETRN }, table, etrn);
  });
  registerRestriction('check_sender_access', async (ctx) => {
    const table = tableArg(ctx);
    const sender = ctx.state.sender;
    if (sender === undefined) return DUNNO;
    const sub = { ...ctx, replyName: sender, replyClass: NAME_SENDER };
    if (sender !== '') return mailAccess(sub, table, sender);
    const key = ctx.settings.cfg.get('smtpd_null_access_lookup_key');
    return (await lookupOr(sub, table, key, async () => (await openTable(ctx.settings, table)).find(key, FULL))) ?? DUNNO;
  });
  registerRestriction('check_recipient_access', async (ctx) => {
    const table = tableArg(ctx);
    const rcpt = ctx.state.recipient;
    return rcpt === undefined ? DUNNO : mailAccess({ ...ctx, replyName: rcpt, replyClass: NAME_RECIPIENT }, table, rcpt);
  });
}
