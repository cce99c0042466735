/**
 * cli/doveadm/core/plugins.ts: what `mail_plugins` does to doveadm. Dovecot
 * loads the listed mail plugins before every command except `help <cmd>`
 * (doveadm_mail_init_finish, lib/module-dir.c), and those that carry doveadm
 * commands (acl, quota, fts, mail_crypt) add them to the command table.
 *
 * The table below is the plugin set of Debian 12's dovecot-core 2.3.19
 * (/usr/lib/dovecot/modules) with how each one loads inside doveadm: some
 * need another plugin listed too ("Plugin notify must be loaded also"), some
 * fail to link without it (dlopen "undefined symbol"), and the imap_* ones
 * never link into doveadm. Errors are fatal (exit 75), in load order (the
 * file names sort by their libNN_ prefix), then "not found" for names
 * that match no file.
 */
import { logFatal } from './log.js';

export const MODULE_DIR = '/usr/lib/dovecot/modules';
const DOVEADM_MODULE_DIR = `${MODULE_DIR}/doveadm`;

interface PluginInfo {
  file: string;
  /** module dependency: "Plugin X must be loaded also" */
  needs?: string;
  /** dlopen fails with this undefined symbol unless `from` is loaded (never, if `from` is absent). */
  symbol?: { name: string; from?: string };
}

const PLUGINS: Record<string, PluginInfo> = {
  acl: { file: 'lib01_acl_plugin.so' },
  apparmor: { file: 'lib01_apparmor_plugin.so' },
  mail_lua: { file: 'lib01_mail_lua_plugin.so' },
  imap_acl: { file: 'lib02_imap_acl_plugin.so', symbol: { name: 'command_unregister' } },
  lazy_expunge: { file: 'lib02_lazy_expunge_plugin.so' },
  mail_crypt_acl: { file: 'lib05_mail_crypt_acl_plugin.so', symbol: { name: 'acl_mailbox_list_module', from: 'acl' } },
  pop3_migration: { file: 'lib05_pop3_migration_plugin.so' },
  last_login: { file: 'lib10_last_login_plugin.so' },
  mail_crypt: { file: 'lib10_mail_crypt_plugin.so' },
  quota: { file: 'lib10_quota_plugin.so' },
  imap_quota: { file: 'lib11_imap_quota_plugin.so', symbol: { name: 'command_unregister' } },
  trash: { file: 'lib11_trash_plugin.so', needs: 'quota' },
  notify: { file: 'lib15_notify_plugin.so' },
  charset_alias: { file: 'lib20_charset_alias_plugin.so' },
  fts: { file: 'lib20_fts_plugin.so' },
  listescape: { file: 'lib20_listescape_plugin.so' },
  mail_log: { file: 'lib20_mail_log_plugin.so', needs: 'notify' },
  mailbox_alias: { file: 'lib20_mailbox_alias_plugin.so' },
  notify_status: { file: 'lib20_notify_status_plugin.so', symbol: { name: 'notify_register', from: 'notify' } },
  push_notification: { file: 'lib20_push_notification_plugin.so', needs: 'notify' },
  quota_clone: { file: 'lib20_quota_clone_plugin.so', symbol: { name: 'quota_root_iter_init_user', from: 'quota' } },
  replication: { file: 'lib20_replication_plugin.so', needs: 'notify' },
  var_expand_crypt: { file: 'lib20_var_expand_crypt.so' },
  virtual: { file: 'lib20_virtual_plugin.so' },
  zlib: { file: 'lib20_zlib_plugin.so' },
  fts_squat: { file: 'lib21_fts_squat_plugin.so', needs: 'fts' },
  push_notification_lua: { file: 'lib22_push_notification_lua_plugin.so', symbol: { name: 'dlua_dovecot_register' } },
  imap_zlib: { file: 'lib30_imap_zlib_plugin.so', symbol: { name: 'imap_module_register' } },
  old_stats: { file: 'lib90_old_stats_plugin.so' },
  imap_old_stats: { file: 'lib95_imap_old_stats_plugin.so', symbol: { name: 'imap_module_register' } },
  welcome: { file: 'lib99_welcome_plugin.so' },
};

/** The plugins with a doveadm part (modules/doveadm), by the name the command uses. */
const DOVEADM_PLUGINS = ['acl', 'quota', 'fts', 'fts_lucene', 'mail_crypt'];

/** Load `mail_plugins`: the set of loaded plugin names, or a fatal error as Dovecot words it. */
export function loadMailPlugins(mailPlugins: string): Set<string> {
  const names = [...new Set(mailPlugins.split(/[ \t]+/).filter((n) => n !== ''))];
  const known = names.filter((n) => PLUGINS[n] !== undefined).sort((a, b) => (PLUGINS[a]!.file < PLUGINS[b]!.file ? -1 : 1));
  const loaded = new Set<string>();
  for (const n of known) {
    const p = PLUGINS[n]!;
    const path = `${MODULE_DIR}/${p.file}`;
    if (p.symbol && (p.symbol.from === undefined || !loaded.has(p.symbol.from))) {
      logFatal(`Couldn't load required plugin ${path}: dlopen() failed: ${path}: undefined symbol: ${p.symbol.name}`);
    }
    if (p.needs && !loaded.has(p.needs)) {
      logFatal(`Couldn't load required plugin ${path}: Plugin ${p.needs} must be loaded also`);
    }
    loaded.add(n);
  }
  const missing = names.find((n) => PLUGINS[n] === undefined);
  if (missing !== undefined) logFatal(`Plugin '${missing}' not found from directory ${MODULE_DIR}`);
  return loaded;
}

/** doveadm_has_unloaded_plugin(): a doveadm plugin of this name exists but is not loaded. */
export function hasUnloadedPlugin(name: string, loaded: ReadonlySet<string>): boolean {
  return !loaded.has(name) && DOVEADM_PLUGINS.includes(name);
}

export { DOVEADM_MODULE_DIR };
