/**
 * maps/aliases.ts: the aliases(5) source format as postalias(1) reads it
 * (postalias.c): logical lines as in every Postfix table source
 * (source-file.ts), each tokenized as RFC 822 text so that quoted names
 * and addresses with ':' or '@' stay whole, then split at the first ':'.
 *
 *   name: value, value, ...
 *
 * The name must be local (no '@' or '%') and a single word; it is stored
 * unquoted ("quoted name": x -> key `quoted name`). The value is stored
 * in external (quoted) form with Postfix's spacing ("a@x,\n  b@y" ->
 * "a@x, b@y"), so `|command`, `/file` and `:include:/path` survive as
 * written (quotes and all). local(8) parses it again at delivery.
 */
import { type Tok, cutAfter, externalize, findType, internalize, rfindType, scan, unlink } from '../cleanup/tok822.js';
import { lineIsBadUtf8, lineText, scanLogicalLines } from './source-file.js';

const COLON = 0x3a;
const COMMA = 0x2c;
const AT = 0x40;
const PERCENT = 0x25;

export type AliasLine = { key: string; value: string } | { error: 'need name:value pair' | 'name must be local' };

/** Split one logical line (byte string); undefined when it holds no tokens. */
export function parseAliasLine(line: string): AliasLine | undefined {
  const head = scan(line).head;
  if (head === null) return undefined;
  const colon = findType(head, COLON);
  if (colon === null || colon.prev === null || colon.next === null || rfindType(colon, COMMA)) {
    return { error: 'need name:value pair' };
  }
  if (rfindType(colon, AT) || rfindType(colon, PERCENT)) return { error: 'name must be local' };
  const valueList: Tok | null = cutAfter(colon);
  unlink(colon);
  return { key: internalize(head), value: externalize(valueList) };
}

export interface AliasRecord {
  key: string;
  value: string;
  lineno: number;
}

export interface ReadAliasOptions {
  /** Path as given ("aliases", "stdin"), for warnings. */
  path: string;
  /** The table's UTF-8 layer is active: non-UTF-8 lines are skipped. */
  utf8Check: boolean;
  /** Warnings in input order, without the program prefix. */
  warn: (text: string) => void;
}

/** Read an aliases(5) file, reporting bad lines as postalias does. */
export function readAliasRecords(buf: Buffer, opts: ReadAliasOptions, onRecord: (r: AliasRecord) => void): void {
  const { path } = opts;
  scanLogicalLines(
    buf,
    path,
    (line, s, e, lineno) => {
      if (opts.utf8Check && lineIsBadUtf8(line, s, e)) {
        opts.warn(`${path}, line ${lineno}: non-UTF-8 input "${lineText(line, s, e)}" -- ignoring this line`);
        return;
      }
      const r = parseAliasLine(lineText(line, s, e));
      if (r === undefined) return;
      if ('error' in r) {
        opts.warn(`${path}, line ${lineno}: ${r.error}`);
        return;
      }
      onRecord({ key: r.key, value: r.value, lineno });
    },
    opts.warn,
  );
}
