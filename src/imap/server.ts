/**
 * imap/server.ts: the IMAP service. createImapHandler() reads dovecot.conf
 * (settings for `protocol imap`) and serves connections handed to it by a
 * listener: the `dovecot` master binds `service imap-login` inet_listeners
 * and calls handle(socket, conn) (see README.md for the contract);
 * startImap() listens itself, for tests and benches. Logins go to the auth
 * service's login socket (base_dir/login/login) and user lookups to
 * auth-userdb, Postern's or a real Dovecot's.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { settingsView } from '../../compat/dovecot/settings-view.js';
import { serviceLookup } from '../storage/service.js';
import { type ImapConnInfo, type ImapContext, type ImapLog, ImapSession, type ImapUserLookup } from './session.js';
import { type ImapSettings, imapSettings } from './settings.js';

export type { ImapConnInfo, ImapLog, ImapUserLookup } from './session.js';

export interface ImapHandlerOptions {
  configPath: string;
  /** The auth client socket logins use (default base_dir/login/login). */
  authSocket?: string;
  /** The auth-userdb socket (default auth_socket_path under base_dir). */
  userdbSocket?: string;
  /** Replace the userdb lookup (tests). */
  lookup?: ImapUserLookup;
  /** Settings overrides, like doveconf -o. */
  overrides?: Record<string, string>;
  log?: ImapLog;
}

export interface ImapHandler {
  settings: ImapSettings;
  /** Serve one accepted connection (plain, or already TLS for imaps). */
  handle(socket: Duplex, conn: ImapConnInfo): void;
  /** Drop live connections ("* BYE Server shutting down.") and wait for them. */
  close(): Promise<void>;
  /** Live sessions (for benches and the master's status). */
  readonly connections: number;
}

export function createImapHandler(opts: ImapHandlerOptions): ImapHandler {
  const cfg = parseConfigFile(opts.configPath, { expand: true });
  if (cfg.lateError) throw cfg.lateError;
  const overrides = opts.overrides ? new Map(Object.entries(opts.overrides)) : undefined;
  const view = settingsView(cfg, { protocol: 'imap' }, overrides);
  const set = imapSettings(view);
  const userdb = opts.userdbSocket ?? set.authUserdbPath;
  const lookup: ImapUserLookup =
    opts.lookup ??
    (async (username, info) => {
      const r = await serviceLookup({
        cfg,
        service: 'imap',
        username,
        authSocket: userdb,
        info: { sessionId: info.session, localIp: info.localIp, remoteIp: info.remoteIp, localPort: info.localPort, remotePort: info.remotePort },
        ...(overrides ? { overrides } : {}),
      }).catch((e: Error) => ({ ret: -1 as const, error: e.message, user: undefined }));
      return { ret: r.ret, ...(r.user ? { user: r.user } : {}), ...(r.error ? { error: r.error } : {}) };
    });
  const ctx: ImapContext = {
    settings: set,
    authClientPath: opts.authSocket ?? set.authClientPath,
    lookup,
    log: opts.log ?? (() => {}),
    userip: new Map(),
  };
  const live = new Map<Duplex, ImapSession>();
  const running = new Set<Promise<void>>();
  return {
    settings: set,
    get connections() {
      return live.size;
    },
    handle(socket, conn) {
      socket.on('error', () => {});
      if ('setNoDelay' in socket) (socket as Socket).setNoDelay(true);
      const session = new ImapSession(socket, conn, ctx);
      live.set(socket, session);
      socket.on('close', () => live.delete(socket));
      const p = session
        .run()
        .catch((e: Error) => ctx.log('error', 'imap: ', e.message))
        .finally(() => {
          running.delete(p);
          live.delete(socket);
        });
      running.add(p);
    },
    async close() {
      for (const [sock, s] of live) {
        if (!sock.destroyed && s.user) s.disconnect('Server shutting down.');
        sock.destroy();
      }
      await Promise.allSettled([...running]);
    },
  };
}

export interface StartImapOptions extends ImapHandlerOptions {
  /** Listen on host:port (0 = any free port). */
  port: number;
  host?: string;
  /** imaps: TLS from the first byte (needs ssl_cert/ssl_key). */
  tls?: boolean;
}

export interface ImapServer {
  port: number;
  settings: ImapSettings;
  handler: ImapHandler;
  close(): Promise<void>;
}

/** Dovecot's rule for `secured`: TLS, or the client on the server's own address (loopback). */
export function connSecured(local: string, remote: string, tls: boolean): boolean {
  return tls || local.replace(/^::ffff:/, '') === remote.replace(/^::ffff:/, '');
}

export async function startImap(opts: StartImapOptions): Promise<ImapServer> {
  const h = createImapHandler(opts);
  const server: Server = createServer((sock) => {
    const conn: ImapConnInfo = {
      localAddress: sock.localAddress ?? '',
      localPort: sock.localPort ?? 0,
      remoteAddress: sock.remoteAddress ?? '',
      remotePort: sock.remotePort ?? 0,
      secured: connSecured(sock.localAddress ?? '', sock.remoteAddress ?? '', opts.tls === true),
      tls: opts.tls === true,
    };
    if (opts.tls) {
      const ctx = h.settings.tlsContext;
      if (!ctx) {
        sock.destroy();
        return;
      }
      const t = new TLSSocket(sock, { isServer: true, secureContext: ctx });
      t.once('secure', () => h.handle(t, conn));
      t.on('error', () => t.destroy());
      return;
    }
    h.handle(sock, conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : 0,
    settings: h.settings,
    handler: h,
    close: async () => {
      await h.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
