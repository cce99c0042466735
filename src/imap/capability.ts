/**
 * imap/capability.ts: the CAPABILITY lists Dovecot 2.3 sends: pre-login
 * (imap-login get_capability: banner, LITERAL+, STARTTLS when TLS is
 * possible and not yet on, LOGINDISABLED, AUTH= mechanisms) and post-login
 * (imap-client.c: the banner plus the storage capabilities, NOTIFY,
 * SPECIAL-USE, plugin capabilities such as QUOTA).
 */
import type { MailUser } from '../storage/user.js';
import type { ImapSettings } from './settings.js';

/** CAPABILITY_BANNER_STRING of imap-common.h. */
export const BANNER = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE';

/** CAPABILITY_STRING of Dovecot 2.3.19 (what a logged-in client sees before LITERAL+ etc.). */
const POST_LOGIN =
  'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE';

export function preLoginCapability(set: ImapSettings, opts: { tls: boolean; tlsPossible: boolean; loginDisabled: boolean; mechs: string[] }): string {
  let s: string;
  let explicit = false;
  if (set.capability === '') s = BANNER;
  else if (!set.capability.startsWith('+')) {
    explicit = true;
    s = set.capability;
  } else s = `${BANNER} ${set.capability.slice(1)}`;
  if (!explicit) s += set.literalMinus ? ' LITERAL-' : ' LITERAL+';
  if (opts.tlsPossible && !opts.tls) s += ' STARTTLS';
  if (opts.loginDisabled) s += ' LOGINDISABLED';
  for (const m of opts.mechs) s += ` AUTH=${m}`;
  return s;
}

/** SPECIAL-USE is announced when some namespace's mailbox has special_use set (imap-client.c). */
function hasSpecialUse(user: MailUser | undefined): boolean {
  return (user?.namespaces ?? []).some((n) => n.settings.mailboxes.some((m) => m.specialUse !== ''));
}

export function postLoginCapability(set: ImapSettings, user?: MailUser): string {
  if (set.capability !== '' && !set.capability.startsWith('+')) return set.capability;
  let s = POST_LOGIN;
  if (set.capability.startsWith('+')) s += ` ${set.capability.slice(1)}`;
  s += set.literalMinus ? ' LITERAL-' : ' LITERAL+';
  s += ' NOTIFY';
  if (hasSpecialUse(user)) s += ' SPECIAL-USE';
  if (set.quota) s += ' QUOTA';
  return s;
}
