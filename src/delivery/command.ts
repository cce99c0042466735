/**
 * delivery/command.ts: run a delivery command with the message on its
 * standard input (global/pipe_command.c, sys_exits.c), for local(8)
 * (mailbox_command, "|command" aliases) and pipe(8).
 *
 * Outcome, in Postfix's words:
 *   exit 0                      sent
 *   output starting "D.S.N"     that status and text
 *   <sysexits.h> exit code      its status and text (EX_TEMPFAIL 75 -> 4.3.0
 *                               "temporary failure"), plus ". Command output: ..."
 *   other exit code             5.3.0 "Command died with status N: \"cmd\""
 *   signal                      "Command died with signal N: \"cmd\""
 *   time limit                  4.3.0 "Command time limit exceeded: \"cmd\""
 * At most 2000 bytes of output are kept (var_line_limit-ish).
 */
import { spawn } from 'node:child_process';
import { dsnSplit, dsnValid } from './dsn-util.js';

export interface CommandResult {
  ok: boolean;
  status: string;
  reason: string;
}

const SYS_EXITS: Record<number, [string, string]> = {
  64: ['5.3.0', 'command line usage error'],
  65: ['5.6.0', 'data format error'],
  66: ['5.3.0', 'cannot open input'],
  67: ['5.1.1', 'user unknown'],
  68: ['5.1.2', 'host name unknown'],
  69: ['5.3.0', 'service unavailable'],
  70: ['5.3.0', 'internal software error'],
  71: ['4.3.0', 'system resource problem'],
  72: ['5.3.0', 'critical OS file missing'],
  73: ['5.2.0', "can't create user output file"],
  74: ['5.3.0', 'input/output error'],
  75: ['4.3.0', 'temporary failure'],
  76: ['5.5.0', 'remote error in protocol'],
  77: ['5.7.0', 'permission denied'],
  78: ['5.3.5', 'local configuration error'],
};

export interface CommandOptions {
  /** argv; a single string runs through /bin/sh -c. */
  argv: string[] | string;
  input: Buffer;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  cwd?: string;
  timeLimitMs: number;
}

export function runCommand(o: CommandOptions): Promise<CommandResult> {
  const shown = typeof o.argv === 'string' ? o.argv : o.argv.join(' ');
  const [file, args] = typeof o.argv === 'string' ? ['/bin/sh', ['-c', o.argv]] : [o.argv[0]!, o.argv.slice(1)];
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const child = spawn(file, args, {
      env: o.env,
      cwd: o.cwd,
      uid: o.uid,
      gid: o.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      if (output.length < 2000) output += d.toString('latin1');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeLimitMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, status: '4.3.0', reason: `Command failed: ${err.message}: "${shown}"` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const log = output.slice(0, 2000).replace(/[\r\n]+$/, '').replace(/[\r\n]+/g, ' ');
      const more = log ? `. Command output: ${log}` : '';
      if (timedOut) {
        resolve({ ok: false, status: '4.3.0', reason: `Command time limit exceeded: "${shown}"${more}` });
      } else if (signal) {
        const num = { SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6, SIGPIPE: 13, SIGINT: 2, SIGHUP: 1 }[signal as string] ?? 0;
        resolve({ ok: false, status: '4.3.0', reason: `Command died with signal ${num}: "${shown}"${more}` });
      } else if (code === 0) {
        resolve({ ok: true, status: '2.0.0', reason: log });
      } else if (dsnValid(log) > 0) {
        const { status, text } = dsnSplit('5.3.0', log);
        resolve({ ok: false, status, reason: text });
      } else if (code !== null && SYS_EXITS[code]) {
        const [status, text] = SYS_EXITS[code]!;
        resolve({ ok: false, status, reason: `${text}${more}` });
      } else {
        resolve({ ok: false, status: '5.3.0', reason: `Command died with status ${code}: "${shown}"${more}` });
      }
    });
    child.stdin.end(o.input);
  });
}
