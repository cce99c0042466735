/**
 * auth/db/checkpassword.ts: run a checkpassword program (db-checkpassword.c,
 * the qmail checkpassword interface, https://cr.yp.to/checkpwd/interface.html).
 *
 * The program gets `user\0password\0timestamp\0` (at most 512 bytes) on fd 3
 * and the command `checkpassword-reply` as its arguments; on success it runs
 * that command, which writes `user=… \t userdb_home=… \t userdb_uid=…` to fd 4.
 * Exit codes: authentication 0 = ok, 1 = failure, 2 = misuse, 111 = temporary
 * error; lookups (AUTHORIZED=1 set) 2 = ok, 3 = unknown user.
 * The environment carries SERVICE, TCPLOCALIP/TCPREMOTEIP (UCSPI), the passdb
 * extra fields in upper case and every auth variable as AUTH_<NAME>.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import type { AuthRequest } from '../request.js';
import { splitTabEscaped } from '../protocol.js';

export type CheckpasswordStatus = 'ok' | 'failure' | 'internal_failure';

/** Our checkpassword-reply (src/auth/checkpassword-reply.ts), run with this Node. */
export function defaultReplyCommand(): string {
  const script = fileURLToPath(new URL('../checkpassword-reply.js', import.meta.url));
  return `${process.execPath} ${script}`;
}

export class CheckpasswordDb {
  constructor(
    readonly path: string,
    readonly replyCommand: string = defaultReplyCommand(),
  ) {}

  private env(req: AuthRequest, authenticate: boolean): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (!authenticate) {
      env.AUTHORIZED = '1';
      if (req.wantedCredentialsScheme !== undefined) {
        env.CREDENTIALS_LOOKUP = '1';
        env.SCHEME = req.wantedCredentialsScheme;
      }
    }
    env.PROTO = 'TCP';
    env.ORIG_UID = String(process.getuid?.() ?? 0);
    env.SERVICE = req.service ?? '';
    if (req.localIp !== undefined) {
      env.TCPLOCALIP = req.localIp;
      env.LOCAL_IP = req.localIp;
    }
    if (req.remoteIp !== undefined) {
      env.TCPREMOTEIP = req.remoteIp;
      env.REMOTE_IP = req.remoteIp;
    }
    if (req.localPort !== 0) env.TCPLOCALPORT = String(req.localPort);
    if (req.remotePort !== 0) env.TCPREMOTEPORT = String(req.remotePort);
    if (req.masterUser !== undefined) env.MASTER_USER = req.masterUser;
    for (const [k, v] of req.extraFields.entries()) env[k.toUpperCase()] = v ?? '1';
    for (const t of req.varTable()) {
      if (t.long !== undefined && t.value !== undefined && t.value !== null && t.long.toLowerCase() !== 'password') {
        env[`AUTH_${t.long.toUpperCase()}`] = t.value;
      }
    }
    return env;
  }

  /** Run the program; `password` undefined = a lookup. Resolves with the status and the reply fields. */
  call(req: AuthRequest, password: string | undefined): Promise<{ status: CheckpasswordStatus; fields: string[] }> {
    const user = req.user ?? '';
    const input = Buffer.concat([Buffer.from(user), Buffer.from([0]), Buffer.from(password ?? ''), Buffer.from([0, 0])]);
    if (input.length > 512) {
      req.logInfo('db', `Username+password combination too long (${input.length} bytes)`);
      return Promise.resolve({ status: 'failure', fields: [] });
    }
    const expanded = req.expand(this.path);
    if (expanded.ret <= 0) req.logError('db', `Failed to expand checkpassword_path=${this.path}: ${expanded.error}`);
    const args = `${expanded.value} ${this.replyCommand}`.split(' ');
    req.logDebug('db', `execute: ${args.join(' ')}`);
    return new Promise((resolve) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(args[0]!, args.slice(1), {
          stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
          env: this.env(req, password !== undefined),
        });
      } catch (e) {
        req.logError('db', `fork() failed: ${(e as Error).message}`);
        resolve({ status: 'internal_failure', fields: [] });
        return;
      }
      const toChild = child.stdio[3] as Writable;
      const fromChild = child.stdio[4] as Readable;
      const chunks: Buffer[] = [];
      let inputClosed = false;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let done = false;
      const finish = (status: CheckpasswordStatus) => {
        if (done) return;
        done = true;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status, fields: status === 'ok' ? splitTabEscaped(text) : [] });
      };
      const half = () => {
        if (!exit || !inputClosed || done) return;
        if (exit.signal) {
          req.logError('db', `Child ${child.pid} died with signal ${signalNumber(exit.signal)}`);
          return finish('internal_failure');
        }
        const buf = Buffer.concat(chunks);
        if (buf.includes(0)) {
          req.logError('db', 'NUL characters in checkpassword reply');
          return finish('internal_failure');
        }
        if (buf.includes(10)) {
          req.logError('db', 'LF characters in checkpassword reply');
          return finish('internal_failure');
        }
        const code = exit.code ?? -1;
        if (password !== undefined) {
          if (code === 1) {
            req.logInfo('db', `Login failed (status=${code})`);
            return finish('failure');
          }
          if (code === 0) {
            if (buf.length === 0) {
              req.logError('db', 'Received no input');
              return finish('internal_failure');
            }
            return finish('ok');
          }
          if (code === 2) {
            req.logError('db', `Child ${child.pid} exited with status 2 (tried to use userdb-only checkpassword program for passdb?)`);
            return finish('internal_failure');
          }
          req.logError('db', `Child ${child.pid} exited with status ${code}`);
          return finish('internal_failure');
        }
        if (code === 3) {
          req.logInfo('db', 'User unknown');
          return finish('failure');
        }
        if (code === 2) {
          if (buf.length === 0) {
            req.logError('db', 'Received no input');
            return finish('internal_failure');
          }
          return finish('ok');
        }
        req.logError('db', `Child ${child.pid} exited with status ${code}`);
        return finish('internal_failure');
      };
      child.on('error', (e) => {
        req.logError('db', `execv(${args[0]}) failed: ${(e as Error).message}`);
        finish('internal_failure');
      });
      child.stderr?.on('data', (d: Buffer) => {
        for (const line of d.toString('utf8').split('\n')) if (line !== '') req.auth.log('error', line);
      });
      fromChild.on('data', (d: Buffer) => chunks.push(d));
      fromChild.on('error', () => {});
      fromChild.on('close', () => {
        inputClosed = true;
        half();
      });
      toChild.on('error', () => {});
      toChild.end(input);
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        half();
      });
    });
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  const n: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
  return n[sig] ?? 0;
}
