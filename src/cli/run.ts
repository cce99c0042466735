/**
 * cli/run.ts: the one entry every bin/<name> calls. Loads the command module
 * lazily (cold start matters: `postconf -n` must start fast), runs it, flushes
 * stdout, and turns FatalExit into the exit status; anything else is a bug and
 * is reported as a Postfix-style panic, never a raw stack trace.
 */
import { FatalExit, setProgname } from '../log/msg.js';
import { flushStdout } from '../util/out.js';

type Main = (argv: string[]) => number | undefined | Promise<number | undefined>;

export async function run(name: string, load: () => Promise<{ main: Main }>): Promise<void> {
  setProgname(name);
  let status = 0;
  try {
    const mod = await load();
    status = (await mod.main(process.argv.slice(2))) ?? 0;
  } catch (err) {
    if (err instanceof FatalExit) status = err.status;
    else {
      process.stderr.write(`${name}: panic: ${(err as Error)?.stack ?? String(err)}\n`);
      status = 2;
    }
  }
  flushStdout();
  process.exitCode = status;
}
