/**
 * delivery/smtp/content.ts: what the SMTP/LMTP client changes in the mail
 * on the way out (smtp_map11.c, smtp_proto.c smtp_header_rewrite and
 * smtp_body_rewrite, header_body_checks.c):
 *
 * - smtp_generic_maps: the envelope sender (not <>), each envelope
 *   recipient, and the addresses in primary sender/recipient headers
 *   (From, To, Cc, Reply-To, Resent-*, ...) are looked up as
 *   mail_addr_map_internal does; a rewritten header is re-made from its
 *   address list and folded at 70 columns, continuation lines get a TAB;
 * - smtp_header_checks / smtp_mime_header_checks /
 *   smtp_nested_header_checks, smtp_body_checks: only the actions that do
 *   not change who gets the mail or when: REPLACE, PREPEND, STRIP, IGNORE,
 *   WARN, INFO, DUNNO/OK; others log "unsupported command in MAP map".
 *   Actions are logged "ID: replace: header Subject: x: new text".
 *
 * The lmtp(8) agent reads the same parameters with the lmtp_ prefix.
 * Without any of these tables the content is sent untouched (no MIME
 * parsing at all).
 */
import { AddrMapList } from '../../cleanup/maps.js';
import { HDR_OPT_MIME, HDR_OPT_RECIP, HDR_OPT_SENDER, type HeaderOpts, isHeader } from '../../cleanup/header-opts.js';
import { MIME_HDR_MULTIPART, MIME_HDR_PRIMARY, MIME_OPT_DISABLE_MIME, MimeState } from '../../cleanup/mime.js';
import { readCleanupSettings } from '../../cleanup/settings.js';
import { externalize, grep, parse, STR_DEFL, STR_HEAD, scan, subAppend, TOK_ADDR, type Tok } from '../../cleanup/tok822.js';
import { quote822Local, unquote822Local } from '../../maps/address.js';
import { MapList } from '../../maps/query.js';
import { makeResolveLocal } from '../../maps/resolve-local.js';
import { DictError, DictFlag } from '../../maps/types.js';
import { Rec, REC_EOF } from '../../queue/record.js';
import type { ServiceConfig } from '../agent.js';
import type { AgentLog } from '../types.js';

/** A table lookup failed: Postfix defers the delivery (smtp_map11 is fatal; checks longjmp out). */
export class ContentLookupError extends Error {}

type Record = [number, string];

export class SmtpContent {
  private constructor(
    private readonly generic: AddrMapList | undefined,
    private readonly checks: { header?: MapList; mime?: MapList; nested?: MapList; body?: MapList },
    private readonly propagate: boolean,
    private readonly limits: { headerLimit: number; maxDepth: number; boundLimit: number },
  ) {}

  /** Open the tables; undefined when none is configured. */
  static async open(cfg: ServiceConfig, prefix: 'smtp_' | 'lmtp_'): Promise<SmtpContent | undefined> {
    const value = (n: string) => cfg.get(`${prefix}${n}`).trim();
    const names = ['generic_maps', 'header_checks', 'mime_header_checks', 'nested_header_checks', 'body_checks'];
    if (names.every((n) => value(n) === '')) return undefined;
    const param = (n: string) => cfg.get(n) || undefined;
    const s = readCleanupSettings(cfg);
    let generic: AddrMapList | undefined;
    if (value('generic_maps') !== '') {
      const list = await MapList.open(`${prefix}generic_maps`, value('generic_maps'), {
        mode: 'read',
        dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
        param,
        surrogate: true,
      });
      const isLocal = await makeResolveLocal({
        mydestination: cfg.get('mydestination'),
        inetInterfaces: cfg.get('inet_interfaces'),
        proxyInterfaces: cfg.get('proxy_interfaces'),
        utf8: s.smtputf8Enable,
      });
      generic = new AddrMapList(
        list,
        {
          recipientDelimiter: s.recipientDelimiter,
          myorigin: s.rewrite.myorigin,
          isLocal,
          ownerRequestSpecial: cfg.get('owner_request_special') !== 'no',
          doubleBounceSender: cfg.get('double_bounce_sender') || 'double-bounce',
        },
        s.rewrite,
      );
    }
    const text = async (n: string) =>
      value(n) === '' ? undefined : MapList.open(`${prefix}${n}`, value(n), { mode: 'read', dictFlags: DictFlag.LOCK, param, surrogate: true });
    const checks = {
      header: await text('header_checks'),
      mime: await text('mime_header_checks'),
      nested: await text('nested_header_checks'),
      body: await text('body_checks'),
    };
    const propagate = cfg
      .get('propagate_unmatched_extensions')
      .toLowerCase()
      .split(/[\s,]+/)
      .includes('generic');
    const num = (n: string, d: number) => {
      const v = Number.parseInt(cfg.get(n), 10);
      return Number.isNaN(v) ? d : v;
    };
    return new SmtpContent(generic, checks, propagate, {
      headerLimit: num('header_size_limit', 102400),
      maxDepth: num('mime_nesting_limit', 100),
      boundLimit: num('mime_boundary_length_limit', 2048),
    });
  }

  async close(): Promise<void> {
    await this.generic?.list.close();
    for (const m of Object.values(this.checks)) await m?.close();
  }

  get mapsAddresses(): boolean {
    return this.generic !== undefined;
  }

  /** smtp_map11_internal(): one address, internal form. The null sender is left alone. */
  async mapAddress(addr: string): Promise<string> {
    if (!this.generic || addr === '') return addr;
    let res: string[] | undefined;
    try {
      res = await this.generic.map(addr, this.propagate);
    } catch (err) {
      if (err instanceof DictError) throw new ContentLookupError(`${this.generic.title} map lookup problem for ${addr}`);
      throw err;
    }
    return res?.[0] ?? addr;
  }

  /** The records to send: the message content after generic maps and checks. */
  async rewrite(records: Iterable<Record>, queueId: string, log: AgentLog): Promise<Record[]> {
    const out: Record[] = [];
    const anyChecks = Object.values(this.checks).some((m) => m !== undefined);
    const logAction = (action: string, where: string, content: string, text: string) =>
      log.info(`${queueId}: ${action}: ${where} ${content.slice(0, 60)}${text ? `: ${text}` : ''}`);
    const warn = (text: string) => log.warn(text);
    const mime = new MimeState(
      anyChecks ? 0 : MIME_OPT_DISABLE_MIME,
      this.limits,
      {
        head: async (cls, opts, header) => {
          let h: string | undefined = header;
          const maps = this.headerMaps(cls, opts);
          if (maps) h = await this.check(maps, 'header', h, logAction, (line) => out.push([Rec.NORM, line]), warn);
          if (h === undefined) return;
          if (this.generic && opts && cls === MIME_HDR_PRIMARY && opts.flags & (HDR_OPT_SENDER | HDR_OPT_RECIP)) {
            const rewritten = await this.rewriteHeader(h, opts);
            if (rewritten !== undefined) {
              for (const line of rewritten) out.push([Rec.NORM, line]);
              return;
            }
          }
          for (const line of h.split('\n')) out.push([Rec.NORM, line]);
        },
        body: async (type, text) => {
          if (this.checks.body) {
            const r = await this.check(this.checks.body, 'body', text, logAction, (line) => out.push([Rec.NORM, line]), warn);
            if (r !== undefined) out.push([type, r]);
          } else out.push([type, text]);
        },
      },
      new Set(),
    );
    for (const [type, text] of records) await mime.update(type, text);
    await mime.update(REC_EOF, '');
    return out;
  }

  /** hbc_header_checks(): which table serves this header. */
  private headerMaps(cls: number, opts: HeaderOpts | undefined): MapList | undefined {
    let c = cls;
    if (opts && opts.flags & HDR_OPT_MIME) c = MIME_HDR_MULTIPART;
    if (c === MIME_HDR_PRIMARY) return this.checks.header;
    if (c === MIME_HDR_MULTIPART) return this.checks.mime;
    return this.checks.nested;
  }

  /** hbc_action(): the line to send, or undefined to drop it. */
  private async check(
    maps: MapList,
    where: 'header' | 'body',
    line: string,
    logAction: (action: string, where: string, content: string, text: string) => void,
    prepend: (line: string) => void,
    warn: (text: string) => void,
  ): Promise<string | undefined> {
    let action: string | undefined;
    try {
      action = await maps.find(line);
    } catch (err) {
      if (err instanceof DictError) throw new ContentLookupError(`smtp ${where} checks lookup error`);
      throw err;
    }
    if (action === undefined) return line;
    const m = /^(\S*)[ \t]*([\s\S]*)$/.exec(action)!;
    const cmd = m[1]!.toUpperCase();
    const args = m[2]!;
    switch (cmd) {
      case 'WARN':
        logAction('warning', where, line, args);
        return line;
      case 'INFO':
        logAction('info', where, line, args);
        return line;
      case 'REPLACE':
        if (args === '') warn(`REPLACE action without text in ${maps.title} map`);
        else if (where === 'header' && !isHeader(args)) {
          warn(`bad REPLACE header text "${args}" in ${maps.title} map -- need "headername: headervalue"`);
        } else {
          logAction('replace', where, line, args);
          return args;
        }
        return line;
      case 'PREPEND':
        if (args === '') warn(`PREPEND action without text in ${maps.title} map`);
        else if (where === 'header' && !isHeader(args)) {
          warn(`bad PREPEND header text "${args}" in ${maps.title} map -- need "headername: headervalue"`);
        } else {
          logAction('prepend', where, line, args);
          prepend(args);
        }
        return line;
      case 'STRIP':
        logAction('strip', where, line, args);
        return undefined;
      case 'IGNORE':
        return undefined;
      case 'DUNNO':
      case 'OK':
        return line;
      default:
        warn(`unsupported command in ${maps.title} map: ${action}`);
        return line;
    }
  }

  /** The generic-mapped header as output lines, or undefined when no address changed. */
  private async rewriteHeader(header: string, opts: HeaderOpts): Promise<string[] | undefined> {
    const tree = parse(header.slice(opts.name.length + 1));
    let did = false;
    for (const node of grep(tree, TOK_ADDR)) if (await this.map11Tree(node)) did = true;
    if (!did) return undefined;
    const text = `${opts.name}: ${externalize(tree, STR_HEAD)}`;
    // Join address lines up to 70 columns (cleanup_fold_header), then TAB-indent continuations.
    const pieces = text.split('\n');
    const lines: string[] = [pieces[0]!];
    for (let k = 1; k < pieces.length; k++) {
      const cur = lines[lines.length - 1]!;
      if (cur.length + 1 + pieces[k]!.length < 70) lines[lines.length - 1] = `${cur} ${pieces[k]}`;
      else lines.push(pieces[k]!);
    }
    return lines.map((l, i) => (i === 0 || l[0] === ' ' || l[0] === '\t' ? l : `\t${l}`));
  }

  /** smtp_map11_tree(). */
  private async map11Tree(node: Tok): Promise<boolean> {
    const before = unquote822Local(externalize(node.head, STR_DEFL));
    let found: string[] | undefined;
    try {
      found = await this.generic!.map(before, this.propagate);
    } catch (err) {
      if (err instanceof DictError) throw new ContentLookupError(`${this.generic!.title} map lookup problem for ${before}`);
      throw err;
    }
    const after = found?.[0] ?? before;
    const { head } = scan(quote822Local(after));
    node.head = null;
    node.tail = null;
    if (head) subAppend(node, head);
    return found !== undefined;
  }
}
