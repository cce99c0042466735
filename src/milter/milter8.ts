/**
 * milter/milter8.ts: one Sendmail 8 mail filter, as Postfix's milter8.c runs
 * it: connect on demand, SMFIC_OPTNEG negotiation, one event at a time with
 * its macros, the reply state machine (accept/reject/tempfail per message
 * or per connection), queue-file edit requests at end of message, and the
 * milter_default_action reply after any configuration or I/O error.
 *
 * Replies returned to the caller use Postfix's internal form: undefined
 * (go on), an SMTP reply "4xx/5xx ...", "D" (discard), "H" (quarantine =
 * hold) or "S" (shutdown: 421).
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  argv as argvItem,
  CHUNK_SIZE,
  type DataItem,
  DataCursor,
  EVENT_MASKS,
  encodePacket,
  long,
  MAX_DATA,
  MilterIoError,
  MY_ACTIONS,
  nshort,
  octet,
  PacketReader,
  raw,
  SMFIA,
  SMFIC,
  SMFIC_NAME,
  SMFIM_STAGE,
  SMFIP,
  SMFIP_NOSEND_MASK,
  SMFIR,
  SMFIR_NAME,
  str,
  VERSIONS,
} from './protocol.js';

/** Where milter warnings go (the daemon's mail log). */
export interface MilterLog {
  info(text: string): void;
  warn(text: string): void;
}

/** Per-stage macro name lists (milter_*_macros). */
export interface MacroLists {
  conn: string;
  helo: string;
  mail: string;
  rcpt: string;
  data: string;
  eoh: string;
  eod: string;
  unk: string;
}

/** Macro name/value pairs for one event. */
export type MacroList = Array<[string, string]>;

/** Queue file edits requested at end of message (milter.h MILTER_*_FN); each returns an error reply or undefined. */
export interface MilterEdits {
  addHeader(name: string, space: string, value: string): Promise<string | undefined>;
  updHeader(index: number, name: string, space: string, value: string): Promise<string | undefined>;
  insHeader(index: number, name: string, space: string, value: string): Promise<string | undefined>;
  delHeader(index: number, name: string): Promise<string | undefined>;
  chgFrom(sender: string, args: string): Promise<string | undefined>;
  addRcpt(rcpt: string): Promise<string | undefined>;
  addRcptPar(rcpt: string, args: string): Promise<string | undefined>;
  delRcpt(rcpt: string): Promise<string | undefined>;
  /** Body replacement: 'start', then lines ('N' or continued 'L'), then 'end'. */
  replBody(what: 'start' | 'line' | 'end', type?: 'N' | 'L', line?: string): Promise<string | undefined>;
}

/** One content record of the queue file message segment. */
export type ContentRecord = ['N' | 'L', string];

export enum State {
  CLOSED = 0,
  READY = 1,
  ERROR = 2,
  ENVELOPE = 3,
  MESSAGE = 4,
  ACCEPT_CON = 5,
  ACCEPT_MSG = 6,
  REJECT_CON = 7,
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ENOENT: 'No such file or directory',
  ETIMEDOUT: 'Connection timed out',
  EPIPE: 'Broken pipe',
  EACCES: 'Permission denied',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENOTSOCK: 'Socket operation on non-socket',
  ECONNABORTED: 'Software caused connection abort',
};
const errnoText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return (err?.code && ERRNO_TEXT[err.code]) || err?.message || String(e);
};

export interface Milter8Options {
  name: string;
  connTimeout: number;
  cmdTimeout: number;
  msgTimeout: number;
  protocol: string;
  defAction: string;
  softBounce: boolean;
  lineLimit: number;
  log: MilterLog;
}

export class Milter8 {
  readonly name: string;
  state = State.CLOSED;
  defReply: string | undefined;
  version = 0;
  rqMask = 0;
  evMask = 0;
  npMask = 0;
  /** Macro lists the filter asked for with SMFIR_OPTNEG (SETSYMLIST). */
  macros: Partial<Record<(typeof SMFIM_STAGE)[number], string>> | undefined;
  /** The filter wants rejected recipients too (SMFIP_RCPT_REJ). */
  wantRcptRej = false;
  private skipEventType = 0;
  private socket: Socket | undefined;
  private reader: PacketReader | undefined;
  private timeout: number;
  private writeFailed: Error | undefined;
  /** Data length of the last packet sent (milter8.c reports it, not the reply's, after a non-empty reply). */
  private lastDataLen = 0;

  constructor(private readonly o: Milter8Options) {
    this.name = o.name;
    this.timeout = o.cmdTimeout;
  }

  private setDefReply(reply: string | undefined): string | undefined {
    this.defReply = reply;
    return reply;
  }

  private dropSocket(): void {
    if (this.socket) {
      this.socket.destroy();
      this.socket = undefined;
      this.reader = undefined;
    }
  }

  /** milter8_conf_error(). */
  private confError(): State {
    this.dropSocket();
    const a = this.o.defAction.toLowerCase();
    this.setDefReply(a === 'accept' ? undefined : a === 'quarantine' ? 'H' : '451 4.3.5 Server configuration problem - try again later');
    return (this.state = State.ERROR);
  }

  /** milter8_comm_error(). */
  private commError(): State {
    this.dropSocket();
    const a = this.o.defAction.toLowerCase();
    let reply: string | undefined;
    if (a === 'accept') reply = undefined;
    else if (a === 'reject') reply = '550 5.5.0 Service unavailable';
    else if (a === 'tempfail') reply = '451 4.7.1 Service unavailable - try again later';
    else if (a === 'quarantine') reply = 'H';
    else {
      this.o.log.warn(`milter ${this.name}: unrecognized default action: ${this.o.defAction}`);
      reply = '451 4.3.5 Server configuration problem - try again later';
    }
    this.setDefReply(reply);
    return (this.state = State.ERROR);
  }

  private write(cmd: number, items: readonly DataItem[] = []): boolean {
    if (!this.socket || this.writeFailed) {
      if (this.writeFailed) {
        this.o.log.warn(`milter ${this.name}: error writing command: ${errnoText(this.writeFailed)}`);
        this.commError();
      }
      return false;
    }
    const pkt = encodePacket(cmd, items);
    this.lastDataLen = pkt.length - 5;
    this.socket.write(pkt);
    return true;
  }

  /** milter8_read_resp() plus the packet body. */
  private async readResp(event: number): Promise<{ cmd: number; data: Buffer } | undefined> {
    const reader = this.reader;
    if (!reader) return undefined;
    const deadline = Date.now() + this.timeout * 1000;
    let len: number;
    try {
      len = (await reader.need(4, this.timeout, deadline)).readUInt32BE(0);
    } catch (e) {
      this.o.log.warn(`milter ${this.name}: can't read ${SMFIC_NAME[event] ?? '(unknown MTA event)'} reply packet header: ${ioText(e)}`);
      this.commError();
      return undefined;
    }
    if (len < 1) {
      this.o.log.warn(`milter ${this.name}: bad packet length: ${len}`);
      this.commError();
      return undefined;
    }
    if (len > MAX_DATA) {
      this.o.log.warn(`milter ${this.name}: unreasonable packet length: ${len} > ${MAX_DATA}`);
      this.commError();
      return undefined;
    }
    let cmd: number;
    try {
      cmd = (await reader.need(1, this.timeout, deadline))[0];
    } catch (e) {
      this.o.log.warn(`milter ${this.name}: EOF while reading command code: ${ioText(e)}`);
      this.commError();
      return undefined;
    }
    try {
      const data = len > 1 ? Buffer.from(await reader.need(len - 1, this.timeout, deadline)) : Buffer.alloc(0);
      return { cmd, data };
    } catch (e) {
      this.o.log.warn(`milter ${this.name}: EOF while reading data: ${ioText(e)}`);
      this.commError();
      return undefined;
    }
  }

  /** milter8_connect(): open the socket and negotiate. */
  async connect(): Promise<void> {
    if (this.state !== State.CLOSED) return;
    let myVersion = 0;
    let myEvents = 0;
    for (const word of this.o.protocol.split(/[\s,]+/).filter(Boolean)) {
      const mask = EVENT_MASKS.find(([n]) => n === word)?.[1];
      const vers = VERSIONS[word];
      if (mask === undefined || vers === undefined || (vers !== 0 && myVersion !== 0)) {
        this.o.log.warn(`milter ${this.name}: bad protocol information: ${word}`);
        this.confError();
        return;
      }
      if (vers !== 0) myVersion = vers;
      myEvents |= mask;
    }
    if (myEvents === 0 || myVersion === 0) {
      this.o.log.warn(`milter ${this.name}: no protocol version information`);
      this.confError();
      return;
    }
    this.npMask = SMFIP_NOSEND_MASK & ~myEvents;
    const colon = this.name.indexOf(':');
    const transport = colon > 0 ? this.name.slice(0, colon) : '';
    const endpoint = colon > 0 ? this.name.slice(colon + 1) : '';
    if (!transport || !endpoint) {
      this.o.log.warn(`Milter service needs transport:endpoint instead of "${this.name}"`);
      this.confError();
      return;
    }
    let target: { path: string } | { host: string; port: number };
    if (transport === 'inet') {
      const c = endpoint.lastIndexOf(':');
      let host = c >= 0 ? endpoint.slice(0, c) : '';
      const port = c >= 0 ? endpoint.slice(c + 1) : endpoint;
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      if (!/^\d+$/.test(port)) {
        this.o.log.warn(`connect to Milter service ${this.name}: Servname not supported for ai_socktype`);
        this.commError();
        return;
      }
      target = { host: host || 'localhost', port: Number(port) };
    } else if (transport === 'unix' || transport === 'local') {
      target = { path: endpoint };
    } else {
      this.o.log.warn(`invalid transport name: ${transport} in Milter service: ${this.name}`);
      this.confError();
      return;
    }
    try {
      this.socket = await openSocket(target, this.o.connTimeout);
    } catch (e) {
      this.o.log.warn(`connect to Milter service ${this.name}: ${errnoText(e)}`);
      this.commError();
      return;
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', (e) => {
      this.writeFailed = e;
    });
    this.reader = new PacketReader(this.socket);
    this.timeout = this.o.cmdTimeout;
    if (!this.write(SMFIC.OPTNEG, [long(myVersion), long(MY_ACTIONS), long(myEvents)])) {
      this.o.log.warn(`milter ${this.name}: write error in initial handshake`);
      return;
    }
    const r = await this.readResp(SMFIC.OPTNEG);
    if (!r) {
      this.o.log.warn(`milter ${this.name}: read error in initial handshake`);
      return;
    }
    if (r.cmd !== SMFIC.OPTNEG) {
      this.o.log.warn(`milter ${this.name}: unexpected reply "${String.fromCharCode(r.cmd)}" in initial handshake`);
      this.commError();
      return;
    }
    const cur = new DataCursor(r.data);
    const version = cur.long();
    const rq = cur.long();
    const ev = cur.long();
    if (version === undefined || rq === undefined || ev === undefined) {
      this.o.log.warn(`milter ${this.name}: input packet too short for network long`);
      this.commError();
      this.o.log.warn(`milter ${this.name}: read error in initial handshake`);
      return;
    }
    this.version = version;
    this.rqMask = rq;
    this.evMask = ev;
    if (version > myVersion) {
      this.o.log.warn(`milter ${this.name}: protocol version ${version} conflict with MTA protocol version ${myVersion}`);
      this.commError();
      return;
    }
    if ((rq & MY_ACTIONS) !== rq) {
      this.o.log.warn(`milter ${this.name}: request mask 0x${rq.toString(16)} conflict with MTA request mask 0x${MY_ACTIONS.toString(16)}`);
      this.commError();
      return;
    }
    this.wantRcptRej = (ev & SMFIP.RCPT_REJ) !== 0;
    if (version < myVersion) {
      const found = EVENT_MASKS.find(([n]) => Number(n) > 0 && Number(n) <= version);
      if (!found) this.o.log.warn(`milter ${this.name}: unexpected protocol version ${version}`);
      else this.npMask |= SMFIP_NOSEND_MASK & ~found[1];
    }
    this.state = State.READY;
    this.setDefReply(undefined);
    this.skipEventType = 0;
    // Secondary negotiation: the filter's own macro lists.
    if (cur.left > 0) {
      this.macros = {};
      while (cur.left > 0) {
        const type = cur.long();
        const names = type === undefined ? undefined : cur.string();
        if (type === undefined || names === undefined) {
          this.o.log.warn(
            type === undefined
              ? `milter ${this.name}: input packet too short for network long`
              : `milter8_read_data: milter ${this.name}: missing string null termimator`,
          );
          this.commError();
          break;
        }
        const stage = SMFIM_STAGE[type];
        if (stage === undefined) this.o.log.warn(`milter ${this.name}: ignoring unknown macro type ${type}`);
        else this.macros[stage] = names;
      }
    }
  }

  /** milter8_event(): send macros and the event, read the reply or replies. */
  private async event(
    event: number,
    skipFlag: number,
    skipReply: boolean,
    macros: MacroList | undefined,
    items: readonly DataItem[],
    edits?: MilterEdits,
  ): Promise<string | undefined> {
    if (!this.socket || this.defReply !== undefined) {
      this.o.log.warn(`milter8_event: attempt to send event ${SMFIC_NAME[event] ?? '(unknown MTA event)'} to milter ${this.name} after error`);
      return this.defReply;
    }
    if (skipFlag & this.npMask) return this.defReply;
    if (this.skipEventType !== 0) {
      if (event === this.skipEventType) return this.defReply;
      this.skipEventType = 0;
    }
    if (macros) {
      if (!this.write(SMFIC.MACRO, [octet(event), argvItem(macros.flat())])) return this.defReply;
    }
    if (skipFlag & this.evMask) return this.defReply;
    if (!this.write(event, items)) return this.defReply;
    if (skipReply) return this.defReply;

    const inConnect = event === SMFIC.CONNECT || event === SMFIC.HELO;
    let editResp: string | undefined;
    let bodyLine: string | undefined;
    let bodyLockout = false;
    for (;;) {
      const r = await this.readResp(event);
      if (!r) return this.finishEvent(this.defReply, editResp);
      const { cmd, data } = r;
      if (bodyLine !== undefined && cmd !== SMFIR.REPLBODY) {
        if (editResp === undefined && bodyLine.length > 0) editResp = await edits?.replBody('line', 'N', bodyLine);
        if (editResp === undefined) editResp = await edits?.replBody('end');
        bodyLockout = true;
        bodyLine = undefined;
      }
      const empty = data.length === 0;
      switch (cmd) {
        case SMFIR.PROGRESS:
          if (empty) continue;
          break;
        case SMFIR.CONTINUE:
          if (empty) return this.finishEvent(this.defReply, editResp);
          break;
        case SMFIR.ACCEPT:
          if (empty) {
            // Postfix builds with LIBMILTER_AUTO_DISCONNECT: a connection-level decision closes the socket.
            if (inConnect) this.closeStream();
            this.state = inConnect ? State.ACCEPT_CON : State.ACCEPT_MSG;
            return this.finishEvent(this.defReply, editResp);
          }
          break;
        case SMFIR.DISCARD:
          if (empty) {
            if (inConnect) {
              this.o.log.warn(`milter ${this.name}: DISCARD action is not allowed for connect or helo`);
              return this.finishEvent(this.defReply, editResp);
            }
            this.state = State.ACCEPT_MSG;
            return this.finishEvent('D', editResp);
          }
          break;
        case SMFIR.REJECT:
          if (empty) {
            if (inConnect) {
              this.closeStream();
              this.state = State.REJECT_CON;
              return this.finishEvent(this.setDefReply('550 5.7.1 Command rejected'), editResp);
            }
            return this.finishEvent('550 5.7.1 Command rejected', editResp);
          }
          break;
        case SMFIR.TEMPFAIL:
          if (empty) {
            const t = '451 4.7.1 Service unavailable - try again later';
            if (inConnect) {
              this.closeStream();
              this.state = State.REJECT_CON;
              return this.finishEvent(this.setDefReply(t), editResp);
            }
            return this.finishEvent(t, editResp);
          }
          break;
        case SMFIR.SHUTDOWN:
          if (empty) {
            this.closeStream();
            this.state = State.REJECT_CON;
            return this.finishEvent(this.setDefReply('S'), editResp);
          }
          break;
        case SMFIR.REPLYCODE: {
          let text = data.toString('latin1');
          const nul = text.indexOf('\0');
          // The reply is read as a raw buffer; C string functions stop at the NUL.
          if (nul >= 0) text = text.slice(0, nul);
          if (
            (text[0] !== '4' && text[0] !== '5') ||
            !isDigit(text[1]) ||
            !isDigit(text[2]) ||
            (text[3] !== ' ' && text[3] !== '-') ||
            (isDigit(text[4]) && text[4] !== text[0])
          ) {
            this.o.log.warn(`milter ${this.name}: malformed reply: ${text}`);
            this.confError();
            return this.finishEvent(this.defReply, editResp);
          }
          // Sendmail uses the reply as a format string: "%%" -> "%", lone "%" dropped.
          text = text.replace(/%(.?)/gs, (_m, c: string) => c);
          if (this.o.softBounce) text = text.split('\r\n').map(softBounceLine).join('\r\n');
          if (inConnect) {
            this.closeStream();
            this.state = State.REJECT_CON;
            return this.finishEvent(this.setDefReply(text), editResp);
          }
          return this.finishEvent(text, editResp);
        }
        case SMFIR.QUARANTINE:
          // Not a state transition (Sendmail 8.13); the reason text is not used.
          this.setDefReply('H');
          continue;
        case SMFIR.SKIP:
          if (empty) {
            this.skipEventType = event;
            return this.finishEvent(this.defReply, editResp);
          }
          break;
        default:
          if (event === SMFIC.BODYEOB && edits) {
            const cur = new DataCursor(data);
            const space = this.evMask & SMFIP.HDR_LEADSPC ? '' : ' ';
            const bad = (): Promise<string | undefined> => {
              this.readDataError(cur);
              return Promise.resolve(this.finishEvent(this.defReply, editResp));
            };
            if (cmd === SMFIR.CHGHEADER || cmd === SMFIR.INSHEADER) {
              let index = cur.long();
              if (index === undefined) return bad();
              const name = cur.string();
              const value = name === undefined ? undefined : cur.string();
              if (name === undefined || value === undefined || cur.left > 0) return bad();
              if (editResp !== undefined) continue;
              if (cmd === SMFIR.CHGHEADER) {
                if (index === 0) index = 1;
                if (index > 0x7fffffff) {
                  this.o.log.warn(`milter ${this.name}: bad change header index: ${index | 0}`);
                  this.confError();
                  return this.finishEvent(this.defReply, editResp);
                }
                if (name === '') {
                  this.o.log.warn(`milter ${this.name}: null change header name`);
                  this.confError();
                  return this.finishEvent(this.defReply, editResp);
                }
                editResp = value ? await edits.updHeader(index, name, space, value) : await edits.delHeader(index, name);
              } else {
                if (index + 1 > 0x7fffffff) {
                  this.o.log.warn(`milter ${this.name}: bad insert header index: ${index | 0}`);
                  this.confError();
                  return this.finishEvent(this.defReply, editResp);
                }
                editResp = await edits.insHeader(index + 1, name, space, value);
              }
              continue;
            }
            if (cmd === SMFIR.ADDHEADER) {
              const name = cur.string();
              const value = name === undefined ? undefined : cur.string();
              if (name === undefined || value === undefined || cur.left > 0) return bad();
              if (editResp !== undefined) continue;
              editResp = await edits.addHeader(name, space, value);
              continue;
            }
            if (cmd === SMFIR.CHGFROM || cmd === SMFIR.ADDRCPT_PAR) {
              const addr = cur.string();
              if (addr === undefined) return bad();
              let args = '';
              if (cur.left > 0) {
                const a = cur.string();
                if (a === undefined || cur.left > 0) return bad();
                args = a;
              }
              if (editResp !== undefined) continue;
              editResp = cmd === SMFIR.CHGFROM ? await edits.chgFrom(addr, args) : await edits.addRcptPar(addr, args);
              continue;
            }
            if (cmd === SMFIR.ADDRCPT || cmd === SMFIR.DELRCPT) {
              const addr = cur.string();
              if (addr === undefined || cur.left > 0) return bad();
              if (editResp !== undefined) continue;
              editResp = cmd === SMFIR.ADDRCPT ? await edits.addRcpt(addr) : await edits.delRcpt(addr);
              continue;
            }
            if (cmd === SMFIR.REPLBODY) {
              if (bodyLockout) {
                this.o.log.warn(`milter ${this.name}: body replacement requests can't currently be mixed with other requests`);
                this.confError();
                return this.finishEvent(this.defReply, editResp);
              }
              if (editResp !== undefined) continue;
              if (bodyLine === undefined) {
                bodyLine = '';
                editResp = await edits.replBody('start');
              }
              const chunk = data.toString('latin1');
              for (let i = 0; editResp === undefined && i < chunk.length; i++) {
                const ch = chunk[i];
                if (ch === '\n') {
                  if (bodyLine.endsWith('\r')) bodyLine = bodyLine.slice(0, -1);
                  editResp = await edits.replBody('line', 'N', bodyLine);
                  bodyLine = '';
                } else {
                  if (bodyLine.length === this.o.lineLimit) {
                    editResp = await edits.replBody('line', 'L', bodyLine);
                    bodyLine = '';
                  }
                  bodyLine += ch;
                }
              }
              continue;
            }
          }
          this.o.log.warn(
            `milter ${this.name}: unexpected filter response ${SMFIR_NAME[cmd] ?? '(unknown filter reply)'} after event ${SMFIC_NAME[event] ?? '(unknown MTA event)'}`,
          );
          this.commError();
          return this.finishEvent(this.defReply, editResp);
      }
      // A reply that must be empty came with data.
      this.o.log.warn(`milter ${this.name}: reply ${SMFIR_NAME[cmd] ?? 'unknown'} was followed by ${this.lastDataLen} data bytes`);
      this.commError();
      return this.finishEvent(this.defReply, editResp);
    }
  }

  private readDataError(cur: DataCursor): void {
    this.o.log.warn(
      cur.left < 4 && cur.pos === 0
        ? `milter ${this.name}: input packet too short for network long`
        : `milter8_read_data: milter ${this.name}: missing string null termimator`,
    );
    this.commError();
  }

  /** After a queue-file edit error, that error wins over all but D, S and 4xx. */
  private finishEvent(retval: string | undefined, editResp: string | undefined): string | undefined {
    if (editResp !== undefined && (retval === undefined || !'DS4'.includes(retval[0]))) return editResp;
    return retval;
  }

  // --- events (milter8_*_event) ---

  async connEvent(clientName: string, clientAddr: string, clientPort: string, family: number, macros: MacroList): Promise<string | undefined> {
    if (this.state === State.ERROR) return this.defReply;
    if (this.state !== State.READY) return this.defReply;
    let port = 0;
    if (/^\d+$/.test(clientPort) && Number(clientPort) <= 65535) port = Number(clientPort);
    else this.o.log.warn(`milter ${this.name}: bad client port number ${clientPort}`);
    this.state = State.ENVELOPE;
    const skip = (this.evMask & SMFIP.NR_CONN) !== 0;
    const smName = clientName !== 'unknown' ? clientName : clientAddr === 'unknown' ? clientName : `[${clientAddr}]`;
    let items: DataItem[];
    if (family === 4) items = [str(smName), octet(SMFIA.INET), nshort(port), str(clientAddr)];
    else if (family === 6) items = [str(smName), octet(SMFIA.INET6), nshort(port), str(clientAddr)];
    else if (family === 1) items = [str(smName), octet(SMFIA.UNIX), nshort(0), str(clientAddr)];
    else items = [str(smName), octet(SMFIA.UNKNOWN)];
    return this.event(SMFIC.CONNECT, SMFIP.NOCONNECT, skip, macros, items);
  }

  async heloEvent(helo: string, macros: MacroList): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE && this.state !== State.ACCEPT_MSG) return this.defReply;
    return this.event(SMFIC.HELO, SMFIP.NOHELO, (this.evMask & SMFIP.NR_HELO) !== 0, macros, [str(helo)]);
  }

  async mailEvent(args: readonly string[], macros: MacroList): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE) return this.defReply;
    return this.event(SMFIC.MAIL, SMFIP.NOMAIL, (this.evMask & SMFIP.NR_MAIL) !== 0, macros, [argvItem(args)]);
  }

  async rcptEvent(args: readonly string[], macros: MacroList): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE) return this.defReply;
    return this.event(SMFIC.RCPT, SMFIP.NORCPT, (this.evMask & SMFIP.NR_RCPT) !== 0, macros, [argvItem(args)]);
  }

  async dataEvent(macros: MacroList): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE) return this.defReply;
    return this.event(SMFIC.DATA, SMFIP.NODATA, (this.evMask & SMFIP.NR_DATA) !== 0, macros, []);
  }

  async unknownEvent(command: string, macros: MacroList): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE) return this.defReply;
    return this.event(SMFIC.UNKNOWN, SMFIP.NOUNKNOWN, (this.evMask & SMFIP.NR_UNKN) !== 0, macros, [str(command)]);
  }

  otherEvent(): string | undefined {
    return this.defReply;
  }

  /** milter8_abort(): forget the current message. */
  abort(): void {
    if (this.state === State.ENVELOPE || this.state === State.MESSAGE || this.state === State.ACCEPT_MSG) {
      this.write(SMFIC.ABORT);
      if ((this.state as State) !== State.ERROR) this.state = State.ENVELOPE;
    }
  }

  /** milter8_disc_event(): the client went away; QUIT unless the filter already decided for the connection. */
  discEvent(): void {
    if (this.state === State.CLOSED || this.state === State.READY) return;
    if (this.state === State.ENVELOPE || this.state === State.MESSAGE || this.state === State.ACCEPT_MSG) this.write(SMFIC.QUIT);
    this.closeStream();
    this.setDefReply(undefined);
  }

  /** milter8_close_stream(). */
  private closeStream(): void {
    const s = this.socket;
    this.socket = undefined;
    this.reader = undefined;
    if (s) s.end(() => s.destroy());
    this.state = State.CLOSED;
  }

  /** Release the socket (milter8_free). */
  close(): void {
    this.closeStream();
  }

  /** milter_active(): still wants events. */
  active(): boolean {
    return this.socket !== undefined && (this.state === State.ENVELOPE || this.state === State.READY);
  }

  /**
   * milter8_message(): headers, end of headers, body chunks and end of
   * message, from the queue file's content records.
   */
  async message(
    content: readonly ContentRecord[],
    eohMacros: MacroList,
    eodMacros: MacroList,
    autoHdrs: readonly string[],
    edits: MilterEdits,
  ): Promise<string | undefined> {
    if (this.state !== State.ENVELOPE) return this.defReply;
    this.state = State.MESSAGE;
    this.timeout = this.o.msgTimeout;
    let resp: string | undefined;
    const done = () => (this.state as State) !== State.MESSAGE || resp !== undefined;
    try {
      const autoDone = new Set<number>();
      // Header block: logical headers; record i ended it (our first body line).
      const { headers, end: i } = splitHeaders(content);
      for (const h of headers) {
        if (done()) break;
        const ai = autoHdrs.findIndex((a, n) => !autoDone.has(n) && a === h);
        if (ai >= 0) {
          autoDone.add(ai);
          continue;
        }
        if (this.evMask & SMFIP.NOHDRS) continue;
        let p = headerLabelLength(h);
        const name = h.slice(0, p).replace(/[ \t]+$/, '');
        while (h[p] === ' ' || h[p] === '\t') p++;
        p++; // the colon
        if (!(this.evMask & SMFIP.HDR_LEADSPC) && h[p] === ' ') p++;
        resp = await this.event(SMFIC.HEADER, SMFIP.NOHDRS, (this.evMask & SMFIP.NR_HDR) !== 0, eohMacros, [str(name), str(h.slice(p))]);
      }
      if (!done() && !(this.evMask & SMFIP.NOEOH)) {
        resp = await this.event(SMFIC.EOH, SMFIP.NOEOH, (this.evMask & SMFIP.NR_EOH) !== 0, eohMacros, []);
      }
      // Body: everything after the first body line (our header/body separator), CRLF per record.
      let body: Buffer[] = [];
      let bodyLen = 0;
      const skipBodyReply = (this.evMask & SMFIP.NR_BODY) !== 0;
      const flush = async () => {
        resp = await this.event(SMFIC.BODY, SMFIP.NOBODY, skipBodyReply, eodMacros, [raw(Buffer.concat(body))]);
        body = [];
        bodyLen = 0;
      };
      if (!(this.evMask & SMFIP.NOBODY)) {
        // Record i ended the header block: our first body line, not shown to filters.
        for (let n = i + 1; n < content.length && !done(); n++) {
          const [type, data] = content[n];
          let chunk = Buffer.from(type === 'N' ? `${data}\r\n` : data, 'latin1');
          while (chunk.length > 0 && !done()) {
            const space = CHUNK_SIZE - bodyLen;
            const part = chunk.subarray(0, space);
            body.push(part);
            bodyLen += part.length;
            chunk = chunk.subarray(part.length);
            if (bodyLen === CHUNK_SIZE) await flush();
          }
        }
      }
      if (!done()) {
        if (bodyLen > 0) await flush();
        if (!done()) resp = await this.event(SMFIC.BODYEOB, 0, false, eodMacros, [], edits);
      }
    } finally {
      this.timeout = this.o.cmdTimeout;
      if ((this.state as State) === State.MESSAGE || (this.state as State) === State.ACCEPT_MSG) this.state = State.ENVELOPE;
    }
    return resp;
  }
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function softBounceLine(line: string): string {
  if (line[0] !== '5') return line;
  return `4${line.slice(1, 4)}${line[4] === '5' ? '4' : (line[4] ?? '')}${line.slice(5)}`;
}

function ioText(e: unknown): string {
  if (e instanceof MilterIoError) return e.message;
  return errnoText(e);
}

/**
 * The logical headers at the start of the content (continued records and
 * folded lines joined with "\n") and the index of the record that ended them.
 */
export function splitHeaders(content: readonly ContentRecord[]): { headers: string[]; end: number } {
  const headers: string[] = [];
  let cur: string | undefined;
  let pending = '';
  let i = 0;
  for (; i < content.length; i++) {
    const [type, data] = content[i];
    const line = pending + data;
    if (type === 'L') {
      pending = line;
      continue;
    }
    pending = '';
    if (cur !== undefined && (line[0] === ' ' || line[0] === '\t')) {
      cur += `\n${line}`;
      continue;
    }
    if (cur !== undefined) headers.push(cur);
    cur = undefined;
    if (headerLabelLength(line) > 0) {
      cur = line;
      continue;
    }
    break;
  }
  if (cur !== undefined) headers.push(cur);
  return { headers, end: i };
}

/** is_header(): length of the header label ("Name" before optional blanks and ":"), 0 if none. */
export function headerLabelLength(line: string): number {
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 58) return i; // ":" (i is 0 for a line starting with ":")
    if (c === 32 || c === 9) {
      let j = i;
      while (line[j] === ' ' || line[j] === '\t') j++;
      return line[j] === ':' && i > 0 ? i : 0;
    }
    if (c <= 32 || c >= 127) return 0;
  }
  return 0;
}

/** Connect a unix or TCP socket with a timeout (seconds). */
function openSocket(target: { path: string } | { host: string; port: number }, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(target as never);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' }));
    }, timeout * 1000);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
