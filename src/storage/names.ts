/**
 * storage/names.ts: mailbox names, from what a user typed (the "vname":
 * UTF-8, namespace prefix + namespace separator) to the storage name the
 * layout uses on disk (hierarchy joined with the layout's separator, each
 * part in modified UTF-7 unless UTF-8 is set), with Dovecot's checks and
 * error texts (mail-storage.c mailbox_verify_name / _create_name,
 * mailbox-list.c mailbox_list_is_valid_fs_name).
 *
 * Security: this is the gate between user input and paths. A name that
 * passes never yields an absolute path, a ".." or "." component, an empty
 * component, NUL or other control characters (for new names), a component
 * longer than 255 bytes, a total longer than 4096, or (LAYOUT=fs) one of
 * the Maildir's own cur/new/tmp directories. The layout joins the result
 * under the mail root only.
 */
import { isValidUtf8Name, utf8ToMutf7 } from './mutf7.js';

export const MAILBOX_LIST_NAME_MAX_LENGTH = 4096;
export const MAILBOX_MAX_HIERARCHY_NAME_LENGTH = 255;

export interface NameRules {
  /** Namespace hierarchy separator ('/' typically). */
  nsSep: string;
  /** Separator of the on-disk layout ('.' Maildir++, '/' fs). */
  listSep: string;
  /** Namespace prefix ('' or e.g. "INBOX."). */
  prefix: string;
  /** Does this namespace hold INBOX (inbox=yes)? */
  inbox: boolean;
  /** LAYOUT=fs on a Maildir: cur/new/tmp are reserved names. */
  reservedNames?: ReadonlySet<string>;
  /** Store names in UTF-8 instead of mUTF-7 (the UTF-8 location flag). */
  utf8?: boolean;
  /** mail_full_filesystem_access=yes or NO-FS-VALIDATION: skip the fs checks (never used by Postern's defaults). */
  noFsValidation?: boolean;
}

/** "inbox", "Inbox/sub" → "INBOX…" when the namespace has INBOX. */
export function normalizeInbox(vname: string, rules: NameRules): string {
  if (!rules.inbox) return vname;
  const rest = vname.slice(rules.prefix.length);
  if (!vname.startsWith(rules.prefix)) return vname;
  if (rest.length >= 5 && rest.slice(0, 5).toUpperCase() === 'INBOX' && (rest.length === 5 || rest[5] === rules.nsSep)) {
    return `${rules.prefix}INBOX${rest.slice(5)}`;
  }
  return vname;
}

export const isInboxName = (vname: string, rules: NameRules): boolean => rules.inbox && normalizeInbox(vname, rules) === `${rules.prefix}INBOX`;

/** The vname without the namespace prefix, or an error. */
function stripPrefix(vname: string, rules: NameRules): { rest: string } | { error: string } {
  const p = rules.prefix;
  if (p === '') return { rest: vname };
  if (!vname.startsWith(p.slice(0, -1)) || (vname.length >= p.length && vname[p.length - 1] !== p[p.length - 1])) {
    return { error: `Invalid mailbox name '${vname}': Missing namespace prefix '${p}'` };
  }
  let rest = vname.slice(p.length - 1);
  if (rest !== '') {
    rest = rest.slice(1);
    if (rest === '') return { error: 'Invalid mailbox name: Ends with hierarchy separator' };
  }
  return { rest };
}

/** Part of the vname → storage-name conversion (mUTF-7 per part). */
export function vnameToStorageName(vname: string, rules: NameRules): string {
  const v = normalizeInbox(vname, rules);
  const s = stripPrefix(v, rules);
  const rest = 'rest' in s ? s.rest : v;
  if (rules.inbox && rest === 'INBOX') return 'INBOX';
  const parts = rest.split(rules.nsSep);
  return parts.map((p) => (rules.utf8 ? p : utf8ToMutf7(p))).join(rules.listSep);
}

/**
 * mailbox_verify_name(): undefined when valid, else Dovecot's error text
 * (the part after "Can't create mailbox X: ").
 */
export function verifyName(vname: string, rules: NameRules): string | undefined {
  if (vname.includes('\0')) return 'Invalid mailbox name: Contains NUL';
  if (!isValidUtf8Name(vname)) return 'Mailbox name is not valid UTF-8';
  const v = normalizeInbox(vname, rules);
  if (isInboxName(v, rules)) return undefined;
  const s = stripPrefix(v, rules);
  if ('error' in s) return s.error;
  const rest = s.rest;
  const { nsSep, listSep } = rules;
  if (nsSep !== listSep && rest.includes(listSep)) return `Character not allowed in mailbox name: '${listSep}'`;
  if (rest[0] === nsSep) return 'Invalid mailbox name: Begins with hierarchy separator';
  // extra separators
  let prevSep = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === nsSep) {
      if (prevSep) return 'Invalid mailbox name: Has adjacent hierarchy separators';
      prevSep = true;
    } else prevSep = false;
  }
  if (prevSep && rest.length > 0) return 'Invalid mailbox name: Ends with hierarchy separator';
  // mailbox_list_is_valid_name on the storage name
  const storage = vnameToStorageName(v, rules);
  if (storage === '') return rules.prefix !== '' ? undefined : 'Invalid mailbox name: Name is empty';
  if (rules.noFsValidation) return undefined;
  if (listSep !== '/' && storage.includes('/')) return "Invalid mailbox name: Name must not have '/' characters";
  if (storage[0] === '/') return "Invalid mailbox name: Begins with '/'";
  if (storage[0] === '~') return "Invalid mailbox name: Begins with '~'";
  for (const n of storage.split('/')) {
    if (n === '') return "Invalid mailbox name: Has adjacent '/' chars";
    if (n === '.') return "Invalid mailbox name: Contains '.' part";
    if (n === '..') return "Invalid mailbox name: Contains '..' part";
    if (rules.reservedNames?.has(n)) return 'Invalid mailbox name: Contains reserved name';
  }
  return undefined;
}

/** mailbox_verify_create_name(): the extra rules for a new mailbox. */
export function verifyCreateName(vname: string, rules: NameRules): string | undefined {
  const e = verifyName(vname, rules);
  if (e) return e;
  if (/[\x00-\x1f\x7f]/.test(vname)) return 'Control characters not allowed in new mailbox names';
  if (Buffer.byteLength(vname) > MAILBOX_LIST_NAME_MAX_LENGTH) return 'Mailbox name too long';
  const storage = vnameToStorageName(vname, rules);
  for (const part of storage.split(rules.listSep)) {
    if (Buffer.byteLength(part) > MAILBOX_MAX_HIERARCHY_NAME_LENGTH) return 'Mailbox name too long';
  }
  return undefined;
}

/** IMAP CREATE / doveadm mailbox create: a trailing hierarchy separator only says "may have children". */
export function stripTrailingSeparator(vname: string, nsSep: string): string {
  let v = vname;
  while (v.length > 1 && v.endsWith(nsSep)) v = v.slice(0, -1);
  return v;
}
