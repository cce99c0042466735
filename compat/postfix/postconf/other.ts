/**
 * postconf/other.ts: `postconf -m` (lookup table types) and `postconf -T`
 * (TLS library introspection), postconf_other.c.
 */
import { warn } from '../../../src/log/msg.js';
import { outLine } from '../../../src/util/out.js';

/**
 * The table types Debian's Postfix 3.7 lists with postfix-lmdb, postfix-pcre,
 * postfix-pgsql and postfix-sqlite installed; Postern's map registry
 * (src/maps/registry.ts) serves the same set.
 */
export function mapTypes(): string[] {
  return [
    'btree', 'cidr', 'environ', 'fail', 'hash', 'inline', 'internal', 'lmdb', 'memcache', 'nis', 'pcre', 'pgsql',
    'pipemap', 'proxy', 'randmap', 'regexp', 'socketmap', 'sqlite', 'static', 'tcp', 'texthash', 'unionmap', 'unix',
  ];
}

/** -T: Postern uses Node's OpenSSL, so it reports that library's version. */
export function showTls(arg: string): number {
  switch (arg) {
    case 'compile-version':
    case 'run-version':
      outLine(`OpenSSL ${process.versions.openssl}`);
      return 0;
    case 'public-key-algorithms':
      for (const alg of ['dsa', 'ecdsa', 'rsa']) outLine(alg);
      return 0;
    default:
      warn(`unknown 'postconf -T' mode: ${arg}`);
      return 1;
  }
}
