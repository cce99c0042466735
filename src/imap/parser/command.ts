/**
 * imap/parser/command.ts: one IMAP command off the wire (RFC 3501 §2.2,
 * §4.3 literals, RFC 7888 LITERAL+ and LITERAL-, RFC 3516 literal8).
 *
 * readCommand() collects the command's line fragments and literal data:
 * when a line ends with {n} or ~{n} the literal is checked against the
 * limits, "+ OK" is sent for a synchronising one (as Dovecot's
 * imap-parser does, before reading the data), the n bytes are read and
 * the command goes on with the next line. tokenize() then turns the
 * pieces into tag, command name and ImapArg list with lib-imap's error
 * words ("Missing '\"'", "Missing ')'", "Unexpected ')'", ...).
 *
 * Limits (imap-parser.c imap_parser_literal_end): a literal counts against
 * imap_max_line_length unless the command takes it as a stream (APPEND);
 * a non-synchronising literal over 4096 bytes is refused with LITERAL-.
 */
import type { ImapArg } from '../args.js';
import { type ImapInput, TOO_LONG } from './input.js';

export type Piece = Buffer | { literal: Buffer; literal8: boolean };

export interface LiteralAnnounce {
  /** The pieces so far (the line that announced the literal is the last one). */
  head: Piece[];
  size: number;
  sync: boolean;
  literal8: boolean;
}

/**
 * What to do with an announced literal: read it (counted against the line
 * limit or not), or refuse the command with a tagged reply (the data of a
 * non-synchronising literal is then skipped).
 */
export type LiteralDecision = { action: 'read'; unbounded?: boolean } | { action: 'reject'; reply: string };

export interface ReadCommandOptions {
  /** imap_max_line_length: the command's bytes including bounded literals. */
  maxLine: number;
  /** LITERAL- (imap_literal_minus): non-synchronising literals up to 4096 bytes. */
  literalMinus?: boolean;
  /** Send the continuation request for a synchronising literal. */
  sendContinue(): void;
  /** Look at an announced literal before it is accepted (APPEND's checks). */
  onLiteral?(a: LiteralAnnounce): Promise<LiteralDecision> | LiteralDecision;
}

export type ReadResult =
  | { kind: 'command'; pieces: Piece[] }
  | { kind: 'eof' }
  /** The line grew past the limit; the rest of it was skipped. `pieces` holds what came before. */
  | { kind: 'too-long'; pieces: Piece[] }
  /** A literal over the limits: Dovecot answers with BYE and disconnects. */
  | { kind: 'literal-too-big'; message: string; pieces: Piece[] }
  /** onLiteral refused: send `reply` tagged. */
  | { kind: 'rejected'; reply: string; pieces: Piece[] };

const LITERAL_RE = /(~?)\{(\d{1,20})(\+?)\}$/;
const LITERAL_MINUS_MAX = 4096;

/** The literal announced at the end of a line, if any. */
export function literalAtEnd(line: Buffer): { size: number; sync: boolean; literal8: boolean } | undefined {
  const tail = line.toString('latin1', Math.max(0, line.length - 24));
  const m = LITERAL_RE.exec(tail);
  if (!m) return undefined;
  return { size: Number(m[2]), sync: m[3] !== '+', literal8: m[1] === '~' };
}

export async function readCommand(input: ImapInput, opts: ReadCommandOptions): Promise<ReadResult> {
  const pieces: Piece[] = [];
  let used = 0;
  for (;;) {
    const room = Math.max(0, opts.maxLine - used);
    const line = await input.readLine(room);
    if (line === undefined) return { kind: 'eof' };
    if (line === TOO_LONG) return { kind: 'too-long', pieces };
    pieces.push(line);
    used += line.length + 2;
    const lit = literalAtEnd(line);
    if (!lit) return { kind: 'command', pieces };
    if (opts.literalMinus && !lit.sync && lit.size > LITERAL_MINUS_MAX) {
      return { kind: 'literal-too-big', message: 'Non-synchronizing literal size too large', pieces };
    }
    const decision: LiteralDecision = opts.onLiteral
      ? await opts.onLiteral({ head: pieces, size: lit.size, sync: lit.sync, literal8: lit.literal8 })
      : { action: 'read' };
    if (decision.action === 'reject') {
      // the rest of the command is skipped, with any further non-synchronising literals
      let skip: typeof lit | undefined = lit;
      while (skip && !skip.sync) {
        if (!(await input.skipBytes(skip.size))) return { kind: 'eof' };
        const rest = await input.readLine(opts.maxLine);
        if (rest === undefined) return { kind: 'eof' };
        skip = rest === TOO_LONG ? undefined : literalAtEnd(rest);
      }
      return { kind: 'rejected', reply: decision.reply, pieces };
    }
    if (!decision.unbounded) {
      if (used >= opts.maxLine || lit.size > opts.maxLine - used) {
        return { kind: 'literal-too-big', message: 'Literal size too large', pieces };
      }
      used += lit.size;
    }
    if (lit.sync) opts.sendContinue();
    const data = await input.readBytes(lit.size);
    if (data === undefined) return { kind: 'eof' };
    pieces.push({ literal: data, literal8: lit.literal8 });
  }
}

/** A parse error with lib-imap's words. */
export class ParseError extends Error {}

const SP = 0x20;

function isAtomSpecial(c: number): boolean {
  return c === 0x28 || c === 0x29 || c === 0x7b || c === 0x22 || c <= 32 || c === 0x7f;
}

/**
 * A cursor over the pieces of one command. Text pieces end where their
 * line ended; a literal piece follows the text piece that announced it.
 */
export class ArgCursor {
  private i = 0;
  private p = 0;
  constructor(private readonly pieces: readonly Piece[]) {}

  private text(): Buffer {
    const t = this.pieces[this.i];
    return Buffer.isBuffer(t) ? t : Buffer.alloc(0);
  }

  private skipSpaces(): void {
    const t = this.text();
    while (this.p < t.length && t[this.p] === SP) this.p++;
  }

  /** At the end of the command. */
  atEnd(): boolean {
    this.skipSpaces();
    return this.p >= this.text().length && this.i + 1 >= this.pieces.length;
  }

  /** A space-delimited word (the tag, the command name), or undefined at the end. */
  word(): string | undefined {
    this.skipSpaces();
    const t = this.text();
    if (this.p >= t.length) return undefined;
    let e = this.p;
    while (e < t.length && t[e] !== SP) e++;
    const w = t.toString('latin1', this.p, e);
    this.p = e;
    return w;
  }

  /** The rest of the current line as raw text (AUTHENTICATE's initial response). */
  restOfLine(): string {
    this.skipSpaces();
    const t = this.text();
    const s = t.toString('latin1', this.p);
    this.p = t.length;
    return s;
  }

  /** All remaining arguments. */
  args(opts: { literal8?: boolean } = {}): ImapArg[] {
    const out: ImapArg[] = [];
    for (;;) {
      this.skipSpaces();
      const t = this.text();
      if (this.p >= t.length) {
        if (this.i + 1 < this.pieces.length) throw new ParseError('Invalid literal size');
        return out;
      }
      if (t[this.p] === 0x29) throw new ParseError("Unexpected ')'");
      out.push(this.arg(0, opts));
    }
  }

  private arg(depth: number, opts: { literal8?: boolean }): ImapArg {
    const t = this.text();
    const c = t[this.p] as number;
    if (c === 0x22) return this.quoted();
    if (c === 0x28) return this.list(depth + 1, opts);
    if (c === 0x7b || (c === 0x7e && t[this.p + 1] === 0x7b)) return this.literal(opts);
    return this.atom(depth > 0);
  }

  private quoted(): ImapArg {
    const t = this.text();
    const bytes: number[] = [];
    let i = this.p + 1;
    for (; i < t.length; i++) {
      const c = t[i] as number;
      if (c === 0x22) {
        this.p = i + 1;
        return { type: 'string', value: Buffer.from(bytes) };
      }
      if (c === 0) throw new ParseError('NULs not allowed in strings');
      if (c === 0x5c && i + 1 < t.length) {
        i++;
        bytes.push(t[i] as number);
        continue;
      }
      if (c === 13 || c === 10) break;
      bytes.push(c);
    }
    throw new ParseError('Missing \'"\'');
  }

  private list(depth: number, opts: { literal8?: boolean }): ImapArg {
    this.p++;
    const items: ImapArg[] = [];
    for (;;) {
      this.skipSpaces();
      const t = this.text();
      if (this.p >= t.length) throw new ParseError("Missing ')'");
      if (t[this.p] === 0x29) {
        this.p++;
        return { type: 'list', items };
      }
      items.push(this.arg(depth, opts));
    }
  }

  private literal(opts: { literal8?: boolean }): ImapArg {
    const t = this.text();
    const literal8 = t[this.p] === 0x7e;
    if (literal8 && !opts.literal8) throw new ParseError('literal8 not allowed here');
    const rest = t.toString('latin1', this.p + (literal8 ? 1 : 0));
    const m = /^\{(\d*)(\+?)(.?)/.exec(rest) as RegExpExecArray;
    if (m[2] === '+' && m[3] !== '}') throw new ParseError("Expecting '}' after '+'");
    if (m[1] === '' || (m[3] !== '}' && !(m[2] === '' && m[3] === '+'))) throw new ParseError('Invalid literal size');
    const next = this.pieces[this.i + 1];
    if (!/^\{\d+\+?\}$/.test(rest) || next === undefined || Buffer.isBuffer(next)) throw new ParseError('Invalid literal size');
    this.i += 2;
    this.p = 0;
    return { type: 'string', value: next.literal, literal: true, ...(next.literal8 ? { literal8: true } : {}) };
  }

  private atom(inList: boolean): ImapArg {
    const t = this.text();
    let e = this.p;
    for (; e < t.length; e++) {
      const c = t[e] as number;
      if (c === SP) break;
      if (c === 0x29) {
        if (inList) break;
        throw new ParseError("Unexpected ')'");
      }
      if (isAtomSpecial(c)) throw new ParseError('Invalid characters in atom');
      if (c & 0x80) throw new ParseError('8bit data in atom');
    }
    const s = t.toString('latin1', this.p, e);
    this.p = e;
    if (s.length === 3 && s.toUpperCase() === 'NIL') return { type: 'nil' };
    return { type: 'atom', value: s };
  }
}

/** Is a tag acceptable (imap_parser_read_tag: astring characters except '+')? */
export function validTag(tag: string): boolean {
  if (tag === '') return false;
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (isAtomSpecial(c) || c === 0x2b || c >= 0x80 || c === 0x25 || c === 0x2a) return false;
  }
  return true;
}

/** Is a command name acceptable (an atom)? */
export function validCommandName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (isAtomSpecial(c) || c >= 0x80) return false;
  }
  return true;
}
