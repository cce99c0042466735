/**
 * smtpd/checks/engine.ts: the restriction list evaluator (smtpd_check.c
 * generic_checks(), smtpd_check_{client,helo,mail,rcpt,etrn,data,eod,size}
 * and smtpd_check_reject()), with smtpd_delay_reject, defer_if_permit /
 * defer_if_reject, warn_if_reject and restriction classes.
 *
 * Replies are formatted "CODE D.S.N text", limited to 510 bytes, made
 * printable, soft_bounce applied, the DSN class forced to the reply class,
 * and logged as "QUEUEID: reject: WHERE from NAME[ADDR]: REPLY; from=<..>
 * to=<..> proto=.. helo=<..>" exactly as Postfix does.
 */
import { DictError } from '../../maps/types.js';
import { ListError } from '../lists.js';
import { hasAddress, RESOLVE_CLASS_ALIAS, RESOLVE_CLASS_LOCAL, RESOLVE_CLASS_RELAY, RESOLVE_CLASS_VIRTUAL, RESOLVE_FLAG_ERROR, RESOLVE_FLAG_FAIL } from '../../rewrite/resolve.js';
import { registerBuiltins } from './builtin.js';
import { restrictionRegistry } from './registry.js';
import type { SmtpdSettings } from '../settings.js';
import { MailError, type SmtpdDefer, type SmtpdState, logAddr } from '../state.js';
import { allAscii, printable } from '../text.js';
import {
  CHECK_CLIENT_ACL,
  CHECK_ETRN_ACL,
  CHECK_HELO_ACL,
  CHECK_RECIP_ACL,
  CHECK_SENDER_ACL,
  type CheckContext,
  DUNNO,
  NAME_CLIENT,
  NAME_DATA,
  NAME_EOD,
  NAME_ETRN,
  NAME_HELO,
  NAME_RECIPIENT,
  NAME_SENDER,
  REJECT,
  type RecipientLookup,
  type SmtpdChecks,
} from './types.js';

/** Thrown by serverError()/dictRetry(): ends the current restriction list (longjmp). */
export class CheckJump {
  constructor(readonly status: number) {}
}

registerBuiltins();

export interface CheckLog {
  info(text: string): void;
  warn(text: string): void;
}

/** dsn_valid(): length of a valid "d.ddd.ddd" prefix followed by end or space. */
export function dsnValid(text: string): number {
  const m = /^[245]\.\d{1,3}\.\d{1,3}(?=$|[\t-\r ])/.exec(text);
  return m ? m[0].length : 0;
}

/** smtpd_dsn_fix(): turn an address DSN into the sender/recipient flavour. */
export function smtpdDsnFix(status: string, replyClass: string, log?: CheckLog): string {
  if (!/^[0-9]\.1\./.test(status)) return status;
  const micro = status.slice(4);
  const map: Record<string, [string, string]> = {
    '1': ['4.1.7', '4.1.1'],
    '2': ['4.1.8', '4.1.2'],
    '3': ['4.1.7', '4.1.3'],
    '4': ['4.1.7', '4.1.4'],
    '5': ['4.1.0', '4.1.5'],
    '6': ['4.1.7', '4.1.6'],
    '7': ['4.1.7', '4.1.3'],
    '8': ['4.1.8', '4.1.2'],
  };
  const entry = Object.hasOwn(map, micro) ? map[micro] : ['4.1.0', '4.1.0'];
  const result = replyClass === NAME_SENDER ? entry[0] : replyClass === NAME_RECIPIENT ? entry[1] : '4.0.0';
  if (status.slice(2) !== result.slice(2)) {
    log?.info(`mapping DSN status ${status} into ${replyClass} status ${status[0]}${result.slice(1)}`);
  }
  return status[0] + result.slice(1);
}

const REQUIRED_RCPT = [
  'reject_unauth_destination',
  'defer_unauth_destination',
  'reject',
  'defer',
  'defer_if_permit',
  'check_relay_domains',
];

export class RestrictionEngine implements SmtpdChecks {
  constructor(
    readonly settings: SmtpdSettings,
    readonly log: CheckLog,
    readonly recipientLookup?: RecipientLookup,
  ) {}

  /**
   * smtpd_check_init()'s sanity check: relay + recipient restrictions must
   * contain a restriction that can refuse mail. Returns the fatal text.
   */
  static configError(settings: SmtpdSettings, log?: CheckLog): string | undefined {
    const has = (list: readonly string[]): boolean => {
      for (let i = 0; i < list.length; i++) {
        const r = list[i].toLowerCase();
        if (r === 'warn_if_reject' && i + 1 < list.length) {
          i++;
          continue;
        }
        if (r === 'permit') {
          if (i + 1 < list.length) log?.warn(`restriction \`${list[i + 1]}' after \`${list[i]}' is ignored`);
          return false;
        }
        if (REQUIRED_RCPT.includes(r)) return true;
        const cls = settings.restrictionClasses.get(list[i]);
        if (cls && has(cls)) return true;
      }
      return false;
    };
    if (!has(settings.restrictions.recipient) && !has(settings.restrictions.relay)) {
      return (
        'in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: ' +
        'reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains'
      );
    }
    return undefined;
  }

  // --- reply formatting and logging ---

  logWhatsup(state: SmtpdState, whatsup: string, text: string): void {
    const ext = this.settings.infoLogExternal;
    let line = `${state.queueId ?? 'NOQUEUE'}: ${whatsup}: ${state.where} from ${state.namaddr}: ${text};`;
    if (state.sender !== undefined) line += ` from=<${logAddr(state.sender, ext)}>`;
    if (state.recipient !== undefined) line += ` to=<${logAddr(state.recipient, ext)}>`;
    if (state.protocol) line += ` proto=${state.protocol}`;
    if (state.heloName !== undefined) line += ` helo=<${state.heloName}>`;
    this.log.info(line);
  }

  reject(state: SmtpdState, errorClass: number, code: number, dsn: string, msg: string): number {
    const warnOnly =
      state.warnIfReject !== 0 &&
      errorClass !== MailError.SOFTWARE &&
      errorClass !== MailError.RESOURCE &&
      errorClass !== MailError.DATA;
    state.errorMask |= errorClass;
    let text = `${code} ${dsn} ${msg}`;
    if (code < 400 || code > 599) {
      this.log.warn(`SMTP reply code configuration error: ${text}`);
      text = '450 4.7.1 Service unavailable';
    }
    if (!dsnValid(text.slice(4))) {
      this.log.warn(`DSN detail code configuration error: ${text}`);
      text = '450 4.7.1 Service unavailable';
    }
    text = printable(text.slice(0, 510), ' ', this.settings.smtputf8Enable);
    if (!warnOnly && state.deferIfReject.active && text[0] === '5') {
      state.warnIfReject = 0;
      state.deferIfReject.active = false;
      const d = state.deferIfReject;
      return this.reject(state, d.errorClass, d.code, d.dsn, d.reason);
    }
    if (this.settings.softBounce && text[0] === '5') text = '4' + text.slice(1);
    text = text.slice(0, 4) + text[0] + text.slice(5);
    this.logWhatsup(state, warnOnly ? 'reject_warning' : 'reject', text);
    state.errorText = text;
    return warnOnly ? DUNNO : REJECT;
  }

  private deferIf(d: SmtpdDefer, errorClass: number, code: number, dsn: string, reason: string): number {
    if (!d.active) {
      d.active = true;
      d.errorClass = errorClass;
      d.code = code;
      d.dsn = dsn;
      d.reason = reason;
    }
    return DUNNO;
  }

  permit(state: SmtpdState, action: string, replyClass: string, replyName: string, detail = ''): Promise<number> | number {
    if (state.deferIfPermit.active || this.settings.permitLogging.empty) return 1;
    return this.settings.permitLogging.match(action).then((hit) => {
      if (hit) this.logWhatsup(state, 'permit', `action=${action} for ${replyClass}=${replyName}${detail ? ` ${detail}` : ''}`);
      return 1;
    });
  }

  private serverError(state: SmtpdState): never {
    throw new CheckJump(this.reject(state, MailError.SOFTWARE, 451, '4.3.5', 'Server configuration error'));
  }

  private dictRetry(state: SmtpdState, replyName: string): never {
    throw new CheckJump(this.reject(state, MailError.DATA, 451, '4.3.0', `<${replyName}>: Temporary lookup failure`));
  }

  // --- generic_checks() ---

  async generic(
    state: SmtpdState,
    list: readonly string[],
    replyName: string,
    replyClass: string,
    defAcl: string | undefined,
  ): Promise<number> {
    const savedRecursion = state.recursion++;
    let status = DUNNO;
    for (let pos = 0; pos < list.length; pos++) {
      if (state.discard) break;
      let name = list[pos];
      if (name.toLowerCase() === 'warn_if_reject') {
        if (state.warnIfReject === 0) state.warnIfReject = state.recursion;
        continue;
      }
      if (name.includes(':')) {
        if (defAcl === undefined) {
          this.log.warn(
            `specify one of (check_client_access, check_reverse_client_access, check_helo_access, check_sender_access, check_recipient_access, check_etrn_access) before ${replyClass} restriction "${name}"`,
          );
          this.serverError(state);
        }
        name = defAcl;
        pos -= 1;
      }
      const handler = restrictionRegistry.get(name.toLowerCase());
      let cursor = pos;
      const ctx: CheckContext = {
        state,
        settings: this.settings,
        name,
        replyName,
        replyClass,
        defAcl,
        takeArg: () => (cursor + 1 < list.length ? list[++cursor] : undefined),
        peekArg: () => list[cursor + 1],
        reject: (c, code, dsn, text) => this.reject(state, c, code, dsn, text),
        deferIfPermit: (c, code, dsn, text) =>
          state.warnIfReject === 0
            ? this.deferIf(state.deferIfPermit, c, code, dsn, text)
            : this.reject(state, c, code, dsn, text),
        deferIfReject: (c, code, dsn, text) => this.deferIf(state.deferIfReject, c, code, dsn, text),
        permit: (action, cls, rname, detail) => this.permit(state, action, cls, rname, detail) as number,
        logWhatsup: (whatsup, text) => this.logWhatsup(state, whatsup, text),
        serverError: () => this.serverError(state),
        dictRetry: (n) => this.dictRetry(state, n),
        nested: (l) => this.generic(state, l, replyName, replyClass, defAcl),
        checkRecipientMaps: (a) => this.checkRecipientRcptMaps(state, a),
        checkSenderMaps: (a) => this.checkSenderRcptMaps(state, a),
      };
      if (handler) {
        try {
          status = await handler(ctx);
        } catch (err) {
          if (err instanceof DictError || err instanceof ListError) {
            if (err.kind === 'retry') this.dictRetry(state, replyName);
            this.serverError(state);
          }
          throw err;
        }
      } else {
        const cls = this.settings.restrictionClasses.get(name);
        if (cls) {
          status = await this.generic(state, cls, replyName, replyClass, defAcl);
        } else {
          this.log.warn(`unknown smtpd restriction: "${name}"`);
          this.serverError(state);
        }
      }
      pos = cursor;
      if (state.warnIfReject >= state.recursion) state.warnIfReject = 0;
      if (status !== DUNNO) break;
      if (state.deferIfPermit.active && state.deferIfReject.active) break;
    }
    state.recursion = savedRecursion;
    if (state.warnIfReject >= state.recursion) state.warnIfReject = 0;
    return status;
  }

  private reset(state: SmtpdState): void {
    state.recursion = 0;
    state.warnIfReject = 0;
    state.deferIfReject.active = false;
  }

  private async run(
    state: SmtpdState,
    list: readonly string[],
    replyName: string,
    replyClass: string,
    defAcl: string | undefined,
  ): Promise<number> {
    if (list.length === 0) return DUNNO;
    try {
      return await this.generic(state, list, replyName, replyClass, defAcl);
    } catch (err) {
      if (err instanceof CheckJump) return err.status;
      throw err;
    }
  }

  private forceDefer(state: SmtpdState, status: number): number {
    if (status !== REJECT && state.deferIfPermit.active) {
      const d = state.deferIfPermit;
      return this.reject(state, d.errorClass, d.code, d.dsn, d.reason);
    }
    return status;
  }

  // --- stages ---

  async client(state: SmtpdState): Promise<string | undefined> {
    state.deferIfPermit.active = false;
    this.reset(state);
    const status = await this.run(state, this.settings.restrictions.client, state.namaddr, NAME_CLIENT, CHECK_CLIENT_ACL);
    state.deferIfPermitClient = state.deferIfPermit.active;
    return status === REJECT ? state.errorText : undefined;
  }

  async helo(state: SmtpdState, helo: string | undefined): Promise<string | undefined> {
    if (helo === undefined) return undefined;
    const saved = state.heloName;
    state.heloName = helo;
    try {
      state.deferIfPermit.active = state.deferIfPermitClient;
      this.reset(state);
      const status = await this.run(state, this.settings.restrictions.helo, helo, NAME_HELO, CHECK_HELO_ACL);
      state.deferIfPermitHelo = state.deferIfPermit.active;
      return status === REJECT ? state.errorText : undefined;
    } finally {
      state.heloName = saved;
    }
  }

  async mail(state: SmtpdState, sender: string | undefined): Promise<string | undefined> {
    if (sender === undefined) return undefined;
    const saved = state.sender;
    state.sender = sender;
    try {
      state.deferIfPermit.active = state.deferIfPermitClient || state.deferIfPermitHelo;
      state.senderRcptmapChecked = false;
      this.reset(state);
      let status = await this.run(state, this.settings.restrictions.sender, sender, NAME_SENDER, CHECK_SENDER_ACL);
      state.deferIfPermitSender = state.deferIfPermit.active;
      if (
        this.settings.rejectUnlistedSender &&
        status !== REJECT &&
        !state.senderRcptmapChecked &&
        !state.discard &&
        sender !== ''
      ) {
        status = await this.guard(state, () => this.checkSenderRcptMaps(state, sender));
      }
      return status === REJECT ? state.errorText : undefined;
    } finally {
      state.sender = saved;
    }
  }

  async rcpt(state: SmtpdState, recipient: string): Promise<string | undefined> {
    if (recipient.toLowerCase() === 'postmaster') return undefined;
    const saved = state.recipient;
    state.recipient = recipient;
    try {
      state.recipientRcptmapChecked = false;
      if (this.settings.delayReject) {
        const err =
          (await this.client(state)) ?? (await this.helo(state, state.heloName)) ?? (await this.mail(state, state.sender));
        if (err !== undefined) return err;
      }
      state.deferIfPermit.active = state.deferIfPermitSender;
      this.reset(state);
      const r = this.settings.restrictions;
      const lists = this.settings.relayBeforeRcpt ? [r.relay, r.recipient] : [r.recipient, r.relay];
      let status = DUNNO;
      for (const list of lists) {
        status = await this.run(state, list, recipient, NAME_RECIPIENT, CHECK_RECIP_ACL);
        if (status === REJECT) break;
      }
      status = this.forceDefer(state, status);
      if (
        this.settings.rejectUnlistedRecipient &&
        status !== REJECT &&
        !state.recipientRcptmapChecked &&
        !state.discard
      ) {
        status = await this.guard(state, () => this.checkRecipientRcptMaps(state, recipient));
      }
      return status === REJECT ? state.errorText : undefined;
    } finally {
      state.recipient = saved;
    }
  }

  async etrn(state: SmtpdState, domain: string): Promise<string | undefined> {
    const saved = state.etrnName;
    state.etrnName = domain;
    try {
      if (this.settings.delayReject) {
        const err = (await this.client(state)) ?? (await this.helo(state, state.heloName));
        if (err !== undefined) return err;
      }
      state.deferIfPermit.active = state.deferIfPermitClient || state.deferIfPermitHelo;
      this.reset(state);
      let status = await this.run(state, this.settings.restrictions.etrn, domain, NAME_ETRN, CHECK_ETRN_ACL);
      status = this.forceDefer(state, status);
      return status === REJECT ? state.errorText : undefined;
    } finally {
      state.etrnName = saved;
    }
  }

  private async dataLike(state: SmtpdState, list: readonly string[], replyName: string, cls: string) {
    const saved = state.recipient;
    if (state.rcptCount > 1) state.recipient = undefined;
    try {
      state.deferIfPermit.active = false;
      this.reset(state);
      let status = await this.run(state, list, replyName, cls, undefined);
      status = this.forceDefer(state, status);
      return status === REJECT ? state.errorText : undefined;
    } finally {
      if (state.rcptCount > 1) state.recipient = saved;
    }
  }

  data(state: SmtpdState): Promise<string | undefined> {
    return this.dataLike(state, this.settings.restrictions.data, 'DATA', NAME_DATA);
  }

  eod(state: SmtpdState): Promise<string | undefined> {
    return this.dataLike(state, this.settings.restrictions.eod, 'END-OF-MESSAGE', NAME_EOD);
  }

  size(state: SmtpdState, size: number): string | undefined {
    this.reset(state);
    const limit = this.settings.messageSizeLimit;
    if (limit > 0 && size > limit) {
      this.reject(state, MailError.POLICY, 552, '5.3.4', 'Message size exceeds fixed limit');
      return state.errorText;
    }
    return undefined;
  }

  async addr(address: string, smtputf8: boolean): Promise<number> {
    if (address === '') return 0;
    const reply = await this.settings.resolver.resolve(address);
    if (reply.flags & RESOLVE_FLAG_ERROR) return -1;
    const at = reply.recipient.lastIndexOf('@');
    if (!smtputf8 && at >= 0 && at + 1 < reply.recipient.length && !allAscii(reply.recipient.slice(at + 1))) return -1;
    return 0;
  }

  async rewrite(state: SmtpdState): Promise<string | undefined> {
    const list = this.settings.localRewriteClients;
    for (let i = 0; i < list.length; i++) {
      const name = list[i].toLowerCase();
      let ok = false;
      if (name === 'permit_inet_interfaces') {
        ok = hasAddress(this.settings.inetAddresses, state.addr);
      } else if (name === 'permit_mynetworks') {
        try {
          ok = await this.settings.mynetworks.match(state.name, state.addr);
        } catch {
          this.logWhatsup(state, 'reject', '451 4.3.5 Server configuration error');
          return '451 4.3.5 Server configuration error';
        }
      } else if (name === 'permit_sasl_authenticated') {
        ok = state.saslUsername !== undefined;
      } else if (name.includes(':') || name === 'check_address_map') {
        // Address maps need src/maps lookups; not consulted yet.
        if (name === 'check_address_map') i++;
      } else if (name !== 'permit_tls_clientcerts' && name !== 'permit_tls_all_clientcerts') {
        this.log.warn(`parameter local_header_rewrite_clients: invalid request: ${list[i]}`);
        continue;
      }
      if (ok) {
        state.rewriteContext = 'local';
        return undefined;
      }
    }
    state.rewriteContext = 'remote';
    return undefined;
  }

  // --- recipient validation (check_rcpt_maps) ---

  private async guard(_state: SmtpdState, fn: () => Promise<number>): Promise<number> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CheckJump) return err.status;
      throw err;
    }
  }

  async checkSenderRcptMaps(state: SmtpdState, sender: string): Promise<number> {
    if (state.senderRcptmapChecked) return DUNNO;
    if (state.warnIfReject === 0) state.senderRcptmapChecked = true;
    return this.checkRcptMaps(state, sender, NAME_SENDER);
  }

  async checkRecipientRcptMaps(state: SmtpdState, recipient: string): Promise<number> {
    if (state.recipientRcptmapChecked) return DUNNO;
    if (state.warnIfReject === 0) state.recipientRcptmapChecked = true;
    return this.checkRcptMaps(state, recipient, NAME_RECIPIENT);
  }

  private async mapHit(state: SmtpdState, param: string, value: string, address: string, replyName: string) {
    if (value === '' || !this.recipientLookup) return undefined;
    try {
      return await this.recipientLookup(param, value, address);
    } catch (err) {
      if (err instanceof DictError && err.kind === 'retry') this.dictRetry(state, replyName);
      if (err instanceof DictError) this.serverError(state);
      throw err;
    }
  }

  private async checkRcptMaps(state: SmtpdState, address: string, replyClass: string): Promise<number> {
    const s = this.settings;
    const reply = await s.resolver.resolve(address);
    if (reply.flags & RESOLVE_FLAG_FAIL) this.dictRetry(state, address);
    const isSender = replyClass === NAME_SENDER;
    const known = async (param: string, value: string) => (await this.mapHit(state, param, value, reply.recipient, address)) === true;
    if (
      (await known('recipient_canonical_maps', s.cfg.get('recipient_canonical_maps'))) ||
      (isSender && (await known('sender_canonical_maps', s.cfg.get('sender_canonical_maps')))) ||
      (await known('canonical_maps', s.cfg.get('canonical_maps'))) ||
      (await known('virtual_alias_maps', s.recipientMaps.virtualAlias))
    ) {
      return DUNNO;
    }
    if (reply.transport === 'error') {
      const m = /^([245]\.\d{1,3}\.\d{1,3})\s*(.*)$/s.exec(reply.nexthop);
      const dsn = m ? m[1] : isSender ? '5.1.0' : '5.1.1';
      const text = m ? m[2] : reply.nexthop;
      // Without table access, virtual alias recipients cannot be told apart; accept them.
      if (s.recipientMaps.virtualAlias !== '' && !this.recipientLookup) return DUNNO;
      return this.reject(
        state,
        MailError.BOUNCE,
        reply.flags & RESOLVE_CLASS_ALIAS ? s.codes.unknownVirtualAlias : 550,
        smtpdDsnFix(dsn, replyClass, this.log),
        `<${address}>: ${replyClass} rejected: ${text}`,
      );
    }
    const unknown = (code: number, table: string) =>
      this.reject(
        state,
        MailError.BOUNCE,
        code,
        isSender ? '5.1.0' : '5.1.1',
        `<${address}>: ${replyClass} rejected: User unknown${s.rewrite.showUnknownTable ? ` in ${table}` : ''}`,
      );
    const local = reply.recipient.slice(0, reply.recipient.lastIndexOf('@')).toLowerCase();
    switch (reply.flags & (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_VIRTUAL | RESOLVE_CLASS_RELAY)) {
      case RESOLVE_CLASS_LOCAL: {
        const exempt = [s.cfg.get('double_bounce_sender').toLowerCase(), 'postmaster', 'mailer-daemon'];
        if (s.recipientMaps.local !== '' && !exempt.includes(local)) {
          const hit = await this.mapHit(state, 'local_recipient_maps', s.recipientMaps.local, reply.recipient, address);
          if (hit === false) return unknown(s.codes.unknownLocal, 'local recipient table');
        }
        break;
      }
      case RESOLVE_CLASS_VIRTUAL: {
        const hit = await this.mapHit(state, 'virtual_mailbox_maps', s.recipientMaps.virtualMailbox, reply.recipient, address);
        if (hit === false) return unknown(s.codes.unknownVirtualMailbox, 'virtual mailbox table');
        break;
      }
      case RESOLVE_CLASS_RELAY: {
        const hit = await this.mapHit(state, 'relay_recipient_maps', s.recipientMaps.relay, reply.recipient, address);
        if (hit === false) return unknown(s.codes.unknownRelay, 'relay recipient table');
        break;
      }
    }
    return DUNNO;
  }
}
