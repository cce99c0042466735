/**
 * delivery/local/local.ts: local(8), delivery for $mydestination
 * (local/local.c, recipient.c, alias.c, dotforward.c, mailbox.c,
 * command.c, file.c, forward.c).
 *
 * For recipient user+ext@domain (lookup key: the local part, lower case):
 *   1. "Delivered-To: <rcpt>" already in the message: bounce 5.4.6
 *      "mail forwarding loop for <rcpt>";
 *   2. alias_maps: "user+ext", then "user"; the value is a list of
 *      addresses (forwarded: one new message through cleanup with a
 *      "Delivered-To:" header, "status=sent (forwarded as NEWID)"; the
 *      sender becomes owner-user when that alias exists), "/file" (mbox,
 *      or Maildir when it ends in '/'), "|command", ":include:/file";
 *      a name that lists itself is delivered to its own mailbox;
 *   3. $home/.forward (forward_path's plain forms) with the same syntax;
 *   4. mailbox_command, else home_mailbox under the home directory, else
 *      mail_spool_directory/user (mbox); files are given to the user's
 *      uid/gid when running as root;
 *   5. a user without a passwd entry: luser_relay, or bounce 5.1.1
 *      'unknown user: "user"'.
 * Texts: "delivered to mailbox", "delivered to maildir", "delivered to
 * command: CMD", "delivered to file: PATH", "forwarded as ID".
 */
import { readFile } from 'node:fs/promises';
import type { CleanupService } from '../../cleanup/types.js';
import { CleanupFlag } from '../../cleanup/types.js';
import { MapList } from '../../maps/query.js';
import { DictError, DictFlag } from '../../maps/types.js';
import { getpwnam } from '../../util/passwd.js';
import { Rec } from '../../queue/record.js';
import type { AgentContext } from '../agent.js';
import { runCommand } from '../command.js';
import { MAIL_COPY_MAILDIR, MAIL_COPY_MBOX, MailCopy, mailCopyBuffer } from '../mail-copy.js';
import { type AgentResult, type DeliveryAgent, type DeliveryRequest, type Dsn, type Recipient, timeVal } from '../types.js';
import { writeMaildir, writeMbox } from '../virtual/mailbox.js';

/** Where local(8) resubmits forwarded mail (cleanup, in process). */
export interface ForwardSink {
  cleanup(): Promise<CleanupService>;
}

interface Attr {
  rcpt: Recipient;
  /** The address Delivered-To and loops refer to. */
  delivered: string;
  user: string;
  local: string;
  extension: string;
  domain: string;
  sender: string;
  level: number;
  /** Where this delivery came from: alias, forward, or the user's own mailbox. */
  source: 'alias' | 'forward' | 'mailbox';
}

const MAX_LEVEL = 100;

/** Split an alias value on commas, keeping quoted strings whole. */
export function splitAliasList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') quoted = !quoted;
    if (c === '\\' && i + 1 < value.length) {
      cur += c + value[++i];
      continue;
    }
    if (c === ',' && !quoted) {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

export class LocalAgent implements DeliveryAgent {
  private constructor(
    private readonly ctx: AgentContext,
    private readonly aliases: MapList | undefined,
  ) {}

  static async create(ctx: AgentContext): Promise<LocalAgent> {
    const cfg = ctx.cfg;
    const value = cfg.get('alias_maps');
    let aliases: MapList | undefined;
    if (value.trim() !== '') {
      aliases = await MapList.open('alias_maps', value, {
        mode: 'read',
        dictFlags: DictFlag.LOCK | DictFlag.NO_REGSUB | DictFlag.NO_PROXY | DictFlag.NO_UNAUTH | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
        param: (n) => cfg.get(n) || undefined,
        surrogate: true,
      });
    }
    return new LocalAgent(ctx, aliases);
  }

  async close(): Promise<void> {
    await this.aliases?.close();
  }

  private get relay(): string {
    return this.ctx.service;
  }

  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    for (const rcpt of req.recipients) {
      const r = await this.recipient(req, rcpt);
      if (r.ok) await req.status.sent(rcpt, this.relay, r.dsn);
      else if (r.dsn.status[0] === '4') await req.status.defer(rcpt, this.relay, r.dsn);
      else await req.status.bounce(rcpt, this.relay, r.dsn);
    }
    return {};
  }

  private split(address: string): { local: string; domain: string; user: string; extension: string } {
    const at = address.lastIndexOf('@');
    const local = at >= 0 ? address.slice(0, at) : address;
    const domain = at >= 0 ? address.slice(at + 1) : '';
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
    return { local: local.toLowerCase(), domain, user: user.toLowerCase(), extension };
  }

  /** Postfix's result for one recipient (all the deliveries it fans out to). */
  private async recipient(req: DeliveryRequest, rcpt: Recipient): Promise<{ ok: boolean; dsn: Dsn }> {
    const parts = this.split(rcpt.address);
    const attr: Attr = { rcpt, delivered: rcpt.address, ...parts, sender: req.sender, level: 0, source: 'mailbox' };
    if (this.hasDeliveredTo(req, rcpt.address)) {
      return { ok: false, dsn: { status: '5.4.6', reason: `mail forwarding loop for ${rcpt.address}` } };
    }
    try {
      return await this.deliverUser(req, attr);
    } catch (err) {
      if (err instanceof DictError) {
        this.ctx.log.warn(`table ${err.table}: ${err.message}`);
        return { ok: false, dsn: { status: '4.3.0', reason: `alias database unavailable` } };
      }
      throw err;
    }
  }

  private hasDeliveredTo(req: DeliveryRequest, address: string): boolean {
    const want = `delivered-to: ${address.toLowerCase()}`;
    for (const [, data] of req.content.records()) {
      if (data === '') return false;
      if (data.toLowerCase().replace(/\s+$/, '') === want) return true;
    }
    return false;
  }

  private async deliverUser(req: DeliveryRequest, a: Attr): Promise<{ ok: boolean; dsn: Dsn }> {
    const cfg = this.ctx.cfg;
    // Aliases.
    if (this.aliases && a.level < MAX_LEVEL) {
      let value: string | undefined;
      let key = '';
      for (const k of a.extension !== '' ? [a.local, a.user] : [a.user]) {
        value = await this.aliases.find(k);
        if (value !== undefined) {
          key = k;
          break;
        }
      }
      if (value !== undefined) {
        const owner = await this.aliases.find(`owner-${key}`);
        const sender = owner !== undefined ? this.qualify(`owner-${key}`) : a.sender;
        return this.expand(req, { ...a, sender, source: 'alias' }, splitAliasList(value), key);
      }
    }
    const pw = getpwnam(a.user);
    if (!pw) {
      const luser = cfg.get('luser_relay');
      if (luser !== '') {
        const target = luser.replace(/\$\{?user\}?/g, a.user).replace(/\$\{?local\}?/g, a.local).replace(/\$\{?domain\}?/g, a.domain);
        return this.forward(req, a, [target]);
      }
      return { ok: false, dsn: { status: '5.1.1', reason: `unknown user: "${a.user}"` } };
    }
    // ~/.forward
    if (a.source !== 'forward') {
      const fwd = await readFile(`${pw.dir}/.forward`, 'latin1').catch(() => undefined);
      if (fwd !== undefined) {
        const items = fwd
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
          .flatMap((l) => splitAliasList(l));
        if (items.length > 0) return this.expand(req, { ...a, source: 'forward' }, items, a.user);
      }
    }
    return this.mailbox(req, a, pw);
  }

  private qualify(addr: string): string {
    return this.ctx.rewrite ? this.ctx.rewrite.rewrite('local', addr) : `${addr}@${this.ctx.cfg.get('myorigin')}`;
  }

  /** Deliver to every item of an alias or .forward list; the first failure wins. */
  private async expand(req: DeliveryRequest, a: Attr, items: string[], self: string): Promise<{ ok: boolean; dsn: Dsn }> {
    const addrs: string[] = [];
    let last: { ok: boolean; dsn: Dsn } | undefined;
    const allow = (param: string) =>
      this.ctx.cfg
        .get(param)
        .toLowerCase()
        .split(/[\s,]+/)
        .includes(a.source);
    for (let item of items) {
      if (item.startsWith('"') && item.endsWith('"')) item = item.slice(1, -1);
      if (item.startsWith('|')) {
        if (!allow('allow_mail_to_commands')) {
          return { ok: false, dsn: { status: '5.7.1', reason: `mail to command is restricted` } };
        }
        last = await this.command(req, a, item.slice(1), this.privs(a));
      } else if (item.startsWith('/')) {
        if (!allow('allow_mail_to_files')) return { ok: false, dsn: { status: '5.7.1', reason: `mail to file is restricted` } };
        last = await this.file(req, a, item);
      } else if (/^:include:/i.test(item)) {
        const path = item.slice(9).trim();
        const text = await readFile(path, 'latin1').catch(() => undefined);
        if (text === undefined) return { ok: false, dsn: { status: '4.3.0', reason: `cannot open include file ${path}` } };
        const inner = text
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
          .flatMap((l) => splitAliasList(l));
        last = await this.expand(req, { ...a, level: a.level + 1 }, inner, self);
      } else if (item.replace(/\\/, '').toLowerCase() === self || item.toLowerCase() === `${self}@${a.domain.toLowerCase()}`) {
        const pw = getpwnam(a.user);
        if (!pw) return { ok: false, dsn: { status: '5.1.1', reason: `unknown user: "${a.user}"` } };
        last = await this.mailbox(req, { ...a, source: 'mailbox' }, pw);
      } else {
        addrs.push(item);
        continue;
      }
      if (!last.ok) return last;
    }
    if (addrs.length > 0) {
      last = await this.forward(req, a, addrs);
      if (!last.ok) return last;
    }
    return last ?? { ok: true, dsn: { status: '2.0.0', reason: 'delivered to mailbox' } };
  }

  /** forward.c: resubmit to the new addresses with a Delivered-To: header. */
  private async forward(req: DeliveryRequest, a: Attr, addrs: string[]): Promise<{ ok: boolean; dsn: Dsn }> {
    if (!this.ctx.forward) return { ok: false, dsn: { status: '4.3.0', reason: 'mail forwarding is not available' } };
    const cleanup = await this.ctx.forward.cleanup();
    const s = await cleanup.open(CleanupFlag.BOUNCE | CleanupFlag.MAP_OK);
    const now = this.ctx.clock();
    const tv = timeVal(now);
    const ss = s as typeof s & { setArrivalTime?(sec: number, usec?: number): void };
    ss.setArrivalTime?.(tv.sec, tv.usec);
    s.setSender(a.sender);
    if (req.dsnRet) s.setAttribute('ret_flags', String(req.dsnRet));
    if (req.dsnEnvid) s.setAttribute('envelope_id', req.dsnEnvid);
    for (const name of ['log_client_name', 'log_client_address', 'log_protocol_name', 'log_helo_name', 'sasl_method', 'sasl_username', 'sasl_sender']) {
      const v = req.attrs.get(name);
      if (v) s.setAttribute(name, v);
    }
    s.setAttribute('rewrite_context', 'local');
    const withRecords = s as typeof s & { putRecord?(type: number, data: string): void };
    for (const addr of addrs) {
      const rw = this.ctx.rewrite ? this.ctx.rewrite.rewrite('local', addr) : addr;
      // forward_append(): the new recipient keeps the original recipient (O record).
      if (a.rcpt.origAddr !== '') withRecords.putRecord?.(Rec.ORCP, a.rcpt.origAddr);
      s.addRecipient(rw, { orcpt: a.rcpt.dsnOrcpt || undefined, notify: a.rcpt.dsnNotify || undefined });
    }
    s.writeLine(Buffer.from(`Delivered-To: ${a.delivered}`, 'latin1'));
    for (const [type, data] of req.content.records()) s.writeLine(Buffer.from(data, 'latin1'), type === 0x4c);
    const res = await s.finish();
    if (res.status !== 0) return { ok: false, dsn: { status: '4.3.0', reason: 'error writing forwarded message' } };
    return { ok: true, dsn: { status: '2.0.0', reason: `forwarded as ${s.queueId}` } };
  }

  /**
   * Whose rights a delivery uses: the recipient for its own mailbox and
   * .forward; for alias targets $default_privs (the alias database owner in
   * Postfix when that is not root).
   */
  private privs(a: Attr): ReturnType<typeof getpwnam> {
    if (a.source === 'alias') return getpwnam(this.ctx.cfg.get('default_privs') || 'nobody');
    return getpwnam(a.user);
  }

  private owner(pw: { uid: number; gid: number } | undefined) {
    return pw ? { uid: pw.uid, gid: pw.gid } : undefined;
  }

  private async file(req: DeliveryRequest, a: Attr, path: string): Promise<{ ok: boolean; dsn: Dsn }> {
    const pw = this.privs(a);
    const attrs = { sender: req.sender, origRcpt: a.rcpt.origAddr, delivered: a.delivered, nowSec: Math.floor(this.ctx.clock() / 1000) };
    if (path.endsWith('/')) {
      const r = await writeMaildir(path, mailCopyBuffer(req.content, MAIL_COPY_MAILDIR, attrs), this.owner(pw), timeVal(this.ctx.clock()));
      return r.ok
        ? { ok: true, dsn: { status: '2.0.0', reason: `delivered to maildir` } }
        : { ok: false, dsn: { status: r.status ?? '5.2.0', reason: `cannot append message to destination file ${path}: ${r.reason}` } };
    }
    const r = await writeMbox(path, mailCopyBuffer(req.content, MAIL_COPY_MBOX, attrs), this.owner(pw), Number(this.ctx.cfg.get('mailbox_size_limit') || '0'));
    return r.ok
      ? { ok: true, dsn: { status: '2.0.0', reason: `delivered to file: ${path}` } }
      : { ok: false, dsn: { status: r.status ?? '5.2.0', reason: `cannot append message to destination file ${path}: ${r.reason}` } };
  }

  private async command(req: DeliveryRequest, a: Attr, cmd: string, pw: ReturnType<typeof getpwnam>): Promise<{ ok: boolean; dsn: Dsn }> {
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      LOGNAME: a.user,
      USER: a.user,
      SENDER: req.sender,
      RECIPIENT: a.rcpt.address,
      LOCAL: a.local,
    };
    if (pw) env.HOME = pw.dir;
    if (a.domain) env.DOMAIN = a.domain;
    if (a.extension) env.EXTENSION = a.extension;
    if (a.rcpt.origAddr) env.ORIGINAL_RECIPIENT = a.rcpt.origAddr;
    const attrs = { sender: req.sender, origRcpt: a.rcpt.origAddr, delivered: a.delivered, nowSec: Math.floor(this.ctx.clock() / 1000) };
    const input = mailCopyBuffer(req.content, MailCopy.FROM | MailCopy.RETURN_PATH | MailCopy.DELIVERED | MailCopy.ORIG_RCPT, attrs);
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const r = await runCommand({
      argv: cmd,
      input,
      env,
      uid: root && pw ? pw.uid : undefined,
      gid: root && pw ? pw.gid : undefined,
      cwd: this.ctx.cfg.get('command_execution_directory') || undefined,
      timeLimitMs: Math.max(1, this.ctx.cfg.time('command_time_limit')) * 1000,
    });
    return r.ok ? { ok: true, dsn: { status: '2.0.0', reason: `delivered to command: ${cmd}` } } : { ok: false, dsn: { status: r.status, reason: r.reason } };
  }

  private async mailbox(req: DeliveryRequest, a: Attr, pw: NonNullable<ReturnType<typeof getpwnam>>): Promise<{ ok: boolean; dsn: Dsn }> {
    const cfg = this.ctx.cfg;
    const command = cfg.get('mailbox_command');
    if (command !== '') return this.command(req, a, command, pw);
    const home = cfg.get('home_mailbox');
    const attrs = { sender: req.sender, origRcpt: a.rcpt.origAddr, delivered: a.delivered, nowSec: Math.floor(this.ctx.clock() / 1000) };
    const owner = this.owner(pw);
    const limit = Number(cfg.get('mailbox_size_limit') || '0');
    if (home !== '') {
      const path = `${pw.dir}/${home}`;
      if (path.endsWith('/')) {
        const r = await writeMaildir(path, mailCopyBuffer(req.content, MAIL_COPY_MAILDIR, attrs), owner, timeVal(this.ctx.clock()), limit);
        return r.ok
          ? { ok: true, dsn: { status: '2.0.0', reason: 'delivered to maildir' } }
          : { ok: false, dsn: { status: r.status ?? '4.2.0', reason: `maildir delivery failed: ${r.reason}` } };
      }
      const r = await writeMbox(path, mailCopyBuffer(req.content, MAIL_COPY_MBOX, attrs), owner, limit);
      return r.ok
        ? { ok: true, dsn: { status: '2.0.0', reason: 'delivered to mailbox' } }
        : { ok: false, dsn: { status: r.status ?? '4.2.0', reason: `cannot update mailbox ${path} for user ${a.user}. ${r.reason}` } };
    }
    const path = `${cfg.get('mail_spool_directory').replace(/\/$/, '')}/${a.user}`;
    const r = await writeMbox(path, mailCopyBuffer(req.content, MAIL_COPY_MBOX, attrs), owner, limit);
    return r.ok
      ? { ok: true, dsn: { status: '2.0.0', reason: 'delivered to mailbox' } }
      : { ok: false, dsn: { status: r.status ?? '4.2.0', reason: `cannot update mailbox ${path} for user ${a.user}. ${r.reason}` } };
  }
}
