/**
 * delivery/pipe/pipe.ts: pipe(8), delivery to an external command named
 * in master.cf (pipe/pipe.c):
 *
 *   dovecot unix - n n - - pipe flags=DRhu user=vmail:vmail
 *     argv=/usr/lib/dovecot/dovecot-lda -f ${sender} -d ${recipient}
 *
 * Attributes: flags= (D Delivered-To, O X-Original-To, R Return-Path,
 * F From_ line, h/u fold domain/user case, . dot-stuff, > quote From_,
 * B blank line at the end, q quote addresses), user=name[:group],
 * size=limit, null_sender=, directory=, eol= (default \n).
 * argv macros: ${sender} ${recipient} ${original_recipient} ${nexthop}
 * ${user} ${extension} ${domain} ${mailbox} ${size} ${queue_id}
 * ${client_address} ${client_hostname} ${client_helo} ${client_protocol}
 * ${sasl_method} ${sasl_username} ${sasl_sender}. An argument that is
 * exactly a recipient macro becomes one argument per recipient.
 * Success: "status=sent (delivered via SERVICE service)"; failures as in
 * command.ts.
 */
import { quote822Local } from '../../maps/address.js';
import { getgrnam, getpwnam } from '../../util/passwd.js';
import type { AgentContext } from '../agent.js';
import { runCommand } from '../command.js';
import { MailCopy, mailCopyChunks } from '../mail-copy.js';
import type { AgentResult, DeliveryAgent, DeliveryRequest, Recipient } from '../types.js';

interface PipeAttrs {
  flags: string;
  user: string;
  argv: string[];
  size: number;
  nullSender: string;
  directory: string;
  eol: string;
}

const RCPT_MACROS = new Set(['recipient', 'original_recipient', 'user', 'extension', 'domain', 'mailbox']);

export function parsePipeArgs(args: string[]): PipeAttrs {
  const a: PipeAttrs = { flags: '', user: '', argv: [], size: 0, nullSender: 'MAILER-DAEMON', directory: '', eol: '\n' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('argv=')) {
      a.argv = [arg.slice(5), ...args.slice(i + 1)].filter((x) => x !== '');
      break;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? '' : arg.slice(eq + 1);
    if (name === 'flags') a.flags = value;
    else if (name === 'user') a.user = value;
    else if (name === 'size') a.size = Number(value) || 0;
    else if (name === 'null_sender') a.nullSender = value;
    else if (name === 'directory') a.directory = value;
    else if (name === 'eol') a.eol = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
  }
  return a;
}

export class PipeAgent implements DeliveryAgent {
  private constructor(
    private readonly ctx: AgentContext,
    private readonly attrs: PipeAttrs,
  ) {}

  static async create(ctx: AgentContext): Promise<PipeAgent> {
    return new PipeAgent(ctx, parsePipeArgs(ctx.args));
  }

  private split(addr: string) {
    const at = addr.lastIndexOf('@');
    const local = at >= 0 ? addr.slice(0, at) : addr;
    let domain = at >= 0 ? addr.slice(at + 1) : '';
    const delims = this.ctx.cfg.get('recipient_delimiter');
    let user = local;
    let extension = '';
    if (delims !== '') {
      for (let i = 1; i < local.length; i++) {
        if (delims.includes(local[i]!)) {
          user = local.slice(0, i);
          extension = local.slice(i + 1);
          break;
        }
      }
    }
    if (this.attrs.flags.includes('u')) user = user.toLowerCase();
    if (this.attrs.flags.includes('h')) domain = domain.toLowerCase();
    return { user, extension, domain, mailbox: local };
  }

  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    const a = this.attrs;
    const relay = this.ctx.service;
    if (a.argv.length === 0) {
      this.ctx.log.warn('missing argv= attribute');
      for (const r of req.recipients) await req.status.defer(r, relay, { status: '4.3.5', reason: 'mail system configuration error' });
      return {};
    }
    if (a.size > 0 && req.dataSize > a.size) {
      for (const r of req.recipients) await req.status.bounce(r, relay, { status: '5.2.3', reason: 'message too large' });
      return {};
    }
    const q = (s: string) => (a.flags.includes('q') ? quote822Local(s) : s);
    const sender = req.sender === '' ? a.nullSender : req.sender;
    const scalar = (name: string): string | undefined => {
      switch (name) {
        case 'sender':
          return q(sender);
        case 'nexthop':
          return req.nexthop;
        case 'size':
          return String(req.dataSize);
        case 'queue_id':
          return req.queueId;
        case 'client_address':
          return req.attrs.get('log_client_address') ?? req.attrs.get('client_address') ?? '';
        case 'client_hostname':
          return req.attrs.get('log_client_name') ?? req.attrs.get('client_name') ?? '';
        case 'client_helo':
          return req.attrs.get('log_helo_name') ?? '';
        case 'client_protocol':
          return req.attrs.get('log_protocol_name') ?? '';
        case 'sasl_method':
        case 'sasl_username':
        case 'sasl_sender':
          return req.attrs.get(name) ?? '';
        default:
          return undefined;
      }
    };
    const perRcpt = (name: string, r: Recipient): string => {
      const p = this.split(r.address);
      switch (name) {
        case 'recipient':
          return q(r.address);
        case 'original_recipient':
          return q(r.origAddr || r.address);
        case 'user':
          return p.user;
        case 'extension':
          return p.extension;
        case 'domain':
          return p.domain;
        default:
          return p.mailbox;
      }
    };
    const expand = (text: string, r: Recipient | undefined) =>
      text.replace(/\$\{([a-z_]+)\}|\$([a-z_]+)/g, (m, b1: string, b2: string) => {
        const name = b1 ?? b2;
        if (RCPT_MACROS.has(name)) return r ? perRcpt(name, r) : m;
        return scalar(name) ?? m;
      });
    const argv: string[] = [];
    for (const arg of a.argv) {
      const m = /^\$\{?([a-z_]+)\}?$/.exec(arg);
      if (m && RCPT_MACROS.has(m[1]!)) for (const r of req.recipients) argv.push(perRcpt(m[1]!, r));
      else argv.push(expand(arg, req.recipients[0]));
    }
    let flags = 0;
    if (a.flags.includes('F')) flags |= MailCopy.FROM;
    if (a.flags.includes('R')) flags |= MailCopy.RETURN_PATH;
    if (a.flags.includes('D')) flags |= MailCopy.DELIVERED;
    if (a.flags.includes('O')) flags |= MailCopy.ORIG_RCPT;
    if (a.flags.includes('.')) flags |= MailCopy.DOT;
    if (a.flags.includes('>')) flags |= MailCopy.QUOTE;
    if (a.flags.includes('B')) flags |= MailCopy.BLANK;
    const first = req.recipients[0]!;
    const input = Buffer.from(
      mailCopyChunks(req.content, flags, { sender: req.sender, origRcpt: first.origAddr, delivered: first.address }, a.eol).join(''),
      'latin1',
    );
    const [uname, gname] = a.user.split(':');
    const pw = uname ? getpwnam(uname) : undefined;
    if (a.user !== '' && !pw) {
      this.ctx.log.warn(`user= command-line attribute specifies unknown user: ${uname}`);
      for (const r of req.recipients) await req.status.defer(r, relay, { status: '4.3.5', reason: 'mail system configuration error' });
      return {};
    }
    const gid = gname ? (getgrnam(gname)?.gid ?? pw?.gid) : pw?.gid;
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const res = await runCommand({
      argv,
      input,
      env: { PATH: '/usr/bin:/bin', SHELL: '/bin/sh', ...(pw ? { HOME: pw.dir, LOGNAME: pw.name, USER: pw.name } : {}) },
      uid: root && pw ? pw.uid : undefined,
      gid: root && pw ? gid : undefined,
      cwd: a.directory || undefined,
      timeLimitMs: Math.max(1, this.ctx.cfg.time('command_time_limit')) * 1000,
    });
    for (const r of req.recipients) {
      if (res.ok) await req.status.sent(r, relay, { status: '2.0.0', reason: `delivered via ${relay} service${res.reason ? ` (${res.reason})` : ''}` });
      else if (res.status[0] === '4') await req.status.defer(r, relay, { status: res.status, reason: res.reason });
      else await req.status.bounce(r, relay, { status: res.status, reason: res.reason });
    }
    return {};
  }
}
