/**
 * smtpd/checks/types.ts: the contract between the SMTP protocol engine and
 * the access restrictions (smtpd_check.c).
 *
 * The protocol engine asks one question per stage and gets back either
 * nothing (go on) or the complete Postfix reply text to send, already
 * logged ("NOQUEUE: reject: RCPT from ...") by the engine:
 *
 *   client()  smtpd_client_restrictions     (at connect, or delayed to RCPT)
 *   helo()    smtpd_helo_restrictions       (at HELO/EHLO, or delayed)
 *   mail()    smtpd_sender_restrictions     (at MAIL, or delayed)
 *   rcpt()    smtpd_relay_restrictions + smtpd_recipient_restrictions
 *   data()    smtpd_data_restrictions
 *   eod()     smtpd_end_of_data_restrictions
 *   etrn()    smtpd_etrn_restrictions
 *
 * Inside a stage, each restriction name in the list is looked up in a
 * registry of handlers (restrictionRegistry). A handler returns DUNNO,
 * OK or REJECT (after calling ctx.reject(), which formats and logs the
 * reply); it may consume following list words (maps, DNSBL domains) with
 * ctx.takeArg(). Handlers for maps (check_*_access), SASL, DNS lists and
 * policy servers plug in with registerRestriction() without touching the
 * protocol engine.
 */
import type { SmtpdSettings } from '../settings.js';
import type { SmtpdState } from '../state.js';

/** SMTPD_CHECK_* results. */
export const DUNNO = 0;
export const OK = 1;
export const REJECT = 2;

/** Reply classes (smtpd_dsn_fix.h). */
export const NAME_CLIENT = 'Client host';
export const NAME_REV_CLIENT = 'Unverified Client host';
export const NAME_HELO = 'Helo command';
export const NAME_SENDER = 'Sender address';
export const NAME_RECIPIENT = 'Recipient address';
export const NAME_ETRN = 'Etrn command';
export const NAME_DATA = 'Data command';
export const NAME_EOD = 'End-of-data';

/** Access map commands used as implicit defaults for bare "type:table" entries. */
export const CHECK_CLIENT_ACL = 'check_client_access';
export const CHECK_HELO_ACL = 'check_helo_access';
export const CHECK_SENDER_ACL = 'check_sender_access';
export const CHECK_RECIP_ACL = 'check_recipient_access';
export const CHECK_ETRN_ACL = 'check_etrn_access';

export interface CheckContext {
  readonly state: SmtpdState;
  readonly settings: SmtpdSettings;
  /** The restriction name as written in the list. */
  readonly name: string;
  /** What is being checked: "<addr>" subject text and reply class. */
  readonly replyName: string;
  readonly replyClass: string;
  /** The implicit access-map command for bare "type:table" entries, if any. */
  readonly defAcl: string | undefined;
  /** Next list word (consumed) / without consuming. */
  takeArg(): string | undefined;
  peekArg(): string | undefined;
  /** smtpd_check_reject(): format, log and remember a reply; returns REJECT (or DUNNO under warn_if_reject). */
  reject(errorClass: number, code: number, dsn: string, text: string): number;
  /** defer_if_permit / defer_if_reject memory (DUNNO). */
  deferIfPermit(errorClass: number, code: number, dsn: string, text: string): number;
  deferIfReject(errorClass: number, code: number, dsn: string, text: string): number;
  /** smtpd_acl_permit(): log per smtpd_log_access_permit_actions ("... detail"); returns OK. */
  permit(action: string, replyClass: string, replyName: string, detail?: string): number;
  /** log_whatsup(): "QUEUEID: whatsup: WHERE from NAMADDR: text; from=<> to=<> proto= helo=<>". */
  logWhatsup(whatsup: string, text: string): void;
  /** 451 4.3.5 Server configuration error (reject_server_error). */
  serverError(): never;
  /** 451 4.3.0 <name>: Temporary lookup failure (reject_dict_retry). */
  dictRetry(replyName: string): never;
  /** Evaluate a nested list (restriction classes). */
  nested(list: readonly string[]): Promise<number>;
  /** reject_unlisted_recipient / reject_unlisted_sender for an address. */
  checkRecipientMaps(address: string): Promise<number>;
  checkSenderMaps(address: string): Promise<number>;
}

export type RestrictionHandler = (ctx: CheckContext) => number | Promise<number>;

/** What the protocol engine calls; returns the reply to send when rejected. */
export interface SmtpdChecks {
  client(state: SmtpdState): Promise<string | undefined>;
  helo(state: SmtpdState, helo: string): Promise<string | undefined>;
  mail(state: SmtpdState, sender: string): Promise<string | undefined>;
  rcpt(state: SmtpdState, recipient: string): Promise<string | undefined>;
  etrn(state: SmtpdState, domain: string): Promise<string | undefined>;
  data(state: SmtpdState): Promise<string | undefined>;
  eod(state: SmtpdState): Promise<string | undefined>;
  /** MAIL FROM SIZE= against message_size_limit. */
  size(state: SmtpdState, size: number): string | undefined;
  /** smtpd_check_addr(): 0 when the address syntax is acceptable. */
  addr(address: string, smtputf8: boolean): Promise<number>;
  /** smtpd_check_rewrite(): sets state.rewriteContext; reply text on a lookup error. */
  rewrite(state: SmtpdState): Promise<string | undefined>;
}

/**
 * Recipient validation for reject_unlisted_{recipient,sender} (the
 * *_recipient_maps tables). Given the parameter name and the resolved
 * address: true = known, false = unknown; throws DictError when the table
 * cannot answer. Absent: tables are not consulted (addresses accepted).
 */
export type RecipientLookup = (param: string, value: string, address: string) => Promise<boolean>;
