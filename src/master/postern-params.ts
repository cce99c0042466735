/**
 * master/postern-params.ts: main.cf parameters that only Postern reads.
 *
 * They are kept out of the Postfix catalogue (compat/postfix/params) on
 * purpose: `postconf -d` and `postconf -n` must print what the real
 * postconf prints, so `postconf -d` does not list them, and, like any name
 * the real postconf does not know, `postconf -n` shows one that is set and
 * warns "unused parameter". Daemons read them through posternParam(), which
 * supplies the default below. man/man5/postern.5 documents each one (a unit
 * test checks that it does).
 */
import { parseBool, parseTime } from '../../compat/postfix/params/index.js';
import { fatal } from '../log/msg.js';

export interface PosternParam {
  readonly name: string;
  readonly default: string;
  readonly kind: 'bool' | 'time' | 'schedule';
  /** Default unit of a time value. */
  readonly unit?: string;
  /** One sentence for the man page. */
  readonly doc: string;
}

export const POSTERN_PARAMS: readonly PosternParam[] = [
  {
    name: 'postern_auto_reload',
    default: 'no',
    kind: 'bool',
    doc: 'Reload by itself when main.cf, master.cf, or a file named in a parameter value (a lookup table or a list file) changes, logging what changed.',
  },
  {
    name: 'postern_queue_run_schedule',
    default: '',
    kind: 'schedule',
    doc: 'When to ask the queue manager for a scan of the deferred queue, as a cron expression (empty: only queue_run_delay applies).',
  },
  {
    name: 'postern_temp_cleanup_schedule',
    default: '17 * * * *',
    kind: 'schedule',
    doc: 'When to remove incomplete queue files older than postern_temp_file_max_age, as postsuper -p does (empty: never).',
  },
  {
    name: 'postern_temp_file_max_age',
    default: '7d',
    kind: 'time',
    unit: 'd',
    doc: 'How old an incomplete queue file must be before the scheduled cleanup removes it.',
  },
  {
    name: 'postern_hold_expire_schedule',
    default: '23 3 * * *',
    kind: 'schedule',
    doc: 'When to look for messages held longer than postern_hold_expire_time.',
  },
  {
    name: 'postern_hold_expire_time',
    default: '0',
    kind: 'time',
    unit: 'd',
    doc: 'Remove a message from the hold queue once it has been there this long (0: keep held mail forever, as Postfix does).',
  },
  {
    name: 'postern_cert_check_schedule',
    default: '0 6 * * *',
    kind: 'schedule',
    doc: 'When to check the expiry dates of smtpd_tls_cert_file, smtpd_tls_chain_files and smtp_tls_cert_file.',
  },
  {
    name: 'postern_cert_expiry_warning',
    default: '30d',
    kind: 'time',
    unit: 'd',
    doc: 'Log a warning when a certificate expires within this time (0: never warn).',
  },
  {
    name: 'postern_cron_timezone',
    default: '',
    kind: 'schedule',
    doc: 'IANA time zone for the schedules above (empty: the system time zone).',
  },
];

const byName = new Map(POSTERN_PARAMS.map((p) => [p.name, p]));

interface Cfg {
  has(name: string): boolean;
  get(name: string): string;
}

/** A Postern parameter's $-expanded value, or its default when main.cf does not set it. */
export function posternParam(cfg: Cfg, name: string): string {
  const def = byName.get(name);
  if (!def) throw new Error(`not a Postern parameter: ${name}`);
  return cfg.has(name) ? cfg.get(name) : def.default;
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return fatal((err as Error).message);
  }
}

/** A yes/no Postern parameter; fatal() with Postfix's words on another value. */
export function posternBool(cfg: Cfg, name: string): boolean {
  return checked(() => parseBool(name, posternParam(cfg, name)));
}

/** A time Postern parameter in seconds; fatal() with Postfix's words on a bad value. */
export function posternTime(cfg: Cfg, name: string): number {
  return checked(() => parseTime(name, posternParam(cfg, name), byName.get(name)?.unit));
}

/** fatal() on the first bad bool or time value (schedules are checked by master/cron.ts). */
export function checkPosternParams(cfg: Cfg): void {
  for (const p of POSTERN_PARAMS) {
    if (p.kind === 'bool') posternBool(cfg, p.name);
    else if (p.kind === 'time') posternTime(cfg, p.name);
  }
}
