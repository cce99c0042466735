/**
 * test/helpers/real-postfix-delivery.ts: a complete real Postfix 3.7 in a
 * temp dir (qmgr, trivial-rewrite, bounce, delivery agents), for the
 * delivery/resolve/bounce differential tests. Like real-postfix.ts, but the
 * test gives the whole master.cf (e.g. "trivial-rewrite -v" to log every
 * resolve request, or a full delivery chain). Loopback only; nothing under
 * /etc/postfix is touched. Needs root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RealInstance {
  dir: string;
  configDir: string;
  spool: string;
  maillog: string;
  log(): string;
  waitLog(re: RegExp, timeoutMs?: number): Promise<boolean>;
  /** Run a Postfix command-line tool against this instance (postqueue, sendmail...). */
  tool(name: string, args: string[], input?: string): { stdout: string; stderr: string; status: number };
  stop(): Promise<void>;
}

export const FULL_MASTER_CF = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

export function realPostfixRunnable(): boolean {
  return existsSync('/usr/sbin/postfix') && typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Start a real Postfix with `main` appended to the base main.cf and the given master.cf. */
export function startRealInstance(main: string, masterCf: string): RealInstance {
  const dir = mkdtempSync(join(tmpdir(), 'real-pfd-'));
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc');
  const spool = join(dir, 'spool');
  const maillog = join(dir, 'maillog');
  for (const d of ['etc', 'spool', 'data']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(configDir, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${spool}
data_directory = ${dir}/data
maillog_file_prefixes = ${tmpdir()}
maillog_file = ${maillog}
inet_protocols = ipv4
${main}
`,
  );
  writeFileSync(join(configDir, 'master.cf'), `${masterCf.trim()}\n`);
  const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/bin', TZ: process.env.TZ ?? 'UTC' };
  mkdirSync(join(spool, 'pid'));
  const dirs = ['private', 'incoming', 'active', 'deferred', 'hold', 'corrupt', 'bounce', 'defer', 'trace', 'flush', 'saved'];
  for (const d of dirs) mkdirSync(join(spool, d), { mode: 0o700 });
  mkdirSync(join(spool, 'public'), { mode: 0o710 });
  mkdirSync(join(spool, 'maildrop'), { mode: 0o730 });
  spawnSync('chown', ['postfix', ...dirs.map((d) => join(spool, d))]);
  spawnSync('chown', ['postfix:postdrop', join(spool, 'public'), join(spool, 'maildrop')]);
  spawnSync('chown', ['-R', 'postfix', join(dir, 'data')]);
  const daemonDir = execFileSync('postconf', ['-dh', 'daemon_directory'], { env, encoding: 'latin1' }).trim();
  execFileSync(join(daemonDir, 'master'), ['-c', configDir, '-w'], { env, stdio: 'pipe' });
  const log = () => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '');
  return {
    dir,
    configDir,
    spool,
    maillog,
    log,
    async waitLog(re, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (re.test(log())) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return re.test(log());
    },
    tool(name, args, input) {
      const r = spawnSync(name, args, {
        env: { ...env, MAIL_CONFIG: configDir },
        input,
        encoding: 'latin1',
      });
      return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status ?? -1 };
    },
    async stop() {
      let pid = 0;
      try {
        pid = Number(readFileSync(join(spool, 'pid', 'master.pid'), 'latin1').trim());
      } catch {
        /* not running */
      }
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const end = Date.now() + 10_000;
        while (Date.now() < end) {
          try {
            process.kill(pid, 0);
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
