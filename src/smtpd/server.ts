/**
 * smtpd/server.ts: entry points of the SMTP server.
 *
 * - createSmtpd(cfg, deps): settings + restriction engine + TLS for one
 *   master.cf service; its serve(socket) runs one session on an accepted
 *   socket (what a master worker does with each handed-over connection).
 * - startSmtpd({configDir, service, port}): a standalone listener for
 *   tests and tools: reads main.cf, applies the master.cf `-o` overrides of
 *   the named service (PostfixConfig.withService), listens on 127.0.0.1.
 *
 * The mail log tag is "$syslog_name/smtpd" as for the real daemon.
 */
import { createSaslAuth } from './sasl/smtpd-auth.js';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { loadPostfixConfig, type PostfixConfig } from '../../compat/postfix/config.js';
import { readMasterCf, serviceView } from '../../compat/postfix/master-cf.js';
import type { CleanupService } from '../cleanup/types.js';
import { Maillog, mailTask } from '../log/maillog.js';
import type { SmtpdAuth } from './auth.js';
import { RestrictionEngine } from './checks/engine.js';
import type { RecipientLookup, SmtpdChecks } from './checks/types.js';
import { type SmtpdLog, SmtpdSession } from './session.js';
import { loadSmtpdSettings, type SmtpdConfig, type SmtpdSettings } from './settings.js';
import { logText } from './text.js';
import { TlsServer } from './tls.js';

export interface SmtpdDeps {
  cleanup: CleanupService;
  /** Mail log (default: maillog_file or stderr in Postfix's line format). */
  log?: SmtpdLog;
  /** Replace the restriction engine (tests). */
  checks?: SmtpdChecks;
  /** Table lookups for reject_unlisted_recipient (later: src/maps/query.ts). */
  recipientLookup?: RecipientLookup;
  auth?: SmtpdAuth;
  onEtrn?: (site: string) => void;
  serviceName?: string;
}

export interface Smtpd {
  readonly settings: SmtpdSettings;
  /** Serve one accepted connection until it ends. Never rejects. */
  serve(socket: Duplex, endpoints?: { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number }): Promise<void>;
  /** Sessions in progress. */
  readonly active: number;
}

/** Wrap a log so byte-string text is written as the UTF-8 it contains. */
function byteLog(log: SmtpdLog): SmtpdLog {
  return { info: (t) => log.info(logText(t)), warn: (t) => log.warn(logText(t)) };
}

export async function createSmtpd(cfg: SmtpdConfig, deps: SmtpdDeps): Promise<Smtpd> {
  const rawLog = deps.log ?? new Maillog({
    tag: mailTask('smtpd', cfg.get('syslog_name')),
    myhostname: cfg.get('myhostname'),
    maillogFile: cfg.get('maillog_file'),
    syslogFacility: cfg.get('syslog_facility') || 'mail',
    stderrFallback: true,
  });
  const log = byteLog(rawLog);
  const settings = await loadSmtpdSettings(cfg, { serviceName: deps.serviceName, warn: (t) => log.warn(t) });
  const fatalText = RestrictionEngine.configError(settings, log);
  if (fatalText) throw new Error(fatalText);
  const checks = deps.checks ?? new RestrictionEngine(settings, log, deps.recipientLookup);
  const tls = new TlsServer(settings, (t) => log.warn(t));
  // SASL (smtpd_sasl_auth_enable, smtpd_sasl_type = dovecot) unless the caller brings its own.
  const auth = deps.auth ?? (await createSaslAuth(settings));
  let active = 0;
  return {
    settings,
    get active() {
      return active;
    },
    async serve(socket, endpoints) {
      const sock = socket as Partial<Socket>;
      const ep = endpoints ?? {
        remoteAddress: sock.remoteAddress,
        remotePort: sock.remotePort,
        localAddress: sock.localAddress,
        localPort: sock.localPort,
      };
      active++;
      try {
        const session = new SmtpdSession(socket, { settings, checks, cleanup: deps.cleanup, log, tls, auth, onEtrn: deps.onEtrn }, ep);
        await session.run();
      } catch (err) {
        log.warn(`session error: ${(err as Error)?.stack ?? String(err)}`);
        socket.destroy();
      } finally {
        active--;
      }
    },
  };
}

export interface StartSmtpdOptions {
  configDir: string;
  /** master.cf service name whose -o overrides apply (default "smtp"). */
  service?: string;
  /** TCP port (0 = any free port). */
  port?: number;
  host?: string;
  cleanup: CleanupService;
  log?: SmtpdLog;
  recipientLookup?: RecipientLookup;
  /** Extra overrides after main.cf and master.cf (tests). */
  overrides?: Array<[string, string]>;
}

export interface RunningSmtpd {
  port: number;
  server: Server;
  smtpd: Smtpd;
  close(): Promise<void>;
}

/** The configuration a service sees: main.cf plus its master.cf -o overrides. */
export function serviceConfig(configDir: string, service: string, overrides: Array<[string, string]> = []): PostfixConfig {
  const base = loadPostfixConfig({ configDir, overrides });
  const entry = readMasterCf(configDir, 'warn').find((e) => e.service === service);
  return entry ? base.withService([...serviceView(entry), ...overrides], service) : base.withService(overrides, service);
}

export async function startSmtpd(opts: StartSmtpdOptions): Promise<RunningSmtpd> {
  const service = opts.service ?? 'smtp';
  const cfg = serviceConfig(opts.configDir, service, opts.overrides);
  const smtpd = await createSmtpd(cfg, {
    cleanup: opts.cleanup,
    log: opts.log,
    recipientLookup: opts.recipientLookup,
    serviceName: service,
  });
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    void smtpd.serve(sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    server,
    smtpd,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
