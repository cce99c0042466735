/**
 * cli/doveadm/pw.ts: `doveadm pw [-l] [-p plaintext] [-r rounds] [-s scheme]
 * [-t hash] [-u user] [-V]` as doveadm-pw.c in Dovecot 2.3.19:
 *
 *   -l           the scheme list on one line (trailing space), nothing else
 *   (default)    "{SCHEME}hash", SCHEME upper-cased, default CRYPT (bcrypt $2y$05$)
 *   -V           also verify the new hash: "{SCHEME}hash (verified)"
 *   -t HASH      verify HASH instead; it must carry "{SCHEME}" (or be "$1$...");
 *                a hash is still generated first with -s (so -s NOSUCH fails)
 *   -r N         rounds; > 4294967295 is fatal, negative values wrap (C cast)
 *   no -p        ask twice (terminal: prompts, echo off; else two stdin lines,
 *                3 tries, "Error: Passwords don't match!", then exit 1)
 *
 * Failures are "Fatal: ..." on stderr with exit 75.
 */
import {
  getScheme,
  listSchemes,
  passwordDecode,
  passwordGenerateEncoded,
  passwordVerify,
  SchemeFatal,
  cString,
} from '../../auth/schemes/index.js';
import { asciiUpper } from '../../auth/schemes/registry.js';
import { Argon2ParamError } from '../../auth/schemes/argon2.js';
import { BcryptInputError } from '../../auth/schemes/bcrypt.js';
import { out, setOutputEncoding } from '../../util/out.js';
import { askpass } from './core/askpass.js';
import type { DoveadmCommand } from './core/commands.js';
import { exitWith, logError, logFatal } from './core/log.js';

const DEFAULT_SCHEME = 'CRYPT';
/** Text as its UTF-8 bytes, one char per byte (stdout is written as latin1 here). */
const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const UINT_MAX = 0xffffffffn;

function fatalOnSchemeError(e: unknown): never {
  if (e instanceof SchemeFatal || e instanceof Argon2ParamError || e instanceof BcryptInputError) logFatal(e.message);
  throw e;
}

export const commands: Record<string, DoveadmCommand> = {
  pw: {
    params: [
      { short: 'l', name: 'list', type: 'bool' },
      { short: 'p', name: 'plaintext', type: 'str' },
      { short: 'r', name: 'rounds', type: 'int64' },
      { short: 's', name: 'scheme', type: 'str' },
      { short: 't', name: 'test-hash', type: 'str' },
      { short: 'u', name: 'user', type: 'str' },
      { short: 'V', name: 'reverse-verify', type: 'bool' },
    ],
    async run(_ctx, params) {
      setOutputEncoding('latin1');
      let rounds = 0;
      const r = params.int64('rounds');
      if (r !== undefined) {
        if (r > UINT_MAX) logFatal(`Invalid number of rounds: ${r}`);
        rounds = Number(BigInt.asUintN(32, r));
      }
      const testHashArg = params.str('test-hash');
      const reverseVerify = testHashArg !== undefined || params.bool('reverse-verify');
      const user = params.str('user');
      const gen = user === undefined ? { rounds } : { user, rounds };

      if (params.bool('list')) {
        out(`${listSchemes().join(' ')} \n`);
        return 0;
      }
      let scheme = params.has('scheme') ? asciiUpper(params.str('scheme')!) : DEFAULT_SCHEME;
      const p = params.str('plaintext');
      let plaintext: Buffer | undefined = p === undefined ? undefined : Buffer.from(p, 'utf8');
      if (testHashArg !== undefined && plaintext === undefined) plaintext = askpass('Enter password to verify: ');
      let lives = 3;
      while (plaintext === undefined) {
        const first = askpass('Enter new password: ');
        const check = askpass('Retype new password: ');
        if (!cString(first).equals(cString(check))) {
          logError("Passwords don't match!");
          if (--lives === 0) exitWith(1);
          continue;
        }
        plaintext = first;
      }

      let hash: Buffer | undefined;
      try {
        hash = await passwordGenerateEncoded(plaintext, gen, scheme);
      } catch (e) {
        fatalOnSchemeError(e);
      }
      if (hash === undefined) logFatal(`Unknown scheme: ${scheme}`);
      if (reverseVerify) {
        if (testHashArg !== undefined) {
          const g = getScheme(Buffer.from(testHashArg, 'utf8'));
          if (g.scheme === undefined) logFatal('Missing {scheme} prefix from hash');
          scheme = g.scheme;
          hash = g.value;
        }
        const d = passwordDecode(hash, scheme);
        if ('unknown' in d) logFatal('reverse decode check failed: Unknown scheme');
        if ('error' in d) logFatal(`reverse decode check failed: ${d.error}`);
        let v: Awaited<ReturnType<typeof passwordVerify>>;
        try {
          v = await passwordVerify(plaintext, gen, scheme, d.raw);
        } catch (e) {
          fatalOnSchemeError(e);
        }
        if (v !== 1) logFatal(`reverse password verification check failed: ${v === 0 ? 'Password mismatch' : v}`);
        out(`{${latin1(scheme)}}${hash.toString('latin1')} (verified)\n`);
      } else {
        out(`{${latin1(scheme)}}${hash.toString('latin1')}\n`);
      }
      return 0;
    },
  },
};
