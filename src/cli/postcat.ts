/**
 * cli/postcat.ts: postcat(1), show queue file contents, with the output,
 * options and diagnostics of Postfix 3.7 (src/postcat/postcat.c). The record
 * format itself is documented in src/queue/record.ts.
 *
 *   postcat [-bdehoqrv] [-c config_dir] [-s offset] [files...]
 *
 * Without -e/-h/-b all three are shown. -q takes queue IDs and searches
 * maildrop, incoming, active, deferred, hold, saved (twice, as the file may
 * move between queues) after chdir to queue_directory, so the path printed
 * is "deferred/9/93F5E20C6BE". Dates are asctime(localtime()) (TZ applies).
 *
 * Known difference: with -v the real postcat also prints the verbose
 * messages of its configuration setup (name_mask, inet_addr_local) on
 * stderr; Postern prints only the record-level output.
 */
import { readFileSync, readSync } from 'node:fs';
import { fatal, setVerbose, warn } from '../log/msg.js';
import { getopt } from '../util/getopt.js';
import { out, setOutputEncoding } from '../util/out.js';
import { strerror } from '../util/strerror.js';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { asctime } from '../queue/dates.js';
import { layoutFromConfig, queueRelPath } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { inSet, readRecord, REC_EOF, REC_ERROR, Rec, REC_TYPE_ENVELOPE, recTypeName, splitAttr } from '../queue/record.js';

const F = {
  SEARCH_QUEUE: 1 << 0,
  PRINT_OFFSET: 1 << 1,
  PRINT_ENV: 1 << 2,
  PRINT_HEADER: 1 << 3,
  PRINT_BODY: 1 << 4,
  PRINT_RTYPE_DEC: 1 << 5,
  RAW: 1 << 7,
} as const;
const MASK_TEXT = F.PRINT_HEADER | F.PRINT_BODY;
const MASK_ALL = F.PRINT_ENV | MASK_TEXT;

const ST_ENV = 0;
const ST_HEADER = 1;
const ST_BODY = 2;

const USAGE =
  'usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]';

const QUEUE_NAMES = ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'saved'];

/** C string view: text up to the first NUL (what "%s" prints). */
function cstr(s: string): string {
  const z = s.indexOf('\0');
  return z < 0 ? s : s.slice(0, z);
}

/** atol(): leading blanks, optional sign, digits. */
function atol(s: string): number {
  const m = /^[ \t\n\r\f\v]*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

/** is_header() on a C string: "name:" with optional blanks before the colon. */
export function isHeader(text: string): boolean {
  let state = 0;
  let len = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return state !== 0 ? len > 0 : false;
    if (c === 0x20 || c === 0x09) {
      if (state === 1) state = 2;
      if (state === 2) continue;
      return false;
    }
    if (c === 0 || c > 0x7e || c < 0x21) return false;
    if (state === 0) state = 1;
    if (state === 1) {
      len++;
      continue;
    }
    return false;
  }
  return false;
}

/** The offset field: "%9lu ". */
const off9 = (n: number) => `${String(n).padStart(9, ' ')} `;

/**
 * A reader position with rec_goto()'s pointer-loop guard, and the
 * rec_get_raw() transparency flags.
 */
class Input {
  pos = 0;
  private savedOffset = 0;
  private reverse = 0;
  constructor(
    readonly buf: Buffer,
    readonly path: string,
  ) {}

  /** rec_goto(): follow a PTR value; false after a warning. */
  goto(value: string): boolean {
    const v = value.replace(/^[ \t\n\r\f\v]+/, '');
    if (!/^\d+$/.test(v)) {
      warn(`${this.path}: malformed pointer record value: ${cstr(value)}`);
      return false;
    }
    const offset = Number.parseInt(v, 10);
    if (offset === 0) return true;
    if (offset <= this.savedOffset && ++this.reverse > 10000) {
      warn(`${this.path}: too many reverse jump records`);
      return false;
    }
    this.pos = offset;
    this.savedOffset = offset;
    return true;
  }

  /** rec_get_raw(fp, buf, 0, follow ? REC_FLAG_DEFAULT : REC_FLAG_NONE). */
  get(follow: boolean): { type: number; data: string } {
    for (;;) {
      const r = readRecord(this.buf, this.pos);
      if (r.type === REC_ERROR) {
        warn(`${this.path}: ${r.error}`);
        this.pos = r.end;
        return { type: REC_ERROR, data: '' };
      }
      this.pos = r.end;
      if (r.type === REC_EOF || !follow) return r;
      if (r.type === Rec.PTR) {
        if (this.goto(r.data)) continue;
        return { type: REC_ERROR, data: '' };
      }
      if (r.type === Rec.DTXT) continue;
      if (r.type === Rec.END) this.pos = this.buf.length;
      return r;
    }
  }
}

/**
 * Output as the real postcat's stdio buffering leaves it: text becomes
 * visible only at its flush points (after each record it prints, after
 * the segment markers). What is still buffered when postcat exits (the
 * envelope heading of an empty file, the newline after a final partial
 * line when no envelope is shown) is lost, as it is with the real one.
 */
let pending = '';
function emit(text: string): void {
  pending += text;
}
function commit(): void {
  if (pending !== '') out(pending);
  pending = '';
}

function postcat(input: Input, flags: number, verbose: boolean, startOffset: number): void {
  const path = input.path;
  let prevType = 0;
  if (startOffset > 0) {
    if (startOffset > input.buf.length && path === 'stdin') {
      fatal(`${path}: skip ${startOffset} bytes failed after ${input.buf.length}`);
    }
    input.pos = startOffset;
  }
  if (startOffset === 0 && input.buf.length > 0) {
    if (!inSet(REC_TYPE_ENVELOPE, input.buf[0]!)) {
      warn(`${path}: input is not a valid queue file`);
      return;
    }
  }
  if (startOffset === 0 && flags & F.PRINT_ENV) emit(`*** ENVELOPE RECORDS ${path} ***\n`);
  let state = ST_ENV;
  let doPrint = (flags & F.PRINT_ENV) !== 0;
  let dataOffset = -1;
  let dataSize = -1;
  const seek = (to: number) => {
    if (to < 0) fatal('seek error: Invalid argument');
    input.pos = to;
  };
  const marker = (offset: number, type: number, text: string) => {
    let line = '';
    if (flags & F.PRINT_OFFSET) line += off9(offset);
    if (flags & F.PRINT_RTYPE_DEC) line += `${String(type).padStart(3, ' ')} `;
    emit(`${line}*** ${text} ${path} ***\n`);
    commit();
  };
  const record = (offset: number, type: number, value: string) => {
    let line = '';
    if (flags & F.PRINT_OFFSET) line += off9(offset);
    if (flags & F.PRINT_RTYPE_DEC) line += `${String(type).padStart(3, ' ')} `;
    emit(`${line}${recTypeName(type)}: ${cstr(value)}\n`);
    commit();
  };
  const isText = (t: number) => t === Rec.CONT || t === Rec.NORM;

  for (;;) {
    const offset = input.pos;
    let { type, data } = input.get(!verbose);
    if (type === REC_ERROR) fatal('record read error');
    if (type === REC_EOF) break;

    if (isText(type)) {
      const c = data.charCodeAt(0);
      if (
        state === ST_HEADER &&
        flags & MASK_TEXT &&
        prevType !== Rec.CONT &&
        !(isHeader(cstr(data)) || c === 0x20 || c === 0x09)
      ) {
        state = ST_BODY;
        doPrint = (flags & F.PRINT_BODY) !== 0;
        if (!doPrint && (flags & F.PRINT_ENV) === 0) break;
        if (!doPrint && flags & F.PRINT_ENV && dataOffset >= 0 && dataSize >= 0) seek(dataOffset + dataSize);
      }
    } else if (type === Rec.MESG) {
      if (state !== ST_ENV) warn(`${path}: out-of-order message content marker`);
      if (flags & F.PRINT_ENV) marker(offset, type, 'MESSAGE CONTENTS');
      if ((flags & MASK_TEXT) === 0 && dataOffset >= 0 && dataSize >= 0) seek(dataOffset + dataSize);
      state = ST_HEADER;
      doPrint = (flags & F.PRINT_HEADER) !== 0;
      continue;
    } else if (type === Rec.XTRA) {
      if (state !== ST_HEADER && state !== ST_BODY) warn(`${path}: out-of-order extracted segment marker`);
      if (doPrint && prevType === Rec.CONT) emit('\n');
      if (flags & F.PRINT_ENV) marker(offset, type, 'HEADER EXTRACTED');
      state = ST_ENV;
      doPrint = (flags & F.PRINT_ENV) !== 0;
      if (!doPrint) break;
      continue;
    } else if (type === Rec.END) {
      if (state !== ST_ENV) warn(`${path}: out-of-order message end marker`);
      if (flags & F.PRINT_ENV) marker(offset, type, 'MESSAGE FILE END');
      if (flags & F.RAW) continue;
      break;
    } else if (type === Rec.PTR) {
      if (doPrint) record(offset, type, data);
      if ((flags & F.RAW) === 0 && !input.goto(data)) fatal('bad pointer record, or input is not seekable');
      continue;
    } else if (type === Rec.SIZE) {
      if (doPrint) record(offset, type, data);
      if (dataSize >= 0 || dataOffset >= 0) {
        warn('file contains multiple size records');
      } else {
        const m = /^[ \t\n\r\f\v]*([+-]?\d+)(?:[ \t\n\r\f\v]+([+-]?\d+))?/.exec(cstr(data));
        if (m) dataSize = Number.parseInt(m[1]!, 10);
        if (m?.[2] !== undefined) dataOffset = Number.parseInt(m[2], 10);
        if (!m || m[2] === undefined || dataOffset <= 0 || dataSize <= 0) {
          warn(`invalid size record: ${cstr(data).slice(0, 100)}`);
        }
        if ((flags & F.PRINT_ENV) === 0) {
          seek(dataOffset);
          state = ST_HEADER;
          doPrint = (flags & F.PRINT_HEADER) !== 0;
        }
      }
      continue;
    }

    if (!doPrint) continue;
    let line = '';
    if (flags & F.PRINT_OFFSET) line += off9(offset);
    if (flags & F.PRINT_RTYPE_DEC) line += `${String(type).padStart(3, ' ')} `;
    switch (type) {
      case Rec.TIME:
      case Rec.WARN:
        line += `${recTypeName(type)}: ${asctime(atol(data))}`;
        break;
      case Rec.CONT:
        if (state === ST_ENV) line += `${recTypeName(type)}: `;
        else if (verbose) line += 'unterminated_text: ';
        line += data;
        if (state === ST_ENV || verbose || flags & F.PRINT_OFFSET) {
          type = 0;
          line += '\n';
        }
        break;
      case Rec.NORM:
        if (verbose) line += `${recTypeName(type)}: `;
        line += `${data}\n`;
        break;
      case Rec.DTXT:
        line += `${recTypeName(type)}: ${data}\n`;
        break;
      case Rec.ATTR: {
        const nv = splitAttr(cstr(data));
        if (typeof nv === 'string') {
          emit(line);
          line = '';
          warn(`${path}: malformed attribute: ${nv}: ${cstr(data).slice(0, 100)}`);
          break;
        }
        if (nv[0] === 'create_time') line += `create_time: ${asctime(atol(nv[1]))}`;
        else line += `${recTypeName(type)}: ${nv[0]}=${nv[1]}\n`;
        break;
      }
      default:
        line += `${recTypeName(type)}: ${cstr(data)}\n`;
        break;
    }
    emit(line);
    prevType = type;
    commit();
  }
}

function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const b = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, b, 0, b.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(b.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

export function main(argv: string[]): number {
  setOutputEncoding('latin1');
  const g = getopt(argv, 'bc:dehoqrs:v');
  let flags = 0;
  let startOffset = 0;
  let verbose = 0;
  let configDir: string | undefined;
  for (const [opt, val] of g.opts) {
    switch (opt) {
      case 'b':
        flags |= F.PRINT_BODY;
        break;
      case 'c':
        configDir = val;
        process.env.MAIL_CONFIG = val;
        break;
      case 'd':
        flags |= F.PRINT_RTYPE_DEC;
        break;
      case 'e':
        flags |= F.PRINT_ENV;
        break;
      case 'h':
        flags |= F.PRINT_HEADER;
        break;
      case 'o':
        flags |= F.PRINT_OFFSET;
        break;
      case 'q':
        flags |= F.SEARCH_QUEUE;
        break;
      case 'r':
        flags |= F.RAW;
        break;
      case 's':
        if (!/^\d+$/.test(val ?? '')) fatal(`bad offset: ${val}`);
        startOffset = Number.parseInt(val!, 10);
        break;
      case 'v':
        verbose++;
        break;
    }
  }
  if (!g.ok) {
    process.stderr.write(`postcat: ${g.error}\n`);
    return fatal(USAGE);
  }
  setVerbose(verbose);
  if ((flags & MASK_ALL) === 0) flags |= MASK_ALL;
  const cfg = loadPostfixConfig({ configDir });
  const operands = g.operands;

  if (operands.length === 0) {
    postcat(new Input(readStdin(), 'stdin'), flags, verbose > 0, startOffset);
  } else if (flags & F.SEARCH_QUEUE) {
    const layout = layoutFromConfig(cfg);
    try {
      process.chdir(layout.dir);
    } catch (err) {
      fatal(`chdir ${layout.dir}: ${strerror(err)}`);
    }
    for (const id of operands) {
      if (!queueIdOk(id)) fatal(`bad mail queue ID: ${id}`);
      let found: { buf: Buffer; path: string } | undefined;
      let lastErr: unknown;
      for (let tries = 0; !found && tries < 2; tries++) {
        for (const q of QUEUE_NAMES) {
          const rel = queueRelPath(layout, q, id);
          try {
            found = { buf: readFileSync(rel), path: rel };
            break;
          } catch (err) {
            lastErr = err;
          }
        }
      }
      if (!found) fatal(`open queue file ${id}: ${strerror(lastErr)}`);
      postcat(new Input(found.buf, found.path), flags, verbose > 0, startOffset);
    }
  } else {
    for (const file of operands) {
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (err) {
        return fatal(`open ${file}: ${strerror(err)}`);
      }
      postcat(new Input(buf, file), flags, verbose > 0, startOffset);
    }
  }
  return 0;
}
