/**
 * %-variable expansion compared with the real thing: `doveadm user -e TEMPLATE`
 * against a real Dovecot, and compat/dovecot/var-expand.ts with the userdb
 * fields Postern's auth service returns for the same user (fetched with
 * src/auth/client.ts). Errors compare as doveadm prints them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mailUserVarTable, varExpand } from '../../compat/dovecot/var-expand.js';
import { AuthMasterClient, fieldPairs } from '../../src/auth/client.js';
import { type AuthService, startAuthService } from '../../src/auth/service.js';
import { authTempDir, type RealDovecot, realDovecotRunnable, type ScratchDir, scratchHeader, startRealDovecot, writeFiles } from '../helpers/dovecot-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/auth/protocol');

/** Templates that expand: run as one doveadm call per user (joined with SEP). */
const TEMPLATES = [
  '%u|%Lu|%Uu|%n|%d|%s|%h|%i|%{gid}|%l|%r|%{lip}|%{rip}|%%',
  '%3n|%1.2n|%-2n|%.-3n|%-3.2n|%0.3n|%2.n|%08i|%-08i|%.0n|%1.-1u|%3.3u',
  '%05Hn|%Hn|%3Hn|%8.4Hu|%Nn|%4Nn|%.4Nu|%Mn|%Rn|%Dd|%Xi|%Xn|%LUn|%RLu|%E{home}|%T{user}',
  '%{user}|%{username}|%{domain}|%{home}|%{uid}|%{hostname}|%{auth_user}|%{auth_username}|%{auth_domain}|%{service}',
  '%{sha1:user}|%{md5;format=base64:user}|%{sha256;rounds=3,truncate=12:user}|%{md4:username}|%{sha3-256:domain}|%{sha3-512:user}|%{sha384:user}|%{size:home}',
  '%{sha512;salt=x%n,format=hexuc:user}|%{sha256;truncate=7:user}|%{md5;rounds=1000:user}|%{sha1;format=base64,truncate=33:user}',
  '%{pkcs5:user}|%{pkcs5;rounds=10,salt=abc:user}',
  '%{if;%n;eq;alice;yes;no}|%{if;%i;>;4000;big;small}|%{if;%n;*;al*;w}|%{if;%n;!*;b*;nb}|%{if;%n;~;^a.i;re}|%{if;%d;ne;x;ne}|%{if;%n;lt;bob;lt;ge}',
  '%{if;%{userdb:uid};==;5000;a\\;b;c}|%{if;%n;eq;alice;%{domain};%u}|%{if;1;<=;2;yes}',
  '%{userdb:home}|%{userdb:nosuch:dflt}|%{userdb:home:x:y}|%{userdb:quota_rule}|%{env:HOME}|%{env:PA_NO_SUCH_VAR}',
  'x%',
  'tail %u %{u} %{n} %Lh',
];
const SEP = ' #### ';

/** Templates that fail: one doveadm call each (the error text is compared). */
const ERROR_TEMPLATES = [
  '%q',
  'a%{nosuch}b',
  '%{if;1;eq}',
  '%{if;1;==;x;a;b}',
  '%{if;a;??;b;c;d}',
  '%{sha256;rounds=0:user}',
  '%{sha256;format=b32:user}',
  '%{SHA256:user}',
  '%{user',
  '%LLLLLLLLLLLLu',
  'ok %u then %{}',
];

const USERS = ['alice@example.test', 'zed@static.test'];

function doveadm(conf: string, template: string, user: string): Promise<string> {
  return new Promise((done) => {
    const p = spawn('doveadm', ['-c', conf, 'user', '-e', template, user], { env: { ...process.env } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    p.on('close', (code) => done(`${out}[exit=${code}]`));
  });
}

const skip = !realDovecotRunnable() && 'real Dovecot cannot run here (needs root and the dovecot/dovenull users)';

describe('%-variables: var-expand vs real doveadm user -e', { skip }, () => {
  let tmp: ScratchDir;
  let real: RealDovecot;
  let ours: AuthService;
  let conf: string;

  before(async () => {
    tmp = authTempDir();
    const files: Record<string, string> = {};
    for (const n of readdirSync(FIXTURES)) files[n] = readFileSync(join(FIXTURES, n), 'utf8');
    files['dovecot.conf'] = files['dovecot.conf']!.replace('@HEADER@', scratchHeader(tmp.dir, 'real'));
    writeFiles(tmp.dir, files);
    conf = join(tmp.dir, 'dovecot.conf');
    real = await startRealDovecot(conf, join(tmp.dir, 'real-base'), join(tmp.dir, 'real.log'));
    ours = await startAuthService({ configPath: conf, baseDir: join(tmp.dir, 'ours-base'), log: () => {} });
  });

  after(async () => {
    await ours?.close();
    await real?.stop();
    tmp?.cleanup();
  });

  it('expands every template as doveadm does, for each user', async () => {
    const client = await AuthMasterClient.connect(ours.socketPath('auth-userdb'));
    try {
      for (const user of USERS) {
        const r = await client.userLookup(user, { service: 'doveadm' });
        assert.equal(r.ret, 1, `our userdb lookup of ${user}`);
        const fields = new Map(fieldPairs(r.fields));
        const table = mailUserVarTable({
          username: r.user!,
          service: 'doveadm',
          home: fields.get('home'),
          uid: fields.get('uid') ?? '',
          gid: fields.get('gid') ?? '',
        });
        const expand = (t: string) =>
          varExpand(t, table, {
            funcs: {
              userdb: (data) => {
                const p = data.indexOf(':');
                const name = p < 0 ? data : data.slice(0, p);
                return { value: fields.get(name) ?? (p < 0 ? '' : data.slice(p + 1)) };
              },
            },
          });
        const shown = (t: string) => {
          const e = expand(t);
          return e.ret <= 0 ? `Error: Failed to expand ${t}: ${e.error ?? '(null)'}\n[exit=0]` : `${e.value}\n[exit=0]`;
        };
        const joined = TEMPLATES.join(SEP);
        const [real1, ...realErrors] = await Promise.all([doveadm(conf, joined, user), ...(user === USERS[0] ? ERROR_TEMPLATES : []).map((t) => doveadm(conf, t, user))]);
        const realParts = real1!.replace(/\n\[exit=0\]$/, '').split(SEP);
        const ourParts = shown(joined).replace(/\n\[exit=0\]$/, '').split(SEP);
        assert.equal(realParts.length, TEMPLATES.length, `doveadm output for ${user}: ${real1}`);
        for (let i = 0; i < TEMPLATES.length; i++) assert.equal(ourParts[i], realParts[i], `template ${TEMPLATES[i]} for ${user}`);
        for (let i = 0; i < realErrors.length; i++) assert.equal(shown(ERROR_TEMPLATES[i]!), realErrors[i], `template ${ERROR_TEMPLATES[i]}`);
      }
    } finally {
      client.close();
    }
  });
});
