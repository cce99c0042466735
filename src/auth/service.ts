/**
 * auth/service.ts: start the auth service from a dovecot.conf: read the
 * config (compat/dovecot/conf-parser.ts), build the passdb/userdb chains and
 * the mechanism register, and listen on every unix_listener of
 * `service auth` (relative names under base_dir). Configuration problems
 * throw AuthConfigError / ConfigError with Dovecot's words (the process
 * would die with "Fatal: …").
 */
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { AuthConfigError } from './drivers.js';
import { Auth, type AuthLog } from './engine.js';
import { mechRegister } from './mech/index.js';
import { AuthServer, defaultLog } from './server/server.js';
import { type AuthSettings, authSettings } from './settings.js';

export interface AuthServiceOptions {
  /** Path of dovecot.conf. */
  configPath: string;
  /** Override base_dir (relative listener names go under it). */
  baseDir?: string;
  /** Where log lines go (default: "auth: Level: text" on stderr). */
  log?: AuthLog;
  /** Listen only on these listener names/paths (default: all of service auth). */
  only?: string[];
  /** The checkpassword-reply command (default: Postern's, run with this Node). */
  checkpasswordReply?: string;
}

export interface AuthService {
  readonly settings: AuthSettings;
  readonly auth: Auth;
  readonly server: AuthServer;
  /** Absolute paths of the sockets listened on. */
  readonly sockets: string[];
  /** The socket path for a listener name ("auth-userdb", "/var/spool/postfix/private/auth"). */
  socketPath(name: string): string;
  close(): Promise<void>;
}

/** Settings with base_dir replaced. */
export function withBaseDir(set: AuthSettings, baseDir: string): AuthSettings {
  const b = baseDir.replace(/\/+$/, '');
  return {
    ...set,
    baseDir,
    listeners: set.listeners.map((l) => (l.name.startsWith('/') ? l : { ...l, path: `${b}/${l.name}` })),
  };
}

export async function startAuthService(opts: AuthServiceOptions): Promise<AuthService> {
  const cfg = parseConfigFile(opts.configPath, { expand: true });
  if (cfg.lateError) throw cfg.lateError;
  let set = authSettings(cfg);
  if (opts.baseDir !== undefined) set = withBaseDir(set, opts.baseDir);
  const log = opts.log ?? defaultLog();
  const auth = new Auth(set, { log, ...(opts.checkpasswordReply === undefined ? {} : { checkpasswordReply: opts.checkpasswordReply }) });
  const mechs = mechRegister(set.mechanisms, set.anonymousUsername);
  for (const m of [...mechs.mechs].reverse()) {
    if (!auth.passdbsSupport(m.passdbNeed)) {
      if (auth.passdbs.length === 0) throw new AuthConfigError(`No passdbs specified in configuration file. ${m.name} mechanism needs one`);
      throw new AuthConfigError(`${m.name} mechanism can't be supported with given passdbs`);
    }
  }
  auth.init();
  const server = new AuthServer(auth, mechs, log);
  const sockets: string[] = [];
  try {
    for (const l of set.listeners) {
      if (opts.only && !opts.only.includes(l.name) && !opts.only.includes(l.path)) continue;
      await server.listen(l);
      sockets.push(l.path);
    }
  } catch (e) {
    await server.close();
    throw e;
  }
  return {
    settings: set,
    auth,
    server,
    sockets,
    socketPath(name: string) {
      const l = set.listeners.find((x) => x.name === name || x.path === name);
      return l ? l.path : name;
    },
    async close() {
      await server.close();
      await auth.deinit();
    },
  };
}
