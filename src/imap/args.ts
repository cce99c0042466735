/**
 * imap/args.ts: the parsed form of IMAP command arguments (RFC 3501 §4,
 * §9 formal syntax), shared by the command parser (imap/parser/) and the
 * libraries that interpret argument lists (imap/search/, imap/mime/).
 *
 * - atom: an atom or a bare word such as a sequence set, flag or search key
 *   (`1:*`, `\Seen`, `BODY[HEADER.FIELDS`, `UNSEEN`), kept as sent.
 * - string: a quoted string or a literal (synchronising, or non-synchronising
 *   as in RFC 7888 LITERAL+); bytes as received, quotes and escapes removed.
 *   `literal` tells which form it came in (BINARY literal8 counts as literal).
 * - list: a parenthesised list.
 * - nil: the atom NIL where the grammar allows nstring.
 */
export type ImapArg =
  | { type: 'atom'; value: string }
  | { type: 'string'; value: Buffer; literal?: boolean; literal8?: boolean }
  | { type: 'list'; items: ImapArg[] }
  | { type: 'nil' };

/** The text of an atom or string argument (UTF-8), undefined for a list or NIL. */
export function argText(arg: ImapArg | undefined): string | undefined {
  if (!arg) return undefined;
  if (arg.type === 'atom') return arg.value;
  if (arg.type === 'string') return arg.value.toString('utf8');
  return undefined;
}
