/**
 * test/helpers/real-postfix.ts: run Debian's real Postfix 3.7 in a
 * temporary directory, listening only on loopback, as the oracle for
 * differential tests (the same approach as ../shared/tools/ref-postfix.sh).
 *
 * The instance gets its own main.cf and a small master.cf: the services a
 * test names (usually `127.0.0.1:PORT inet ... smtpd -o ...`) plus cleanup,
 * trivial-rewrite, flush, proxymap, anvil, tlsmgr and postlogd (maillog_file =
 * DIR/maillog). No qmgr: accepted mail stays in the incoming queue and is
 * never delivered. Nothing under /etc/postfix is read or touched. Needs
 * root (the master drops privileges to the postfix user). Starting takes
 * about 0.1 s: the master is run directly, without "postfix start"'s checks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withResolvConf } from './mock-dns.js';

export interface RealPostfix {
  dir: string;
  configDir: string;
  maillog: string;
  /** The mail log so far. */
  log(): string;
  /** Wait until the log contains a line matching re (true) or time out. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface RealPostfixOptions {
  /** main.cf lines after the instance's own (queue_directory etc.). */
  main: string;
  /** master.cf service lines (smtpd listeners). */
  services: string;
  /** Run the instance with this file as its /etc/resolv.conf (private mount namespace; see mock-dns.ts). */
  resolvConf?: string;
}

/** Is a runnable Postfix here (and are we root)? */
export function realPostfixUsable(): boolean {
  return existsSync('/usr/sbin/postfix') && typeof process.getuid === 'function' && process.getuid() === 0;
}

/** n distinct TCP ports on 127.0.0.1 that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => {
    const a = srv.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  return ports;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const BASE_SERVICES = `
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
`;

export async function startRealPostfix(opts: RealPostfixOptions): Promise<RealPostfix> {
  const dir = mkdtempSync(join(tmpdir(), 'real-postfix-'));
  const configDir = join(dir, 'etc');
  const maillog = join(dir, 'maillog');
  // The daemons run as the postfix user: they must be able to reach the queue.
  chmodSync(dir, 0o755);
  for (const d of ['etc', 'spool', 'data']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(configDir, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${dir}/spool
data_directory = ${dir}/data
maillog_file_prefixes = ${tmpdir()}
maillog_file = ${maillog}
inet_protocols = ipv4
${opts.main}
`,
  );
  writeFileSync(join(configDir, 'master.cf'), `${opts.services.trim()}\n${BASE_SERVICES}`);
  const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/bin' };
  // What "postfix start" would create, without its slow checks: the queue
  // directories with Postfix's owners and modes, then master -w (returns
  // once the listeners are up).
  const spool = join(dir, 'spool');
  mkdirSync(join(spool, 'pid'));
  for (const d of ['private', 'incoming', 'active', 'deferred', 'hold', 'corrupt', 'bounce', 'defer', 'trace', 'flush', 'saved']) {
    mkdirSync(join(spool, d), { mode: 0o700 });
  }
  mkdirSync(join(spool, 'public'), { mode: 0o710 });
  mkdirSync(join(spool, 'maildrop'), { mode: 0o730 });
  for (const d of ['private', 'incoming', 'active', 'deferred', 'hold', 'corrupt', 'bounce', 'defer', 'trace', 'flush', 'saved']) {
    spawnSync('chown', ['postfix', join(spool, d)]);
  }
  spawnSync('chown', ['postfix:postdrop', join(spool, 'public'), join(spool, 'maildrop')]);
  spawnSync('chown', ['-R', 'postfix', join(dir, 'data')]);
  const daemonDir = execFileSync('postconf', ['-dh', 'daemon_directory'], { env, encoding: 'latin1' }).trim();
  const masterArgv = [join(daemonDir, 'master'), '-c', configDir, '-w'];
  const argv = opts.resolvConf ? withResolvConf(opts.resolvConf, masterArgv) : masterArgv;
  execFileSync(argv[0]!, argv.slice(1), { env, stdio: 'pipe' });
  const pidFile = join(dir, 'spool', 'pid', 'master.pid');
  // Postfix logs UTF-8 (printable() keeps only valid UTF-8 sequences).
  const log = () => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '');
  return {
    dir,
    configDir,
    maillog,
    log,
    async waitLog(re, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (re.test(log())) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return re.test(log());
    },
    async stop() {
      let pid = 0;
      try {
        pid = Number(readFileSync(pidFile, 'latin1').trim());
      } catch {
        /* not running */
      }
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
      const end = Date.now() + 10_000;
      while (pid > 0 && Date.now() < end) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
