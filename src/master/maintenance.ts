/**
 * master/maintenance.ts: the master's scheduled jobs (Postern's own; real
 * Postfix leaves them to cron and the admin). Each is a plain function of
 * the configuration and the current time, so tests call it directly; the
 * master runs them on the postern_*_schedule cron expressions
 * (postern-params.ts, man page postern(5)). Every job logs what it did:
 *
 *   queue run      asks qmgr for a deferred queue scan ('D' on public/qmgr)
 *                  "scheduled queue run: deferred queue scan requested"
 *   temp cleanup   removes incomplete message files (owner mode not rwx)
 *                  older than postern_temp_file_max_age, as postsuper -p does
 *                  "removed stale temporary file incoming/4F2A81C03D (age 9d)"
 *   hold expiry    removes messages on hold longer than postern_hold_expire_time
 *                  (time on hold: the file's ctime, which postsuper -h's
 *                  rename sets) with their defer/bounce/trace logs
 *                  "4F2A81C03D: removed (on hold for 31d)"
 *   cert check     warns when a server or client certificate expires within
 *                  postern_cert_expiry_warning, or has expired
 *                  "warning: certificate /etc/ssl/x.pem (smtpd_tls_cert_file)
 *                   expires in 12 days, on Dec  5 12:00:00 2026 GMT"
 */
import { X509Certificate } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, type Stats, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MasterEntry } from '../../compat/postfix/master-cf.js';
import { info, warn } from '../log/msg.js';
import { layoutFromConfig, Queue, QUEUE_STAT_READY, queuePath } from '../queue/layout.js';
import { queueIdOk } from '../queue/queue-id.js';
import { mailTrigger } from '../queue/trigger.js';
import { strerror } from '../util/strerror.js';
import { posternParam, posternTime } from './postern-params.js';

export interface JobConfig {
  has(name: string): boolean;
  get(name: string): string;
}

/** Nanoseconds aside, what "now" is, in ms (tests pass a fixed clock). */
export type Clock = () => number;

const DAY = 86400;

/** "9d", "5h", "40m", "12s": the largest whole unit. */
export function formatAge(seconds: number): string {
  for (const [unit, n] of [['w', 7 * DAY], ['d', DAY], ['h', 3600], ['m', 60]] as const)
    if (seconds >= n && seconds % n === 0) return `${seconds / n}${unit}`;
  for (const [unit, n] of [['d', DAY], ['h', 3600], ['m', 60]] as const)
    if (seconds >= n) return `${Math.floor(seconds / n)}${unit}`;
  return `${Math.floor(seconds)}s`;
}

/** QMGR_REQ_SCAN_DEFERRED through public/qmgr. */
export async function queueRunJob(cfg: JobConfig): Promise<void> {
  const problem = await mailTrigger(cfg.get('queue_directory'), 'public', 'qmgr', 'D');
  if (problem) warn(`scheduled queue run: ${problem}`);
  else info('scheduled queue run: deferred queue scan requested');
}

/** Every regular file under dir (recursing into hash subdirectories), as [path relative to queue_directory, stat]. */
function walk(qdir: string, rel: string, out: Array<[string, Stats]>): void {
  let names: string[];
  try {
    names = readdirSync(join(qdir, rel));
  } catch {
    return;
  }
  for (const name of names) {
    const r = `${rel}/${name}`;
    let st: Stats;
    try {
      st = lstatSync(join(qdir, r));
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(qdir, r, out);
    else out.push([r, st]);
  }
}

/** postsuper -p: incomplete message files older than postern_temp_file_max_age. Returns how many were removed. */
export function tempCleanupJob(cfg: JobConfig, now: Clock = Date.now): number {
  const qdir = cfg.get('queue_directory');
  const maxAge = posternTime(cfg, 'postern_temp_file_max_age');
  let removed = 0;
  for (const q of [Queue.MAILDROP, Queue.INCOMING, Queue.ACTIVE, Queue.DEFERRED, Queue.HOLD]) {
    const files: Array<[string, Stats]> = [];
    walk(qdir, q, files);
    for (const [rel, st] of files) {
      if (!st.isFile() || (st.mode & 0o700) === QUEUE_STAT_READY) continue;
      const age = Math.floor((now() - st.mtimeMs) / 1000);
      if (age <= maxAge) continue;
      try {
        unlinkSync(join(qdir, rel));
        removed++;
        info(`removed stale temporary file ${rel} (age ${formatAge(age)})`);
      } catch (err) {
        warn(`remove ${rel}: ${strerror(err)}`);
      }
    }
  }
  return removed;
}

/** Messages on hold for longer than postern_hold_expire_time (0: never). Returns the removed queue ids. */
export function holdExpireJob(cfg: JobConfig, now: Clock = Date.now): string[] {
  const limit = posternTime(cfg, 'postern_hold_expire_time');
  if (limit <= 0) return [];
  const layout = layoutFromConfig(cfg);
  const files: Array<[string, Stats]> = [];
  walk(layout.dir, Queue.HOLD, files);
  const out: string[] = [];
  for (const [rel, st] of files) {
    const id = rel.slice(rel.lastIndexOf('/') + 1);
    if (!queueIdOk(id) || !st.isFile() || (st.mode & 0o700) !== QUEUE_STAT_READY) continue;
    const held = Math.floor((now() - st.ctimeMs) / 1000);
    if (held <= limit) continue;
    try {
      unlinkSync(join(layout.dir, rel));
    } catch (err) {
      warn(`remove ${rel}: ${strerror(err)}`);
      continue;
    }
    for (const log of [Queue.DEFER, Queue.BOUNCE, Queue.TRACE]) {
      try {
        unlinkSync(queuePath(layout, log, id));
      } catch {
        /* no log of that kind */
      }
    }
    out.push(id);
    info(`${id}: removed (on hold for ${formatAge(held)})`);
  }
  return out;
}

const CERT_PARAMS = [
  'smtpd_tls_cert_file',
  'smtpd_tls_eccert_file',
  'smtpd_tls_dcert_file',
  'smtpd_tls_chain_files',
  'smtp_tls_cert_file',
  'smtp_tls_eccert_file',
  'smtp_tls_dcert_file',
  'smtp_tls_chain_files',
];

/** [file, parameter] pairs: main.cf values plus master.cf -o overrides of the same names. */
export function certificateFiles(cfg: JobConfig, entries: readonly MasterEntry[] = []): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  const add = (param: string, value: string) => {
    for (const f of value.split(/[\s,]+/)) {
      if (f === '' || seen.has(f)) continue;
      seen.add(f);
      out.push([f, param]);
    }
  };
  for (const p of CERT_PARAMS) add(p, cfg.get(p));
  for (const e of entries) for (const [n, v] of e.params) if (CERT_PARAMS.includes(n) && !v.includes('$')) add(n, v);
  return out;
}

export interface CertStatus {
  file: string;
  param: string;
  /** Seconds until notAfter (negative: expired); undefined when unreadable. */
  remaining?: number;
  validTo?: string;
}

/** Warn about certificates that expire within postern_cert_expiry_warning. */
export function certCheckJob(cfg: JobConfig, entries: readonly MasterEntry[] = [], now: Clock = Date.now): CertStatus[] {
  const window = posternTime(cfg, 'postern_cert_expiry_warning');
  const out: CertStatus[] = [];
  for (const [file, param] of certificateFiles(cfg, entries)) {
    let pem: string;
    try {
      pem = readFileSync(file, 'latin1');
    } catch (err) {
      warn(`certificate check: open ${file} (${param}): ${strerror(err)}`);
      out.push({ file, param });
      continue;
    }
    const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    let cert: X509Certificate;
    try {
      if (!block) throw new Error('no certificate found');
      cert = new X509Certificate(block);
    } catch (err) {
      warn(`certificate check: ${file} (${param}): ${(err as Error).message}`);
      out.push({ file, param });
      continue;
    }
    const remaining = Math.floor((Date.parse(cert.validTo) - now()) / 1000);
    out.push({ file, param, remaining, validTo: cert.validTo });
    if (remaining <= 0) warn(`certificate ${file} (${param}) expired on ${cert.validTo}`);
    else if (window > 0 && remaining <= window) {
      const days = Math.floor(remaining / DAY);
      warn(`certificate ${file} (${param}) expires in ${days} day${days === 1 ? '' : 's'}, on ${cert.validTo}`);
    }
  }
  return out;
}

/** The jobs with their schedules from main.cf, ready for util/scheduler.ts. */
export function maintenanceJobs(cfg: JobConfig, entries: () => readonly MasterEntry[]) {
  return [
    { name: 'queue run', schedule: posternParam(cfg, 'postern_queue_run_schedule'), run: () => queueRunJob(cfg) },
    { name: 'temp cleanup', schedule: posternParam(cfg, 'postern_temp_cleanup_schedule'), run: () => void tempCleanupJob(cfg) },
    {
      name: 'hold expiry',
      schedule: posternTime(cfg, 'postern_hold_expire_time') > 0 ? posternParam(cfg, 'postern_hold_expire_schedule') : '',
      run: () => void holdExpireJob(cfg),
    },
    { name: 'cert check', schedule: posternParam(cfg, 'postern_cert_check_schedule'), run: () => void certCheckJob(cfg, entries()) },
  ];
}
