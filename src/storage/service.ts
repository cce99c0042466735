/**
 * storage/service.ts: the mail storage service (lib-storage
 * mail-storage-service.c) for programs that start from a user name:
 * dovecot-lda, doveadm mail commands, IMAP/POP3 after login. Read the
 * settings for the service's protocol, look the user up through the auth
 * service's userdb socket (auth_socket_path under base_dir, Postern's or a
 * real Dovecot's), and build the MailUser.
 *
 * Results follow mail_storage_service_lookup: 1 found, 0 no such user,
 * -1 lookup failed (temporary).
 */
import type { ParsedConfig } from '../../compat/dovecot/conf-parser.js';
import { type DovecotSettings, settingsView } from '../../compat/dovecot/settings-view.js';
import { AuthMasterClient, type AuthUserInfo } from '../auth/client.js';
import { createMailUser, type MailUser } from './user.js';

export interface ServiceLookupInput {
  cfg: ParsedConfig;
  /** lda, lmtp, imap, pop3, doveadm … (also the settings' protocol filter) */
  service: string;
  username: string;
  /** auth-userdb socket path (default: auth_socket_path under base_dir). */
  authSocket?: string;
  info?: Omit<AuthUserInfo, 'service'>;
  /** Settings overrides (-o key=value). */
  overrides?: ReadonlyMap<string, string>;
}

export interface ServiceLookupResult {
  ret: 1 | 0 | -1;
  user?: MailUser;
  /** The user name the userdb returned. */
  username?: string;
  fields?: string[];
  /** Why it failed (Dovecot's words for the log). */
  error?: string;
  settings: DovecotSettings;
}

export function authSocketPath(set: DovecotSettings): string {
  const baseDir = (set.get('base_dir') ?? '/run/dovecot').replace(/\/+$/, '');
  const p = set.get('auth_socket_path') ?? 'auth-userdb';
  return p.startsWith('/') ? p : `${baseDir}/${p}`;
}

export async function serviceLookup(input: ServiceLookupInput): Promise<ServiceLookupResult> {
  const protocol = input.service === 'lda' ? 'lda' : input.service;
  const settings = settingsView(input.cfg, { protocol }, input.overrides);
  const socket = input.authSocket ?? authSocketPath(settings);
  let client: AuthMasterClient;
  try {
    client = await AuthMasterClient.connect(socket, { timeoutMs: 30_000 });
  } catch (e) {
    return { ret: -1, error: `auth-master: net_connect_unix(${socket}) failed: ${(e as Error).message}`, settings };
  }
  try {
    const r = await client.userLookup(input.username, { service: input.service, ...(input.info ?? {}) });
    if (r.ret === 0) return { ret: 0, settings };
    if (r.ret < 0) return { ret: -1, error: `auth-master: userdb lookup(${input.username}): Auth USER lookup failed`, settings };
    const username = r.user ?? input.username;
    const user = await createMailUser({
      username,
      service: input.service,
      settings,
      userdbFields: r.fields,
      ...(input.info?.localIp ? { localIp: input.info.localIp } : {}),
      ...(input.info?.remoteIp ? { remoteIp: input.info.remoteIp } : {}),
      ...(input.info?.sessionId ? { session: input.info.sessionId } : {}),
    });
    return { ret: 1, user, username, fields: r.fields, settings };
  } finally {
    client.close();
  }
}
