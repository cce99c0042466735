/**
 * storage/location.ts: `mail_location` (and namespace `location`, userdb
 * `mail`) as Dovecot 2.3 parses it (lib-storage/mailbox-list.c
 * mailbox_list_settings_parse, mail-storage.c driver autodetection):
 *
 *   [<driver>:]<root>[:KEY=VALUE|:FLAG]...      e.g. maildir:~/Maildir:LAYOUT=fs:INBOX=~/Maildir/.INBOX
 *
 * `::` is a literal ':'; a trailing ':' is ignored; `~/` (and a lone `~`)
 * at the start of a path is the user's home. %-variables are expanded
 * before parsing (mail_user_var_expand_table).
 */
import { existsSync, statSync } from 'node:fs';
import { type VarTable, varExpand } from '../../compat/dovecot/var-expand.js';
import { MailError } from './errors.js';

export type StorageDriver = 'maildir' | 'mbox' | 'sdbox' | 'mdbox' | 'imapc' | 'pop3c' | 'raw' | 'shared' | 'virtual';
const DRIVERS = new Set(['maildir', 'mbox', 'sdbox', 'dbox', 'mdbox', 'imapc', 'pop3c', 'raw', 'shared', 'virtual', 'fail']);

export interface MailLocation {
  driver: StorageDriver;
  /** Mail root directory (absolute after home expansion). */
  root: string;
  /** LAYOUT= (maildir default "maildir++", others "fs"). */
  layout: 'maildir++' | 'fs' | 'index';
  inbox?: string;
  index?: string;
  indexPvt?: string;
  indexCache?: string;
  control?: string;
  alt?: string;
  subscriptions?: string;
  dirName?: string;
  mailboxDir?: string;
  volatileDir?: string;
  listIndex?: string;
  fullDirName?: string;
  brokenChar?: string;
  iterIndex?: boolean;
  noNoselect?: boolean;
  noFsValidation?: boolean;
  utf8?: boolean;
  altNoCheck?: boolean;
}

const KEYS: Record<string, keyof MailLocation> = {
  INBOX: 'inbox',
  INDEX: 'index',
  INDEXPVT: 'indexPvt',
  INDEXCACHE: 'indexCache',
  CONTROL: 'control',
  ALT: 'alt',
  LAYOUT: 'layout',
  SUBSCRIPTIONS: 'subscriptions',
  DIRNAME: 'dirName',
  MAILBOXDIR: 'mailboxDir',
  VOLATILEDIR: 'volatileDir',
  LISTINDEX: 'listIndex',
  FULLDIRNAME: 'fullDirName',
  BROKENCHAR: 'brokenChar',
};
const FLAGS: Record<string, keyof MailLocation> = {
  ITERINDEX: 'iterIndex',
  'NO-NOSELECT': 'noNoselect',
  'NO-FS-VALIDATION': 'noFsValidation',
  'UTF-8': 'utf8',
  ALTNOCHECK: 'altNoCheck',
};

/** Split on ':' where "::" is a literal colon. */
export function splitLocation(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ':') {
      if (s[i + 1] === ':') {
        cur += ':';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += s[i];
  }
  parts.push(cur);
  // a trailing ':' is ignored
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** `~/x` → `<home>/x`; `~` → home. Throws when the home is needed but unknown. */
export function expandHome(path: string, home: string | undefined): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  if (home === undefined || home === '') throw new MailError('internal', `Home directory not set for user. Can't expand ~/ for ${path}`);
  return path === '~' ? home : `${home.replace(/\/+$/, '')}${path.slice(1)}`;
}

/**
 * Parse an already %-expanded location. `home` expands `~/`. An empty
 * location is autodetected (autodetectLocation) by the caller.
 */
export function parseLocation(location: string, home: string | undefined): MailLocation {
  let rest = location;
  let driver: string | undefined;
  const colon = location.indexOf(':');
  if (colon > 0 && DRIVERS.has(location.slice(0, colon))) {
    driver = location.slice(0, colon);
    rest = location.slice(colon + 1);
  }
  const parts = splitLocation(rest);
  const rootText = parts[0] ?? '';
  if (rootText.includes('=') && /^[A-Z-]+=/.test(rootText)) {
    throw new MailError('internal', `Mail root directory not given: ${location}`);
  }
  if (driver === undefined) driver = detectDriver(expandHome(rootText, home));
  if (driver === 'dbox') driver = 'sdbox';
  const loc: MailLocation = {
    driver: driver as StorageDriver,
    root: rootText === '' ? '' : expandHome(rootText, home),
    layout: driver === 'maildir' ? 'maildir++' : 'fs',
  };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) {
      const f = FLAGS[p];
      if (!f) throw new MailError('internal', `Unknown setting: ${p}`);
      (loc as unknown as Record<string, unknown>)[f] = true;
      continue;
    }
    const key = p.slice(0, eq);
    const value = p.slice(eq + 1);
    const k = KEYS[key];
    if (!k) throw new MailError('internal', `Unknown setting: ${key}`);
    if (k === 'layout') {
      const l = value.toLowerCase();
      if (l !== 'maildir++' && l !== 'fs' && l !== 'index') throw new MailError('internal', `Unknown mailbox list driver: ${value}`);
      loc.layout = l;
      continue;
    }
    const pathKeys = new Set<keyof MailLocation>(['inbox', 'index', 'indexPvt', 'indexCache', 'control', 'alt', 'volatileDir']);
    (loc as unknown as Record<string, unknown>)[k] = pathKeys.has(k) && value !== 'MEMORY' ? expandHome(value, home) : value;
  }
  if (loc.iterIndex && loc.index === undefined) throw new MailError('internal', 'ITERINDEX requires INDEX to be explicitly set');
  return loc;
}

/** Guess the driver of a path without a "driver:" prefix (mail-storage.c autodetect). */
function detectDriver(path: string): string {
  try {
    if (existsSync(`${path}/cur`) && statSync(`${path}/cur`).isDirectory()) return 'maildir';
    if (existsSync(path) && statSync(path).isFile()) return 'mbox';
    if (existsSync(`${path}/inbox`) || existsSync(`${path}/mbox`)) return 'mbox';
  } catch {
    // fall through
  }
  return 'maildir';
}

/**
 * mail_location = "" : ~/Maildir if it is a Maildir, else ~/mail or ~/Mail
 * as mbox (with INBOX /var/mail/%u), as Dovecot's autodetection does.
 */
export function autodetectLocation(home: string | undefined, user: string): string | undefined {
  if (home) {
    if (existsSync(`${home}/Maildir/cur`)) return `maildir:${home}/Maildir`;
    for (const d of ['mail', 'Mail']) {
      if (existsSync(`${home}/${d}`)) {
        const inbox = existsSync(`/var/mail/${user}`) ? `:INBOX=/var/mail/${user}` : '';
        return `mbox:${home}/${d}${inbox}`;
      }
    }
  }
  if (existsSync(`/var/mail/${user}`)) return `mbox:${home ?? '/nonexistent'}/mail:INBOX=/var/mail/${user}`;
  return undefined;
}

/** The %-variables of a mail user (mail_user_var_expand_table). */
export interface MailUserVars {
  user: string;
  service: string;
  home?: string;
  uid?: number;
  gid?: number;
  localIp?: string;
  remoteIp?: string;
  session?: string;
  authUser?: string;
}

export function mailUserVarTable(v: MailUserVars): VarTable {
  const at = v.user.indexOf('@');
  const username = at < 0 ? v.user : v.user.slice(0, at);
  const domain = at < 0 ? '' : v.user.slice(at + 1);
  const auth = v.authUser ?? v.user;
  const aat = auth.indexOf('@');
  return [
    { key: 'u', long: 'user', value: v.user },
    { key: 'n', long: 'username', value: username },
    { key: 'd', long: 'domain', value: at < 0 ? null : domain },
    { key: 's', long: 'service', value: v.service },
    { key: 'h', long: 'home', value: v.home ?? null },
    { key: 'l', long: 'lip', value: v.localIp ?? null },
    { key: 'r', long: 'rip', value: v.remoteIp ?? null },
    { key: 'p', long: 'pid', value: String(process.pid) },
    { key: 'i', long: 'uid', value: v.uid === undefined ? null : String(v.uid) },
    { long: 'gid', value: v.gid === undefined ? null : String(v.gid) },
    { long: 'session', value: v.session ?? null },
    { long: 'auth_user', value: auth },
    { long: 'auth_username', value: aat < 0 ? auth : auth.slice(0, aat) },
    { long: 'auth_domain', value: aat < 0 ? '' : auth.slice(aat + 1) },
  ];
}

/** Expand %-variables of a mail setting for a user. */
export function expandMailSetting(template: string, vars: MailUserVars): string {
  return varExpand(template, mailUserVarTable(vars)).value;
}
