/**
 * auth/verify-pool.ts: password checks for slow schemes run on a few worker
 * threads (src/auth/verify-worker.ts); fast ones (PLAIN, plain digests,
 * CRAM-MD5 …) stay inline. The workers are started on first use and do not
 * keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifyPassword } from './schemes/index.js';

const SLOW = /^(CRYPT|BLF-CRYPT|SHA256-CRYPT|SHA512-CRYPT|MD5-CRYPT|DES-CRYPT|ARGON2I|ARGON2ID|PBKDF2|SCRAM-SHA-1|SCRAM-SHA-256)$/;

interface Pending {
  resolve: (r: { ok: boolean; error?: string }) => void;
}

export class VerifyPool {
  private workers: Worker[] = [];
  private next = 0;
  private id = 0;
  private pending = new Map<number, Pending>();
  private broken = false;

  constructor(readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  private worker(): Worker | undefined {
    if (this.broken) return undefined;
    if (this.workers.length < this.size) {
      try {
        const w = new Worker(new URL('./verify-worker.js', import.meta.url));
        w.unref();
        w.on('message', (m: { id: number; ok: boolean; error?: string }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          p.resolve(m.error === undefined || m.error === null ? { ok: m.ok } : { ok: m.ok, error: m.error });
        });
        w.on('error', () => this.fail(w));
        w.on('exit', () => this.fail(w));
        this.workers.push(w);
        return w;
      } catch {
        this.broken = true;
        return undefined;
      }
    }
    const w = this.workers[this.next++ % this.workers.length];
    return w;
  }

  /** A worker died: its jobs are retried inline. */
  private fail(w: Worker): void {
    this.workers = this.workers.filter((x) => x !== w);
  }

  /** verifyPassword(), on a worker for slow schemes. */
  verify(plain: Buffer, stored: string, user: string, scheme: string): Promise<{ ok: boolean; error?: string }> {
    const base = scheme.split('.')[0]!.toUpperCase();
    const w = SLOW.test(base) ? this.worker() : undefined;
    if (!w) return verifyPassword(plain, stored, { user });
    const id = ++this.id;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      w.ref();
      w.postMessage({ id, plain: new Uint8Array(plain), stored, user });
    }).finally(() => {
      if (this.pending.size === 0) for (const x of this.workers) x.unref();
    }) as Promise<{ ok: boolean; error?: string }>;
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.broken = true;
    await Promise.all(ws.map((w) => w.terminate()));
    for (const p of this.pending.values()) p.resolve({ ok: false, error: 'auth service stopped' });
    this.pending.clear();
  }
}
