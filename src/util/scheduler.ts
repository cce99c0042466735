/**
 * util/scheduler.ts: named periodic jobs on cron expressions (node-cron),
 * for the masters' maintenance work. A job never overlaps itself; a job
 * that throws is reported through onError and runs again at its next time.
 * The job functions are plain async functions, so tests call them
 * directly instead of waiting for a clock.
 */
import type { ScheduledTask } from 'node-cron';

export interface Job {
  name: string;
  /** Cron expression (5 or 6 fields, as node-cron reads them); '' disables the job. */
  schedule: string;
  run(): Promise<void> | void;
}

export interface SchedulerOptions {
  /** IANA time zone name; undefined: the system's. */
  timezone?: string;
  onError(job: Job, err: unknown): void;
}

export interface Scheduler {
  /** Stop every job (call before replacing the job list on reload). */
  stop(): void;
  readonly jobs: readonly Job[];
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** Why a schedule or time zone is unusable, or undefined when it is fine. */
export async function scheduleError(expr: string, timezone?: string): Promise<string | undefined> {
  const cron = (await import('node-cron')).default;
  if (expr !== '' && !cron.validate(expr)) return `bad cron expression: "${expr}"`;
  if (timezone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      return `bad time zone: "${timezone}"`;
    }
  }
  return undefined;
}

export async function startScheduler(jobs: readonly Job[], opts: SchedulerOptions): Promise<Scheduler> {
  const cron = (await import('node-cron')).default;
  const tasks: ScheduledTask[] = [];
  const active = jobs.filter((j) => j.schedule !== '');
  for (const job of active) {
    const task = cron.schedule(
      job.schedule,
      async () => {
        try {
          await job.run();
        } catch (err) {
          opts.onError(job, err);
        }
      },
      { name: job.name, noOverlap: true, timezone: opts.timezone, logger: quiet, unref: true },
    );
    tasks.push(task);
  }
  return {
    jobs: active,
    stop() {
      for (const t of tasks) void t.destroy();
    },
  };
}
