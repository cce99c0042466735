/**
 * auth/main.ts: run the auth service on its own, in the foreground:
 *   node dist/src/auth/main.js [-c /etc/dovecot/dovecot.conf] [-b base_dir]
 * Stops on SIGTERM/SIGINT. Startup errors print "Fatal: …" and exit 89
 * (configuration) or 75.
 */
import { ConfigError } from '../../compat/dovecot/conf-parser.js';
import { AuthConfigError } from './drivers.js';
import { startAuthService } from './service.js';

export async function main(argv: string[]): Promise<number> {
  let configPath = '/etc/dovecot/dovecot.conf';
  let baseDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-c' && i + 1 < argv.length) configPath = argv[++i]!;
    else if (argv[i] === '-b' && i + 1 < argv.length) baseDir = argv[++i]!;
    else {
      process.stderr.write('Usage: auth [-c config] [-b base_dir]\n');
      return 64;
    }
  }
  try {
    const svc = await startAuthService({ configPath, ...(baseDir === undefined ? {} : { baseDir }) });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await svc.close();
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Fatal: ${e.message}\n`);
      return 89;
    }
    if (e instanceof AuthConfigError) {
      process.stderr.write(`auth: Fatal: ${e.message}\n`);
      return 89;
    }
    process.stderr.write(`auth: Fatal: ${(e as Error).message}\n`);
    return 75;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
