/**
 * delivery/virtual/virtual.ts: virtual(8), the delivery agent for
 * virtual_mailbox_domains (virtual/recipient.c, mailbox.c, maildir.c,
 * unknown.c).
 *
 * Per recipient: the lookup key is the address case-folded; the mailbox
 * is $virtual_mailbox_base/<virtual_mailbox_maps value> (a Maildir when it
 * ends in '/', else an mbox file), owned by virtual_uid_maps /
 * virtual_gid_maps (uid >= virtual_minimum_uid), at most
 * virtual_mailbox_limit bytes (mbox file / maildir message). Each message
 * gets Return-Path, X-Original-To and Delivered-To headers. Log texts:
 *   status=sent (delivered to maildir)           status=sent (delivered to mailbox)
 *   status=bounced (unknown user: "x@y")
 *   status=deferred (mail system configuration error)   (table trouble)
 *   maildir delivery failed: create maildir file ...: Permission denied
 */
import { findAddress, MapList, MaFind } from '../../maps/query.js';
import { makeResolveLocal } from '../../maps/resolve-local.js';
import { DictError, DictFlag } from '../../maps/types.js';
import type { AgentContext } from '../agent.js';
import { MAIL_COPY_MAILDIR, MAIL_COPY_MBOX, mailCopyBuffer } from '../mail-copy.js';
import { type AgentResult, type DeliveryAgent, type DeliveryRequest, type Dsn, type Recipient, timeVal } from '../types.js';
import { writeMaildir, writeMbox } from './mailbox.js';

export class VirtualAgent implements DeliveryAgent {
  private constructor(
    private readonly ctx: AgentContext,
    private readonly mailboxMaps: MapList,
    private readonly uidMaps: MapList,
    private readonly gidMaps: MapList,
    private readonly isLocal: (d: string) => Promise<boolean>,
  ) {}

  static async create(ctx: AgentContext): Promise<VirtualAgent> {
    const cfg = ctx.cfg;
    const param = (n: string) => cfg.get(n) || undefined;
    // virtual(8) opens its tables DICT_FLAG_LOCK | DICT_FLAG_PARANOID | DICT_FLAG_UTF8_REQUEST.
    const flags = DictFlag.LOCK | DictFlag.NO_REGSUB | DictFlag.NO_PROXY | DictFlag.NO_UNAUTH | DictFlag.UTF8_REQUEST;
    const open = (name: string) => MapList.open(name, cfg.get(name), { mode: 'read', dictFlags: flags, param, surrogate: true });
    const isLocal = await makeResolveLocal({
      mydestination: cfg.get('mydestination'),
      inetInterfaces: cfg.get('inet_interfaces'),
      proxyInterfaces: cfg.get('proxy_interfaces'),
    });
    return new VirtualAgent(ctx, await open('virtual_mailbox_maps'), await open('virtual_uid_maps'), await open('virtual_gid_maps'), isLocal);
  }

  async close(): Promise<void> {
    await Promise.all([this.mailboxMaps.close(), this.uidMaps.close(), this.gidMaps.close()]);
  }

  private async find(maps: MapList, user: string): Promise<string | undefined> {
    const r = await findAddress(maps, user, {
      strategy: MaFind.DEFAULT,
      recipientDelimiter: this.ctx.cfg.get('recipient_delimiter'),
      myorigin: this.ctx.cfg.get('myorigin'),
      isLocal: this.isLocal,
    });
    return r?.value;
  }

  async deliver(req: DeliveryRequest): Promise<AgentResult> {
    for (const rcpt of req.recipients) await this.deliverOne(req, rcpt);
    return {};
  }

  private async deliverOne(req: DeliveryRequest, rcpt: Recipient): Promise<void> {
    const cfg = this.ctx.cfg;
    const log = this.ctx.log;
    const relay = this.ctx.service;
    const user = rcpt.address.toLowerCase();
    const configError = async (): Promise<void> => {
      await req.status.defer(rcpt, relay, { status: '4.3.5', reason: 'mail system configuration error' });
    };
    const base = cfg.get('virtual_mailbox_base');
    if (!base.startsWith('/')) {
      log.warn(`do not specify relative pathname: virtual_mailbox_base = ${base}`);
      await configError();
      return;
    }
    let mailbox: string | undefined;
    try {
      mailbox = await this.find(this.mailboxMaps, user);
    } catch (err) {
      if (!(err instanceof DictError)) throw err;
      log.warn(`table ${this.mailboxMaps.title}: lookup ${user}: ${err.message}`);
      await configError();
      return;
    }
    if (mailbox === undefined) {
      await req.status.bounce(rcpt, relay, { status: '5.1.1', reason: `unknown user: "${user}"` });
      return;
    }
    const path = `${base}/${mailbox}`;
    let uidRes: string | undefined;
    let gidRes: string | undefined;
    try {
      uidRes = await this.find(this.uidMaps, user);
      if (uidRes === undefined) {
        log.warn(`recipient ${user}: not found in ${this.uidMaps.title}`);
        await configError();
        return;
      }
      if (Number.parseInt(uidRes, 10) < cfg.int('virtual_minimum_uid') || Number.isNaN(Number.parseInt(uidRes, 10))) {
        log.warn(`recipient ${user}: bad uid ${uidRes} in ${this.uidMaps.title}`);
        await configError();
        return;
      }
      gidRes = await this.find(this.gidMaps, user);
      if (gidRes === undefined) {
        log.warn(`recipient ${user}: not found in ${this.gidMaps.title}`);
        await configError();
        return;
      }
      if (!(Number.parseInt(gidRes, 10) > 0)) {
        log.warn(`recipient ${user}: bad gid ${gidRes} in ${this.gidMaps.title}`);
        await configError();
        return;
      }
    } catch (err) {
      if (!(err instanceof DictError)) throw err;
      await configError();
      return;
    }
    const owner = { uid: Number.parseInt(uidRes, 10), gid: Number.parseInt(gidRes, 10) };
    const limit = Number(cfg.get('virtual_mailbox_limit') || '0');
    const now = timeVal(this.ctx.clock());
    const attrs = {
      sender: req.sender,
      origRcpt: rcpt.origAddr,
      delivered: rcpt.address,
      enableOrcpt: cfg.bool('enable_original_recipient'),
      nowSec: now.sec,
    };
    let dsn: Dsn;
    let ok: boolean;
    if (path.endsWith('/')) {
      const res = await writeMaildir(path, mailCopyBuffer(req.content, MAIL_COPY_MAILDIR, attrs), owner, now, limit);
      ok = res.ok;
      if (res.ok) dsn = { status: '2.0.0', reason: 'delivered to maildir' };
      else {
        if (res.code === 'EACCES') {
          log.warn(`maildir access problem for UID/GID=${owner.uid}/${owner.gid}: ${res.reason}`);
          log.warn('perhaps you need to create the maildirs in advance');
        }
        dsn = { status: res.status ?? '4.2.0', reason: `maildir delivery failed: ${res.reason}` };
      }
    } else {
      const res = await writeMbox(path, mailCopyBuffer(req.content, MAIL_COPY_MBOX, attrs), owner, limit);
      ok = res.ok;
      if (res.ok) dsn = { status: '2.0.0', reason: 'delivered to mailbox' };
      else if (res.code === 'NOTREG') {
        log.warn(`recipient ${rcpt.address}: destination ${path} is not a regular file`);
        dsn = { status: '5.3.5', reason: 'mail system configuration error' };
      } else dsn = { status: res.status ?? '4.2.0', reason: `delivery failed to mailbox ${path}: ${res.reason}` };
    }
    if (ok) await req.status.sent(rcpt, relay, dsn);
    else if (dsn.status[0] === '4') await req.status.defer(rcpt, relay, dsn);
    else await req.status.bounce(rcpt, relay, dsn);
  }
}

export type { AgentContext };
export { timeVal };
