/**
 * pop3/server.ts: the POP3 service. createPop3Handler() reads dovecot.conf
 * (settings for `protocol pop3`) and serves connections handed to it by a
 * listener (the `dovecot` master binds `service pop3-login` inet_listeners
 * and calls handle()); startPop3() listens itself, for tests and benches.
 * Logins go to the auth service's login socket (base_dir/login/login) and
 * user lookups to auth-userdb, Postern's or a real Dovecot's.
 */
import { BlockList, createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { parseConfigFile } from '../../compat/dovecot/conf-parser.js';
import { settingsView } from '../../compat/dovecot/settings-view.js';
import { serviceLookup } from '../storage/service.js';
import type { Pop3Log } from './log.js';
import { type Pop3ConnInfo, type Pop3Context, Pop3Session, type Pop3UserLookup } from './session.js';
import { type Pop3Settings, pop3Settings } from './settings.js';

export interface Pop3HandlerOptions {
  configPath: string;
  /** The auth client socket logins use (default base_dir/login/login). */
  authSocket?: string;
  /** The auth-userdb socket (default auth_socket_path under base_dir). */
  userdbSocket?: string;
  /** Replace the userdb lookup (tests). */
  lookup?: Pop3UserLookup;
  /** Settings overrides, like doveconf -o. */
  overrides?: Record<string, string>;
  log?: Pop3Log;
}

export interface Pop3Handler {
  settings: Pop3Settings;
  /** Serve one accepted connection (plain or already TLS for pop3s). */
  handle(socket: Duplex, conn: Pop3ConnInfo): void;
  /** Drop live connections. */
  close(): Promise<void>;
}

function trustedList(nets: string[]): BlockList {
  const bl = new BlockList();
  for (const n of nets) {
    const [addr, bits] = n.split('/') as [string, string | undefined];
    const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (!isIPv4(addr) && !isIPv6(addr)) continue;
    if (bits === undefined) bl.addAddress(addr, type);
    else bl.addSubnet(addr, Number(bits), type);
  }
  return bl;
}

export function createPop3Handler(opts: Pop3HandlerOptions): Pop3Handler {
  const cfg = parseConfigFile(opts.configPath, { expand: true });
  if (cfg.lateError) throw cfg.lateError;
  const overrides = opts.overrides ? new Map(Object.entries(opts.overrides)) : undefined;
  const view = settingsView(cfg, { protocol: 'pop3' }, overrides);
  const set = pop3Settings(view);
  const trusted = trustedList(set.trustedNetworks);
  const userdb = opts.userdbSocket ?? set.authUserdbPath;
  const lookup: Pop3UserLookup =
    opts.lookup ??
    (async (username, info) => {
      const r = await serviceLookup({
        cfg,
        service: 'pop3',
        username,
        authSocket: userdb,
        info: { sessionId: info.session, localIp: info.localIp, remoteIp: info.remoteIp, localPort: info.localPort, remotePort: info.remotePort },
        ...(overrides ? { overrides } : {}),
      }).catch((e: Error) => ({ ret: -1 as const, error: e.message, user: undefined }));
      return { ret: r.ret, ...(r.user ? { user: r.user } : {}), ...(r.error ? { error: r.error } : {}) };
    });
  const ctx: Pop3Context = {
    settings: set,
    authClientPath: opts.authSocket ?? set.authClientPath,
    lookup,
    log: opts.log ?? (() => {}),
    userip: new Map(),
    isTrusted: (ip) => {
      try {
        return trusted.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
      } catch {
        return false;
      }
    },
  };
  const live = new Set<Duplex>();
  const running = new Set<Promise<void>>();
  return {
    settings: set,
    handle(socket, conn) {
      live.add(socket);
      socket.on('close', () => live.delete(socket));
      socket.on('error', () => {});
      if ('setNoDelay' in socket) (socket as Socket).setNoDelay(true);
      const p = new Pop3Session(socket, conn, ctx)
        .run()
        .catch((e: Error) => ctx.log('error', 'pop3: ', e.message))
        .finally(() => running.delete(p));
      running.add(p);
    },
    async close() {
      for (const s of live) s.destroy();
      await Promise.allSettled([...running]);
    },
  };
}

export interface StartPop3Options extends Pop3HandlerOptions {
  /** Listen on host:port (0 = any free port). */
  port: number;
  host?: string;
  /** pop3s: TLS from the first byte (needs ssl_cert/ssl_key). */
  tls?: boolean;
}

export interface Pop3Server {
  port: number;
  settings: Pop3Settings;
  close(): Promise<void>;
}

/** Dovecot's rule for `secured`: TLS, a trusted network, or the client on the server's own address. */
export function connSecured(local: string, remote: string, tls: boolean): boolean {
  return tls || local.replace(/^::ffff:/, '') === remote.replace(/^::ffff:/, '');
}

export async function startPop3(opts: StartPop3Options): Promise<Pop3Server> {
  const h = createPop3Handler(opts);
  const server: Server = createServer((sock) => {
    const conn: Pop3ConnInfo = {
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
    close: async () => {
      await h.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
