/**
 * delivery/smtp/smtp.ts: the smtp(8) and lmtp(8) delivery agents
 * (smtp_connect.c, smtp_proto.c, smtp_trouble.c, smtp_rcpt.c).
 *
 * For a request (one nexthop, a batch of recipients) the agent walks the
 * destination list (then smtp_fallback_relay), resolves each destination
 * (dest.ts) and tries the addresses in order:
 *
 *   connect           "connect to HOST[ADDR]:PORT: Connection refused" (logged,
 *                     next address; when none answers, all recipients are
 *                     deferred with the last such text, relay=none, 4.4.1)
 *   220 greeting      else "host H[A] refused to talk to me: 554 ..."
 *   EHLO / LHLO       (HELO when EHLO is refused) PIPELINING SIZE 8BITMIME
 *                     DSN STARTTLS AUTH SMTPUTF8
 *   STARTTLS          smtp_tls_security_level may/encrypt/verify/secure
 *                     ("TLS is required, but was not offered by host ...")
 *   AUTH              smtp_sasl_auth_enable + smtp_sasl_password_maps
 *   MAIL, RCPT, DATA  pipelined when the server offers PIPELINING; SIZE=,
 *                     BODY=8BITMIME, RET=, ENVID=, NOTIFY=, ORCPT=
 *   message           CRLF lines, dot-stuffed; "." ; QUIT
 *
 * Each recipient is reported with the server's words: "status=sent (250
 * 2.0.0 Ok: queued as X)", "host H[A] said: 550 5.1.1 ... (in reply to
 * RCPT TO command)", "lost connection with H[A] while sending message
 * body". A soft failure on any server but the last moves on to the next
 * one ("ID: host ... said: ..." is logged). Failures of the whole
 * destination (no connection, greeting refused, lost connection, TLS or
 * SASL trouble) are returned as a site failure so the queue manager can
 * throttle the destination.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { MapList } from '../../maps/query.js';
import { DictFlag } from '../../maps/types.js';
import { quote822Local } from '../../maps/address.js';
import type { AgentContext } from '../agent.js';
import { type AgentResult, type DeliveryAgent, type DeliveryRequest, type Dsn, DsnNotify, type MsgStats, type Recipient, timeVal } from '../types.js';
import { ConnError, SmtpConn, type SmtpReply } from './conn.js';
import { type Destination, parseDestination, resolveDestination, splitDestinations, type Target } from './dest.js';
import { type DnsResolver, SystemResolver } from './dns.js';
import { authenticate, chooseMechanisms, lookupPassword } from './sasl.js';
import { ContentLookupError, SmtpContent } from './content.js';
import { type CachedSession, SessionCache } from './scache.js';

interface Features {
  pipelining: boolean;
  size: number | undefined;
  eightbit: boolean;
  dsn: boolean;
  starttls: boolean;
  auth: string[] | undefined;
  smtputf8: boolean;
}

/** What went wrong with a whole session. */
class SessionFail extends Error {
  constructor(
    readonly dsn: Dsn,
    /** The destination itself is at fault (qmgr throttles it). */
    readonly throttle: boolean,
  ) {
    super(dsn.reason);
  }
}

const xtext = (s: string, special = '') =>
  s.replace(/[\x00-\x20+=\x7f-\xff]/g, (c) => (c === ' ' || c === '+' || c === '=' || special.includes(c) || c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e ? `+${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c));

export class SmtpAgent implements DeliveryAgent {
  private readonly p: string;
  private readonly cache = new SessionCache<Features>();
  private constructor(
    private readonly ctx: AgentContext,
    private readonly lmtp: boolean,
    private readonly dns: DnsResolver,
    private readonly saslMaps: MapList | undefined,
    private readonly content: SmtpContent | undefined,
  ) {
    this.p = lmtp ? 'lmtp_' : 'smtp_';
  }

  static async create(ctx: AgentContext, lmtp: boolean): Promise<SmtpAgent> {
    const p = lmtp ? 'lmtp_' : 'smtp_';
    let sasl: MapList | undefined;
    const cfg = ctx.cfg;
    if (cfg.bool(`${p}sasl_auth_enable`) && cfg.get(`${p}sasl_password_maps`).trim() !== '') {
      sasl = await MapList.open(`${p}sasl_password_maps`, cfg.get(`${p}sasl_password_maps`), {
        mode: 'read',
        dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
        param: (n) => cfg.get(n) || undefined,
        surrogate: true,
      });
    }
    const content = await SmtpContent.open(cfg, p);
    return new SmtpAgent(ctx, lmtp, ctx.resolver ?? new SystemResolver(), sasl, content);
  }

  async close(): Promise<void> {
    this.cache.closeAll((c) => this.quit(c));
    await this.saslMaps?.close();
    await this.content?.close();
  }

  private param(name: string): string {
    return this.ctx.cfg.get(`${this.p}${name}`);
  }
  /** A *_timeout parameter in ms; 0 (lmtp_connect_timeout's default) means no limit. */
  private timeMs(name: string, dflt: number): number {
    const v = this.param(name);
    let sec = dflt;
    if (v !== '') {
      try {
        sec = this.ctx.cfg.time(`${this.p}${name}`);
      } catch {
        sec = dflt;
      }
    }
    return sec > 0 ? sec * 1000 : 2_147_000_000;
  }
  private flag(name: string): boolean {
    try {
      return this.ctx.cfg.bool(`${this.p}${name}`);
    } catch {
      return false;
    }
  }

  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    const cfg = this.ctx.cfg;
    const defPort = this.lmtp ? 24 : 25;
    const families: Array<4 | 6> = [];
    const protos = cfg.get('inet_protocols').toLowerCase();
    if (protos.includes('all') || protos.includes('ipv4')) families.push(4);
    if (protos.includes('all') || protos.includes('ipv6')) families.push(6);
    if (families.length === 0) families.push(4);
    const dests: Destination[] = splitDestinations(req.nexthop).map((d) => parseDestination(d, defPort, this.lmtp));
    if (!this.lmtp) {
      for (const f of splitDestinations(cfg.get('smtp_fallback_relay'))) dests.push(parseDestination(f, defPort, false));
    }
    // Recipients still to be reported.
    let left = [...req.recipients];
    // A cached session for this nexthop first (smtp_connection_cache_on_demand, _destinations).
    const listed = new Set(
      this.param('connection_cache_destinations')
        .toLowerCase()
        .split(/[\s,]+/)
        .filter(Boolean),
    );
    const inList = (d: Destination) => listed.has(d.text.toLowerCase());
    const onDemand = this.flag('connection_cache_on_demand');
    const label = `${req.transport}:${req.nexthop}`;
    const storeFor = (d: Destination) => (onDemand && (req.connCache?.store ?? false)) || inList(d);
    if ((onDemand && req.connCache?.load) || dests.some(inList)) {
      const cached = this.cache.take(label);
      if (cached) {
        const stats: MsgStats = { ...req.stats, agentHandoff: req.stats.agentHandoff ?? timeVal(this.ctx.clock()) };
        let ok = false;
        try {
          cached.conn.write('RSET\r\n');
          ok = Math.floor((await cached.conn.reply(this.timeMs('rset_timeout', 20))).code / 100) === 2;
        } catch {
          ok = false;
        }
        if (!ok) cached.conn.close();
        else {
          try {
            left = await this.session(req, cached.conn, cached.dest, cached.target, left, false, stats, {
              cached,
              store: storeFor(cached.dest),
              label,
            });
          } catch (err) {
            cached.conn.close();
            if (!(err instanceof SessionFail)) throw err;
          }
          if (left.length === 0) return {};
        }
      }
    }
    let lastDsn: Dsn | undefined;
    let lastThrottle = true;
    let connected = false;
    // Flatten (destination, target) pairs lazily: the last one is the "final server".
    const plan: Array<{ dest: Destination; targets?: Target[]; error?: Dsn }> = [];
    for (const d of dests) {
      const r = await resolveDestination(d, this.dns, families);
      plan.push('error' in r ? { dest: d, error: r.error } : { dest: d, targets: r.targets });
    }
    const all: Array<{ dest: Destination; target: Target }> = [];
    for (const p of plan) for (const t of p.targets ?? []) all.push({ dest: p.dest, target: t });
    if (all.length === 0) {
      // Only lookup errors: the first destination's error decides (smtp_connect_remote).
      const err = plan.find((p) => p.error)?.error ?? { status: '4.4.3', reason: 'no destination' };
      await this.failAll(req, left, err, 'none', req.stats);
      return err.status[0] === '4' ? { siteFailure: err } : {};
    }
    for (let i = 0; i < all.length && left.length > 0; i++) {
      const { dest, target } = all[i]!;
      const final = i === all.length - 1;
      const stats: MsgStats = { ...req.stats, agentHandoff: req.stats.agentHandoff ?? timeVal(this.ctx.clock()) };
      let conn: SmtpConn;
      // smtp_connect_addr()/smtp_connect_unix(): "host[addr]:port", or "myhostname[path]".
      const addrText = target.path !== undefined ? `${cfg.get('myhostname')}[${target.path}]` : `${target.host}[${target.addr}]:${target.port}`;
      try {
        conn = await SmtpConn.open(
          target.path !== undefined ? { path: this.unixPath(target.path) } : { host: target.addr, port: target.port },
          this.timeMs('connect_timeout', 30),
        );
      } catch (err) {
        const code = err instanceof ConnError ? err.code : undefined;
        const text = `connect to ${addrText}: ${errnoText(code, (err as Error).message)}`;
        this.ctx.log.info(text);
        lastDsn = { status: '4.4.1', reason: text };
        lastThrottle = true;
        continue;
      }
      connected = true;
      if (target.path !== undefined) target.host = cfg.get('myhostname');
      try {
        left = await this.session(req, conn, dest, target, left, final, stats, { store: storeFor(dest), label });
        lastDsn = undefined;
      } catch (err) {
        conn.close();
        if (!(err instanceof SessionFail)) throw err;
        lastDsn = err.dsn;
        lastThrottle = err.throttle;
        const namaddrport = target.path !== undefined ? `${target.host}[${target.addr}]` : `${target.host}[${target.addr}]:${target.port}`;
        if (err.dsn.status[0] === '4' && !final) {
          this.ctx.log.info(`${req.queueId}: ${err.dsn.reason}`);
          continue;
        }
        await this.failAll(req, left, err.dsn, namaddrport, stats);
        left = [];
        return err.throttle ? { siteFailure: err.dsn } : {};
      }
    }
    if (left.length > 0 && lastDsn) {
      // No server took the remaining recipients: defer them with the last reason.
      await this.failAll(req, left, lastDsn, 'none', { ...req.stats, agentHandoff: req.stats.agentHandoff });
      if (!connected || lastThrottle) return { siteFailure: lastDsn };
    }
    return {};
  }

  private unixPath(p: string): string {
    return p.startsWith('/') ? p : `${this.ctx.cfg.get('queue_directory')}/${p}`;
  }

  /** smtp_bulk_fail(): the same status for every recipient left. */
  private async failAll(req: DeliveryRequest, rcpts: Recipient[], dsn: Dsn, relay: string, stats: MsgStats): Promise<void> {
    const now = timeVal(this.ctx.clock());
    const st: MsgStats = { ...stats, connSetupDone: stats.connSetupDone ?? (stats.agentHandoff ? now : undefined), deliverDone: now };
    if (!stats.agentHandoff) delete st.connSetupDone;
    for (const r of rcpts) {
      if (dsn.status[0] === '4') await req.status.defer(r, relay, dsn, st);
      else await req.status.bounce(r, relay, dsn, st);
    }
  }

  /** One SMTP/LMTP session; returns the recipients that a next server may still take. */
  private async session(
    req: DeliveryRequest,
    conn: SmtpConn,
    dest: Destination,
    target: Target,
    rcpts: Recipient[],
    final: boolean,
    stats: MsgStats,
    reuse?: { cached?: CachedSession<Features>; store: boolean; label: string },
  ): Promise<Recipient[]> {
    const cfg = this.ctx.cfg;
    const namaddr = `${target.host}[${target.addr}]`;
    const namaddrport = target.path !== undefined ? namaddr : `${namaddr}:${target.port}`;
    const lost = (where: string, err: unknown): never => {
      if (err instanceof ConnError && err.kind === 'timeout') {
        throw new SessionFail({ status: '4.4.2', reason: `conversation with ${namaddr} timed out while ${where}` }, true);
      }
      throw new SessionFail({ status: '4.4.2', reason: `lost connection with ${namaddr} while ${where}` }, true);
    };
    const said = (r: SmtpReply) => r.str.replace(/\n/g, ' ');
    const remote = (r: SmtpReply, reason: string): Dsn => ({
      status: r.dsn,
      reason,
      dtype: 'smtp',
      dtext: said(r),
      mtype: 'dns',
      mname: target.host,
    });
    const read = async (where: string, timeout: number): Promise<SmtpReply> => {
      try {
        return await conn.reply(timeout);
      } catch (err) {
        return lost(where, err);
      }
    };

    // Greeting, EHLO, STARTTLS, AUTH: not again on a reused session.
    const handshake = async (): Promise<Features> => {
      // Greeting.
      let r = await read('receiving the initial server greeting', this.timeMs('helo_timeout', 300));
      if (Math.floor(r.code / 100) !== 2) {
        throw new SessionFail(remote(r, `host ${namaddr} refused to talk to me: ${said(r)}`), true);
      }
      const heloName = this.param('helo_name') || cfg.get('myhostname');
      const hello = async (): Promise<Features> => {
        const verb = this.lmtp ? 'LHLO' : 'EHLO';
        conn.write(`${verb} ${heloName}\r\n`);
        let h = await read(`performing the ${verb} handshake`, this.timeMs('helo_timeout', 300));
        if (Math.floor(h.code / 100) !== 2) {
          if (this.lmtp || Math.floor(h.code / 100) === 4) throw new SessionFail(remote(h, `host ${namaddr} refused to talk to me: ${said(h)}`), true);
          conn.write(`HELO ${heloName}\r\n`);
          h = await read('performing the HELO handshake', this.timeMs('helo_timeout', 300));
          if (Math.floor(h.code / 100) !== 2) throw new SessionFail(remote(h, `host ${namaddr} refused to talk to me: ${said(h)}`), true);
          return { pipelining: false, size: undefined, eightbit: false, dsn: false, starttls: false, auth: undefined, smtputf8: false };
        }
        const f: Features = { pipelining: false, size: undefined, eightbit: false, dsn: false, starttls: false, auth: undefined, smtputf8: false };
        for (const line of h.lines.slice(1)) {
          const words = line.slice(4).trim().split(/[\s=]+/);
          const kw = (words[0] ?? '').toUpperCase();
          if (kw === 'PIPELINING') f.pipelining = true;
          else if (kw === 'SIZE') f.size = words[1] ? Number(words[1]) : 0;
          else if (kw === '8BITMIME') f.eightbit = true;
          else if (kw === 'DSN') f.dsn = true;
          else if (kw === 'STARTTLS') f.starttls = true;
          else if (kw === 'SMTPUTF8') f.smtputf8 = true;
          else if (kw === 'AUTH') f.auth = [...(f.auth ?? []), ...words.slice(1).map((w) => w.toUpperCase())];
        }
        return f;
      };
      let features = await hello();

      // STARTTLS.
      const level = this.tlsLevel();
      let tls: TLSSocket | undefined;
      if (level !== 'none' && features.starttls) {
        conn.write('STARTTLS\r\n');
        r = await read('receiving the STARTTLS response', this.timeMs('starttls_timeout', 300));
        if (r.code === 220) {
          const verify = level === 'verify' || level === 'secure';
          try {
            tls = await conn.startTls(this.tlsOptions(target, verify), this.timeMs('starttls_timeout', 300));
          } catch {
            throw new SessionFail({ status: '4.7.5', reason: 'Cannot start TLS: handshake failure' }, true);
          }
          if (verify && !tls.authorized) {
            throw new SessionFail({ status: '4.7.5', reason: `Server certificate not verified` }, true);
          }
          this.logTls(tls, namaddrport, verify);
          features = await hello();
        } else if (level !== 'may') {
          throw new SessionFail(remote(r, `TLS is required, but host ${namaddr} refused to start TLS: ${said(r)}`), true);
        }
      } else if (level === 'encrypt' || level === 'verify' || level === 'secure' || level === 'dane-only' || level === 'fingerprint') {
        throw new SessionFail({ status: '4.7.4', reason: `TLS is required, but was not offered by host ${namaddr}` }, true);
      }

      // AUTH.
      if (this.flag('sasl_auth_enable') && this.saslMaps && features.auth) {
        const cred = await lookupPassword(this.saslMaps, {
          sender: req.sender,
          senderDependent: cfg.bool('smtp_sender_dependent_authentication'),
          host: target.host,
          dest: dest.text,
          recipientDelimiter: cfg.get('recipient_delimiter'),
          lmtp: this.lmtp,
        });
        if (cred) {
          const opts = tls ? this.param('sasl_tls_security_options') : this.param('sasl_security_options');
          const mechs = chooseMechanisms(features.auth, opts, this.param('sasl_mechanism_filter'));
          let res: Awaited<ReturnType<typeof authenticate>>;
          try {
            res = await authenticate(conn, mechs, cred, namaddr, this.flag('sasl_auth_soft_bounce'), this.timeMs('helo_timeout', 300));
          } catch (err) {
            return lost('performing the AUTH handshake', err);
          }
          if (!res.ok) {
            const dsn: Dsn = res.reply
              ? { status: res.status, reason: res.reason, dtype: 'smtp', dtext: said(res.reply), mtype: 'dns', mname: target.host }
              : { status: res.status, reason: res.reason };
            throw new SessionFail(dsn, true);
          }
        }
      }
      return features;
    };
    let features: Features;
    if (reuse?.cached) {
      features = reuse.cached.features;
      stats.reuseCount = reuse.cached.reuseCount;
    } else features = await handshake();

    // The mail transaction.
    stats.connSetupDone = timeVal(this.ctx.clock());
    if (features.size !== undefined && features.size > 0 && req.dataSize > features.size) {
      const dsn: Dsn = {
        status: '5.3.4',
        reason: `message size ${req.dataSize} exceeds size limit ${features.size} of server ${namaddr}`,
      };
      for (const rc of rcpts) await req.status.bounce(rc, namaddrport, dsn, { ...stats, deliverDone: timeVal(this.ctx.clock()) });
      this.quit(conn);
      return [];
    }
    // smtp_generic_maps and the smtp_*_checks, applied once per transaction.
    let sender = req.sender;
    const rcptAddr = new Map<Recipient, string>();
    let body: Array<[number, string]> | undefined;
    if (this.content) {
      try {
        sender = await this.content.mapAddress(req.sender);
        if (this.content.mapsAddresses) for (const rc of rcpts) rcptAddr.set(rc, await this.content.mapAddress(rc.address));
        body = await this.content.rewrite(req.content.records(), req.queueId, this.ctx.log);
      } catch (err) {
        if (!(err instanceof ContentLookupError)) throw err;
        this.ctx.log.warn(`${req.queueId}: ${err.message}`);
        this.quit(conn);
        throw new SessionFail({ status: '4.3.0', reason: 'mail transport unavailable' }, false);
      }
    }
    let mail = `MAIL FROM:<${quote822Local(sender)}>`;
    if (features.size !== undefined) mail += ` SIZE=${req.dataSize}`;
    if (features.eightbit) {
      if (req.encoding === '8bit') mail += ' BODY=8BITMIME';
      else if (req.encoding === '7bit') mail += ' BODY=7BIT';
    }
    if (features.dsn) {
      if (req.dsnEnvid !== '') mail += ` ENVID=${xtext(req.dsnEnvid)}`;
      if (req.dsnRet) mail += ` RET=${req.dsnRet === 1 ? 'FULL' : 'HDRS'}`;
    }
    if (features.smtputf8 && req.smtputf8 & 1) mail += ' SMTPUTF8';
    const rcptCmd = (rc: Recipient): string => {
      let c = `RCPT TO:<${quote822Local(rcptAddr.get(rc) ?? rc.address)}>`;
      if (features.dsn) {
        if (rc.dsnNotify) {
          const n = rc.dsnNotify & DsnNotify.NEVER ? 'NEVER' : [
            rc.dsnNotify & DsnNotify.SUCCESS ? 'SUCCESS' : '',
            rc.dsnNotify & DsnNotify.FAILURE ? 'FAILURE' : '',
            rc.dsnNotify & DsnNotify.DELAY ? 'DELAY' : '',
          ].filter(Boolean).join(',');
          c += ` NOTIFY=${n}`;
        }
        if (rc.dsnOrcpt !== '') {
          const semi = rc.dsnOrcpt.indexOf(';');
          c += ` ORCPT=${rc.dsnOrcpt.slice(0, semi)};${xtext(rc.dsnOrcpt.slice(semi + 1))}`;
        } else if (rc.origAddr !== '') c += ` ORCPT=rfc822;${xtext(quote822Local(rc.origAddr))}`;
      }
      return c;
    };
    const mailTimeout = this.timeMs('mail_timeout', 300);
    const rcptTimeout = this.timeMs('rcpt_timeout', 300);
    const dataTimeout = this.timeMs('data_init_timeout', 120);
    const keep: Recipient[] = [];
    const survivors: Recipient[] = [];
    let mailOk = true;
    const rcptResult = async (rc: Recipient, rr: SmtpReply) => {
      if (Math.floor(rr.code / 100) === 2) {
        survivors.push(rc);
        return;
      }
      const soft = Math.floor(rr.code / 100) !== 5;
      if (soft && !final) {
        keep.push(rc);
        return;
      }
      const dsn = remote(rr, `host ${namaddr} said: ${said(rr)} (in reply to RCPT TO command)`);
      const st = { ...stats, deliverDone: timeVal(this.ctx.clock()) };
      if (soft) await req.status.defer(rc, namaddrport, dsn, st);
      else await req.status.bounce(rc, namaddrport, dsn, st);
    };
    const mailFail = async (rr: SmtpReply, what: string, list: Recipient[]) => {
      const dsn = remote(rr, `host ${namaddr} said: ${said(rr)} (in reply to ${what})`);
      const soft = Math.floor(rr.code / 100) !== 5;
      if (soft && !final) {
        keep.push(...list);
        return;
      }
      const st = { ...stats, deliverDone: timeVal(this.ctx.clock()) };
      for (const rc of list) {
        if (soft) await req.status.defer(rc, namaddrport, dsn, st);
        else await req.status.bounce(rc, namaddrport, dsn, st);
      }
    };
    let dataReply: SmtpReply | undefined;
    if (features.pipelining) {
      conn.write(`${[mail, ...rcpts.map(rcptCmd), 'DATA'].join('\r\n')}\r\n`);
      const mr = await read('sending MAIL FROM', mailTimeout);
      if (Math.floor(mr.code / 100) !== 2) {
        mailOk = false;
        await mailFail(mr, 'MAIL FROM command', rcpts);
      }
      for (const rc of rcpts) {
        const rr = await read('sending RCPT TO', rcptTimeout);
        if (mailOk) await rcptResult(rc, rr);
      }
      dataReply = await read('sending DATA command', dataTimeout);
    } else {
      conn.write(`${mail}\r\n`);
      const mr = await read('sending MAIL FROM', mailTimeout);
      if (Math.floor(mr.code / 100) !== 2) {
        mailOk = false;
        await mailFail(mr, 'MAIL FROM command', rcpts);
      } else {
        for (const rc of rcpts) {
          conn.write(`${rcptCmd(rc)}\r\n`);
          await rcptResult(rc, await read('sending RCPT TO', rcptTimeout));
        }
        if (survivors.length > 0) {
          conn.write('DATA\r\n');
          dataReply = await read('sending DATA command', dataTimeout);
        }
      }
    }
    if (!mailOk || survivors.length === 0) {
      this.quit(conn);
      return keep;
    }
    if (dataReply?.code !== 354) {
      if (dataReply) await mailFail(dataReply, 'DATA command', survivors);
      this.quit(conn);
      return keep;
    }
    // The message.
    try {
      await this.sendBody(conn, body ?? req.content.records());
    } catch (err) {
      return lost('sending message body', err);
    }
    const doneTimeout = this.timeMs('data_done_timeout', 600);
    const where = 'sending end of data -- message may be sent more than once';
    if (!this.lmtp) {
      const dr = await read(where, doneTimeout);
      const now = timeVal(this.ctx.clock());
      if (Math.floor(dr.code / 100) !== 2) await mailFail(dr, 'end of DATA command', survivors);
      else {
        for (const rc of survivors) {
          await req.status.sent(rc, namaddrport, { ...remote(dr, said(dr)), action: features.dsn ? 'relayed' : 'relayed' }, { ...stats, deliverDone: now });
        }
      }
    } else {
      for (const rc of survivors) {
        const dr = await read(where, doneTimeout);
        const now = timeVal(this.ctx.clock());
        const st = { ...stats, deliverDone: now };
        if (Math.floor(dr.code / 100) === 2) await req.status.sent(rc, namaddrport, { ...remote(dr, said(dr)), action: 'delivered' }, st);
        else {
          const dsn = remote(dr, `host ${namaddr} said: ${said(dr)} (in reply to end of DATA command)`);
          if (Math.floor(dr.code / 100) === 5) await req.status.bounce(rc, namaddrport, dsn, st);
          else await req.status.defer(rc, namaddrport, dsn, st);
        }
      }
    }
    this.release(conn, dest, target, features, stats, reuse);
    return keep;
  }

  /** After a transaction: into the connection cache when wanted and not expired, else QUIT. */
  private release(
    conn: SmtpConn,
    dest: Destination,
    target: Target,
    features: Features,
    stats: MsgStats,
    reuse: { cached?: CachedSession<Features>; store: boolean; label: string } | undefined,
  ): void {
    const now = this.ctx.clock();
    const born = reuse?.cached?.born ?? now;
    const uses = stats.reuseCount + 1;
    const countLimit = Number.parseInt(this.param('connection_reuse_count_limit'), 10) || 0;
    const expired = now - born >= this.timeMs('connection_reuse_time_limit', 300) || (countLimit > 0 && uses >= countLimit);
    if (!reuse?.store || expired || !conn.alive) {
      this.quit(conn);
      return;
    }
    const s: CachedSession<Features> = { conn, dest, target, features, reuseCount: uses, born };
    this.cache.put(reuse.label, s, this.timeMs('connection_cache_time_limit', 2), (c) => this.quit(c));
  }

  private quit(conn: SmtpConn): void {
    conn.write('QUIT\r\n');
    // Do not wait for the QUIT reply (smtp_skip_quit_response = yes).
    setTimeout(() => conn.close(), 50).unref();
  }

  /** The message content, CRLF, dot-stuffed, then ".". */
  private async sendBody(conn: SmtpConn, records: Iterable<[number, string]>): Promise<void> {
    const chunks: string[] = [];
    let size = 0;
    let prevNorm = true;
    for (const [type, data] of records) {
      if (prevNorm && data.startsWith('.')) chunks.push('.');
      chunks.push(data);
      size += data.length;
      if (type === 0x4e) {
        chunks.push('\r\n');
        prevNorm = true;
      } else prevNorm = false;
      if (size > 64 * 1024) {
        await conn.writeAsync(chunks.join(''));
        chunks.length = 0;
        size = 0;
      }
    }
    if (!prevNorm) chunks.push('\r\n');
    chunks.push('.\r\n');
    await conn.writeAsync(chunks.join(''));
  }

  private tlsLevel(): string {
    const v = this.param('tls_security_level').toLowerCase();
    if (v !== '') return v;
    if (this.flag('enforce_tls')) return this.flag('tls_enforce_peername') ? 'verify' : 'encrypt';
    if (this.flag('use_tls')) return 'may';
    return 'none';
  }

  private tlsOptions(target: Target, verify: boolean) {
    const ca: Buffer[] = [];
    const caFile = this.param('tls_CAfile');
    if (caFile) {
      try {
        ca.push(readFileSync(caFile));
      } catch {
        /* unreadable CA file: verification fails */
      }
    }
    const servername = /^[\d.]+$|:/.test(target.host) ? undefined : target.host;
    return {
      rejectUnauthorized: false,
      servername,
      ca: ca.length > 0 ? ca : undefined,
      checkServerIdentity: verify ? undefined : () => undefined,
    };
  }

  /** tls_client_start()'s log line. */
  private logTls(tls: TLSSocket, namaddrport: string, verify: boolean): void {
    const cipher = tls.getCipher();
    const bits = (cipher as { standardName?: string; version?: string } & { bits?: number }).bits;
    const trust = tls.authorized ? (verify ? 'Verified' : 'Trusted') : tls.getPeerCertificate() ? 'Untrusted' : 'Anonymous';
    const size = bits ?? (/256/.test(cipher.name) ? 256 : 128);
    this.ctx.log.info(`${trust} TLS connection established to ${namaddrport}: ${tls.getProtocol()} with cipher ${cipher.standardName ?? cipher.name} (${size}/${size} bits)`);
  }
}

/** strerror() texts for connect errors. */
function errnoText(code: string | undefined, fallback: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    case 'ECONNRESET':
      return 'Connection reset by peer';
    default:
      return fallback;
  }
}
