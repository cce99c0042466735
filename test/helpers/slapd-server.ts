/**
 * test/helpers/slapd-server.ts: a scratch OpenLDAP server (Debian's slapd)
 * for LDAP passdb/userdb tests: an old-style slapd.conf with the core,
 * cosine, nis and inetorgperson schemas, an mdb database under a temp dir
 * loaded with slapadd from an LDIF file, listening on a free loopback port,
 * in the foreground (-d 0) so the test owns the process.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export const SLAPD_BIN = '/usr/sbin/slapd';

export function slapdAvailable(): boolean {
  return existsSync(SLAPD_BIN) && existsSync('/usr/sbin/slapadd') && existsSync('/etc/ldap/schema/nis.schema');
}

export interface Slapd {
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`slapd exited (${proc.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd did not listen on ${port}: ${log()}`);
}

/** Start slapd for suffix dc=example,dc=test (rootdn cn=admin,dc=example,dc=test / secret) with `ldif` loaded. */
export async function startSlapd(dir: string, ldif: string): Promise<Slapd> {
  const db = join(dir, 'slapd-db');
  mkdirSync(db, { recursive: true });
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database mdb',
      'suffix "dc=example,dc=test"',
      'rootdn "cn=admin,dc=example,dc=test"',
      'rootpw secret',
      `directory ${db}`,
      '',
    ].join('\n'),
  );
  const ldifPath = join(dir, 'data.ldif');
  writeFileSync(ldifPath, ldif);
  const add = spawnSync('/usr/sbin/slapadd', ['-f', conf, '-l', ldifPath], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`slapadd failed: ${add.stderr}`);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}/`;
  let out = '';
  const proc = spawn(SLAPD_BIN, ['-f', conf, '-h', url, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await waitForPort(port, proc, () => out);
  return {
    port,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
