/**
 * storage/user.ts: a mail user (Dovecot's mail_user + mail_storage_service
 * user init): the settings one service sees, overridden by the userdb
 * reply, turned into namespaces with their storages and quota.
 *
 * From the userdb reply: `home`, `uid`, `gid`, `mail` (= mail_location),
 * any other known setting by name, the rest as plugin settings
 * (`quota_rule=…` replaces plugin { quota_rule }). Plugin values are
 * %-expanded for the user, as mail_user_plugin_getenv gives them.
 *
 * Privileges: running as root, mail files are created owned by the
 * userdb uid/gid; a uid below first_valid_uid (or above last_valid_uid) or
 * a missing uid is refused with Dovecot's words, as the real process would
 * refuse to drop privileges to it.
 */
import { lookupGid, lookupUid } from '../util/passwd.js';
import type { Section } from '../../compat/dovecot/conf-parser.js';
import type { DovecotSettings } from '../../compat/dovecot/settings-view.js';
import { MailError } from './errors.js';
import type { Perms } from './fs-util.js';
import { autodetectLocation, expandMailSetting, type MailLocation, type MailUserVars, parseLocation } from './location.js';
import { type MailboxSetting, MaildirStorage, type NamespaceSettings } from './maildir/storage.js';
import { isInboxName } from './names.js';
import { Quota, QuotaRoot, quotaSettings } from './quota.js';
import type { MailStorage } from './types.js';

export interface MailUserInit {
  /** The user name (as the userdb returned it). */
  username: string;
  /** lmtp, lda, imap, pop3, doveadm… (%s). */
  service: string;
  /** Settings for this service (settingsView with the protocol filter). */
  settings: DovecotSettings;
  /** userdb reply fields, "key=value" (USER reply without the user name). */
  userdbFields?: string[];
  localIp?: string;
  remoteIp?: string;
  session?: string;
}

export interface MailNamespace {
  settings: NamespaceSettings;
  location: MailLocation;
  storage: MailStorage;
}

export class MailUser {
  constructor(
    readonly username: string,
    readonly home: string | undefined,
    readonly uid: number | undefined,
    readonly gid: number | undefined,
    readonly namespaces: MailNamespace[],
    readonly quota: Quota | undefined,
    readonly plugin: ReadonlyMap<string, string>,
    /** Effective settings with userdb overrides (get by name). */
    readonly setting: (name: string) => string | undefined,
  ) {}

  /** The namespace holding INBOX. */
  get inbox(): MailStorage {
    const ns = this.namespaces.find((n) => n.settings.inbox) ?? this.namespaces[0];
    if (!ns) throw new MailError('internal', 'No namespaces');
    return ns.storage;
  }

  /** The namespace a vname belongs to (longest matching prefix). */
  findNamespace(vname: string): MailNamespace | undefined {
    let best: MailNamespace | undefined;
    for (const n of this.namespaces) {
      const p = n.settings.prefix;
      const sepless = p.endsWith(n.storage.separator) ? p.slice(0, -1) : p;
      const match = p === '' || vname.startsWith(p) || vname === sepless || (n.settings.inbox && isInboxName(vname, { ...nsRules(n), prefix: p }));
      if (match && (!best || p.length > best.settings.prefix.length)) best = n;
    }
    return best;
  }
}

function nsRules(n: MailNamespace) {
  return { nsSep: n.storage.separator, listSep: n.storage.separator, prefix: n.settings.prefix, inbox: n.settings.inbox };
}

/** Fields of a userdb reply as a map (the first occurrence wins, as auth sends each once). */
export function userdbMap(fields: string[] = []): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of fields) {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    const v = eq < 0 ? '' : f.slice(eq + 1);
    m.set(k.startsWith('userdb_') ? k.slice(7) : k, v);
  }
  return m;
}

function sectionKeys(s: Section): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, e] of s.scope.keys) m.set(k, e.value);
  return m;
}

/** namespace { } blocks → settings (a default inbox namespace when there are none). */
export function namespaceSettings(settings: DovecotSettings): NamespaceSettings[] {
  const secs = settings.sections('namespace');
  if (secs.length === 0) {
    return [{ name: '', prefix: '', separator: '', inbox: true, hidden: false, list: 'yes', subscriptions: true, type: 'private', mailboxes: [] }];
  }
  return secs.map((s) => {
    const k = sectionKeys(s);
    const mailboxes: MailboxSetting[] = s.scope.sections
      .filter((x) => x.type === 'mailbox')
      .map((x) => {
        const mk = sectionKeys(x);
        const auto = mk.get('auto') ?? 'no';
        return { name: x.name, auto: auto === 'create' || auto === 'subscribe' ? auto : 'no', specialUse: mk.get('special_use') ?? '' };
      });
    return {
      name: s.name,
      prefix: k.get('prefix') ?? '',
      separator: k.get('separator') ?? '',
      inbox: (k.get('inbox') ?? 'no') === 'yes',
      hidden: (k.get('hidden') ?? 'no') === 'yes',
      list: k.get('list') ?? 'yes',
      subscriptions: (k.get('subscriptions') ?? 'yes') === 'yes',
      type: k.get('type') ?? 'private',
      mailboxes,
      ...(k.get('location') ? { location: k.get('location') } : {}),
    } as NamespaceSettings & { location?: string };
  });
}

/** plugin { } settings (all blocks merged, later wins). */
export function pluginSettings(settings: DovecotSettings): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of settings.sections('plugin')) for (const [k, v] of sectionKeys(s)) m.set(k, v);
  return m;
}

const numOrUndef = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** Build a mail user from settings and a userdb reply. Throws MailError('internal') with Dovecot's text on refusal. */
export async function createMailUser(init: MailUserInit): Promise<MailUser> {
  const set = init.settings;
  const udb = userdbMap(init.userdbFields);
  const known = (name: string): boolean => set.get(name) !== undefined;
  const setting = (name: string): string | undefined => {
    if (name === 'mail_location' && udb.has('mail')) return udb.get('mail');
    if (udb.has(name) && known(name)) return udb.get(name);
    return set.get(name);
  };
  // identity and privileges
  const uidText = udb.get('uid') ?? (setting('mail_uid') || undefined);
  const gidText = udb.get('gid') ?? (setting('mail_gid') || undefined);
  let uid = numOrUndef(uidText);
  let gid = numOrUndef(gidText);
  if (uid === undefined && uidText) uid = lookupUid(uidText);
  if (gid === undefined && gidText) gid = lookupGid(gidText);
  const root = process.getuid?.() === 0;
  if (root) {
    if (uid === undefined) throw new MailError('internal', 'User is missing UID (see mail_uid setting)', 'User is missing UID (see mail_uid setting)');
    const first = Number(setting('first_valid_uid') ?? '500');
    const last = Number(setting('last_valid_uid') ?? '0');
    if (uid === 0 || uid < first || (last !== 0 && uid > last)) {
      const msg = `Mail access for users with UID ${uid} not permitted (see first_valid_uid in config file, uid from userdb lookup).`;
      throw new MailError('internal', msg, msg);
    }
    if (gid === undefined) throw new MailError('internal', 'User is missing GID (see mail_gid setting)', 'User is missing GID (see mail_gid setting)');
    const firstGid = Number(setting('first_valid_gid') ?? '1');
    const lastGid = Number(setting('last_valid_gid') ?? '0');
    if (gid < firstGid || (lastGid !== 0 && gid > lastGid)) {
      const msg = `Mail access for users with GID ${gid} not permitted (see first_valid_gid in config file, gid from userdb lookup).`;
      throw new MailError('internal', msg, msg);
    }
  }
  const vars: MailUserVars = {
    user: init.username,
    service: init.service,
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(init.localIp ? { localIp: init.localIp } : {}),
    ...(init.remoteIp ? { remoteIp: init.remoteIp } : {}),
    ...(init.session ? { session: init.session } : {}),
  };
  let home = udb.get('home');
  if (!home) {
    const mh = setting('mail_home');
    if (mh) home = expandMailSetting(mh, vars);
  }
  if (home) vars.home = home;
  // plugin settings with userdb overrides
  const plugin = pluginSettings(set);
  for (const [k, v] of udb) {
    if (['uid', 'gid', 'home', 'mail', 'user'].includes(k) || known(k)) continue;
    plugin.set(k, v);
  }
  for (const [k, v] of plugin) plugin.set(k, expandMailSetting(v, vars));

  const perms: Perms = { fileMode: 0o600, dirMode: 0o700, ...(root && uid !== undefined ? { uid } : {}), ...(root && gid !== undefined ? { gid } : {}) };
  const fsync = (setting('mail_fsync') ?? 'optimized') !== 'never';
  const lockTimeout = Number.parseInt(setting('mail_max_lock_timeout') ?? '0', 10) || 0;
  const copyWithHardlinks = (setting('maildir_copy_with_hardlinks') ?? 'yes') === 'yes';

  let mainLocation = setting('mail_location') ?? '';
  mainLocation = expandMailSetting(mainLocation, vars);
  if (mainLocation === '') {
    const auto = autodetectLocation(home, init.username);
    if (!auto) throw new MailError('internal', 'Mail storage autodetection failed with home=' + (home ?? '(not set)'));
    mainLocation = auto;
  }

  let quota: Quota | undefined;
  const namespaces: MailNamespace[] = [];
  const nsList = namespaceSettings(set);
  const mailPlugins = ` ${setting('mail_plugins') ?? ''} `;
  const quotaEnabled = / quota /.test(mailPlugins.replace(/\s+/g, '  '));
  const quotaRoots = quotaEnabled ? quotaSettings(plugin) : [];
  const roots: QuotaRoot[] = [];

  for (const ns of nsList) {
    const nsLoc = (ns as NamespaceSettings & { location?: string }).location;
    const locText = nsLoc ? expandMailSetting(nsLoc, vars) : mainLocation;
    const loc = parseLocation(locText, home);
    if (loc.driver !== 'maildir') {
      throw new MailError('internal', `Mail storage driver ${loc.driver} is not supported by Postern yet`);
    }
    if (!loc.root) throw new MailError('internal', `Root mail directory not set: ${locText}`);
    const storage: MaildirStorage = new MaildirStorage(loc, ns, {
      perms,
      fsync,
      lockTimeout,
      copyWithHardlinks,
      ...(ns.inbox && quotaRoots.length
        ? {
            quotaCheck: (vname: string, size: number, post: boolean) => (quota ? quota.check(vname, size, post) : Promise.resolve()),
            quotaUpdate: (b: number, c: number) => (quota ? quota.update(b, c) : Promise.resolve()),
          }
        : {}),
    });
    namespaces.push({ settings: ns, location: loc, storage });
    if (ns.inbox && quotaRoots.length) {
      for (const qs of quotaRoots) {
        roots.push(
          new QuotaRoot(qs, {
            controlRoot: loc.control ?? loc.root,
            mailboxDirs: () => storage.mailboxDirs(),
            perms,
            fsync,
          }),
        );
      }
    }
  }
  if (roots.length) quota = new Quota(roots);
  return new MailUser(init.username, home, uid, gid, namespaces, quota, plugin, setting);
}
