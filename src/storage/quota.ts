/**
 * storage/quota.ts: Dovecot's quota plugin for the backends a Maildir
 * store needs (plugins/quota: quota.c, quota-util.c, quota-maildir.c,
 * quota-count.c).
 *
 * Settings (plugin { } or userdb fields, userdb winning):
 *   quota = maildir:User quota[:noenforcing]   (also count:…)
 *   quota_rule = *:storage=100M    quota_rule2 = Trash:storage=+10M
 *   quota_grace = 10%  quota_exceeded_message = …  quota_max_mail_size = …
 * `storage=` is in KiB without a unit; units B K M G T and % (of the
 * default rule). The `*` rule forces the limits; `?` lets a maildirsize
 * file's own limits win. Per-mailbox rules add to the default rule;
 * `ignore` lifts the limit for that mailbox.
 *
 * maildirsize (Maildir++ quota), in the mail root:
 *   <bytes>S[,<count>C]\n            limits (0S when there are none)
 *   <bytes> <count>\n                the recalculated total
 *   <±bytes> <±count>\n …            appended deltas (O_APPEND)
 * It is recalculated (by summing ,S= of every file in every folder's new/
 * and cur/) when missing, broken, over 5120 bytes, when the forced limits
 * differ, or when it shows over-quota with more than one delta line or is
 * older than 15 minutes.
 *
 * Saving (quota_test_alloc): over when usage ≥ limit, or when the new
 * message would pass limit + grace (grace only for LDA/LMTP saves).
 */
import { constants as C } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ERRSTR_NO_QUOTA, errnoCode, MailError } from './errors.js';
import { filenameSize } from './maildir/filename.js';
import { mkdirParents, type Perms, writeFileDurable } from './fs-util.js';

export interface QuotaRule {
  mask: string;
  bytes: number;
  count: number;
  bytesPercent?: number;
  countPercent?: number;
  ignore?: boolean;
}

export interface QuotaRootSettings {
  name: string;
  backend: 'maildir' | 'count' | 'other';
  noEnforcing: boolean;
  defaultRule: QuotaRule;
  forceDefault: boolean;
  rules: QuotaRule[];
  grace: { bytes: number; percent?: number };
  exceededMessage: string;
  maxMailSize: number;
  vsizes: boolean;
}

/** Parse "<number><unit>" as quota_limit_parse does; `multiply` is the default unit. */
function parseLimit(text: string, multiply: number): { value: number; percent?: number } | string {
  const m = /^(-?\d+)(.*)$/.exec(text);
  if (!m) return `Invalid limit: ${text}`;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  switch (unit[0]) {
    case undefined:
      return { value: n * multiply };
    case 'B':
      return { value: n };
    case 'K':
      return { value: n * 1024 };
    case 'M':
      return { value: n * 1024 * 1024 };
    case 'G':
      return { value: n * 1024 ** 3 };
    case 'T':
      return { value: n * 1024 ** 4 };
    case '%':
      return { value: 0, percent: n };
    default:
      return `Unknown unit: ${m[2]}`;
  }
}

/** quota_root_add_rule(): "<mask>:storage=…:messages=…" or "<mask>:ignore". */
export function parseQuotaRule(def: string, set: QuotaRootSettings): string | undefined {
  const colon = def.indexOf(':');
  if (colon < 0) return 'Invalid rule';
  const mask = def.slice(0, colon);
  const limits = def.slice(colon + 1);
  let rule: QuotaRule | undefined;
  if (mask === '*' || mask === '?') {
    rule = set.defaultRule;
    if (mask === '*') set.forceDefault = true;
  } else {
    const m = mask.toUpperCase() === 'INBOX' ? 'INBOX' : mask;
    rule = set.rules.find((r) => r.mask === m);
    if (!rule) {
      rule = { mask: m, bytes: 0, count: 0 };
      set.rules.push(rule);
    }
  }
  if (limits === 'ignore') {
    rule.ignore = true;
    return undefined;
  }
  if (limits.startsWith('backend=')) return undefined;
  const relative = rule !== set.defaultRule;
  for (const arg of limits.split(':')) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    let value = eq < 0 ? '' : arg.slice(eq + 1);
    if (value.startsWith('+')) {
      if (!relative) return "Rule limit cannot have '+'";
      value = value.slice(1);
    }
    let multiply = 1;
    let target: 'bytes' | 'count';
    if (key === 'storage') {
      multiply = 1024;
      target = 'bytes';
    } else if (key === 'bytes') target = 'bytes';
    else if (key === 'messages') target = 'count';
    else return `Unknown rule limit name: ${key}`;
    const r = parseLimit(value, multiply);
    if (typeof r === 'string') return `Invalid rule limit value '${arg}': ${r}`;
    if (r.percent !== undefined) {
      if (rule === set.defaultRule) return "Invalid rule limit value: Default rule can't be a percentage";
      if (target === 'bytes') rule.bytesPercent = r.percent;
      else rule.countPercent = r.percent;
    } else if (target === 'bytes') rule.bytes = r.value;
    else rule.count = r.value;
  }
  if (!relative && (rule.bytes < 0 || rule.count < 0)) return rule.bytes < 0 ? "Bytes limit can't be negative" : "Count limit can't be negative";
  return undefined;
}

/** The quota roots configured by plugin settings (`env` already has userdb overrides applied). */
export function quotaSettings(env: ReadonlyMap<string, string>): QuotaRootSettings[] {
  const roots: QuotaRootSettings[] = [];
  for (let i = 1; ; i++) {
    const key = i === 1 ? 'quota' : `quota${i}`;
    const def = env.get(key);
    if (def === undefined) {
      if (i === 1) continue;
      break;
    }
    if (def === '') continue;
    const parts = def.split(':');
    const backendName = parts[0] ?? '';
    const set: QuotaRootSettings = {
      name: parts[1] ?? backendName,
      backend: backendName === 'maildir' ? 'maildir' : backendName === 'count' ? 'count' : 'other',
      noEnforcing: parts.slice(2).includes('noenforcing'),
      defaultRule: { mask: '*', bytes: 0, count: 0 },
      forceDefault: false,
      rules: [],
      grace: { bytes: 0 },
      exceededMessage: env.get('quota_exceeded_message') ?? ERRSTR_NO_QUOTA,
      maxMailSize: 0,
      vsizes: env.get('quota_vsizes') === 'yes',
    };
    const rkey = i === 1 ? 'quota_rule' : `quota${i}_rule`;
    for (let j = 1; ; j++) {
      const v = env.get(j === 1 ? rkey : `${rkey}${j}`);
      if (v === undefined) break;
      if (v !== '') parseQuotaRule(v, set);
    }
    const g = env.get(i === 1 ? 'quota_grace' : `quota${i}_grace`) ?? '10%';
    const pg = parseLimit(g, 1);
    if (typeof pg !== 'string') set.grace = pg.percent !== undefined ? { bytes: 0, percent: pg.percent } : { bytes: pg.value };
    const mm = env.get('quota_max_mail_size');
    if (mm) {
      const p = parseLimit(mm.replace(/\s+/g, ''), 1);
      if (typeof p !== 'string') set.maxMailSize = p.value;
    }
    roots.push(set);
  }
  return roots;
}

function recalcRelative(set: QuotaRootSettings, bytesLimit: number, countLimit: number): void {
  for (const r of set.rules) {
    if (r.bytesPercent !== undefined) r.bytes = Math.floor((bytesLimit * r.bytesPercent) / 100);
    if (r.countPercent !== undefined) r.count = Math.floor((countLimit * r.countPercent) / 100);
  }
  if (set.grace.percent !== undefined) set.grace.bytes = Math.floor((bytesLimit * set.grace.percent) / 100);
}

/** wildcard match of a rule mask against a mailbox vname. */
function maskMatch(mask: string, name: string): boolean {
  const re = new RegExp(`^${mask.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`);
  return re.test(name);
}

export interface QuotaUsage {
  bytes: number;
  count: number;
}

/** What a quota root needs from the store: where folders are, to recount. */
export interface QuotaStore {
  /** Mail root (maildirsize lives here, or in CONTROL=). */
  controlRoot: string;
  /** Every mailbox directory of the namespace (INBOX included). */
  mailboxDirs(): Promise<string[]>;
  /** For the count backend: usage summed over every mailbox. */
  countUsage?(vsizes: boolean): Promise<QuotaUsage>;
  perms: Perms;
  fsync: boolean;
}

const MAILDIRSIZE = 'maildirsize';
const STALE_SECS = 15 * 60;

/** maildir_sum_dir(): sizes from ,S= in the names, stat() otherwise. */
async function sumDir(dir: string, acc: QuotaUsage): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ESTALE') return;
    throw e;
  }
  for (const n of names) {
    if (n === '.' || n === '..') continue;
    const s = filenameSize(n, 'S');
    if (s !== undefined) {
      acc.bytes += s;
      acc.count++;
      continue;
    }
    try {
      const st = await stat(join(dir, n));
      acc.bytes += st.size;
      acc.count++;
    } catch {
      // vanished
    }
  }
}

export class QuotaRoot {
  private bytesLimit = 0;
  private countLimit = 0;

  constructor(
    readonly set: QuotaRootSettings,
    private readonly store: QuotaStore,
  ) {
    this.bytesLimit = set.defaultRule.bytes;
    this.countLimit = set.defaultRule.count;
    recalcRelative(set, this.bytesLimit, this.countLimit);
  }

  get maildirsizePath(): string {
    return join(this.store.controlRoot, MAILDIRSIZE);
  }

  /** Limits for saving into `mailbox` (quota_root_get_rule_limits). */
  limitsFor(mailbox: string): { bytes: number; count: number; ignored: boolean } {
    let bytes = this.bytesLimit;
    let count = this.countLimit;
    if (bytes === 0 && count === 0) return { bytes, count, ignored: false };
    const rule = this.set.rules.find((r) => maskMatch(r.mask, mailbox));
    if (rule) {
      if (rule.ignore) return { bytes: 0, count: 0, ignored: true };
      bytes += rule.bytes;
      count += rule.count;
    }
    return { bytes, count, ignored: false };
  }

  /** Current usage (reads, or recalculates, maildirsize). */
  async usage(): Promise<QuotaUsage> {
    if (this.set.backend === 'count') {
      return this.store.countUsage ? this.store.countUsage(this.set.vsizes) : { bytes: 0, count: 0 };
    }
    if (this.set.backend !== 'maildir') return { bytes: 0, count: 0 };
    const r = await this.readMaildirsize();
    if (r) return r;
    if (this.bytesLimit === 0 && this.countLimit === 0 && !this.set.forceDefault) return { bytes: 0, count: 0 };
    return this.recalculate();
  }

  /** maildirsize_read + parse; undefined when it must be recalculated. */
  private async readMaildirsize(): Promise<QuotaUsage | undefined> {
    let buf: Buffer;
    let mtime: number;
    try {
      const fh = await open(this.maildirsizePath, C.O_RDONLY);
      try {
        buf = Buffer.alloc(5121);
        const { bytesRead } = await fh.read(buf, 0, 5121, 0);
        buf = buf.subarray(0, bytesRead);
        mtime = (await fh.stat()).mtimeMs;
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    if (buf.length >= 5120) return undefined;
    let text = buf.toString('latin1');
    const lastNl = text.lastIndexOf('\n');
    if (lastNl < 0) return undefined;
    text = text.slice(0, lastNl);
    if (text.includes('\0')) return undefined;
    const lines = text.split('\n');
    // limits line
    let fb = 0;
    let fc = 0;
    for (const part of (lines[0] ?? '').split(',')) {
      const m = /^(\d+)([SC])$/.exec(part);
      if (!m) continue;
      if (m[2] === 'S' && Number(m[1]) !== 0) fb = Number(m[1]);
      if (m[2] === 'C' && Number(m[1]) !== 0) fc = Number(m[1]);
    }
    if (fb !== this.bytesLimit || fc !== this.countLimit) {
      if (this.set.forceDefault) return undefined;
      this.bytesLimit = fb;
      this.countLimit = fc;
      recalcRelative(this.set, fb, fc);
    }
    if (lines.length < 2) return undefined;
    let bytes = 0;
    let count = 0;
    for (const l of lines.slice(1)) {
      const m = /^\s*(-?\d+)\s+(-?\d+)/.exec(l);
      if (!m) return undefined;
      bytes += Number(m[1]);
      count += Number(m[2]);
    }
    if (bytes < 0 || count < 0) return undefined;
    if ((this.bytesLimit !== 0 && bytes > this.bytesLimit) || (this.countLimit !== 0 && count > this.countLimit)) {
      if (lines.length - 1 > 1) return undefined;
      if (mtime < Date.now() - STALE_SECS * 1000) return undefined;
    }
    return { bytes, count };
  }

  /** maildirsize_recalculate + maildirsize_write. */
  async recalculate(): Promise<QuotaUsage> {
    const acc: QuotaUsage = { bytes: 0, count: 0 };
    for (const d of await this.store.mailboxDirs()) {
      await sumDir(join(d, 'new'), acc);
      await sumDir(join(d, 'cur'), acc);
    }
    let head = '';
    if (this.bytesLimit !== 0 || this.countLimit === 0) head = `${this.bytesLimit}S`;
    if (this.countLimit !== 0) head += `${head ? ',' : ''}${this.countLimit}C`;
    const rand = Math.floor(Math.random() * 0xffffffff).toString(16);
    const write = () =>
      writeFileDurable(this.maildirsizePath, `${head}\n${acc.bytes} ${acc.count}\n`, this.store.perms, {
        fsync: false,
        tempName: `${this.maildirsizePath}.${hostname()}.${process.pid}.${rand}`,
      });
    try {
      await write();
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      // the control directory does not exist yet: create it (mkdir_parents_chgrp)
      await mkdirParents(this.store.controlRoot, this.store.perms);
      await write();
    }
    return acc;
  }

  /** Would saving `size` bytes into `mailbox` go over? Returns the error text or undefined. */
  async testAlloc(mailbox: string, size: number, postSession: boolean): Promise<string | undefined> {
    if (this.set.noEnforcing) return undefined;
    if (this.set.maxMailSize > 0 && size > this.set.maxMailSize) return 'Mail size is larger than the maximum size allowed by server configuration';
    // initialise limits from the file first (non-forced rules)
    const use = await this.usage();
    const lim = this.limitsFor(mailbox);
    if (lim.ignored) return undefined;
    if (lim.bytes > 0) {
      if (use.bytes >= lim.bytes) return this.set.exceededMessage;
      const ceil = lim.bytes - use.bytes + (postSession ? this.set.grace.bytes : 0);
      if (size > ceil) return this.set.exceededMessage;
    }
    if (lim.count > 0) {
      if (use.count >= lim.count) return this.set.exceededMessage;
      if (use.count + 1 > lim.count) return this.set.exceededMessage;
    }
    return undefined;
  }

  /** maildirsize_update(): append "<bytes> <count>". */
  async update(bytesDiff: number, countDiff: number): Promise<void> {
    if (this.set.backend !== 'maildir' || (bytesDiff === 0 && countDiff === 0)) return;
    try {
      const fh = await open(this.maildirsizePath, C.O_WRONLY | C.O_APPEND);
      try {
        await fh.write(`${bytesDiff} ${countDiff}\n`);
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      // no file: it is built on the next read
    }
  }

  /** quota get: [usage, limit] per resource (limit 0 = unlimited). */
  async resources(): Promise<{ storage: [number, number]; messages: [number, number] }> {
    const u = await this.usage();
    return { storage: [u.bytes, this.bytesLimit], messages: [u.count, this.countLimit] };
  }
}

/** All quota roots of a user; testAlloc fails on the first root that is over. */
export class Quota {
  constructor(readonly roots: QuotaRoot[]) {}

  async check(mailbox: string, size: number, postSession: boolean): Promise<void> {
    for (const r of this.roots) {
      const err = await r.testAlloc(mailbox, size, postSession);
      if (err) throw new MailError('noquota', err);
    }
  }

  async update(bytesDiff: number, countDiff: number): Promise<void> {
    for (const r of this.roots) await r.update(bytesDiff, countDiff);
  }
}

