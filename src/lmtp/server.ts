/**
 * lmtp/server.ts: the LMTP service. startLmtp() reads dovecot.conf, listens
 * where it is told (a TCP port, a unix socket, or every listener of
 * `service lmtp`) and serves each connection with an LmtpSession. User
 * lookups go to the auth service's auth-userdb socket (auth_socket_path
 * under base_dir), Postern's or a real Dovecot's: the same master/userdb
 * protocol (USER <id> <user> service=lmtp session=… lip=… rip=…).
 *
 * For the master later: register `service lmtp` → startLmtp({ configPath,
 * listeners from lmtpListeners(cfg) }) in a worker; the process needs to be
 * root (or the mail owner) to write users' Maildirs.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { settingsView } from '../../compat/dovecot/settings-view.js';
import { AuthMasterClient } from '../auth/client.js';
import { type ConnInfo, type LmtpLog, LmtpSession, type UserLookup } from './session.js';
import { type LmtpListener, type LmtpSettings, lmtpListeners, lmtpSettings } from './settings.js';

export interface StartLmtpOptions {
  configPath: string;
  /** Listen on 127.0.0.1:<port> (0 = any free port). */
  port?: number;
  host?: string;
  /** Listen on this unix socket. */
  socketPath?: string;
  /** Listen on every listener of `service lmtp` (when neither port nor socketPath is given). */
  useConfigListeners?: boolean;
  /** auth-userdb socket (default: auth_socket_path under base_dir). */
  authSocket?: string;
  /** Replace the userdb lookup (tests). */
  lookup?: UserLookup;
  /** Override settings (e.g. hostname) as "key=value" pairs, like doveconf -o. */
  overrides?: Record<string, string>;
  log?: LmtpLog;
}

export interface LmtpServer {
  /** TCP port actually bound (when listening on TCP). */
  port?: number;
  socketPath?: string;
  settings: LmtpSettings;
  close(): Promise<void>;
}

/** A userdb lookup through auth-master, reconnecting when the connection broke. */
export function authUserLookup(socketPath: string): UserLookup & { close(): void } {
  let client: AuthMasterClient | undefined;
  let connecting: Promise<AuthMasterClient> | undefined;
  const get = async (): Promise<AuthMasterClient> => {
    if (client) return client;
    if (!connecting) {
      connecting = AuthMasterClient.connect(socketPath).then(
        (c) => {
          client = c;
          connecting = undefined;
          return c;
        },
        (e) => {
          connecting = undefined;
          throw e;
        },
      );
    }
    return connecting;
  };
  const fn = (async (username, info) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      let c: AuthMasterClient;
      try {
        c = await get();
      } catch {
        return { ret: -1 as const, fields: [] };
      }
      const r = await c.userLookup(username, {
        service: 'lmtp',
        sessionId: info.session,
        ...(info.localIp ? { localIp: info.localIp } : {}),
        ...(info.localPort ? { localPort: info.localPort } : {}),
        ...(info.remoteIp ? { remoteIp: info.remoteIp } : {}),
        ...(info.remotePort ? { remotePort: info.remotePort } : {}),
      });
      if (r.ret === -1) {
        c.close();
        client = undefined;
        continue;
      }
      return r;
    }
    return { ret: -1 as const, fields: [] };
  }) as UserLookup & { close(): void };
  fn.close = () => {
    client?.close();
    client = undefined;
  };
  return fn;
}

function listen(server: Server, l: LmtpListener | { kind: 'inet'; address: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (l.kind === 'unix') {
      const path = (l as LmtpListener).path as string;
      if (existsSync(path)) unlinkSync(path);
      server.listen(path, () => {
        try {
          chmodSync(path, (l as LmtpListener).mode ?? 0o666);
        } catch {
          // best effort
        }
        done();
      });
    } else {
      const addr = l.address === '*' || !l.address ? '0.0.0.0' : l.address === '::' ? '::' : l.address;
      server.listen(l.port, addr, done);
    }
  });
}

export interface LmtpHandler {
  settings: LmtpSettings;
  /** Serve one accepted connection (the master's listeners hand them over here). */
  handle(sock: Socket, unix: boolean): void;
  /** Drop live connections and the auth connection. */
  close(): void;
}

/** The connection handler alone, for a master that owns the listening sockets. */
export function createLmtpHandler(opts: Omit<StartLmtpOptions, 'port' | 'host' | 'socketPath' | 'useConfigListeners'>): LmtpHandler {
  const cfg = parseConfigFile(opts.configPath, { expand: true });
  if (cfg.lateError) throw cfg.lateError;
  const overrides = opts.overrides ? new Map(Object.entries(opts.overrides)) : undefined;
  const view = settingsView(cfg, { protocol: 'lmtp' }, overrides);
  const set = lmtpSettings(view);
  const lookup = opts.lookup ?? authUserLookup(opts.authSocket ?? set.authSocketPath);
  const log = opts.log ?? (() => {});
  const sockets = new Set<Socket>();
  return {
    settings: set,
    handle(sock: Socket, unix: boolean) {
      // replies go out as they are ready: no Nagle delay between them
      if (!unix) sock.setNoDelay(true);
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      const info: ConnInfo = unix
        ? { unix: true }
        : {
            unix: false,
            ...(sock.remoteAddress ? { remoteIp: sock.remoteAddress.replace(/^::ffff:/, '') } : {}),
            ...(sock.remotePort ? { remotePort: sock.remotePort } : {}),
            ...(sock.localAddress ? { localIp: sock.localAddress.replace(/^::ffff:/, '') } : {}),
            ...(sock.localPort ? { localPort: sock.localPort } : {}),
          };
      new LmtpSession(sock, set, lookup, info, log).start();
    },
    close() {
      for (const s of sockets) s.destroy();
      (lookup as { close?: () => void }).close?.();
    },
  };
}

export async function startLmtp(opts: StartLmtpOptions): Promise<LmtpServer> {
  const h = createLmtpHandler(opts);
  const cfg = parseConfigFile(opts.configPath, { expand: true });
  const servers: Server[] = [];
  const handler = (unix: boolean) => (sock: Socket) => h.handle(sock, unix);
  const result: LmtpServer = {
    settings: h.settings,
    close: async () => {
      h.close();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
  if (opts.port !== undefined) {
    const s = createServer(handler(false));
    await listen(s, { kind: 'inet', address: opts.host ?? '127.0.0.1', port: opts.port });
    servers.push(s);
    const a = s.address();
    if (a && typeof a === 'object') result.port = a.port;
  }
  if (opts.socketPath !== undefined) {
    const s = createServer(handler(true));
    await listen(s, { kind: 'unix', name: opts.socketPath, path: opts.socketPath, mode: 0o666 });
    servers.push(s);
    result.socketPath = opts.socketPath;
  }
  if (opts.port === undefined && opts.socketPath === undefined && opts.useConfigListeners !== false) {
    for (const l of lmtpListeners(cfg)) {
      const s = createServer(handler(l.kind === 'unix'));
      await listen(s, l);
      servers.push(s);
      if (l.kind === 'inet') {
        const a = s.address();
        if (a && typeof a === 'object') result.port = a.port;
      } else result.socketPath = l.path;
    }
  }
  return result;
}
